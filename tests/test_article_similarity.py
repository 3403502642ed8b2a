"""Article similarity from sentence alignment (pure functions on hand-made unit vectors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storydiff import embed
from storydiff.embed import normalize_rows
from storydiff.similarity import compute_article_similarity, group_sentences, has_unit_rows, list_row_articles

E1, E2, E3 = np.eye(3, dtype=np.float32)


@pytest.fixture
def sentences() -> tuple[np.ndarray, list[str]]:
    """Article a: sentences along e1 and e2; b: e1 only; c: e3 only. Rows deliberately interleaved."""
    vectors = np.stack([E1, E1, E3, E2])
    return vectors, ["a", "b", "c", "a"]


def test_table_holds_both_directions_and_their_mean(sentences):
    table, _ = compute_article_similarity(*sentences)
    ab = table.set_index(["article_a", "article_b"]).loc[("a", "b")]
    # a -> b: e1 finds e1 (1), e2 finds e1 (0): 0.5; b -> a: e1 finds e1: 1.0
    assert (ab.similarity_a_to_b, ab.similarity_b_to_a, ab.similarity) == pytest.approx((0.5, 1.0, 0.75))
    assert (ab.n_sentences_a, ab.n_sentences_b) == (2, 1)
    pairs = list(table[["article_a", "article_b"]].itertuples(index=False, name=None))
    assert pairs == [("a", "b"), ("a", "c"), ("b", "c")]
    assert table.set_index(["article_a", "article_b"]).loc[("b", "c"), "similarity"] == pytest.approx(0.0)


def test_matrix_is_symmetric_with_unit_diagonal(sentences):
    _, matrix = compute_article_similarity(*sentences)
    assert list(matrix.index) == list(matrix.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    np.testing.assert_array_equal(np.diag(matrix.to_numpy()), 1.0)
    assert matrix.loc["a", "b"] == pytest.approx(0.75)


def test_article_without_sentences_gets_nan_and_order_is_kept(sentences):
    table, matrix = compute_article_similarity(*sentences, article_ids=["c", "empty", "a", "b"])
    assert list(matrix.index) == ["c", "empty", "a", "b"]
    assert matrix.loc["empty"].isna().all()
    assert table.loc[table.article_b == "empty", "n_sentences_b"].tolist() == [0]


def test_unnormalised_vectors_are_compared_by_cosine(sentences):
    vectors, owners = sentences
    scaled = vectors * np.array([[3.0], [0.5], [2.0], [7.0]], dtype=np.float32)
    _, scaled_matrix = compute_article_similarity(scaled, owners)
    _, unit_matrix = compute_article_similarity(vectors, owners)
    np.testing.assert_allclose(scaled_matrix.to_numpy(), unit_matrix.to_numpy())


def test_lengths_must_agree(sentences):
    with pytest.raises(ValueError, match="4 vectors but 3 article ids"):
        compute_article_similarity(sentences[0], ["a", "b", "c"])


def test_sorted_unit_rows_are_used_in_place(sentences):
    """Rows already in article order and of unit length are read where they lie (a memory map
    stays on disk); any other rows are a sorted, normalised copy."""
    vectors, owners = sentences
    order = np.argsort(owners, kind="stable")
    in_order, sorted_owners = vectors[order], [owners[i] for i in order]
    unit, starts, ends = group_sentences(in_order, sorted_owners, ["a", "b", "c"])
    assert unit is in_order and (starts.tolist(), ends.tolist()) == ([0, 2, 3], [2, 3, 4])
    shuffled, _, _ = group_sentences(vectors, owners, ["a", "b", "c"])
    np.testing.assert_array_equal(shuffled, in_order)
    scaled, _, _ = group_sentences(in_order * 2, sorted_owners, ["a", "b", "c"])
    np.testing.assert_array_equal(scaled, in_order)
    table, _ = compute_article_similarity(in_order, sorted_owners)
    pd.testing.assert_frame_equal(table, compute_article_similarity(*sentences)[0])


def test_rows_grouped_by_article_in_another_order_are_used_in_place(sentences):
    """Each article's rows together, the articles in another order than ``article_ids`` (as a run
    lists them when its tables are not in id order): no copy, the same scores, also when
    candidates are searched (the article centres add up each article's own rows)."""
    vectors, owners = sentences
    order = np.argsort(owners, kind="stable")[::-1].copy()
    grouped, grouped_owners = vectors[order], [owners[i] for i in order]
    unit, starts, ends = group_sentences(grouped, grouped_owners, ["a", "b", "c"])
    assert unit is grouped and list_row_articles(starts, ends).tolist() == [2, 1, 0, 0]
    assert [sorted(grouped_owners[starts[i] : ends[i]]) for i in range(3)] == [["a", "a"], ["b"], ["c"]]
    for exact_limit in (1000, 1):
        pd.testing.assert_frame_equal(
            compute_article_similarity(grouped, grouped_owners, exact_limit=exact_limit, neighbours=2)[0],
            compute_article_similarity(vectors, owners, exact_limit=exact_limit, neighbours=2)[0])


def test_unit_rows_are_checked_a_block_at_a_time():
    rows = np.eye(5, dtype=np.float32)
    assert has_unit_rows(rows, block=2) and has_unit_rows(rows[:0])
    rows[3] *= 1.001
    assert not has_unit_rows(rows, block=2)


def test_owners_as_an_arrow_series_give_the_same_table(sentences):
    """The embed stage passes the sentences' article ids as a column (Arrow strings), not a list."""
    vectors, owners = sentences
    table, _ = compute_article_similarity(vectors, pd.Series(owners, dtype="str"), ["a", "b", "c"])
    pd.testing.assert_frame_equal(table, compute_article_similarity(vectors, owners, ["a", "b", "c"])[0])
    with pytest.raises(KeyError, match=r"sentences of articles not compared: \['c'\]"):
        compute_article_similarity(vectors, pd.Series(owners, dtype="str"), ["a", "b"])


def test_articles_given_as_a_categorical_score_as_their_ids(sentences):
    """The embed stage passes each sentence's article as a Categorical (a code a row): the same
    table and matrix as the ids themselves, with categories in another order than the articles."""
    vectors, owners = sentences
    coded = pd.Categorical(owners, categories=["c", "b", "a"])
    for got, expected in zip(compute_article_similarity(vectors, coded, ["a", "b", "c"]),
                             compute_article_similarity(vectors, owners, ["a", "b", "c"])):
        pd.testing.assert_frame_equal(got, expected)


def test_article_centres_in_a_scratch_folder_give_the_same_pairs(sentences, tmp_path):
    """Above ``exact_limit`` the article centres of the candidate search may lie in a file of the
    caller's scratch folder (the embed stage's run folder) instead of memory: the same table."""
    in_memory, _ = compute_article_similarity(*sentences, exact_limit=1, neighbours=2)
    on_disk, _ = compute_article_similarity(*sentences, exact_limit=1, neighbours=2, scratch=tmp_path)
    pd.testing.assert_frame_equal(on_disk, in_memory)
    assert [p.name for p in tmp_path.iterdir()] == ["article_centres.npy"]


def test_rows_normalised_in_place_a_block_at_a_time_are_those_of_a_copy(monkeypatch):
    """In place (the article centres, perhaps a memory map) a few rows at a time: the same bits as
    the normalised copy, zero rows left zero."""
    monkeypatch.setattr(embed, "NORM_BLOCK_ROWS", 3)
    rows = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    rows[4] = 0.0
    expected = normalize_rows(rows)
    assert normalize_rows(rows, in_place=True) is rows
    np.testing.assert_array_equal(rows, expected)
