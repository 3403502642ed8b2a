"""Benchmark of the embedding stage (issue 3); prints figures, asserts nothing.

On the same sentences, in one process: plain ``SentenceTransformer.encode`` vs
``storydiff.embed.embed_texts`` cold (empty cache) vs warm (all cached, bit-identical check);
torch fp32 vs ONNX fp32 vs ONNX int8 throughput and mean cosine to torch fp32; peak RSS while
embedding all of BBC. Sentence sets: the seeds' content sentences, 3,000 BBC sentences (a fixed
random sample) and all BBC sentences, both split by the corpus stage.

Plain and cold runs alternate over slices of the sentences (plain first on even slices, cold
first on odd ones), so load from other processes on the machine falls on both alike.

    .venv/bin/python bench/embed.py            # seeds, 3000, all (about an hour on 2 cores)
    .venv/bin/python bench/embed.py --quick    # seeds and 300 BBC sentences
    .venv/bin/python bench/embed.py --no-all   # seeds and 3000 only
    .venv/bin/python bench/embed.py --memory onnx-int8   # peak RSS of embedding all BBC, one model loaded
    .venv/bin/python bench/embed.py --kernels  # int8 vs fp32 matrix product alone, the int8 ceiling

``--kernels`` times one matrix product of the model's largest shape (64 sentences x 40 tokens
through the 384 -> 1536 feed-forward layer) in ONNX Runtime fp32, ONNX Runtime dynamic int8 (the
quantisation of the activations included) and torch fp32. Most of the model's time is in such
products, so their int8 / fp32 ratio bounds what the int8 backend can gain on this CPU.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch

from _sampling import Sampler
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.embed import EmbedStats, embed_texts, load_model
from storydiff.runfolder import select_content_sentences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
SLICE = 640  # sentences per alternation of plain and cold runs (10 batches of 64)
PROGRESS_SLICES = 8  # print running totals every this many slices (long runs can be cut short)


class PeakRSS(Sampler):
    """Context manager sampling this process's resident memory every 20 ms; ``peak`` in bytes."""

    interval = 0.02

    def start(self) -> None:
        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss

    def sample(self) -> None:
        self.peak = max(self.peak, self._process.memory_info().rss)


def read_sentences(corpus: Path, content_only: bool) -> list[str]:
    """Sentence texts of ``corpus`` as the corpus stage splits them (content sentences only, or all)."""
    articles, sentences = build_corpus_tables(read_corpus(corpus)[0])
    chosen = select_content_sentences(articles, sentences) if content_only else sentences
    return chosen["text"].tolist()


class Clock:
    """Context manager measuring wall-clock and CPU seconds (all threads of this process)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def time_plain_vs_cold(model, texts: list[str], cache_dir: Path, batch_size: int) -> tuple[dict, np.ndarray]:
    """Wall/CPU seconds of plain encode and cold embed_texts on ``texts``, and the cold vectors;
    the two alternate over slices of ``SLICE`` sentences."""
    seconds = {"plain_s": 0.0, "plain_cpu": 0.0, "cold_s": 0.0, "cold_cpu": 0.0}
    cold = []
    for n, start in enumerate(range(0, len(texts), SLICE)):
        part = texts[start : start + SLICE]
        for step in ("plain", "cold") if n % 2 == 0 else ("cold", "plain"):
            with Clock() as clock:
                if step == "plain":
                    model.encoder.encode(part, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
                else:
                    cold.append(embed_texts(part, model=model, cache_dir=cache_dir, batch_size=batch_size, show_progress=False))
            seconds[f"{step}_s"] += clock.wall
            seconds[f"{step}_cpu"] += clock.cpu
        if (n + 1) % PROGRESS_SLICES == 0:
            done = start + len(part)
            print(
                f"  ... {done}/{len(texts)} sentences: plain {seconds['plain_s']:.1f} s, cold {seconds['cold_s']:.1f} s"
                f" ({100 * (seconds['cold_s'] / seconds['plain_s'] - 1):+.1f} % wall,"
                f" {100 * (seconds['cold_cpu'] / seconds['plain_cpu'] - 1):+.1f} % CPU)"
            )
    return seconds, np.concatenate(cold)


def bench_torch(name: str, texts: list[str], model, workdir: Path, batch_size: int) -> dict:
    """Plain vs cold vs warm on ``texts`` with the torch model; returns figures and the vectors."""
    cache_dir = workdir / f"torch-{name}"
    with PeakRSS() as rss:
        seconds, cold = time_plain_vs_cold(model, texts, cache_dir, batch_size)
        stats = EmbedStats()
        warm = embed_texts(texts, model=model, cache_dir=cache_dir, batch_size=batch_size, stats=stats)
    return seconds | {
        "warm_s": stats.seconds,
        "warm_hits": stats.hits,
        "identical": cold.tobytes() == warm.tobytes(),
        "peak_rss": rss.peak,
        "vectors": cold,
    }


def bench_backend(name: str, texts: list[str], model, reference: np.ndarray, workdir: Path, batch_size: int) -> dict:
    """Cold embed_texts with an ONNX ``model``: seconds, peak RSS, cosine to the torch ``reference``."""
    with PeakRSS() as rss, Clock() as clock:
        vectors = embed_texts(
            texts, model=model, cache_dir=workdir / f"{model.backend}-{name}", batch_size=batch_size, show_progress=False
        )
    cosines = (vectors * reference).sum(axis=1)
    return {
        "s": clock.wall,
        "cpu": clock.cpu,
        "peak_rss": rss.peak,
        "cos_mean": float(cosines.mean()),
        "cos_min": float(cosines.min()),
    }


def print_torch(name: str, n: int, r: dict) -> None:
    """One line of plain vs cold vs warm figures."""
    print(
        f"{name:9} {n:6} {r['plain_s']:7.2f} ({r['plain_cpu']:7.1f}) {r['cold_s']:7.2f} ({r['cold_cpu']:7.1f})"
        f" {100 * (r['cold_s'] / r['plain_s'] - 1):+6.1f}% / {100 * (r['cold_cpu'] / r['plain_cpu'] - 1):+5.1f}%"
        f" {r['warm_s']:7.3f} {r['cold_s'] / r['warm_s']:8.0f}x {r['identical']!s:>6} {r['peak_rss'] / 2**30:9.2f}"
    )


def print_backend(name: str, backend: str, n: int, torch: dict, r: dict) -> None:
    """One line of an ONNX backend's throughput and agreement with torch fp32."""
    print(
        f"{name:9} {backend:9} {n:6} {n / torch['cold_s']:8.1f} {n / r['s']:8.1f}   {torch['cold_s'] / r['s']:5.2f}x"
        f" / {torch['cold_cpu'] / r['cpu']:5.2f}x  {r['cos_mean']:.4f} / {r['cos_min']:.4f} {r['peak_rss'] / 2**30:9.2f}"
    )


def measure_memory(backend: str, batch_size: int) -> None:
    """Embed every BBC sentence with ``backend`` (cold cache) and print time and peak RSS; this
    process loads only that model, as a run of the embed stage does."""
    texts = read_sentences(BBC, content_only=False)
    with tempfile.TemporaryDirectory(prefix="storydiff-bench-") as tmp:
        subprocess.run([sys.executable, "-c", f"from storydiff.embed import load_model; load_model(backend={backend!r}, cache_dir={tmp!r})"], check=True)
        with PeakRSS() as rss, Clock() as clock:
            model = load_model(backend=backend, cache_dir=tmp)
            stats = EmbedStats()
            embed_texts(texts, model=model, cache_dir=tmp, batch_size=batch_size, stats=stats)
        with Clock() as warm:
            embed_texts(texts, model=model, cache_dir=tmp, batch_size=batch_size, show_progress=False)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"all BBC, {backend}: {len(texts)} sentences ({stats.computed} distinct) embedded cold in {clock.wall:.1f} s "
          f"({clock.cpu:.1f} s CPU, model load included), warm {warm.wall:.2f} s ({clock.wall / warm.wall:.0f}x); "
          f"peak RSS {rss.peak / 2**30:.2f} GiB (ru_maxrss {maxrss:.2f} GiB; target < 2 GiB)")


def time_kernels(rows: int = 64 * 40, inner: int = 384, outer: int = 1536, repeats: int = 30) -> None:
    """Print ms and GFLOP/s of one (rows x inner) @ (inner x outer) product per kernel."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((inner, outer)) * 0.05).astype(np.float32)
    scales = (np.abs(weights).max(axis=0) / 127).astype(np.float32)

    def session(node, initializers) -> ort.InferenceSession:
        graph = helper.make_graph(
            [node], "product", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, inner])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, outer])], initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as storydiff's sessions
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    fp32 = session(helper.make_node("MatMul", ["x", "w"], ["y"]), [numpy_helper.from_array(weights, "w")])
    int8 = session(
        helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s", "z"], ["y"], domain="com.microsoft"),
        [numpy_helper.from_array(np.round(weights / scales).astype(np.int8), "w"), numpy_helper.from_array(scales, "s"),
         numpy_helper.from_array(np.zeros(outer, np.int8), "z")],
    )
    x = rng.standard_normal((rows, inner)).astype(np.float32)
    x_torch, w_torch = torch.from_numpy(x), torch.from_numpy(weights)
    kernels = {
        "onnxruntime fp32": lambda: fp32.run(None, {"x": x}),
        "onnxruntime int8": lambda: int8.run(None, {"x": x}),
        "torch fp32": lambda: x_torch @ w_torch,
    }
    flags = sorted({f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in Path("/proc/cpuinfo").read_text().split()})
    print(f"({rows} x {inner}) @ ({inner} x {outer}), {torch.get_num_threads()} threads; CPU flags: {', '.join(flags)}")
    ms = {}
    for name, run in kernels.items():
        run()
        with Clock() as clock:
            for _ in range(repeats):
                run()
        ms[name] = clock.wall / repeats * 1000
        print(f"{name:18} {ms[name]:7.2f} ms  {2 * rows * inner * outer / ms[name] / 1e6:6.1f} GFLOP/s")
    print(f"int8 / fp32 throughput: {ms['onnxruntime fp32'] / ms['onnxruntime int8']:.2f}x (onnxruntime), "
          f"{ms['torch fp32'] / ms['onnxruntime int8']:.2f}x (vs torch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="seeds and 300 BBC sentences only")
    parser.add_argument("--no-all", action="store_true", help="seeds and 3000 BBC sentences, not all of BBC")
    parser.add_argument("--memory", choices=["torch", "onnx", "onnx-int8"],
                        help="only embed all BBC with this backend in this fresh process and print its peak RSS")
    parser.add_argument("--kernels", action="store_true", help="only time int8 vs fp32 matrix products")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.kernels:
        time_kernels()
        return
    if args.memory:
        measure_memory(args.memory, args.batch_size)
        return

    bbc = read_sentences(BBC, content_only=False)
    sample = [bbc[i] for i in np.random.default_rng(0).permutation(len(bbc))]
    sets = {"seeds": read_sentences(SEEDS, content_only=True)}
    sets |= {"bbc-300": sample[:300]} if args.quick else {"bbc-3000": sample[:3000]}
    sets |= {} if args.quick or args.no_all else {"bbc-all": bbc}
    print("sentences:", {name: len(texts) for name, texts in sets.items()})

    with tempfile.TemporaryDirectory(prefix="storydiff-bench-") as tmp:
        workdir = Path(tmp)
        # export ONNX in a child process, so the tracing and quantisation memory does not count below
        export = "from storydiff.embed import load_model; [load_model(backend=b, cache_dir=%r) for b in ('onnx', 'onnx-int8')]"
        subprocess.run([sys.executable, "-c", export % str(workdir)], check=True)
        models = {}
        for backend in ("torch", "onnx-int8", "onnx"):
            with Clock() as clock:
                models[backend] = load_model(backend=backend, cache_dir=workdir)
                embed_texts(sample[:128], model=models[backend], cache_dir=workdir / f"warmup-{backend}", show_progress=False)
            print(f"{backend}: load and warm-up {clock.wall:.1f} s")
        print(f"torch device: {models['torch'].encoder.device}, threads: {torch.get_num_threads()}")
        print("all three models stay loaded, so every peak RSS below includes them")

        for name, texts in sets.items():
            print(f"\n== {name}: {len(texts)} sentences")
            print("wall s (CPU s of this process); overhead by wall / by CPU time")
            print("set          n   plain_s          cold_s           cold_overhead    warm_s  speedup  ident  peak_GiB")
            result = bench_torch(name, texts, models["torch"], workdir, args.batch_size)
            print_torch(name, len(texts), result)
            print("set       backend        n  torch/s   onnx/s  x torch (wall / CPU)  cos mean / min  peak_GiB")
            for backend in ("onnx-int8", "onnx"):
                figures = bench_backend(name, texts, models[backend], result["vectors"], workdir, args.batch_size)
                print_backend(name, backend, len(texts), result, figures)

        print("\ntargets: cold overhead <= 5 %; warm >= 50x cold and bit-identical; int8 >= 2x torch fp32 with cos mean >= 0.99;")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"         peak RSS < 2 GiB on all BBC (whole bench process, ru_maxrss: {maxrss:.2f} GiB)")


if __name__ == "__main__":
    main()
