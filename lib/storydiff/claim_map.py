"""The 2-D map of claim embeddings behind the claim-map figure.

The layout is fitted once per run and saved as table ``claim_map`` (claim_id, x, y, method); every
figure reads those coordinates rather than fitting again. UMAP (cosine metric, PCA
initialisation, one thread, fixed ``random_state``, the exact neighbour graph) is used from
``umap_min_points`` claims up;
below that, UMAP's neighbour graph is too small to mean anything and the map is a PCA projection
instead, which the caption says. ``n_neighbors`` shrinks with the number of claims, so a few dozen
claims still get a local layout.

Past ``umap_max_points`` claims UMAP is fitted on a sample of that many (drawn with the same
``random_state``) and every other claim is placed at the similarity-weighted mean of its
``PLACE_NEIGHBOURS`` most similar distinct sampled claims (method ``umap-sample``): the fit's time and
memory stop growing with the corpus, the placement grows linearly (an HNSW search,
``storydiff.compare.candidates``). UMAP's own ``transform`` does the same job but took longer
than the fit itself here (78 s for 5,000 claims).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from storydiff.compare.candidates import build_index, group_identical_rows, search_exact, search_index
from storydiff.embed import normalize_rows

CLAIM_MAP_COLUMNS = ["claim_id", "x", "y", "method"]
UMAP_MIN_POINTS = 40
UMAP_MAX_POINTS = 20_000
PLACE_NEIGHBOURS = 10
PLACE_BLOCK = 4_096  # claims placed at a time: their float32 vectors, 6 MiB at dim 384
MAX_NEIGHBORS = 15  # UMAP's own default, used once there are enough claims
MIN_NEIGHBORS = 5


def choose_n_neighbors(n_points: int) -> int:
    """UMAP ``n_neighbors`` for ``n_points`` claims: a quarter of them, within [5, 15], < n."""
    return max(2, min(MAX_NEIGHBORS, max(MIN_NEIGHBORS, n_points // 4), n_points - 1))


def project_pca(vectors: np.ndarray) -> np.ndarray:
    """First two principal components of ``vectors`` (n, dim), shape (n, 2); zero columns pad
    what fewer than three points cannot span. Signs are fixed by scikit-learn's svd_flip."""
    coords = np.zeros((len(vectors), 2))
    n_components = min(2, len(vectors) - 1, vectors.shape[1]) if len(vectors) else 0
    if n_components > 0:
        coords[:, :n_components] = PCA(n_components=n_components, svd_solver="full").fit_transform(vectors)
    return coords


def project_umap(vectors: np.ndarray, random_state: int) -> np.ndarray:
    """UMAP of ``vectors`` (n, dim) to (n, 2), cosine metric, deterministic for ``random_state``.
    Its neighbour graph is given to it, found exactly (``search_exact``): from 4,096 points UMAP
    would search with pynndescent, whose numba compilation alone took some 30 s a run."""
    n_neighbors = choose_n_neighbors(len(vectors))
    unit = normalize_rows(np.asarray(vectors, dtype=np.float32))
    neighbours, cosines = search_exact(unit, np.arange(len(vectors)), n_neighbors)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by umap
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")  # no transform of new points: not used
        import umap  # slow to import (numba): only when UMAP runs

        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            metric="cosine",
            precomputed_knn=(neighbours, np.clip(1.0 - cosines, 0.0, None)),
            init="pca",
            random_state=random_state,
            n_jobs=1,
        )
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)


def place_by_neighbours(
    fitted_vectors: np.ndarray, fitted_coords: np.ndarray, vectors: np.ndarray, k: int = PLACE_NEIGHBOURS,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """(n, 2) coordinates for rows ``rows`` (all n when None) of ``vectors`` (dim columns): the
    mean of the ``fitted_coords`` (m, 2) of each row's ``k`` most similar distinct
    ``fitted_vectors`` (m, dim), weighted by cosine (negative cosines count as 0; a row with no
    positive neighbour gets their plain mean). Identical fitted vectors are one neighbour
    standing for all of them: the mean of their coordinates, weighted by their number (an HNSW
    search among many identical vectors misses some, see ``storydiff.compare.candidates``).
    ``vectors`` is read ``PLACE_BLOCK`` rows at a time (a memory map is never read whole)."""
    fitted_vectors = np.ascontiguousarray(fitted_vectors, dtype=np.float32)
    group, first = group_identical_rows(fitted_vectors)
    copies = np.bincount(group).astype(float)
    centres = np.column_stack([np.bincount(group, weights=fitted_coords[:, axis]) for axis in (0, 1)]) / copies[:, None]
    index = build_index(fitted_vectors, first, dtype="f32")  # key g: group g, at its first row; cosines are the weights
    k = min(k, len(first))
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    placed = np.empty((len(rows), 2))
    for start in range(0, len(rows), PLACE_BLOCK):
        block = rows[start : start + PLACE_BLOCK]
        queries = np.ascontiguousarray(vectors[block], dtype=np.float32)
        neighbours, cosines = search_index(index, queries, np.arange(len(queries)), k)
        found = neighbours >= 0
        neighbours = np.where(found, neighbours, 0)
        weights = np.where(found, np.clip(cosines, 0.0, None), 0.0)
        weights = np.where(weights.sum(axis=1, keepdims=True) > 0, weights, found.astype(float)) * copies[neighbours]
        placed[start : start + len(block)] = (weights[:, :, None] * centres[neighbours]).sum(axis=1) / weights.sum(axis=1)[:, None]
    return placed


def compute_claim_map(
    claim_ids: Sequence[str] | pd.Series,
    vectors: np.ndarray,
    random_state: int = 42,
    umap_min_points: int = UMAP_MIN_POINTS,
    umap_max_points: int = UMAP_MAX_POINTS,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """2-D coordinates of each claim: CLAIM_MAP_COLUMNS, one row per ``claim_ids`` entry, in order.

    Claim i's vector is row ``rows[i]`` of ``vectors`` (dim columns; row i when ``rows`` is None),
    which may be a memory map: past ``umap_max_points`` claims only the fitted sample is read at
    once, the others a block at a time. ``method`` is ``umap`` when there are at least
    ``umap_min_points`` claims, ``umap-sample`` past ``umap_max_points`` (module docstring), else
    ``pca`` (a categorical column). Coordinates have no unit (relative layout).
    """
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    if len(claim_ids) != len(rows):
        raise ValueError(f"{len(claim_ids)} claim ids but {len(rows)} vectors")
    n = len(claim_ids)
    method = "umap" if n >= max(umap_min_points, MIN_NEIGHBORS + 1) else "pca"
    if method == "umap" and n > umap_max_points:
        method = "umap-sample"
        fitted = np.zeros(n, dtype=bool)
        fitted[np.random.default_rng(random_state).choice(n, umap_max_points, replace=False)] = True
        sample = np.asarray(vectors[rows[fitted]], dtype=np.float32)  # what UMAP fits; a float64 one (61 MiB at 20,000) it copied
        coords = np.empty((n, 2))
        coords[fitted] = project_umap(sample, random_state)
        coords[~fitted] = place_by_neighbours(sample, coords[fitted], vectors, rows=rows[~fitted])
    elif method == "umap":
        coords = project_umap(np.asarray(vectors[rows], dtype=np.float32), random_state)
    else:
        coords = project_pca(np.asarray(vectors[rows], dtype=np.float64))
    return pd.DataFrame(
        {"claim_id": pd.array(claim_ids, dtype="str"), "x": coords[:, 0], "y": coords[:, 1],
         "method": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [method])},  # a byte a claim, not a string
        columns=CLAIM_MAP_COLUMNS,
    )
