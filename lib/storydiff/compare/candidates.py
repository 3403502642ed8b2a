"""Candidate pairs for cross-article work: nearest neighbours instead of every pair.

Comparing n items with each other costs n^2 / 2 scores, which stops scaling long before a
corpus stops fitting one machine. A caller instead scores only the pairs this module returns:
each vector's ``k`` nearest neighbours by cosine, optionally widened until every neighbour
above ``min_similarity`` is in. Up to ``exact_limit`` vectors the search is exact (brute-force
cosines in blocks of rows, cheap at that size), above it approximate: a usearch HNSW index with
fixed parameters, built single-threaded so the graph, and so the answer, is the same on every run.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from usearch.index import Index, Matches

from storydiff.compare.sameclaim import score_pairs

EXACT_LIMIT = 20_000
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 64
BLOCK_ROWS = 1024
PAIR_BLOCK = 16_384  # pairs scored at a time: two (PAIR_BLOCK, dim) float32 copies, 48 MiB at dim 384


def search_exact(vectors: np.ndarray, rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(neighbours, cosines), each (len(rows), count): the ``count`` most similar rows of
    ``vectors`` (n, dim, L2-normalised) to each of ``rows``, most similar first, ties by row."""
    neighbours, cosines = [], []
    for start in range(0, len(rows), BLOCK_ROWS):
        sims = vectors[rows[start : start + BLOCK_ROWS]] @ vectors.T
        top = np.argpartition(-sims, count - 1, axis=1)[:, :count] if count < sims.shape[1] else (
            np.broadcast_to(np.arange(sims.shape[1]), sims.shape))
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.lexsort((top, -top_sims), axis=1)
        neighbours.append(np.take_along_axis(top, order, axis=1))
        cosines.append(np.take_along_axis(top_sims, order, axis=1))
    return np.concatenate(neighbours), np.concatenate(cosines)


def build_index(vectors: np.ndarray) -> Index:
    """usearch HNSW index (cosine) of ``vectors`` (n, dim), key i for row i, built on one thread."""
    index = Index(ndim=vectors.shape[1], metric="cos", dtype="f32", connectivity=CONNECTIVITY,
                  expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=1)
    return index


def search_index(index: Index, vectors: np.ndarray, rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """As ``search_exact``, approximately, from ``index``, queried in blocks of rows; missing
    neighbours are -1 (cosine -inf)."""
    index.expansion_search = max(EXPANSION_SEARCH, count)
    neighbours = np.full((len(rows), count), -1, dtype=np.int64)
    cosines = np.full((len(rows), count), -np.inf, dtype=np.float32)
    for start in range(0, len(rows), BLOCK_ROWS):
        found = index.search(vectors[rows[start : start + BLOCK_ROWS]], count)
        if isinstance(found, Matches):  # a single query comes back unbatched, only its found neighbours
            keys, distances, counts = found.keys[None, :], found.distances[None, :], np.array([len(found.keys)])
        else:
            keys, distances, counts = found.keys, found.distances, found.counts
        width = keys.shape[1]
        valid = np.arange(width)[None, :] < counts[:, None]
        block = slice(start, start + len(keys))
        neighbours[block, :width] = np.where(valid, keys.astype(np.int64), -1)
        cosines[block, :width] = np.where(valid, 1.0 - distances, -np.inf)
    return neighbours, cosines


def find_candidate_pairs(
    vectors: np.ndarray,
    k: int,
    min_similarity: float | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> np.ndarray:
    """Pairs (m, 2) of row numbers, i < j, sorted, that are among each other's nearest neighbours.

    ``vectors`` (n, dim) float32, L2-normalised; all-zero rows (nothing to compare) get no pair.
    Each row contributes its ``k`` nearest rows by cosine; with ``min_similarity`` only those at
    or above it, and the search is repeated with twice the count for every row whose last
    neighbour still reaches it, so no neighbour above ``min_similarity`` is cut off by ``k``.
    Exact up to ``exact_limit`` rows, approximate (HNSW) above.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    present = np.flatnonzero(np.einsum("ij,ij->i", vectors, vectors) > 0)  # no (n, dim) temporary: vectors may be a memory map
    if len(present) < 2 or k < 1:
        return np.empty((0, 2), dtype=np.int64)
    kept = vectors if len(present) == len(vectors) else vectors[present]
    if len(kept) <= exact_limit:
        search = partial(search_exact, kept)
    else:
        search = partial(search_index, build_index(kept), kept)
    found = []
    rows, count = np.arange(len(kept)), min(k + 1, len(kept))  # + 1: a row is its own neighbour
    while len(rows):
        neighbours, cosines = search(rows, count)
        keep = (neighbours >= 0) & (neighbours != rows[:, None])
        if min_similarity is not None:
            keep &= cosines >= min_similarity
        found.append(np.column_stack([np.repeat(rows, keep.sum(axis=1)), neighbours[keep]]))
        if min_similarity is None or count >= len(kept):
            break
        rows, count = rows[cosines[:, -1] >= min_similarity], min(2 * count, len(kept))
    pairs = np.sort(present[np.concatenate(found)], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else np.empty((0, 2), dtype=np.int64)


def score_candidate_pairs(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine (m,) float32 of each row pair in ``pairs`` (m, 2) of ``vectors`` (n, dim,
    L2-normalised), ``PAIR_BLOCK`` pairs at a time: the (m, dim) copies of both sides that one
    call would make outgrow the vectors themselves when each row has many candidates."""
    scores = [
        score_pairs(vectors[block[:, 0]], vectors[block[:, 1]])
        for block in (pairs[start : start + PAIR_BLOCK] for start in range(0, len(pairs), PAIR_BLOCK))
    ]
    return np.concatenate(scores) if scores else np.empty(0, dtype=np.float32)
