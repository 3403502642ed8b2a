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
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.embed import EmbedStats, embed_texts, load_model
from storydiff.runfolder import select_content_sentences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
SLICE = 640  # sentences per alternation of plain and cold runs (10 batches of 64)


class PeakRSS:
    """Context manager sampling this process's resident memory every 20 ms; ``peak`` in bytes."""

    def __enter__(self) -> PeakRSS:
        self.peak = psutil.Process().memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="seeds and 300 BBC sentences only")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    bbc = read_sentences(BBC, content_only=False)
    sample = [bbc[i] for i in np.random.default_rng(0).permutation(len(bbc))]
    sets = {"seeds": read_sentences(SEEDS, content_only=True)}
    sets |= {"bbc-300": sample[:300]} if args.quick else {"bbc-3000": sample[:3000], "bbc-all": bbc}
    print("sentences:", {name: len(texts) for name, texts in sets.items()})

    with tempfile.TemporaryDirectory(prefix="storydiff-bench-") as tmp:
        workdir = Path(tmp)
        torch_model = load_model(backend="torch")
        print(f"torch device: {torch_model.encoder.device}, threads: {__import__('torch').get_num_threads()}")
        embed_texts(sample[:128], model=torch_model, cache_dir=workdir / "warmup", show_progress=False)
        torch_results = {name: bench_torch(name, texts, torch_model, workdir, args.batch_size) for name, texts in sets.items()}
        del torch_model

        print("\nwall-clock seconds (CPU seconds of this process in brackets; overhead and speed-up from wall time, CPU-time overhead after /)")
        print("set          n   plain_s          cold_s           cold_overhead   warm_s  warm_speedup  bit_identical  peak_RSS_GiB")
        for name, r in torch_results.items():
            print(
                f"{name:9} {len(sets[name]):6} {r['plain_s']:7.2f} ({r['plain_cpu']:7.1f}) {r['cold_s']:7.2f} ({r['cold_cpu']:7.1f})"
                f" {100 * (r['cold_s'] / r['plain_s'] - 1):+6.1f}% / {100 * (r['cold_cpu'] / r['plain_cpu'] - 1):+5.1f}%"
                f" {r['warm_s']:7.3f} {r['cold_s'] / r['warm_s']:12.0f}x  {r['identical']!s:>13} {r['peak_rss'] / 2**30:13.2f}"
            )

        backends = {}
        for backend in ("onnx", "onnx-int8"):
            began = time.perf_counter()
            model = load_model(backend=backend, cache_dir=workdir)
            print(f"\n{backend}: load + first export {time.perf_counter() - began:.1f} s")
            embed_texts(sample[:128], model=model, cache_dir=workdir / f"warmup-{backend}", show_progress=False)
            backends[backend] = {
                name: bench_backend(name, texts, model, torch_results[name]["vectors"], workdir, args.batch_size)
                for name, texts in sets.items()
            }

        print("\nsentences/s by wall time (x: vs torch fp32 cold by wall / by CPU time; cos: mean/min to torch fp32; peak RSS GiB)")
        print("set          n  torch_fp32/s  onnx_fp32/s                                 onnx_int8/s")
        for name, texts in sets.items():
            t = torch_results[name]
            cells = []
            for backend in ("onnx", "onnx-int8"):
                r = backends[backend][name]
                cells.append(
                    f"{len(texts) / r['s']:7.1f} ({t['cold_s'] / r['s']:4.2f}x/{t['cold_cpu'] / r['cpu']:4.2f}x,"
                    f" cos {r['cos_mean']:.4f}/{r['cos_min']:.4f}, {r['peak_rss'] / 2**30:.2f})"
                )
            print(f"{name:9} {len(texts):6} {len(texts) / t['cold_s']:12.1f}  {cells[0]}  {cells[1]}")
        print("\ntargets: cold overhead <= 5 %; warm >= 50x cold and bit-identical; int8 >= 2x torch fp32 with cos mean >= 0.99;")
        print(f"         peak RSS < 2 GiB on all BBC (whole process, ru_maxrss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB)")


if __name__ == "__main__":
    main()
