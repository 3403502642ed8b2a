"""The 2-D map of claim embeddings behind the claim-map figure.

The layout is fitted once per run and saved as table ``claim_map`` (claim_id, x, y, method); every
figure reads those coordinates rather than fitting again. UMAP (cosine metric, PCA
initialisation, one thread, fixed ``random_state``) is used from ``umap_min_points`` claims up;
below that, UMAP's neighbour graph is too small to mean anything and the map is a PCA projection
instead, which the caption says. ``n_neighbors`` shrinks with the number of claims, so a few dozen
claims still get a local layout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

CLAIM_MAP_COLUMNS = ["claim_id", "x", "y", "method"]
UMAP_MIN_POINTS = 40
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
    """UMAP of ``vectors`` (n, dim) to (n, 2), cosine metric, deterministic for ``random_state``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by umap
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        import umap  # slow to import (numba): only when UMAP runs

        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=choose_n_neighbors(len(vectors)),
            metric="cosine",
            init="pca",
            random_state=random_state,
            n_jobs=1,
        )
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)


def compute_claim_map(
    claim_ids: list[str], vectors: np.ndarray, random_state: int = 42, umap_min_points: int = UMAP_MIN_POINTS
) -> pd.DataFrame:
    """2-D coordinates of each claim: CLAIM_MAP_COLUMNS, one row per ``claim_ids`` entry, in order.

    ``vectors`` (n, dim) holds row i for claim_ids[i]. ``method`` is ``umap`` when there are at
    least ``umap_min_points`` claims, else ``pca``. Coordinates have no unit (relative layout).
    """
    if len(claim_ids) != len(vectors):
        raise ValueError(f"{len(claim_ids)} claim ids but {len(vectors)} vectors")
    vectors = np.asarray(vectors, dtype=np.float64)
    method = "umap" if len(claim_ids) >= max(umap_min_points, MIN_NEIGHBORS + 1) else "pca"
    coords = project_umap(vectors, random_state) if method == "umap" else project_pca(vectors)
    return pd.DataFrame(
        {"claim_id": list(claim_ids), "x": coords[:, 0], "y": coords[:, 1], "method": method},
        columns=CLAIM_MAP_COLUMNS,
    )

