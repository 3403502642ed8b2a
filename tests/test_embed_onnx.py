"""ONNX Runtime backends of embed_texts: exported offline from the packaged weights, cached on
disk, and agreeing with the torch model (fp32 to float precision, int8 closely)."""

from __future__ import annotations

import numpy as np
import pytest

from storydiff.embed import describe_model, embed_texts, load_model

TEXTS = [
    "China must accelerate the development of science and technology, Xi Jinping said.",
    "Beijing has earmarked some 98 billion yuan (about US$13.5 billion) for basic research this year.",
    "Share.",
    " ".join(["The annual session of China's parliament began on Sunday."] * 40),  # over 256 tokens: truncated
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One cache folder (vectors and ONNX exports) shared by this file's tests."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_vectors(cache_dir) -> np.ndarray:
    """TEXTS embedded by the torch fp32 model: the reference."""
    return embed_texts(TEXTS, model=load_model(), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def onnx_models(cache_dir) -> dict:
    """The ONNX fp32 and int8 models, exported into ``cache_dir`` on first load."""
    return {backend: load_model(backend=backend, cache_dir=cache_dir) for backend in ("onnx", "onnx-int8")}


def test_onnx_fp32_equals_torch(onnx_models, torch_vectors, cache_dir):
    vectors = embed_texts(TEXTS, model=onnx_models["onnx"], cache_dir=cache_dir)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    np.testing.assert_allclose(vectors, torch_vectors, atol=1e-4)


def test_onnx_int8_stays_close_to_torch(onnx_models, torch_vectors, cache_dir):
    vectors = embed_texts(TEXTS, model=onnx_models["onnx-int8"], cache_dir=cache_dir)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.98


def test_exports_are_cached_and_reused(onnx_models, cache_dir):
    exports = sorted(cache_dir.glob("onnx/*/*.onnx"))
    assert [p.name for p in exports] == ["model.int8.onnx", "model.onnx", "model.opt.onnx"]
    before = {p: p.stat().st_mtime_ns for p in exports}
    load_model(backend="onnx-int8", cache_dir=cache_dir)
    assert {p: p.stat().st_mtime_ns for p in exports} == before


def test_backends_have_separate_cache_entries_and_one_identity(onnx_models, torch_vectors, cache_dir):
    identities = {b: describe_model(m) for b, m in onnx_models.items()}
    assert identities["onnx"]["sha256"] == identities["onnx-int8"]["sha256"]
    assert identities["onnx"]["backend"] == "onnx"
    fp32 = embed_texts(TEXTS, model=onnx_models["onnx"], cache_dir=cache_dir)
    int8 = embed_texts(TEXTS, model=onnx_models["onnx-int8"], cache_dir=cache_dir)
    assert fp32.tobytes() != int8.tobytes()
