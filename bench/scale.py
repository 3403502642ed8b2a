"""Scale benchmark (issue 8): the whole pipeline, stages 01-06, on BBC grown by edited copies, on the
``local`` engine and on a 2-worker ``LocalCluster`` (``dask``); prints figures, asserts nothing.

The grown corpus: the first ``--base`` BBC articles (all 2,225 by default) and, for factor k,
k - 1 copies of each with a new id and controlled edits (``copy_article``): every sentence's
words pass through a small fixed rewrite table ("said" -> "stated", ...), one sentence is
dropped (a different one in each copy), and the first sentence holding a percentage has that
figure raised by ``NUMBER_SHIFT`` points (copies past the article's sentence count drop two). A copy is therefore a known rewrite of its original (a
reuse pair) with one known number discrepancy, when the original's sentence had a percentage. A
pair either of whose articles the corpus stage marks as a duplicate (an article with fewer
sentences than copies; copies sort before their original, so the original may be the one marked)
is left out of the known pairs, since duplicates are rightly not compared.

Per size and engine: wall time of the run, peak resident memory of the whole process tree
(runner, stage kernels, cluster workers; sampled every 0.2 s) and, in brackets, its anonymous
part (``RssAnon``: allocated memory, without the pages of the memory-mapped sentence vectors,
which the system can drop), overall and per stage (samples
assigned to the stage running at the time, from the manifest's start and end times) with each
kind of process's own peak beside it (the runner, which also hosts the LocalCluster's scheduler;
the stage's notebook kernel, where the cross-article work runs; the cluster's nanny and worker
processes), and what was found: reuse pairs
and number discrepancies between copies and their originals, against the known ones. Then the
growth exponent of time with corpus size (slope of log time on log articles) and the per-article
cost (the difference between the two largest dask runs, so fixed costs cancel), from which the
projection for a million articles is printed. Embedding is charged per sentence it embedded (the
copies share most sentences with their original, which the cache serves) times the content
sentences of an article.

    .venv/bin/python bench/scale.py                      # base 2,225, factors 1 4 16 (hours on 2 cores)
    .venv/bin/python bench/scale.py --base 50 --factors 1 4 16
Runs use their own cold embedding cache and ``duplicate_threshold=0.99``: the copies are
near-duplicates on purpose, and the corpus stage would otherwise set them aside.
The runner is this process: after a dask run it keeps 0.2-0.3 GiB of the cluster's client and
scheduler state, which later runs' peaks include (local at 140 articles after dask: 1.32 GiB,
alone: 0.97). Give one engine per call when the peaks of both are to be compared.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import psutil

from _sampling import Sampler, is_kernel, read_status
from storydiff.runfolder import read_content_sentences, read_table
from storydiff.runner import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
STAGES = ("01_corpus", "02_embed", "03_claims", "04_compare", "05_figures", "06_report")
REWRITES = {  # no date or unit words: "year" -> "twelve months" made a figure of "this year" and lost its date
    "said": "stated", "says": "states", "firm": "company", "rose": "increased", "fell": "decreased",
    "also": "additionally", "but": "however", "big": "large",
    "new": "fresh", "show": "reveal", "shows": "reveals", "government": "administration",
}
NUMBER_SHIFT = 3
ROLES = ("runner", "kernel", "cluster")
PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)(%| per ?cent)")


def copy_article(text: str, copy: int) -> tuple[str, bool]:
    """(edited copy of ``text``, whether a percentage was altered): words rewritten, one sentence
    dropped (a different one for each ``copy``; two for copies past the article's sentence count,
    so copies of one article differ), the first remaining percentage raised."""
    words = re.compile(r"\b(" + "|".join(REWRITES) + r")\b")
    paragraphs = [re.split(r"(?<=[.!?])\s+", line) if line.strip() else [line] for line in text.split("\n")]
    total = sum(1 for p in paragraphs for sentence in p if sentence.strip())
    span, k = max(total - 1, 1), copy - 1  # sentences 2..total may go (never the title)
    dropped = {2 + k % span} | ({2 + (k + k // span) % span} if k >= span else set())
    lines, altered, number = [], False, 0
    for sentences in paragraphs:
        kept = []
        for sentence in sentences:
            number += bool(sentence.strip())
            if number in dropped and sentence.strip():
                continue
            sentence = words.sub(lambda m: REWRITES[m.group(1)], sentence)
            if not altered and number > 1 and PERCENT.search(sentence):
                sentence = PERCENT.sub(lambda m: f"{float(m.group(1)) + NUMBER_SHIFT:g}{m.group(2)}", sentence, count=1)
                altered = True
            kept.append(sentence)
        lines.append(" ".join(kept))
    return "\n".join(lines), altered


def list_bbc_articles() -> list[Path]:
    """The BBC corpus's article files, sorted (its README left out)."""
    return sorted(p for p in BBC.rglob("*.txt") if p.name.lower() != "readme.txt")


def grow_corpus(base: list[Path], factor: int, folder: Path) -> dict[str, dict]:
    """Write the base articles and their ``factor - 1`` copies to ``folder``; returns, per copy's
    file stem, its original's stem and whether a number was altered."""
    folder.mkdir(parents=True)
    known = {}
    for number, path in enumerate(base):
        stem = f"{number:05d}-{path.parent.name}"
        text = path.read_text(encoding="latin-1")
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
        for copy in range(1, factor):
            edited, altered = copy_article(text, copy)
            (folder / f"{stem}-copy{copy:02d}.txt").write_text(edited, encoding="utf-8")
            known[f"{stem}-copy{copy:02d}"] = {"original": stem, "altered": altered}
    return known


class PeakTreeRSS(Sampler):
    """Context manager sampling the memory of this process and all its descendants every 0.2 s,
    by role (``ROLES``: this process, the stages' notebook kernels, the cluster's nanny and worker
    processes): ``samples`` as (unix time, {role: resident bytes}, {role: anonymous bytes},
    [(kernel start time, resident, anonymous)]); ``peak`` and ``peak_anon`` of the roles' sums.
    Anonymous memory (``RssAnon``) is what the processes allocated; resident memory adds the
    pages of files they map (the sentence vectors), which the system can drop and read again."""

    interval = 0.2

    def start(self) -> None:
        self.samples, self._me = [], psutil.Process()

    def sample(self) -> None:
        totals, anon, kernels = dict.fromkeys(ROLES, 0), dict.fromkeys(ROLES, 0), []
        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                rss, private = process.memory_info().rss, read_status(process.pid)["RssAnon"]
                role = "runner" if process.pid == self._me.pid else (
                    "kernel" if is_kernel(process) else "cluster")
                if role == "kernel":
                    kernels.append((process.create_time(), rss, private))
            except (psutil.Error, OSError, KeyError):
                continue
            totals[role] += rss
            anon[role] += private
        self.samples.append((time.time(), totals, anon, kernels))

    @property
    def peak(self) -> int:
        """The largest sum of resident memory over roles, in bytes (0 before the first sample)."""
        return max((sum(totals.values()) for _, totals, _, _ in self.samples), default=0)

    @property
    def peak_anon(self) -> int:
        """The largest sum of anonymous memory over roles, in bytes (0 before the first sample)."""
        return max((sum(anon.values()) for _, _, anon, _ in self.samples), default=0)


def score_found(run: Path, known: dict[str, dict]) -> dict[str, int]:
    """Known reuse pairs and number discrepancies (copy vs its original) found in ``run``."""
    stem = lambda article_id: article_id.split("/")[-1].removesuffix(".txt")  # noqa: E731
    reuse = read_table(run, "reuse")
    found_pairs = {
        frozenset((stem(a), stem(b))) for a, b, n in zip(reuse["article_a"], reuse["article_b"], reuse["aligned_sentences"]) if n > 0
    }
    discrepancies = read_table(run, "discrepancies")
    numbers = discrepancies[discrepancies["kind"] == "number"]
    found_numbers = {frozenset((stem(a), stem(b))) for a, b in zip(numbers["article_a"], numbers["article_b"])}
    articles = read_table(run, "articles")
    duplicates = {stem(a) for a, d in zip(articles["article_id"], articles["duplicate_of"]) if d}
    known = {copy: k for copy, k in known.items() if copy not in duplicates and k["original"] not in duplicates}
    pairs = {copy: frozenset((copy, k["original"])) for copy, k in known.items()}
    altered = [copy for copy, k in known.items() if k["altered"]]
    return {
        "reuse_known": len(pairs), "reuse_found": sum(p in found_pairs for p in pairs.values()),
        "numbers_known": len(altered), "numbers_found": sum(pairs[c] in found_numbers for c in altered),
        "number_flags": len(numbers),
    }


def peak_by_stage(samples: list[tuple[float, dict, dict, list]], stages: list[dict]) -> dict[str, dict[str, int]]:
    """Per stage, the peak bytes of the samples taken while it ran (manifest times, 1 s
    resolution): ``total`` and ``total_anon`` (largest sum over roles of resident and anonymous
    memory: every process alive, the previous stage's kernel too while it shuts down) and each
    role's own resident peak, ``kernel`` and ``kernel_anon`` counting only the kernels started
    after the stage did (its own)."""
    peaks = {}
    for stage in stages:
        start, end = (datetime.fromisoformat(stage[key]).timestamp() for key in ("started_at", "ended_at"))
        inside = [sample[1:] for sample in samples if start <= sample[0] <= end + 1]
        own = [[(rss, anon) for created, rss, anon in kernels if created >= start - 1] for _, _, kernels in inside]
        peaks[stage["stage"]] = {
            "total": max((sum(t.values()) for t, _, _ in inside), default=0),
            "total_anon": max((sum(a.values()) for _, a, _ in inside), default=0),
        } | {role: max((t[role] for t, _, _ in inside), default=0) for role in ROLES} | {
            "kernel": max((sum(r for r, _ in k) for k in own), default=0),
            "kernel_anon": max((sum(a for _, a in k) for k in own), default=0),
        }
    return peaks


def count_embedded(run: Path) -> tuple[int, int]:
    """(content sentences, distinct content sentence texts) of ``run``: with a cold cache, the
    second is how many sentences the embedding stage embedded."""
    sentences = read_content_sentences(run)
    return len(sentences), sentences["text"].nunique()


def run_once(corpus: Path, work: Path, engine: str, workers: int) -> dict:
    """A run's ``run`` folder, wall ``seconds``, ``peak`` and ``peak_anon`` (tree resident and
    anonymous bytes), ``stages`` (seconds) and ``stage_peaks`` (bytes) of every stage."""
    notebooks = work / "notebooks"
    if not notebooks.exists():
        notebooks.mkdir()
        for name in STAGES:
            (notebooks / f"{name}.ipynb").symlink_to(ROOT / "notebooks" / f"{name}.ipynb")
    cache = work / f"cache-{corpus.name}-{engine}"
    shutil.copytree(work / "export" / "onnx", cache / "onnx")  # a cold vector cache, the ONNX export reused
    params = [f"cache_dir={cache}", "duplicate_threshold=0.99", "backend=onnx-int8"]
    with PeakTreeRSS() as rss:
        started = time.perf_counter()
        run = run_pipeline(corpus, work / f"run-{corpus.name}-{engine}", params, notebooks_dir=notebooks,
                           echo=lambda line: None, engine=engine, workers=workers)
        seconds = time.perf_counter() - started
    records = json.loads((run / "manifest.json").read_text())["stages"]
    stages = {s["stage"]: s["duration_s"] for s in records}
    return {"run": run, "seconds": seconds, "peak": rss.peak, "peak_anon": rss.peak_anon, "stages": stages,
            "stage_peaks": peak_by_stage(rss.samples, records)}


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log(seconds) on log(sizes): time grows as size ** slope."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0]) if len(sizes) > 1 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=2225, help="BBC articles before growing (default: all)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    base = list_bbc_articles()[: args.base]
    results: dict[str, list[dict]] = {e: [] for e in args.engines}
    print(f"base: {len(base)} BBC articles; factors {args.factors}; engines {args.engines} (dask: {args.workers} workers); "
          f"embedding backend onnx-int8, cold cache per run")
    print("engine  articles   wall_s  s/article  peak_GiB (anon)  stage seconds (01/.../06)  stage peak GiB (01/.../06)"
          "  reuse found  numbers found (flags)")
    with tempfile.TemporaryDirectory(prefix="storydiff-scale-") as tmp:
        work = Path(tmp)
        export = "from storydiff.embed import load_model; load_model(backend='onnx-int8', cache_dir=%r)"
        subprocess.run([sys.executable, "-c", export % str(work / "export")], check=True)
        for factor in args.factors:
            corpus = work / f"x{factor}"
            known = grow_corpus(base, factor, corpus)
            n = len(base) * factor
            for engine in args.engines:
                result = run_once(corpus, work, engine, args.workers) | {"n": n}
                found = score_found(result["run"], known)
                content, embedded = count_embedded(result["run"])
                # seconds of the embedding stage per sentence it embedded, times the content
                # sentences of an article: what an article of distinct sentences costs to embed
                result["embed_s"] = result["stages"].get("02_embed", 0) / max(embedded, 1) * content / n
                results[engine].append(result)
                stages, stage_peaks = result["stages"], result["stage_peaks"]
                stage_text = "/".join(f"{stages.get(s, 0):.0f}" for s in STAGES)
                peak_text = "/".join(f"{stage_peaks.get(s, {}).get('total', 0) / 2**30:.2f}" for s in STAGES)
                print(f"{engine:6} {n:9d} {result['seconds']:8.1f} {result['seconds'] / n:10.3f} "
                      f"{result['peak'] / 2**30:9.2f} ({result['peak_anon'] / 2**30:.2f})  {stage_text:25}  {peak_text:35}"
                      f"  {found['reuse_found']:4d}/{found['reuse_known']:<4d}  {found['numbers_found']:4d}/{found['numbers_known']:<4d} ({found['number_flags']})")
                print("        peak GiB by process, runner/kernel/cluster (kernel anonymous): " + ", ".join(
                    f"{s} " + "/".join(f"{stage_peaks.get(s, {}).get(role, 0) / 2**30:.2f}" for role in ROLES)
                    + f" ({stage_peaks.get(s, {}).get('kernel_anon', 0) / 2**30:.2f})" for s in STAGES))
                print(f"        embedded {embedded} distinct of {content} content sentences")
    print()
    for engine, rows in results.items():
        sizes, seconds = [r["n"] for r in rows], [r["seconds"] for r in rows]
        per_stage = {s: exponent(sizes, [max(r["stages"].get(s, 0), 1e-3) for r in rows]) for s in STAGES}
        growth = (f"time ~ articles^{exponent(sizes, seconds):.2f} (per stage: "
                  + ", ".join(f"{s} {e:.2f}" for s, e in per_stage.items()) + "); ") if len(rows) > 1 else ""
        print(f"{engine}: {growth}peak memory " + " -> ".join(f"{r['peak'] / 2**30:.2f}" for r in rows) + " GiB, anonymous "
              + " -> ".join(f"{r['peak_anon'] / 2**30:.2f}" for r in rows) + " GiB")
    rows = results.get("dask", [])
    if len(rows) > 1:
        (n0, stages0), (n1, stages1) = ((r["n"], r["stages"]) for r in rows[-2:])
        grown = {s: (stages1.get(s, 0) - stages0.get(s, 0)) / (n1 - n0) for s in STAGES}
        embed = rows[-1]["embed_s"]
        per_article = (grown["01_corpus"] + grown["03_claims"] + embed) * args.workers
        print(f"\nmeasured, dask ({args.workers} workers): reading and claims {grown['01_corpus'] * 1000:.0f} + "
              f"{grown['03_claims'] * 1000:.0f} ms per added article ({n0} -> {n1} articles, fixed costs cancel); "
              f"embedding {embed * 1000:.0f} ms per article of distinct sentences ({n1} articles: stage seconds per "
              f"sentence embedded x content sentences per article, fixed costs included); "
              f"comparison {grown['04_compare'] * 1000:.0f} ms per added article (one process)")
        for machines, cores in ((1, 16), (10, 16), (100, 16)):
            hours = 1e6 * per_article / (machines * cores) / 3600
            print(f"projected: 1,000,000 articles on {machines} x {cores}-core machines: stages 01-03 {hours:.1f} h "
                  f"(worker-seconds per article x 1e6 / cores; assumes linear scaling, as measured up to {n1} articles)")

if __name__ == "__main__":
    main()
