"""embed_texts with the real default model (torch): shapes, agreement with sentence-transformers,
cache hits, bit-identical warm results, model resolution and identity."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from storydiff.embed import (
    DEFAULT_MODEL,
    EmbedStats,
    ModelNotAvailableError,
    describe_model,
    embed_text_parts,
    embed_texts,
    load_model,
    locate_model,
    split_batches,
)

TEXTS = [
    "China must accelerate the development of science and technology, Xi Jinping said.",
    "The draft budget notes a more than 13 percent increase in funding for grain storage.",
    "Xi mentioned innovation 55 times in his speech on Tuesday.",
    "Share.",
]


@pytest.fixture(scope="module")
def model():
    """The packaged all-MiniLM-L6-v2, torch backend, loaded once for this file."""
    return load_model()


def test_vectors_are_float32_unit_rows_in_input_order(model, tmp_path):
    vectors = embed_texts(TEXTS, model=model, cache_dir=tmp_path)
    assert vectors.shape == (len(TEXTS), model.dim) == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    reversed_vectors = embed_texts(TEXTS[::-1], model=model, cache_dir=tmp_path)
    np.testing.assert_array_equal(reversed_vectors, vectors[::-1])


def test_matches_sentence_transformers_encode(model, tmp_path):
    ours = embed_texts(TEXTS, model=model, cache_dir=tmp_path)
    plain = model.encoder.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(ours, plain, atol=1e-5)


def test_empty_list_gives_zero_rows(model, tmp_path):
    assert embed_texts([], model=model, cache_dir=tmp_path).shape == (0, 384)


def test_warm_call_is_all_hits_and_bit_identical(model, tmp_path):
    cold_stats, warm_stats = EmbedStats(), EmbedStats()
    cold = embed_texts(TEXTS, model=model, cache_dir=tmp_path, stats=cold_stats)
    warm = embed_texts(TEXTS, model=model, cache_dir=tmp_path, stats=warm_stats)
    assert (cold_stats.hits, cold_stats.misses) == (0, 4)
    assert (warm_stats.hits, warm_stats.misses) == (4, 0)
    assert cold.tobytes() == warm.tobytes()


def test_repeated_texts_are_embedded_once(model, tmp_path):
    stats = EmbedStats()
    vectors = embed_texts([TEXTS[0], TEXTS[1], TEXTS[0]], model=model, cache_dir=tmp_path, stats=stats)
    assert (stats.misses, stats.computed) == (3, 2)
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_normalisation_is_part_of_the_cache_key(model, tmp_path):
    embed_texts(TEXTS, model=model, cache_dir=tmp_path)
    stats = EmbedStats()
    embed_texts(TEXTS, model=model, cache_dir=tmp_path, normalize=False, stats=stats)
    assert stats.hits == 0


def test_cache_dir_from_environment(model, tmp_path, monkeypatch):
    monkeypatch.setenv("STORYDIFF_CACHE_DIR", str(tmp_path / "env-cache"))
    embed_texts(TEXTS[:1], model=model)
    assert (tmp_path / "env-cache" / "embeddings.sqlite3").exists()


def test_model_by_name_and_loaded_sentence_transformer_agree(model, tmp_path):
    by_default = embed_texts(TEXTS[:2], model=None, cache_dir=tmp_path / "a")
    by_object = embed_texts(TEXTS[:2], model=model.encoder, cache_dir=tmp_path / "b")
    np.testing.assert_array_equal(by_default, by_object)


def test_backend_must_match_the_loaded_model(model, tmp_path):
    with pytest.raises(ValueError, match="loaded for 'torch'"):
        embed_texts(TEXTS, model=model, backend="onnx", cache_dir=tmp_path)


def test_unknown_model_fails_at_once_with_instructions(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not download models.*local sentence-transformers folder"):
        load_model("no-such-org/no-such-model-xyz")


def test_describe_model_names_the_weights_and_their_hash(model):
    identity = describe_model(model)
    weights = model.path / identity["weights_file"]
    assert identity["name"] == DEFAULT_MODEL
    assert identity["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert (identity["backend"], identity["dim"]) == ("torch", 384)


def test_local_folder_resolves_to_itself():
    _, folder = locate_model()
    assert locate_model(str(folder)) == (str(folder), folder)


def test_batches_of_long_texts_are_cut_to_the_character_budget():
    lengths = np.array([1000, 900, 300, 300, 100, 100, 100, 50])
    batches = split_batches(lengths, batch_size=4, max_chars=1000)
    assert batches == [(0, 1), (1, 2), (2, 5), (5, 8)]
    assert split_batches(np.array([5000, 10]), batch_size=64, max_chars=1000) == [(0, 1), (1, 2)]
    assert split_batches(np.array([], dtype=int), batch_size=64) == []


def test_long_and_short_texts_in_one_call_match_encode(model, tmp_path):
    texts = [" ".join(["word"] * 300), *TEXTS]
    ours = embed_texts(texts, model=model, cache_dir=tmp_path, batch_size=2)
    plain = model.encoder.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, plain, atol=1e-5)


def test_vectors_go_into_the_array_given(model, tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=(len(TEXTS), model.dim))
    returned = embed_texts(TEXTS, model=model, cache_dir=tmp_path, out=out)
    assert returned is out
    np.testing.assert_array_equal(out, embed_texts(TEXTS, model=model, cache_dir=tmp_path))
    with pytest.raises(ValueError, match=r"out is float32 \(3, 384\), not float32 \(4, 384\)"):
        embed_texts(TEXTS, model=model, cache_dir=tmp_path, out=out[:3])


def test_texts_given_a_part_at_a_time_fill_the_rows_one_call_would(model, tmp_path):
    """Parts of uneven sizes, a text repeated in a later call, three texts a call."""
    parts = [TEXTS[:1], [], TEXTS[1:4], [TEXTS[0], "Another sentence, said late."]]
    texts = [text for part in parts for text in part]
    out = np.zeros((len(texts), model.dim), dtype=np.float32)
    stats = EmbedStats()
    embed_text_parts(iter(parts), out, model=model, cache_dir=tmp_path / "parts", stats=stats, texts_per_call=3)
    np.testing.assert_allclose(out, embed_texts(texts, model=model, cache_dir=tmp_path / "whole"), atol=1e-6)
    assert (stats.texts, stats.hits, stats.computed) == (6, 1, 5)  # TEXTS[0] again, in the second call
    with pytest.raises(ValueError, match="the parts hold 6 texts, but out has 7 rows"):
        embed_text_parts(parts, np.zeros((7, model.dim), dtype=np.float32), model=model, cache_dir=tmp_path / "parts")
