"""Scoring the comparison stage against a labelled fixture (tests/fixtures/seeds_compare.yaml).

Shared by the tests and ``bench/compare.py``, with ``prepare_corpus_inputs`` that builds the
comparison's inputs straight from a corpus folder. A label names a claim by ``article`` (the start of
its article_id) and ``text`` (a substring of its sentence, or a list of alternatives), so labels
survive id changes. See the fixture's header for what each label means.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from storydiff.claims import extract_claims
from storydiff.compare.facts import match_claims
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.embed import embed_texts
from storydiff.runfolder import select_content_sentences

Pair = tuple[frozenset[str], frozenset[str]]


def prepare_corpus_tables(corpus: str | Path, nlp: Any) -> dict[str, pd.DataFrame]:
    """``articles``, content ``sentences`` and ``claims`` of a corpus, built with the pipeline's
    own corpus and claims stages (spaCy ``nlp``), without a run folder."""
    raws, _ = read_corpus(corpus)
    articles, sentences = build_corpus_tables(raws)
    content = select_content_sentences(articles, sentences)
    return {"articles": articles, "sentences": content, "claims": extract_claims(content, articles, nlp)}


def add_embeddings(tables: dict[str, pd.DataFrame], model: Any) -> dict[str, Any]:
    """``tables`` plus ``sentence_embeddings`` and ``claim_embeddings`` from ``model``: the
    keyword arguments of ``compare_corpus``."""
    return tables | {
        "sentence_embeddings": embed_texts(tables["sentences"]["text"].tolist(), model=model),
        "claim_embeddings": embed_texts(tables["claims"]["text"].tolist(), model=model),
    }


def prepare_corpus_inputs(corpus: str | Path, model: Any, nlp: Any) -> dict[str, Any]:
    """Keyword arguments of ``compare_corpus`` for a corpus (``prepare_corpus_tables`` then
    ``add_embeddings``)."""
    return add_embeddings(prepare_corpus_tables(corpus, nlp), model)


def load_fixture(path: str | Path) -> dict[str, Any]:
    """The fixture as a dict of label lists."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def resolve_claim(ref: dict[str, Any], claims: pd.DataFrame) -> frozenset[str]:
    """Claim ids a label reference names; an alternative that matches nothing is an error."""
    texts = ref["text"] if isinstance(ref["text"], list) else [ref["text"]]
    in_article = claims[claims["article_id"].str.startswith(ref["article"])]
    found = set()
    for text in texts:
        hits = in_article.loc[in_article["text"].str.contains(text, regex=False), "claim_id"]
        if hits.empty:
            raise LookupError(f"no claim of article {ref['article']} contains {text!r}")
        found |= set(hits)
    return frozenset(found)


def resolve_pairs(labels: list[dict[str, Any]], claims: pd.DataFrame) -> list[Pair]:
    """(claims named by ``a``, claims named by ``b``) for each label."""
    return [(resolve_claim(label["a"], claims), resolve_claim(label["b"], claims)) for label in labels]


def pair_matches(id_a: str, id_b: str, pair: Pair) -> bool:
    """Whether the claim pair (id_a, id_b), in either order, is the labelled pair."""
    return (id_a in pair[0] and id_b in pair[1]) or (id_b in pair[0] and id_a in pair[1])


def fact_links(facts: pd.DataFrame) -> set[tuple[str, str]]:
    """Sorted pairs of claims from different articles that share a fact."""
    links = set()
    for _, group in facts.groupby("fact_id"):
        for (id_a, art_a), (id_b, art_b) in combinations(zip(group["claim_id"], group["article_id"]), 2):
            if art_a != art_b:
                links.add(tuple(sorted((id_a, id_b))))
    return links


def score_fact_links(facts: pd.DataFrame, claims: pd.DataFrame, fixture: dict[str, Any]) -> dict[str, Any]:
    """Fact-link precision and recall (fixture header), with the missed and false links."""
    positives = resolve_pairs(fixture["same_fact"], claims)
    optional = resolve_pairs(fixture.get("optional_fact", []), claims)
    links = fact_links(facts)
    true = {link for link in links if any(pair_matches(*link, p) for p in positives)}
    neutral = {link for link in links - true if any(pair_matches(*link, p) for p in optional)}
    false = sorted(links - true - neutral)
    found = [any(pair_matches(*link, p) for link in links) for p in positives]
    missed = [label for label, hit in zip(fixture["same_fact"], found) if not hit]
    return {
        "precision": len(true) / max(len(true) + len(false), 1),
        "recall": sum(found) / max(len(positives), 1),
        "links": len(links), "true": len(true), "neutral": len(neutral),
        "false_links": false, "missed": missed,
    }


def find_link_ceiling(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    fixture: dict[str, Any],
    min_precision: float = 0.9,
) -> dict[str, float]:
    """The best fact-link recall that any cosine threshold reaches at ``min_precision`` or more.

    Every pair of claims from different articles of one story is linked when its cosine
    (``embeddings`` (n, dim), L2-normalised, row i for ``claims`` row i) reaches the threshold, as
    ``match_claims`` does, before facts are grouped. Precision and recall as in
    ``score_fact_links``. What a better threshold could reach with these embeddings: ``recall`` 0
    (threshold nan) when no threshold reaches ``min_precision``.
    """
    positives = resolve_pairs(fixture["same_fact"], claims)
    optional = resolve_pairs(fixture.get("optional_fact", []), claims)
    pairs = match_claims(claims, embeddings, stories, threshold=-1.0)
    best_of_label = np.full(len(positives), -np.inf)
    scored = []  # (cosine, 1 for a true link, 0 for a false one); optional links count for neither
    for id_a, id_b, cosine in zip(pairs["claim_id_a"], pairs["claim_id_b"], pairs["similarity"]):
        hits = [i for i, p in enumerate(positives) if pair_matches(id_a, id_b, p)]
        for i in hits:
            best_of_label[i] = max(best_of_label[i], cosine)
        if hits or not any(pair_matches(id_a, id_b, p) for p in optional):
            scored.append((cosine, 1 if hits else 0))
    best = {"recall": 0.0, "precision": float("nan"), "threshold": float("nan")}
    for threshold in sorted({cosine for cosine, _ in scored}, reverse=True):
        kept = [true for cosine, true in scored if cosine >= threshold]
        precision = sum(kept) / len(kept)
        recall = float(np.mean(best_of_label >= threshold)) if positives else 0.0
        if precision >= min_precision and recall > best["recall"]:
            best = {"recall": recall, "precision": precision, "threshold": float(threshold)}
    return best


def score_discrepancies(
    discrepancies: pd.DataFrame, claims: pd.DataFrame, fixture: dict[str, Any]
) -> dict[str, Any]:
    """Discrepancies found (of the labelled ones) and false (flagged but not labelled)."""
    expected = resolve_pairs(fixture["discrepancies"], claims)
    optional = resolve_pairs(fixture.get("optional_discrepancies", []), claims)
    kinds = [label["kind"] for label in fixture["discrepancies"]]
    optional_kinds = [label["kind"] for label in fixture.get("optional_discrepancies", [])]
    rows = list(zip(discrepancies["kind"], discrepancies["claim_id_a"], discrepancies["claim_id_b"]))
    found = [any(k == kind and pair_matches(a, b, p) for k, a, b in rows) for kind, p in zip(kinds, expected)]
    false = [
        (k, a, b) for k, a, b in rows
        if not any(k == kind and pair_matches(a, b, p) for kind, p in zip(kinds, expected))
        and not any(k == kind and pair_matches(a, b, p) for kind, p in zip(optional_kinds, optional))
    ]
    return {
        "expected": len(expected), "found": sum(found), "flagged": len(rows), "false": false,
        "missed": [label for label, hit in zip(fixture["discrepancies"], found) if not hit],
    }


def score_stories(stories: pd.DataFrame, fixture: dict[str, Any]) -> bool:
    """Whether the stories group the seed articles exactly as the fixture does."""
    got = {frozenset(a[:3] for a in group["article_id"]) for _, group in stories.groupby("story_id")}
    return got == {frozenset(s) for s in fixture["stories"]}
