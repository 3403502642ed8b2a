"""ONNX Runtime backends: export a sentence-transformers model offline, optionally quantise it.

The exported graph is the whole sentence-transformers pipeline (transformer, pooling and, when the
model has it, normalisation), so its output equals ``SentenceTransformer.encode``'s; tokenisation
is the model's own tokenizer called with the arguments sentence-transformers uses. Exports are
written once per weights hash under ``<cache_dir>/onnx/<sha256[:16]>/`` (temporary file, then
rename, under a file lock), so concurrent first runs never see half a file:

- ``model.onnx``: the plain fp32 export (``torch.onnx.export``, TorchScript exporter);
- ``model.opt.onnx``: the same graph with ONNX Runtime's transformer fusions (backend ``onnx``);
- ``model.int8.onnx``: dynamic int8 quantisation of the weights, per channel (backend ``onnx-int8``).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from filelock import FileLock

from storydiff.runfolder import atomic_write

ONNX_FILES = {"onnx": "model.opt.onnx", "onnx-int8": "model.int8.onnx"}
PLAIN_FILE = "model.onnx"


class OnnxEncoder:
    """Encode texts with an ONNX Runtime session: ``encode(texts) -> float32 (n, dim)``."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Any, max_seq_length: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.input_names = [i.name for i in session.get_inputs()]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings of one batch of ``texts``, as the exported pipeline outputs them."""
        tokens = self.tokenizer(
            list(texts), padding=True, truncation="longest_first", max_length=self.max_seq_length, return_tensors="np"
        )
        feed = {name: tokens[name].astype(np.int64) for name in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)


def _export_plain(sentence_transformer: Any, path: Path) -> None:
    """Trace the whole sentence-transformers pipeline to ONNX at ``path`` (CPU, fp32)."""
    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self, model: Any, names: list[str]) -> None:
            super().__init__()
            self.model = model
            self.names = names

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(self.names, tensors, strict=True)) | {"modality": "text"}
            return self.model(features)["sentence_embedding"]

    sample = sentence_transformer.tokenizer(
        ["A sample sentence to trace.", "Another one."], padding=True, return_tensors="pt"
    )
    names = list(sample.keys())
    model = sentence_transformer.to("cpu").eval()
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"sentence_embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline(model, names),
            tuple(sample[name] for name in names),
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
        )


def _optimize(plain: Path, path: Path) -> None:
    """ONNX Runtime's BERT fusions (attention, layer norm, GELU) of ``plain``, saved at ``path``."""
    from onnxruntime.transformers import optimizer

    optimizer.optimize_model(str(plain), model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(str(path))


def _quantize(plain: Path, path: Path) -> None:
    """Dynamic int8 quantisation of ``plain``'s weights (per output channel), saved at ``path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # the quantiser logs advice on static quantisation to the root logger
    try:
        quantize_dynamic(str(plain), str(path), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)


def export_onnx(sentence_transformer: Any, folder: Path, backend: str) -> Path:
    """Path of the ``backend`` ONNX file in ``folder``, exporting it (and the plain fp32 export it
    derives from) first when missing. ``sentence_transformer`` is only used to export."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ONNX_FILES[backend]
    with FileLock(str(folder / ".export.lock")):
        plain = folder / PLAIN_FILE
        if not plain.exists():
            atomic_write(plain, lambda tmp: _export_plain(sentence_transformer, tmp))
        if not target.exists():
            derive = _optimize if backend == "onnx" else _quantize
            atomic_write(target, lambda tmp: derive(plain, tmp))
    return target


def create_session(path: Path) -> ort.InferenceSession:
    """An ONNX Runtime session on ``path``, on CUDA when ONNX Runtime has it, else CPU.

    Worker threads sleep instead of spinning between operators: on a laptop or a shared machine
    spinning burns a core other work needs (measured here: about 20 % less CPU for the same batch).
    """
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=providers)
