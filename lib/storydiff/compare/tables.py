"""The comparison stage in one call: stories, facts, matches, coverage, discrepancies, reuse."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from storydiff.arrays import distinct_values
from storydiff.compare.blocks import (
    compare_blocks, compare_each_block, gather_block_tables, iterate_run_blocks, write_block_tables,
)
from storydiff.compare.discrepancies import EVENT_THRESHOLD
from storydiff.compare.reuse import (
    align_blocks, count_alignments, find_similar_sentences, gather_alignments, summarise_reuse,
)
from storydiff.compare.sameclaim import REUSE_THRESHOLD, SAME_CLAIM_THRESHOLD
from storydiff.compare.stories import (
    STORY_THRESHOLD, WINDOW_DAYS, ArticleClaims, DescribedArticles, TermCounts, count_article_terms,
    describe_story_articles, group_stories, join_article_texts, summarise_article_claims,
)
from storydiff.runfolder import (
    as_large_strings, concat_parts, index_kept_articles, iterate_content_batches, iterate_table_batches, locate_strings, open_table_parts,
    read_table,
)


def select_embeddings(ids: Sequence[str] | pa.Array, vectors: np.ndarray, wanted: pd.Series | Sequence[str]) -> np.ndarray:
    """Rows of ``vectors`` (row i for ids[i]) for the ``wanted`` ids, in their order: ``vectors``
    itself, not a copy, when ``wanted`` is ``ids`` (as for a run's content sentences and claims,
    which would otherwise hold the corpus's vectors three times).

    A wanted id without a vector is an error naming it (the embeddings are from another run).
    """
    if len(wanted) == len(ids) and as_large_strings(wanted).equals(as_large_strings(ids)):
        return vectors
    return vectors[locate_embeddings(ids, wanted)]


def locate_embeddings(ids: Sequence[str] | pa.Array, wanted: pd.Series | Sequence[str]) -> np.ndarray:
    """Row numbers (len(wanted),) int64 of the ``wanted`` ids in ``ids`` (the embeddings' row
    order), to read those rows only, e.g. from a memory map; a wanted id without a vector is an
    error naming it (the embeddings are from another run)."""
    wanted = as_large_strings(wanted)
    rows = locate_strings(wanted, ids)
    if (missing := rows < 0).any():
        first = wanted[int(np.argmax(missing))].as_py()
        raise KeyError(f"{int(missing.sum())} sentences have no embedding (first: {first}); re-run 02_embed")
    return rows.astype(np.int64)


def compare_corpus(
    articles: pd.DataFrame,
    sentences: pd.DataFrame,
    sentence_embeddings: np.ndarray,
    claims: pd.DataFrame,
    claim_embeddings: np.ndarray,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    reuse_threshold: float = REUSE_THRESHOLD,
    story_threshold: float = STORY_THRESHOLD,
    window_days: int = WINDOW_DAYS,
    event_threshold: float = EVENT_THRESHOLD,
    engine: Any = None,
) -> dict[str, pd.DataFrame]:
    """All comparison tables of a corpus, keyed by table name: ``group_stories``, then
    ``compare_facts`` and ``compare_reuse`` (the comparison notebook calls the three itself, reading
    each one's inputs from the run folder when it needs them and letting go of them after).

    ``sentences`` are the content sentences (row i embedded in ``sentence_embeddings`` row i),
    ``claims`` the claims table (row i in ``claim_embeddings`` row i); embeddings are
    L2-normalised float32 (n, dim). Returns ``stories``, ``facts``, ``matches``, ``coverage``,
    ``discrepancies``, ``reuse``, ``reuse_alignments`` and ``articles`` (story_id filled).
    """
    stories = group_stories(articles, sentences, claims, story_threshold, window_days)
    story_of = stories.set_index("article_id")["story_id"]
    return {
        "stories": stories,
        **compare_facts(claims, claim_embeddings, stories, same_claim_threshold, event_threshold, engine=engine),
        **compare_reuse(articles, sentences, sentence_embeddings, stories, reuse_threshold, engine=engine),
        "articles": articles.assign(story_id=articles["article_id"].map(story_of).fillna("")),
    }


def compare_facts(
    claims: pd.DataFrame,
    claim_embeddings: np.ndarray,
    stories: pd.DataFrame,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
    engine: Any = None,
) -> dict[str, pd.DataFrame]:
    """``facts``, ``matches``, ``coverage`` and ``discrepancies`` of ``claims`` (row i embedded in
    ``claim_embeddings`` row i) within the ``stories`` (``group_stories``'s): the claims' half of
    ``compare_corpus``, computed a block of stories at a time, on the workers of ``engine`` when
    one is given (``storydiff.compare.blocks``). ``compare_run_facts`` does the same for a run
    folder without holding the claims or the tables."""
    return gather_block_tables(
        compare_blocks(claims, claim_embeddings, stories, same_claim_threshold, event_threshold, engine=engine))


def compare_run_facts(
    run_dir: str | Path,
    sentence_ids: pd.Series,
    sentence_embeddings: np.ndarray,
    stories: pd.DataFrame,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
    engine: Any = None,
) -> None:
    """``compare_facts`` for the claims of ``run_dir``'s content sentences ``sentence_ids`` (row i
    embedded in ``sentence_embeddings`` row i; a claim is a whole sentence), writing the tables to
    ``run_dir``: the claims are read a few blocks at a time (``iterate_run_blocks``) and the
    tables written a part per block as the blocks finish (``write_block_tables``), so neither is
    ever all in memory."""
    blocks = iterate_run_blocks(run_dir, sentence_ids, sentence_embeddings, stories)
    write_block_tables(run_dir, compare_each_block(blocks, same_claim_threshold, event_threshold, engine))


def compare_reuse(
    articles: pd.DataFrame,
    sentences: pd.DataFrame,
    sentence_embeddings: np.ndarray,
    stories: pd.DataFrame,
    reuse_threshold: float = REUSE_THRESHOLD,
    engine: Any = None,
    run_dir: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """``reuse`` and, unless ``run_dir`` is given, ``reuse_alignments``: the sentences' half of
    ``compare_corpus``, which needs no claims. The alignments are computed a block of article
    pairs at a time, on the workers of ``engine`` when one is given
    (``storydiff.compare.reuse.align_blocks``); given ``run_dir``, written there a part per
    block as they come (``write_alignments``).

    ``sentences`` need columns sentence_id and article_id, and text unless ``run_dir`` is given:
    without it, only the texts of the sentences in a similar pair are read from the run's
    sentences table, once the pairs are found (the search needs none).
    """
    pairs = find_similar_sentences(sentences, sentence_embeddings, reuse_threshold)
    if "text" not in sentences and run_dir is not None:
        sentences = sentences.assign(text=read_paired_texts(run_dir, sentences, pairs))
    alignments = align_blocks(sentences, pairs, engine=engine)
    tables = {}
    if run_dir is None:
        tables["reuse_alignments"] = gather_alignments(alignments)
        counts = count_alignments(tables["reuse_alignments"])
    else:
        counts = write_alignments(run_dir, alignments)
    return {**tables, "reuse": summarise_reuse(counts, sentences, articles, stories)}


def describe_run_articles(run_dir: str | Path, articles: pd.DataFrame, sentence_ids: pd.Series) -> DescribedArticles:
    """``DescribedArticles`` of the run's ``articles`` (article_id, published, duplicate_of) from
    the words of its content sentences and the claims of those ``sentence_ids``
    (``read_article_words``, ``read_article_claims``), the counts weighed where they lie: what
    ``group_stories`` takes from a run folder without holding its counts beside their TF-IDF."""
    return describe_story_articles(articles, read_article_words(run_dir), read_article_claims(run_dir, sentence_ids),
                                   copy=False)


def read_article_words(run_dir: str | Path) -> TermCounts:
    """Word ``TermCounts`` of every article of the run that is not a duplicate (sorted ids; a zero
    row for one without content sentences) from its content sentences, counted a record batch of
    the sentences table at a time, so the texts are never all held at once: those of
    ``join_article_texts``, counted as ``group_stories`` counts them."""
    kept = index_kept_articles(read_table(run_dir, "articles", ["article_id", "duplicate_of"]))
    batches = map(join_article_texts, iterate_content_batches(run_dir, ["article_id", "position", "text"], kept))
    return count_article_terms(batches, kept.sort_values())


def read_article_claims(run_dir: str | Path, sentence_ids: pd.Series) -> ArticleClaims:
    """``ArticleClaims`` of every article of the run that is not a duplicate (sorted ids), from the
    claims of the content sentences ``sentence_ids``, read a record batch of the claims table at
    a time: the claims' entities and dates are never all held at once."""
    kept = index_kept_articles(read_table(run_dir, "articles", ["article_id", "duplicate_of"]))
    content = as_large_strings(sentence_ids)  # an Arrow hash set: no Python string of each id
    columns = ["sentence_id", "article_id", "entities", "dates"]
    batches = iterate_table_batches(run_dir, "claims", columns)
    return summarise_article_claims(
        (batch.filter(pc.is_in(batch.column(0), value_set=content)).to_pandas() for batch in batches), kept.sort_values()
    )


def read_paired_texts(run_dir: str | Path, sentences: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """(len(sentences),) object: the text of each row of ``sentences`` in a pair of ``pairs``
    (``find_similar_sentences``'s), read from the run's sentences table a record batch at a time,
    None for the other rows (8 bytes each: no Python string of every sentence id)."""
    rows = distinct_values(pairs[["row_a", "row_b"]].to_numpy())
    texts = np.full(len(sentences), None, dtype=object)
    if not len(rows):
        return texts
    wanted = sentences["sentence_id"].take(rows)
    # a filtered read of a one-file table held every text of the corpus
    value_set = as_large_strings(wanted)
    read = concat_parts([batch.filter(pc.is_in(batch.column(0), value_set=value_set)).to_pandas()
                         for batch in iterate_table_batches(run_dir, "sentences", ["sentence_id", "text"])])
    texts[rows] = read.set_index("sentence_id")["text"].reindex(pd.Index(wanted)).to_numpy()
    return texts


def write_alignments(run_dir: str | Path, results: Iterable[tuple[int, pd.DataFrame]]) -> pd.DataFrame:
    """Write the alignments of every block of ``align_blocks`` (``results``) to ``run_dir`` as the
    partitioned table ``reuse_alignments``, part i from block i, as they come; return their
    ``count_alignments``, the only thing of them kept in memory."""
    counts = []
    with open_table_parts(run_dir, "reuse_alignments") as writer:
        for number, part in results:
            writer.write(number, part)
            counts.append(count_alignments(part))
    return pd.concat(counts, ignore_index=True)
