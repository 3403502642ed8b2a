"""Picking a run's sentence vectors for a table's rows (``storydiff.compare.select_embeddings``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from storydiff.compare import locate_embeddings, select_embeddings


@pytest.fixture
def stored():
    """Three stored sentence ids with distinct 2-d vectors, as 02_embed saves them."""
    return ["a:0000", "a:0001", "b:0000"], np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)


def test_rows_come_in_the_order_asked(stored):
    ids, vectors = stored
    np.testing.assert_array_equal(select_embeddings(ids, vectors, ["b:0000", "a:0000"]), vectors[[2, 0]])


def test_all_ids_in_stored_order_share_the_stored_array(stored):
    ids, vectors = stored
    assert select_embeddings(ids, vectors, list(ids)) is vectors
    reordered = select_embeddings(ids, vectors, ids[::-1])
    assert reordered is not vectors and not np.shares_memory(reordered, vectors)


def test_an_id_without_a_vector_is_named(stored):
    ids, vectors = stored
    with pytest.raises(KeyError, match="c:0000"):
        select_embeddings(ids, vectors, ["a:0000", "c:0000"])
    with pytest.raises(KeyError, match="c:0000"):
        locate_embeddings(ids, ["c:0000"])
    with pytest.raises(KeyError, match="1 sentences .*c:0000"):
        locate_embeddings(ids, pd.Series(["a:0000", "c:0000"], index=[7, 3]))  # a table's column: found by position


def test_located_rows_read_from_a_memory_map_equal_the_selected_vectors(stored, tmp_path):
    """What the figures stage does: it reads a claim's vector from the run's file by its row."""
    ids, vectors = stored
    np.save(tmp_path / "v.npy", vectors)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    rows = locate_embeddings(ids, ["b:0000", "a:0000"])
    assert rows.tolist() == [2, 0] and locate_embeddings(ids, []).tolist() == []
    np.testing.assert_array_equal(mapped[rows], select_embeddings(ids, vectors, ["b:0000", "a:0000"]))


def test_ids_held_as_arrow_strings_locate_as_a_list_does(stored):
    """The comparison and figures kernels hold a run's ids as one Arrow array (``read_sentence_embeddings``)."""
    ids, vectors = stored
    arrow_ids = pa.array(ids)
    assert locate_embeddings(arrow_ids, pd.Series(["b:0000", "a:0000"], dtype="str")).tolist() == [2, 0]
    assert select_embeddings(arrow_ids, vectors, pd.Series(ids, dtype="str")) is vectors
    parts = pd.concat([pd.Series(ids[:1], dtype="str"), pd.Series(ids[1:], dtype="str")], ignore_index=True)
    assert select_embeddings(arrow_ids, vectors, parts) is vectors  # a column read in parts: Arrow chunks
    with pytest.raises(KeyError, match="2 sentences .*first: c:0000"):
        locate_embeddings(arrow_ids, ["a:0000", "c:0000", "d:0000"])
