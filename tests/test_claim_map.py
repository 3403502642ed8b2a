"""The claim map's 2-D layout: UMAP above the size threshold, PCA below it, UMAP on a sample
with the other claims placed by their neighbours past the upper size, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storydiff import claim_map as claim_map_module
from storydiff.claim_map import CLAIM_MAP_COLUMNS, choose_n_neighbors, compute_claim_map, place_by_neighbours


@pytest.fixture(scope="module")
def two_topics() -> tuple[list[str], np.ndarray]:
    """60 fake claim embeddings (dim 24) in two well-separated groups of 30: ids c00..c59."""
    rng = np.random.default_rng(7)
    centres = np.zeros((2, 24))
    centres[0, 0], centres[1, 1] = 6.0, 6.0
    vectors = np.vstack([centre + rng.normal(size=(30, 24)) for centre in centres])
    return [f"c{i:02d}" for i in range(60)], vectors


@pytest.fixture(scope="module")
def umap_maps(two_topics: tuple[list[str], np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The UMAP claim map of ``two_topics`` fitted twice (numba compiles once per session)."""
    ids, vectors = two_topics
    return compute_claim_map(ids, vectors, random_state=3, umap_min_points=40), compute_claim_map(
        ids, vectors, random_state=3, umap_min_points=40
    )


def test_umap_above_threshold_keeps_groups_apart(umap_maps, two_topics) -> None:
    claim_map, _ = umap_maps
    assert list(claim_map.columns) == CLAIM_MAP_COLUMNS
    assert claim_map["claim_id"].tolist() == two_topics[0]
    assert set(claim_map["method"]) == {"umap"}
    xy = claim_map[["x", "y"]].to_numpy()
    assert np.isfinite(xy).all()
    first, second = xy[:30], xy[30:]
    gap = np.linalg.norm(first.mean(axis=0) - second.mean(axis=0))
    spread = max(np.linalg.norm(first - first.mean(axis=0), axis=1).mean(),
                 np.linalg.norm(second - second.mean(axis=0), axis=1).mean())
    assert gap > 2 * spread


@pytest.fixture(scope="module")
def sampled_maps(two_topics: tuple[list[str], np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``two_topics`` mapped twice with UMAP fitted on 44 of the 60 claims (the rest placed)."""
    ids, vectors = two_topics
    return tuple(compute_claim_map(ids, vectors, random_state=3, umap_min_points=40, umap_max_points=44)
                 for _ in range(2))


def test_past_the_upper_size_umap_fits_a_sample_and_places_the_rest(sampled_maps, two_topics) -> None:
    first, second = sampled_maps
    assert first["claim_id"].tolist() == two_topics[0] and set(first["method"]) == {"umap-sample"}
    xy = first[["x", "y"]].to_numpy()
    assert np.isfinite(xy).all()
    # every claim, placed or fitted, lands nearer its own group's centre than the other group's
    centres = np.array([xy[:30].mean(axis=0), xy[30:].mean(axis=0)])
    nearest = np.linalg.norm(xy[:, None, :] - centres[None], axis=2).argmin(axis=1)
    assert nearest.tolist() == [0] * 30 + [1] * 30
    pd.testing.assert_frame_equal(first, second)


def test_a_placed_point_is_the_similarity_weighted_mean_of_its_neighbours() -> None:
    """Fitted unit vectors e0, e1, e2 at (0, 0), (10, 0), (0, 10); the query's cosines are
    0.8, 0.6 and 0 (e2 adds nothing); a query opposite to all of them gets their plain mean."""
    fitted = np.eye(3, 4, dtype=np.float32)
    coords = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    queries = np.array([[0.8, 0.6, 0.0, 0.0], [-0.6, -0.8, 0.0, 0.0]], dtype=np.float32)
    placed = place_by_neighbours(fitted, coords, queries, k=3)
    np.testing.assert_allclose(placed, [[10 * 0.6 / 1.4, 0.0], [10 / 3, 10 / 3]], atol=1e-5)


def test_identical_fitted_vectors_are_one_neighbour_standing_for_all() -> None:
    """e0 fitted three times, at (0, 0), (2, 0) and (4, 0), and e1 once, at (10, 0): with k = 2 the
    query (cosines 0.8 and 0.6) has both as neighbours, e0 at its copies' centre (2, 0) weighing
    3 x 0.8, not two copies of e0."""
    fitted = np.eye(2, 4, dtype=np.float32)[[0, 0, 0, 1]]
    coords = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [10.0, 0.0]])
    placed = place_by_neighbours(fitted, coords, np.array([[0.8, 0.6, 0.0, 0.0]], dtype=np.float32), k=2)
    np.testing.assert_allclose(placed, [[(3 * 0.8 * 2 + 0.6 * 10) / (3 * 0.8 + 0.6), 0.0]], atol=1e-5)


def test_a_claim_among_many_identical_sampled_claims_lands_at_their_centre() -> None:
    """500 sampled claims are 100 copies each of 5 sentences (spread around their own points),
    beside 160 others: a copy's single nearest neighbour is its sentence, placed at its copies' centre."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((165, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    fitted = np.vstack([np.repeat(base[:5], 100, axis=0), base[5:]])
    coords = np.vstack([np.repeat(rng.uniform(-50, 50, (5, 2)), 100, axis=0) + rng.normal(0, 1, (500, 2)), rng.uniform(-50, 50, (160, 2))])
    order = rng.permutation(len(fitted))
    placed = place_by_neighbours(fitted[order], coords[order], base[:5], k=1)
    np.testing.assert_allclose(placed, coords[:500].reshape(5, 100, 2).mean(axis=1), atol=1e-9)


def test_vectors_read_by_row_from_a_memory_map_a_block_at_a_time_give_the_same_map(
    sampled_maps, two_topics, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The figures stage passes the run's vectors file memory-mapped, the claims' rows in it
    (here reversed, behind 10 rows of other sentences), and the placement reads 5 rows at a time."""
    ids, vectors = two_topics
    stored = np.vstack([np.ones((10, vectors.shape[1])), vectors[::-1]])
    np.save(tmp_path / "sentences.npy", stored)
    monkeypatch.setattr(claim_map_module, "PLACE_BLOCK", 5)
    mapped = compute_claim_map(ids, np.load(tmp_path / "sentences.npy", mmap_mode="r"), random_state=3, umap_min_points=40,
                               umap_max_points=44, rows=np.arange(69, 9, -1))
    pd.testing.assert_frame_equal(mapped, sampled_maps[0])


def test_umap_same_inputs_same_coordinates(umap_maps) -> None:
    first, second = umap_maps
    pd.testing.assert_frame_equal(first, second)


def test_pca_fallback_below_threshold(two_topics) -> None:
    ids, vectors = two_topics
    claim_map = compute_claim_map(ids[:12], vectors[:12], umap_min_points=40)
    assert set(claim_map["method"]) == {"pca"} and len(claim_map) == 12
    assert np.isfinite(claim_map[["x", "y"]].to_numpy()).all()
    pd.testing.assert_frame_equal(claim_map, compute_claim_map(ids[:12], vectors[:12], umap_min_points=40))


def test_threshold_is_the_switch(two_topics) -> None:
    ids, vectors = two_topics
    assert compute_claim_map(ids[:12], vectors[:12], umap_min_points=13)["method"].iloc[0] == "pca"


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs_fall_back_to_pca(n: int) -> None:
    vectors = np.arange(n * 4, dtype=float).reshape(n, 4) ** 1.5
    claim_map = compute_claim_map([f"c{i}" for i in range(n)], vectors, umap_min_points=0)
    assert list(claim_map.columns) == CLAIM_MAP_COLUMNS and len(claim_map) == n
    assert (claim_map["method"] == "pca").all()
    assert np.isfinite(claim_map[["x", "y"]].to_numpy()).all()


def test_mismatched_ids_and_vectors_are_an_error() -> None:
    with pytest.raises(ValueError, match="2 claim ids but 3 vectors"):
        compute_claim_map(["a", "b"], np.zeros((3, 4)))


@pytest.mark.parametrize("n", [6, 10, 20, 40, 60, 500])
def test_n_neighbors_adapts_to_the_number_of_claims(n: int) -> None:
    k = choose_n_neighbors(n)
    assert 2 <= k < n and k <= 15
    assert k == min(15, max(5, n // 4))


def test_umap_of_many_claims_is_fitted_on_the_exact_neighbour_graph(monkeypatch) -> None:
    """From 4,096 points UMAP would find neighbours with pynndescent (some 30 s of numba
    compilation a run); the map gives it the exact graph instead, so pynndescent never runs,
    and two groups of 2,100 claims still come out apart."""
    import pynndescent

    def refuse(*args, **kwargs):
        raise AssertionError("pynndescent ran")

    monkeypatch.setattr(pynndescent.NNDescent, "__init__", refuse)
    rng = np.random.default_rng(11)
    centres = np.zeros((2, 16))
    centres[0, 0], centres[1, 1] = 6.0, 6.0
    vectors = np.vstack([centre + rng.normal(size=(2_100, 16)) for centre in centres])
    claim_map = compute_claim_map([f"c{i}" for i in range(len(vectors))], vectors, random_state=3)
    assert set(claim_map["method"]) == {"umap"}
    first, second = claim_map[["x", "y"]].to_numpy()[:2_100], claim_map[["x", "y"]].to_numpy()[2_100:]
    gap = np.linalg.norm(first.mean(axis=0) - second.mean(axis=0))
    assert gap > 3 * max(first.std(axis=0).max(), second.std(axis=0).max())


@pytest.mark.parametrize("umap_max_points", [60, 50])
def test_umap_is_given_float32_vectors_whatever_the_input(monkeypatch, two_topics, umap_max_points: int) -> None:
    """UMAP fits float32 (it converts what it is given): a float64 copy of the claims' vectors,
    61 MiB for a sample of 20,000 at dim 384, would be a second copy. Float64 input, all fitted
    (60 claims) or a sample of 50, reaches UMAP as float32."""
    import umap

    given = []
    fit_transform = umap.UMAP.fit_transform

    def record(self, X, *args, **kwargs):
        given.append(X.dtype)
        return fit_transform(self, X, *args, **kwargs)

    monkeypatch.setattr(umap.UMAP, "fit_transform", record)
    ids, vectors = two_topics
    compute_claim_map(ids, vectors.astype(np.float64), random_state=3, umap_min_points=40, umap_max_points=umap_max_points)
    assert given == [np.float32]
