"""Blocking: candidate pairs by nearest neighbours give the all-pairs results (stories on 200 BBC
articles, sentence reuse and article similarity on real embeddings), deterministically, also when
the exact search widens a single row or many rows are identical; the cells of the search above a
floor find every pair that shares a cell; candidate pairs are scored in blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storydiff.compare import candidates
from storydiff.compare.candidates import (
    PAIR_BLOCK, find_candidate_pairs, group_identical_rows, score_candidate_pairs, search_cells, sort_unique_pairs,
)
from storydiff.compare.reuse import align_articles
from storydiff.compare import stories
from storydiff.compare.stories import group_stories
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.embed import embed_texts, load_model, normalize_rows
from storydiff.runfolder import select_content_sentences
from storydiff.similarity import compute_article_similarity

# BBC business articles among which the exact search finds reused sentences (and some that have none)
REUSE_ARTICLES = ["003", "006", "008", "010", "017", "025", "040", "044", "077", "104", "127", "159"]


@pytest.fixture(scope="module")
def bbc_200(tmp_path_factory: pytest.TempPathFactory, bbc_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(articles, content sentences) of the first 200 BBC business articles, linked into a folder."""
    folder = tmp_path_factory.mktemp("bbc-200")
    for path in sorted((bbc_dir / "business").glob("*.txt"))[:200]:
        (folder / path.name).symlink_to(path)
    articles, sentences = build_corpus_tables(read_corpus(folder)[0])
    return articles, select_content_sentences(articles, sentences).reset_index(drop=True)


@pytest.fixture(scope="module")
def reuse_inputs(bbc_200: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray]:
    """(content sentences of REUSE_ARTICLES, their embeddings by the real model, L2-normalised)."""
    sentences = bbc_200[1]
    sentences = sentences[sentences["article_id"].isin(REUSE_ARTICLES)].reset_index(drop=True)
    return sentences, embed_texts(sentences["text"].tolist(), model=load_model())


def brute_force_pairs(vectors: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """Every row pair i < j with cosine >= ``threshold``, from the full cosine matrix."""
    rows, columns = np.nonzero(np.triu(vectors @ vectors.T, 1) >= threshold)
    return set(zip(rows.tolist(), columns.tolist()))


def test_candidates_are_sorted_deterministic_and_complete_above_a_floor(reuse_inputs):
    vectors = reuse_inputs[1].copy()
    vectors[0] = 0.0  # an empty sentence: nothing to compare
    exact = find_candidate_pairs(vectors, 2, min_similarity=0.6)
    approximate = find_candidate_pairs(vectors, 2, min_similarity=0.6, exact_limit=0)
    np.testing.assert_array_equal(approximate, find_candidate_pairs(vectors, 2, min_similarity=0.6, exact_limit=0))
    assert set(map(tuple, exact.tolist())) == brute_force_pairs(vectors, 0.6) - {(0, j) for j in range(len(vectors))}
    np.testing.assert_array_equal(approximate, exact)
    assert (exact[:, 0] < exact[:, 1]).all() and (np.diff(exact[:, 0]) >= 0).all()
    nearest = find_candidate_pairs(vectors, 3, exact_limit=0)
    assert 3 * (len(vectors) - 1) / 2 <= len(nearest) <= 3 * (len(vectors) - 1) and 0 not in nearest


def test_exact_search_widens_a_single_row():
    """Row 0 is the only one whose 2 nearest neighbours both reach 0.8 (rows 1 and 2, at cosines
    0.95 and 0.90, on either side of it, 0.72 from each other), so it alone is searched again; the
    approximate search (one cell here) finds the same pairs."""
    angles = np.arccos([1.0, 0.95]).tolist() + [-np.arccos(0.9)]
    plane = np.zeros((3, 16), dtype=np.float32)
    plane[:, 0], plane[:, 1] = np.cos(angles), np.sin(angles)
    others = np.random.default_rng(0).standard_normal((20, 16)).astype(np.float32)
    others[:, :3] = 0.0
    vectors = np.vstack([plane, others / np.linalg.norm(others, axis=1, keepdims=True)])
    approximate = find_candidate_pairs(vectors, 2, min_similarity=0.8, exact_limit=0)
    np.testing.assert_array_equal(approximate, find_candidate_pairs(vectors, 2, min_similarity=0.8))
    assert set(map(tuple, approximate.tolist())) == brute_force_pairs(vectors, 0.8) == {(0, 1), (0, 2)}


@pytest.fixture()
def copied_vectors() -> np.ndarray:
    """(700, 32) unit vectors, shuffled but for the first, which is a copy: 5 vectors copied 100
    times each (one sentence republished by 100 outlets), 40 slightly edited copies of the first
    (cosine about 0.95 to it) and 160 unrelated vectors. The search over every row missed 653 of
    the 29,530 pairs above 0.8 here."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((165, 32)).astype(np.float32)
    edited = base[0] + rng.standard_normal((40, 32)).astype(np.float32) * np.float32(0.33 / 32**0.5)
    vectors = np.vstack([np.repeat(base[:5], 100, axis=0), edited, base[5:]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors[np.r_[0, 1 + rng.permutation(len(vectors) - 1)]]


def test_many_identical_vectors_are_all_paired(copied_vectors):
    expected = brute_force_pairs(copied_vectors, 0.8)
    assert len(expected) >= 5 * 4950 + 40 * 100  # each copied vector's pairs, the edits with the first's copies
    for exact_limit in (0, 10_000):
        pairs = find_candidate_pairs(copied_vectors, 10, min_similarity=0.8, exact_limit=exact_limit)
        assert set(map(tuple, pairs.tolist())) == expected


def test_identical_rows_are_grouped_and_hash_collisions_kept_apart(copied_vectors, monkeypatch):
    group, first = group_identical_rows(copied_vectors)
    assert len(first) == 5 + 40 + 160 and (first[group] <= np.arange(700)).all()
    np.testing.assert_array_equal(copied_vectors[first[group]], copied_vectors)
    monkeypatch.setattr(candidates, "hash_rows", lambda vectors: np.zeros(len(vectors), dtype=np.uint64))
    collided_group, collided_first = group_identical_rows(copied_vectors)  # every row hashes alike
    like_first = (copied_vectors == copied_vectors[0]).all(axis=1)
    assert like_first.sum() == 100 and np.array_equal(collided_group == 0, like_first)
    assert len(collided_first) == 1 + 700 - 100
    np.testing.assert_array_equal(copied_vectors[collided_first[collided_group]], copied_vectors)
    pairs = find_candidate_pairs(copied_vectors, 10, min_similarity=0.8)  # exact: the copies are apart again
    assert set(map(tuple, pairs.tolist())) == brute_force_pairs(copied_vectors, 0.8)


def test_pairs_are_deduplicated_on_one_key_each_as_row_by_row():
    """Pairs either way round, repeated, a pair of a row with itself: the distinct pairs, lower row
    first, sorted, as sorting each pair and then the rows gives them."""
    pairs = np.random.default_rng(0).integers(0, 50, size=(2_000, 2))
    expected = np.unique(np.sort(pairs, axis=1), axis=0)
    given = sort_unique_pairs(pairs, 50)
    assert given.dtype == np.int64 and np.array_equal(given, expected)
    assert sort_unique_pairs(np.empty((0, 2), dtype=np.int64), 50).shape == (0, 2)


def test_candidate_pairs_are_scored_in_blocks_as_in_one():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = rng.integers(0, 300, size=(2 * PAIR_BLOCK + 5, 2))
    scores = score_candidate_pairs(vectors, pairs)
    assert scores.dtype == np.float32 and scores.shape == (len(pairs),)
    np.testing.assert_array_equal(scores, np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]]))
    assert score_candidate_pairs(vectors, np.empty((0, 2), dtype=np.int64)).shape == (0,)


def test_blocked_stories_equal_all_pairs_stories(bbc_200):
    articles, sentences = bbc_200
    all_pairs = group_stories(articles, sentences)
    blocked = group_stories(articles, sentences, exact_limit=0)
    assert (all_pairs["n_articles"] > 1).sum() >= 20  # enough multi-article stories to get wrong
    pd.testing.assert_frame_equal(blocked, all_pairs)


def test_search_directions_fitted_on_a_sample_still_find_every_story(bbc_200, monkeypatch):
    """The SVD of the candidate search fitted on 60 of the 200 articles, every article then
    projected 32 at a time: the candidates still hold every pair the stories need."""
    articles, sentences = bbc_200
    monkeypatch.setattr(stories, "SVD_SAMPLE", 60)
    monkeypatch.setattr(stories, "REDUCE_BLOCK", 32)
    pd.testing.assert_frame_equal(group_stories(articles, sentences, exact_limit=0), group_stories(articles, sentences))


def test_blocked_reuse_equals_all_pairs_reuse(reuse_inputs):
    sentences, vectors = reuse_inputs
    exact = align_articles(sentences, vectors)
    approximate = align_articles(sentences, vectors, exact_limit=0)
    assert len(exact) >= 5
    pd.testing.assert_frame_equal(approximate, exact, atol=1e-6)


def test_article_similarity_above_the_limit_keeps_only_neighbour_pairs(reuse_inputs):
    sentences, vectors = reuse_inputs
    owners = sentences["article_id"].tolist()
    every, matrix = compute_article_similarity(vectors, owners)
    nearest, no_matrix = compute_article_similarity(vectors, owners, exact_limit=0, neighbours=2)
    assert matrix.shape == (12, 12) and no_matrix.shape == (12, 0)
    assert len(every) == 66 and 12 <= len(nearest) < 66
    key = ["article_a", "article_b"]
    joined = nearest.merge(every, on=key, suffixes=("", "_all"))
    assert len(joined) == len(nearest)
    np.testing.assert_allclose(joined["similarity"], joined["similarity_all"], atol=1e-6)
    best = every.loc[every["similarity"].idxmax(), key].tolist()
    assert best in nearest[key].values.tolist()


def test_cells_find_every_pair_that_shares_a_cell(reuse_inputs):
    """The real sentence vectors of REUSE_ARTICLES in cells of about 16: with every member in every
    cell the cells are the exact search; with one cell each, every pair found is a true one; with
    the default 3 cells each, nearly every pair above 0.6 is found, the same on every run; a pair
    that shares several cells comes once."""
    vectors = reuse_inputs[1]
    members = np.arange(len(vectors))
    expected = brute_force_pairs(vectors, 0.6)
    n_cells = -(-len(vectors) // 16)
    assert n_cells >= 10 and len(expected) >= 100

    def found(**options) -> set[tuple[int, int]]:
        pairs = search_cells(vectors, members, 0.6, cell_rows=16, **options)
        assert (pairs[:, 0] < pairs[:, 1]).all() and len(np.unique(pairs, axis=0)) == len(pairs)  # once each
        return set(map(tuple, pairs.tolist()))

    assert found(probes=n_cells) == expected
    single = found(probes=1)
    assert single <= expected and len(single) < len(expected)
    three = found()
    assert three <= expected and len(three) >= 0.9 * len(expected) and three > single
    assert found() == three


def test_a_cell_searched_in_blocks_of_rows_finds_every_pair_once(reuse_inputs, monkeypatch):
    """``pairs_within`` scores each block of rows against the rows from the block's own first on:
    in blocks of 7 rows (many blocks, the last one short) it finds exactly the pairs of the full
    cosine matrix, each once, for all members and for a subset of them."""
    vectors = reuse_inputs[1]
    monkeypatch.setattr(candidates, "BLOCK_ROWS", 7)
    members = np.arange(len(vectors))
    assert len(vectors) > 10 * 7
    pairs = candidates.pairs_within(vectors, members, members, 0.6)
    assert len(pairs) == len(brute_force_pairs(vectors, 0.6)) and set(map(tuple, pairs.tolist())) == brute_force_pairs(vectors, 0.6)
    rows = members[::3]
    subset = {(rows[i], rows[j]) for i, j in brute_force_pairs(vectors[rows], 0.6)}
    assert set(map(tuple, candidates.pairs_within(vectors, members, rows, 0.6).tolist())) == subset


def test_the_exact_search_holds_a_bounded_block_whatever_the_number_of_rows(monkeypatch):
    """The exact search of 12,000 rows scores a block of rows against all of them at a time: 1,024
    rows a block held some 190 MiB (cosines, their negation, int64 positions); the block now holds
    at most ``EXACT_BLOCK_VALUES`` cosines, and the neighbours are those of blocks of a few rows."""
    import tracemalloc

    vectors = normalize_rows(np.random.default_rng(5).normal(size=(12_000, 8)).astype(np.float32))
    rows = np.arange(len(vectors))
    tracemalloc.start()
    neighbours, cosines = candidates.search_exact(vectors, rows, 6)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20
    monkeypatch.setattr(candidates, "EXACT_BLOCK_VALUES", 3 * len(vectors))
    few, few_cosines = candidates.search_exact(vectors, rows[:500], 6)
    np.testing.assert_array_equal(few, neighbours[:500])
    np.testing.assert_allclose(few_cosines, cosines[:500], rtol=1e-6)
