"""The comparison stage in one call: stories, facts, matches, coverage, discrepancies, reuse."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from storydiff.compare.blocks import compare_blocks, gather_block_tables, write_block_tables
from storydiff.compare.discrepancies import EVENT_THRESHOLD
from storydiff.compare.reuse import (
    align_blocks, count_alignments, find_similar_sentences, gather_alignments, summarise_reuse,
)
from storydiff.compare.sameclaim import REUSE_THRESHOLD, SAME_CLAIM_THRESHOLD
from storydiff.compare.stories import STORY_THRESHOLD, WINDOW_DAYS, group_stories
from storydiff.runfolder import open_table_parts


def select_embeddings(ids: list[str], vectors: np.ndarray, wanted: pd.Series | list[str]) -> np.ndarray:
    """Rows of ``vectors`` (row i for ids[i]) for the ``wanted`` ids, in their order: ``vectors``
    itself, not a copy, when ``wanted`` is ``ids`` (as for a run's content sentences and claims,
    which would otherwise hold the corpus's vectors three times).

    A wanted id without a vector is an error naming it (the embeddings are from another run).
    """
    if len(wanted) == len(ids) and pd.Index(wanted, dtype="str").equals(pd.Index(ids, dtype="str")):
        return vectors
    return vectors[locate_embeddings(ids, wanted)]


def locate_embeddings(ids: list[str], wanted: pd.Series | list[str]) -> np.ndarray:
    """Row numbers (len(wanted),) int64 of the ``wanted`` ids in ``ids`` (the embeddings' row
    order), to read those rows only, e.g. from a memory map; a wanted id without a vector is an
    error naming it (the embeddings are from another run)."""
    # a hash index lookup: a dict of every id and a Python loop over the wanted ones cost ~200 bytes
    # and ~1 µs per sentence (the figures kernel at 582,768 claims)
    wanted = pd.Index(wanted, dtype="str")
    rows = pd.Index(ids, dtype="str").get_indexer(wanted).astype(np.int64, copy=False)
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        raise KeyError(f"{len(missing)} sentences have no embedding (first: {wanted[missing[0]]}); re-run 02_embed")
    return rows


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
    run_dir: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """All comparison tables of a corpus, keyed by table name: ``compare_stories`` then
    ``compare_reuse`` (a caller short of memory calls the two itself and lets go of the claims
    between them, as the comparison notebook does).

    ``sentences`` are the content sentences (row i embedded in ``sentence_embeddings`` row i),
    ``claims`` the claims table (row i in ``claim_embeddings`` row i); embeddings are
    L2-normalised float32 (n, dim). Returns ``stories``, ``facts``, ``matches``, ``coverage``,
    ``discrepancies``, ``reuse``, ``reuse_alignments`` and ``articles`` (story_id filled); given
    ``run_dir``, the five tables made a block at a time are written there instead of returned.
    """
    tables = compare_stories(
        articles, sentences, claims, claim_embeddings, same_claim_threshold=same_claim_threshold,
        story_threshold=story_threshold, window_days=window_days, event_threshold=event_threshold,
        engine=engine, run_dir=run_dir,
    )
    return tables | compare_reuse(articles, sentences, sentence_embeddings, tables["stories"], reuse_threshold,
                                  engine=engine, run_dir=run_dir)


def compare_stories(
    articles: pd.DataFrame,
    sentences: pd.DataFrame,
    claims: pd.DataFrame,
    claim_embeddings: np.ndarray,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    story_threshold: float = STORY_THRESHOLD,
    window_days: int = WINDOW_DAYS,
    event_threshold: float = EVENT_THRESHOLD,
    engine: Any = None,
    run_dir: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """``stories``, ``articles`` (story_id filled) and, unless ``run_dir`` is given, ``facts``,
    ``matches``, ``coverage`` and ``discrepancies``: the claims' half of ``compare_corpus``.

    Facts, matches, coverage and discrepancies are computed a block of stories at a time, on the
    workers of ``engine`` when one is given (``storydiff.compare.blocks``); given ``run_dir``,
    they are written there a part per block as they are made (``write_block_tables``), so they
    are never all in memory.
    """
    stories = group_stories(articles, sentences, claims, story_threshold, window_days)
    blocks = compare_blocks(claims, claim_embeddings, stories, same_claim_threshold, event_threshold, engine=engine)
    block_tables = {}
    if run_dir is None:
        block_tables = gather_block_tables(blocks)
    else:
        write_block_tables(run_dir, blocks)
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    return {
        "stories": stories,
        **block_tables,
        "articles": articles.assign(story_id=articles["article_id"].map(story_of).fillna("")),
    }


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
    """
    pairs = find_similar_sentences(sentences, sentence_embeddings, reuse_threshold)
    alignments = align_blocks(sentences, pairs, engine=engine)
    tables = {}
    if run_dir is None:
        tables["reuse_alignments"] = gather_alignments(alignments)
        counts = count_alignments(tables["reuse_alignments"])
    else:
        counts = write_alignments(run_dir, alignments)
    return {**tables, "reuse": summarise_reuse(counts, sentences, articles, stories)}


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
