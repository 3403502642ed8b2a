"""Candidate pairs for cross-article work: nearest neighbours instead of every pair.

Comparing n items with each other costs n^2 / 2 scores, which stops scaling long before a
corpus stops fitting one machine. A caller instead scores only the pairs this module returns:
each vector's ``k`` nearest neighbours by cosine, optionally widened until every neighbour
above ``min_similarity`` is in. Up to ``exact_limit`` vectors the search is exact (brute-force
cosines in blocks of rows, cheap at that size), above it approximate: a usearch HNSW index with
fixed parameters, built single-threaded so the graph, and so the answer, is the same on every run.
The index holds the vectors in half precision: on BBC grown to 145,692 sentences it took 0.56 times
the memory of float32 and, searched twice as wide, found more of the pairs above 0.8 (99.42% against
99.15%) in 0.75 times the time. Its cosines differ from float32's (by up to 7e-5 over 200,000 pairs
of BBC sentences, more for vectors of a few large components), so with a similarity floor it keeps
neighbours down to ``INDEX_TOLERANCE`` below the floor and rescores them in float32.

When only the pairs above a similarity floor are wanted, identical vectors (the same sentence
in several articles: wire copy, republished text) are searched once and their pairs given to
every copy. An HNSW graph misses pairs among many identical points: on BBC grown by 16 edited
copies (31,965 sentences, 3,309 distinct) a search over every sentence missed 12% of the pairs
above 0.8, nine in ten of them between identical sentences; searched once, none.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from usearch.index import Index, Matches

from storydiff.compare.sameclaim import score_pairs

EXACT_LIMIT = 20_000
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 128
INDEX_DTYPE = "f16"
INDEX_TOLERANCE = 0.01  # below min_similarity, by the index's half-precision cosines: rescored in float32
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


def build_index(vectors: np.ndarray, rows: np.ndarray | None = None, dtype: str = INDEX_DTYPE) -> Index:
    """usearch HNSW index (cosine) of rows ``rows`` of ``vectors`` (n, dim; all when None), key i
    for the i-th of them, stored as ``dtype`` (usearch's name: ``f16`` takes half the memory of
    ``f32``, with less precise cosines), built on one thread, ``BLOCK_ROWS`` rows added at a time (the same
    graph as adding them at once: HNSW inserts one by one), so ``vectors`` may be a memory map."""
    rows = np.arange(len(vectors)) if rows is None else rows
    index = Index(ndim=vectors.shape[1], metric="cos", dtype=dtype, connectivity=CONNECTIVITY,
                  expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
    for start in range(0, len(rows), BLOCK_ROWS):
        block = rows[start : start + BLOCK_ROWS]
        index.add(np.arange(start, start + len(block), dtype=np.uint64), np.ascontiguousarray(vectors[block], dtype=np.float32), threads=1)
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
    neighbour still reaches it, so no neighbour above ``min_similarity`` is cut off by ``k``: the
    pairs are then every pair at or above it, and identical rows are searched once
    (``group_identical_rows``) and pair with each other and with each other's neighbours.
    Exact up to ``exact_limit`` rows searched, approximate (HNSW) above.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    present = np.flatnonzero(np.einsum("ij,ij->i", vectors, vectors) > 0)  # no (n, dim) temporary: vectors may be a memory map
    if len(present) < 2 or k < 1:
        return np.empty((0, 2), dtype=np.int64)
    kept = vectors if len(present) == len(vectors) else vectors[present]
    if min_similarity is None:
        pairs = search_neighbours(kept, np.arange(len(kept)), k, None, exact_limit)
    else:
        group, first = group_identical_rows(kept)
        pairs = expand_group_pairs(search_neighbours(kept, first, k, min_similarity, exact_limit), group)
    pairs = np.sort(present[pairs], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else np.empty((0, 2), dtype=np.int64)


def search_neighbours(
    vectors: np.ndarray, members: np.ndarray, k: int, min_similarity: float | None, exact_limit: int
) -> np.ndarray:
    """Pairs (m, 2), unordered and possibly repeated, of positions in ``members`` (rows of
    ``vectors`` (n, dim), at least 2, none all-zero): ``find_candidate_pairs``'s search among them.
    Above ``exact_limit`` members the index is built and queried from ``vectors`` a block of rows
    at a time, so the members' vectors are not copied."""
    approximate = len(members) > exact_limit
    floor = None if min_similarity is None else min_similarity - (INDEX_TOLERANCE if approximate else 0.0)
    if not approximate:
        every = len(members) == len(vectors) and bool((members == np.arange(len(vectors))).all())
        search = partial(search_exact, vectors if every else vectors[members])
    else:
        index = build_index(vectors, members)

        def search(rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
            return search_index(index, vectors, members[rows], count)
    found = []
    rows, count = np.arange(len(members)), min(k + 1, len(members))  # + 1: a row is its own neighbour
    while len(rows):
        neighbours, cosines = search(rows, count)
        keep = (neighbours >= 0) & (neighbours != rows[:, None])
        if floor is not None:
            keep &= cosines >= floor
        found.append(np.column_stack([np.repeat(rows, keep.sum(axis=1)), neighbours[keep]]))
        if floor is None or count >= len(members):
            break
        rows, count = rows[cosines[:, -1] >= floor], min(2 * count, len(members))
    pairs = np.concatenate(found)
    if approximate and min_similarity is not None:
        pairs = pairs[score_candidate_pairs(vectors, members[pairs]) >= min_similarity]
    return pairs


def group_identical_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group (n,) int64, first (g,) int64): rows with bit-identical vectors share a group, numbered
    in order of first appearance, and ``first[g]`` is group g's first row. Rows are grouped by
    ``hash_rows`` and checked against their group's first row a block at a time (no copy of
    ``vectors``, which may be a memory map); a row whose hash collides gets a group of its own."""
    group = pd.factorize(hash_rows(vectors))[0].astype(np.int64)
    first = np.unique(group, return_index=True)[1]
    collided = [
        np.flatnonzero((vectors[start : start + BLOCK_ROWS] != vectors[first[group[start : start + BLOCK_ROWS]]]).any(axis=1)) + start
        for start in range(0, len(vectors), BLOCK_ROWS)
    ]
    collided = np.concatenate(collided) if collided else np.empty(0, dtype=np.int64)
    group[collided] = len(first) + np.arange(len(collided))
    return group, np.concatenate([first, collided])


def hash_rows(vectors: np.ndarray) -> np.ndarray:
    """A 64-bit hash (n,) uint64 of each row's bytes (``vectors`` (n, dim), 4 or 8 bytes a value): the
    sum of its 32-bit words times fixed odd multipliers, modulo 2^64, a block of rows at a time."""
    words = vectors.shape[1] * vectors.itemsize // 4
    multipliers = np.random.default_rng(0).integers(1, 2**63, size=words, dtype=np.uint64) | np.uint64(1)
    hashes = [
        (np.ascontiguousarray(vectors[start : start + BLOCK_ROWS]).view(np.uint32).astype(np.uint64) * multipliers).sum(axis=1)
        for start in range(0, len(vectors), BLOCK_ROWS)
    ]
    return np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)


def expand_group_pairs(pairs: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Row pairs (m, 2) of every row of one group with every row of the other, for each group
    pair in ``pairs`` (p, 2), and of the rows of each group with each other; ``group`` (n,) is
    ``group_identical_rows``'s."""
    sizes = np.bincount(group)
    order = np.argsort(group, kind="stable")
    starts = np.cumsum(sizes) - sizes
    repeated = np.flatnonzero(sizes > 1)
    pairs = np.unique(np.sort(np.vstack([pairs, np.column_stack([repeated, repeated])]), axis=1), axis=0)
    a, b = pairs[:, 0], pairs[:, 1]
    counts = sizes[a] * sizes[b]
    pair = np.repeat(np.arange(len(pairs)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    place_a, place_b = offset // sizes[b][pair], offset % sizes[b][pair]
    keep = (a[pair] != b[pair]) | (place_a < place_b)  # within a group: each pair of its rows once
    return np.column_stack([order[starts[a][pair] + place_a], order[starts[b][pair] + place_b]])[keep]


def score_candidate_pairs(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine (m,) float32 of each row pair in ``pairs`` (m, 2) of ``vectors`` (n, dim,
    L2-normalised), ``PAIR_BLOCK`` pairs at a time: the (m, dim) copies of both sides that one
    call would make outgrow the vectors themselves when each row has many candidates."""
    scores = [
        score_pairs(vectors[block[:, 0]], vectors[block[:, 1]])
        for block in (pairs[start : start + PAIR_BLOCK] for start in range(0, len(pairs), PAIR_BLOCK))
    ]
    return np.concatenate(scores) if scores else np.empty(0, dtype=np.float32)
