"""Article-to-article similarity from sentence alignment.

For articles A and B, every sentence of A is matched to its most similar sentence of B (cosine
of the embeddings); the mean of those best-match cosines is the directed score A->B. The
article similarity is the mean of A->B and B->A, so it is symmetric, 1.0 for an article with
itself, and high only when most sentences of *both* articles find a counterpart (a short
article copied inside a long one scores high one way and lower the other; both directions are
kept in the table).

Up to ``EXACT_LIMIT`` articles every pair is scored; above it only each article's
``NEIGHBOURS`` nearest articles by the mean of their sentence vectors (``compare.candidates``),
and the square matrix, only readable for a few dozen articles anyway, is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from storydiff.arrays import distinct_values
from storydiff.compare.candidates import find_candidate_pairs
from storydiff.embed import normalize_rows

EXACT_LIMIT = 1000  # articles: up to this many, every pair is scored
NEIGHBOURS = 20
TABLE_COLUMNS = [
    "article_a",
    "article_b",
    "similarity",
    "similarity_a_to_b",
    "similarity_b_to_a",
    "n_sentences_a",
    "n_sentences_b",
]


def has_unit_rows(vectors: np.ndarray, block: int = 65_536, tolerance: float = 1e-5) -> bool:
    """Whether every row of ``vectors`` (n, dim) has L2 norm 1 within ``tolerance``, read
    ``block`` rows at a time."""
    return all(
        np.allclose(np.einsum("ij,ij->i", part, part), 1.0, rtol=0, atol=2 * tolerance)
        for part in (vectors[start : start + block] for start in range(0, len(vectors), block))
    )


def group_sentences(
    vectors: np.ndarray, sentence_article_ids: Sequence[str], article_ids: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors (n, dim) float32, each article's rows together, start row (len(article_ids),),
    end row): article i's sentences are rows start[i]:end[i] (empty when it has none). Rows that
    already hold each article's sentences together (in any order of the articles) and are of unit
    length (the embed stage's) are ``vectors`` itself, not a copy, so a memory-mapped file stays on
    disk; otherwise a copy sorted by article. ``sentence_article_ids`` (a list, array, Series or
    Categorical, whose categories alone are then looked up) is looked up as a whole, not a Python
    string per row; an id not in ``article_ids`` is a KeyError."""
    owners = pd.Index(article_ids).get_indexer(pd.Index(sentence_article_ids)).astype(np.int64)
    if np.any(owners < 0):
        raise KeyError(f"sentences of articles not compared: {sorted(set(np.asarray(sentence_article_ids)[owners < 0]))[:5]}")
    rows = np.asarray(vectors, dtype=np.float32)
    run_owners = owners[np.flatnonzero(np.diff(owners, prepend=-1))]  # the article of each run of rows
    if len(distinct_values(run_owners)) < len(run_owners):  # an article's rows are apart
        order = np.argsort(owners, kind="stable")
        rows, owners = rows[order], owners[order]
    unit = rows if has_unit_rows(rows) else normalize_rows(rows)
    counts = np.bincount(owners, minlength=len(article_ids))
    starts = np.zeros(len(article_ids), dtype=np.int64)
    present, first = np.unique(owners, return_index=True)
    starts[present] = first
    return unit, starts, starts + counts


def list_row_articles(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The article number (position in ``starts``) of each row of ``group_sentences``'s vectors."""
    by_start = np.argsort(starts, kind="stable")
    return np.repeat(by_start, (ends - starts)[by_start])


def compute_pair_similarity(
    unit: np.ndarray, starts: np.ndarray, ends: np.ndarray, pairs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(a_to_b, b_to_a), each (m,) float64, of the article ``pairs`` (m, 2) (``group_sentences``
    layout): mean over the first article's sentences of their best cosine in the second, and the
    reverse; NaN when either article has no sentence."""
    a_to_b, b_to_a = np.full(len(pairs), np.nan), np.full(len(pairs), np.nan)
    sizes = ends - starts
    usable = np.flatnonzero((sizes[pairs[:, 0]] > 0) & (sizes[pairs[:, 1]] > 0))
    for first in distinct_values(pairs[usable, 0]):
        rows = usable[pairs[usable, 0] == first]
        partners = pairs[rows, 1]
        columns = np.concatenate([np.arange(starts[p], ends[p]) for p in partners])
        offsets = np.concatenate([[0], np.cumsum(sizes[partners])[:-1]])
        cosines = unit[starts[first] : ends[first]] @ unit[columns].T  # (its sentences, partners' sentences)
        a_to_b[rows] = np.maximum.reduceat(cosines, offsets, axis=1).astype(np.float64).mean(axis=0)
        best_back = cosines.max(axis=0).astype(np.float64)
        b_to_a[rows] = np.add.reduceat(best_back, offsets) / sizes[partners]
    return a_to_b, b_to_a


def compute_article_similarity(
    vectors: np.ndarray,
    sentence_article_ids: Sequence[str],
    article_ids: list[str] | None = None,
    exact_limit: int = EXACT_LIMIT,
    neighbours: int = NEIGHBOURS,
    scratch: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentence-alignment similarity of article pairs: every pair up to ``exact_limit`` articles,
    above it each article with its ``neighbours`` nearest (module docstring).

    ``vectors``: sentence embeddings (n, dim); ``sentence_article_ids``: the article of each row
    (a list, array, Series or Categorical: ``group_sentences``);
    ``article_ids``: the articles to compare, in output order (default: those of the sentences,
    sorted); an article without sentences gets NaN. ``scratch``: a folder (e.g.
    ``runfolder.open_scratch_dir``'s) where the article centres (articles, dim) float32 of the
    candidate search lie in a file while they are used (1.5 KiB an article in memory otherwise).

    Returns (table, matrix). ``table``: one row per pair a < b (in ``article_ids`` order) with
    article_a, article_b, similarity (mean of both directions, cosine units), similarity_a_to_b,
    similarity_b_to_a, n_sentences_a, n_sentences_b. ``matrix``: square DataFrame of similarity
    indexed and columned by article_id, 1.0 on the diagonal for articles with sentences; above
    ``exact_limit`` articles it has the index and no column.
    """
    if len(sentence_article_ids) != len(vectors):
        raise ValueError(f"{len(vectors)} vectors but {len(sentence_article_ids)} article ids")
    article_ids = sorted(set(sentence_article_ids)) if article_ids is None else list(article_ids)
    unit, starts, ends = group_sentences(vectors, sentence_article_ids, article_ids)
    n = len(article_ids)
    if n <= exact_limit:
        pairs = np.column_stack(np.triu_indices(n, 1)).astype(np.int64)
    else:
        shape = (n, unit.shape[1])
        centres = np.zeros(shape, dtype=np.float32) if scratch is None else np.lib.format.open_memmap(
            Path(scratch) / "article_centres.npy", mode="w+", dtype=np.float32, shape=shape)
        np.add.at(centres, list_row_articles(starts, ends), unit)
        pairs = find_candidate_pairs(normalize_rows(centres, in_place=True), neighbours, exact_limit=exact_limit)
        del centres  # not needed for the scores
    a_to_b, b_to_a = compute_pair_similarity(unit, starts, ends, pairs)
    n_sentences = ends - starts
    table = pd.DataFrame({
        "article_a": np.array(article_ids, dtype=object)[pairs[:, 0]],
        "article_b": np.array(article_ids, dtype=object)[pairs[:, 1]],
        "similarity": (a_to_b + b_to_a) / 2,
        "similarity_a_to_b": a_to_b,
        "similarity_b_to_a": b_to_a,
        "n_sentences_a": n_sentences[pairs[:, 0]],
        "n_sentences_b": n_sentences[pairs[:, 1]],
    }, columns=TABLE_COLUMNS)
    index = pd.Index(article_ids, name="article_id")
    if n > exact_limit:
        return table, pd.DataFrame(index=index)
    symmetric = np.full((n, n), np.nan)
    symmetric[pairs[:, 0], pairs[:, 1]] = symmetric[pairs[:, 1], pairs[:, 0]] = table["similarity"].to_numpy()
    np.fill_diagonal(symmetric, np.where(n_sentences > 0, 1.0, np.nan))
    return table, pd.DataFrame(symmetric, index=index, columns=article_ids)
