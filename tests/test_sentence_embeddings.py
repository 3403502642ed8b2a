"""The run folder's sentence embeddings (``embeddings/``): written through a memory map, read
back whole or mapped, and an interrupted write loses nothing written before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from storydiff.embed import (
    EMBEDDINGS_DIR,
    load_sentence_embeddings,
    load_sentence_vectors,
    open_sentence_embeddings,
)


@pytest.fixture
def vectors() -> np.ndarray:
    """Three float32 rows of dimension 4, all different."""
    return np.arange(12, dtype=np.float32).reshape(3, 4) / 10


def test_rows_filled_in_the_block_are_saved_with_their_ids(tmp_path, vectors):
    with open_sentence_embeddings(tmp_path, [["s1", "s2"], ["s3"]], 3, 4) as out:
        assert isinstance(out, np.memmap) and out.shape == (3, 4) and out.dtype == np.float32
        assert not (tmp_path / EMBEDDINGS_DIR / "sentences.npy").exists()
        out[[2, 0, 1]] = vectors[[2, 0, 1]]
    ids, saved = load_sentence_embeddings(tmp_path)
    assert ids == ["s1", "s2", "s3"] and not isinstance(saved, np.memmap)
    np.testing.assert_array_equal(saved, vectors)
    ids, mapped = load_sentence_embeddings(tmp_path, mmap=True)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, vectors)
    assert sorted(p.name for p in (tmp_path / EMBEDDINGS_DIR).iterdir()) == ["sentence_ids.json", "sentences.npy"]


def test_an_error_in_the_block_keeps_the_embeddings_written_before(tmp_path, vectors):
    with open_sentence_embeddings(tmp_path, [["s1", "s2"], ["s3"]], 3, 4) as out:
        out[:] = vectors
    with pytest.raises(RuntimeError, match="stopped"):
        with open_sentence_embeddings(tmp_path, [["t1", "t2"]], 2, 4) as out:
            out[:] = 1.0
            raise RuntimeError("stopped")
    ids, saved = load_sentence_embeddings(tmp_path)
    assert ids == ["s1", "s2", "s3"]
    np.testing.assert_array_equal(saved, vectors)
    assert sorted(p.name for p in (tmp_path / EMBEDDINGS_DIR).iterdir()) == ["sentence_ids.json", "sentences.npy"]


def test_ids_given_in_batches_are_written_as_one_json_list(tmp_path, vectors):
    """The ids are written a batch at a time, as ``write_json`` would write the whole list."""
    with open_sentence_embeddings(tmp_path, iter([["s1"], [], ["s2", "s3"]]), 3, 4) as out:
        out[:] = vectors
    path = tmp_path / EMBEDDINGS_DIR / "sentence_ids.json"
    assert path.read_text(encoding="utf-8") == json.dumps(["s1", "s2", "s3"], indent=2) + "\n"
    np.testing.assert_array_equal(load_sentence_vectors(tmp_path), vectors)


def test_ids_not_one_a_row_keep_the_embeddings_written_before(tmp_path, vectors):
    with open_sentence_embeddings(tmp_path, [["s1", "s2", "s3"]], 3, 4) as out:
        out[:] = vectors
    with pytest.raises(ValueError, match="2 items where 3 were expected"):
        with open_sentence_embeddings(tmp_path, [["t1", "t2"]], 3, 4) as out:
            out[:] = 1.0
    ids, saved = load_sentence_embeddings(tmp_path)
    assert ids == ["s1", "s2", "s3"]
    np.testing.assert_array_equal(saved, vectors)
    assert sorted(p.name for p in (tmp_path / EMBEDDINGS_DIR).iterdir()) == ["sentence_ids.json", "sentences.npy"]


def test_no_sentences_give_an_empty_table_of_the_dimension(tmp_path):
    with open_sentence_embeddings(tmp_path, [], 0, 384):
        pass
    ids, saved = load_sentence_embeddings(tmp_path)
    assert ids == [] and saved.shape == (0, 384)


def test_missing_embeddings_name_the_stage_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run 02_embed first"):
        load_sentence_embeddings(tmp_path)
    with pytest.raises(FileNotFoundError, match="run 02_embed first"):
        load_sentence_vectors(tmp_path)
