"""Comparison (reading, embedding, claims, figures, report) stage cost with corpus size (issue 8): notebook 04 (01, 02, 03,
05, 06) alone on a real run folder grown to k disjoint copies (01: on a grown corpus); prints figures, asserts nothing.

``bench/scale.py`` grows a corpus by edited copies of each article, so its stories grow with it
(16 copies make a story of 16) and every stage runs again. Here the archive grows the way a
newsroom's does, by more weeks of news: copy c of every article (c = 1 .. k-1; copy 0 is the run
itself) gets new ids (prefix ``wNN.``), every copy is dated its own week (``published`` = BASE +
28 c days, while stories span at most ``window_days`` = 7), and its sentence vectors are turned by
a random rotation of its own, which keeps every cosine within the copy and leaves those between
copies near 0. Texts, claims and their parsed fields stay as they are. Each copy is therefore the
same comparison problem and nothing links two copies, so the grown run's tables should hold k
times factor 1's stories, facts, discrepancies and reuse pairs: the ratios printed check that the
blocked, approximate cross-article search neither lost nor added anything at that size.

Per factor: articles, content sentences, wall time of the notebook (papermill, a kernel started
as ``storydiff run`` starts it, pyarrow's system allocator), and the kernel's peak resident memory
and peak anonymous memory (``RssAnon``: what it allocated, without the pages of the memory-mapped
vectors file), sampled every 0.1 s. Then the growth exponent of time and memory between the two
largest factors and the anonymous memory per article. Give a run folder that went through
``03_claims``: by default the seeds' run ``outputs/seeds`` (made first when missing), whose five
articles say little; all of BBC is ``storydiff run --corpus ../shared/corpora/bbc --name bbc``,
about 16 minutes here, and its x16 about a quarter of an hour:

    .venv/bin/python bench/compare_scale.py --run outputs/bbc --factors 1 4 16

``--stage 02_embed`` runs the embedding stage instead, on the ``dask`` engine (a 2-worker
``LocalCluster`` the kernel starts; ``cluster_MiB`` is its processes' summed resident memory) with
``onnx-int8`` and a cold vector cache per factor. The copies share their texts, so every factor
embeds the same distinct sentences and the rest come from the cache: what grows is the rows the
kernel handles (vectors, ids, the article similarity), which is what this measures. The grown
run's sentences are written in parts of ``partition_size`` (100) articles, as the reading stage
writes them on ``dask``. The rows of ``article_similarity`` are printed, not checked against
factor 1 (identical copies fill each other's nearest-neighbour lists).

``--stage 03_claims`` runs the claims stage on the ``dask`` engine (a 2-worker ``LocalCluster``),
with the grown run's sentences written in parts of ``partition_size`` (100) articles, as the reading
stage writes them on ``dask``; the rows printed are the claims'. Copies share their texts, so every
factor parses them again: x16 of all of BBC takes over half an hour.

``--stage 01_corpus`` runs the reading stage on the ``dask`` engine (a 2-worker ``LocalCluster``)
on all of BBC grown by ``bench/scale.py``'s edited copies (``grow_corpus``: each copy a rewrite
of its original with one sentence dropped and a figure changed, so copies are new texts, not
repeats) with ``duplicate_threshold=0.99`` as there, so the copies are read, split and checked
for duplicates like any article and none is set aside; ``--run`` is not used, the rows printed
are the sentences'. With ``--jsonl`` the grown corpus is one JSONL file instead (a line an article,
in file name order; 83 MB at x16), read with ``max_file_mb=1000`` so that code which reads such a
file whole reads it too.

``--stage 05_figures`` runs the comparison on the grown run first (not measured), then measures
the figures stage; the rows printed are the claim map's (one per claim). With ``--keep``, a grown
run already there that went through ``04_compare`` is measured again as it is, without growing it
or comparing it again (to measure a change of the figures stage on the same tables); any other
folder of that name there is removed and grown again.

``--stage 06_report`` does the same for the report stage, running the figures stage first (not
measured) where the grown run has no ``figures`` table yet; the rows printed are the story pages
it wrote (one per story past ``max_stories_inline``). With ``--engine dask`` its story pages are
built on a 2-worker ``LocalCluster`` that the kernel starts (its start is in the time;
``cluster_MiB`` as above; the cluster's scheduler then runs in the kernel, and its memory counts
there), or on the cluster at ``--scheduler`` (as ``storydiff run`` gives its kernels the cluster it
started; that cluster's memory is not measured).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import papermill
import psutil

from _sampling import Sampler, is_kernel, read_status
from storydiff.embed import load_sentence_embeddings, open_sentence_embeddings
from storydiff.runfolder import list_tables, read_table, write_table
from storydiff.runner import KERNEL_ARGUMENTS, KERNEL_ENVIRONMENT, run_pipeline, set_environment
from storydiff.stages import split_by_article

from scale import grow_corpus, list_bbc_articles

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
SEEDS_RUN = ROOT / "outputs" / "seeds"
NOTEBOOKS = ROOT / "notebooks"
BASE_DATE = pd.Timestamp("2030-01-07")
WEEK_DAYS = 28
ID_COLUMNS = {
    "articles": ["article_id", "duplicate_of"],
    "sentences": ["sentence_id", "article_id"],
    "claims": ["claim_id", "sentence_id", "article_id"],
    "article_similarity": ["article_a", "article_b"],
}
ROTATE_BLOCK = 50_000
PART_ARTICLES = 100  # the notebooks' default partition_size
COUNTED = {  # the comparison tables checked, and the one column read to count their rows
    "stories": "story_id", "facts": "fact_id", "discrepancies": "kind", "reuse": "article_a", "reuse_alignments": "article_a",
}


def rename_copy(table: pd.DataFrame, columns: list[str], copy: int) -> pd.DataFrame:
    """``table`` with the non-empty ids of ``columns`` prefixed ``wNN.`` for ``copy`` > 0."""
    if copy == 0:
        return table
    prefix = f"w{copy:02d}."
    return table.assign(**{c: table[c].where(table[c].fillna("") == "", prefix + table[c].fillna("")) for c in columns})


def rotation(dim: int, copy: int) -> np.ndarray:
    """A random orthogonal (dim, dim) float32 matrix for ``copy`` (identity for copy 0)."""
    if copy == 0:
        return np.eye(dim, dtype=np.float32)
    q, r = np.linalg.qr(np.random.default_rng(copy).standard_normal((dim, dim)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def grow_run(source: Path, factor: int, target: Path, sentence_part_articles: int | None = None) -> None:
    """Write to ``target`` the run folder of ``factor`` disjoint copies of ``source`` (module
    docstring): its manifest, articles, sentences, claims, article similarity and sentence vectors;
    the sentences in parts of ``sentence_part_articles`` articles when given (they and the articles
    sorted by article id, so that both list the articles in one order), else one file; the files
    the reading stage skipped (``skipped``, which the report lists) as they are."""
    (target / "tables").mkdir(parents=True)
    shutil.copy(source / "manifest.json", target / "manifest.json")
    write_table(target, "skipped", read_table(source, "skipped"))
    for name, columns in ID_COLUMNS.items():
        table = read_table(source, name)
        copies = [rename_copy(table, columns, copy) for copy in range(factor)]
        if name == "articles":
            copies = [part.assign(published=(BASE_DATE + pd.Timedelta(days=WEEK_DAYS * copy)).date().isoformat(),
                                  published_from="meta", story_id="") for copy, part in enumerate(copies)]
        grown = pd.concat(copies, ignore_index=True)
        if sentence_part_articles and name in ("articles", "sentences"):  # in one order, as the reading stage writes them
            grown = grown.sort_values("article_id", kind="stable", ignore_index=True)
        parted = name == "sentences" and sentence_part_articles
        write_table(target, name, grown, parts=list(split_by_article(grown, sentence_part_articles)) if parted else None)
    ids, vectors = load_sentence_embeddings(source, mmap=True)
    all_ids = ([i if copy == 0 else f"w{copy:02d}.{i}" for i in ids] for copy in range(factor))
    with open_sentence_embeddings(target, all_ids, factor * len(ids), vectors.shape[1]) as grown:
        for copy in range(factor):
            turn = rotation(vectors.shape[1], copy)
            for start in range(0, len(ids), ROTATE_BLOCK):
                block = vectors[start : start + ROTATE_BLOCK] @ turn
                grown[copy * len(ids) + start : copy * len(ids) + start + len(block)] = block


class KernelPeaks(Sampler):
    """Context manager sampling this process's descendants every 0.1 s: ``rss`` and ``anon`` hold
    the largest resident and anonymous (``RssAnon``) memory of a notebook kernel, ``cluster`` the
    largest summed resident memory of the other descendants (a cluster's processes), in bytes."""

    def start(self) -> None:
        self.rss = self.anon = self.cluster = 0
        self._me = psutil.Process()

    def sample(self) -> None:
        cluster = 0
        for process in self._me.children(recursive=True):
            try:
                if not is_kernel(process):
                    cluster += process.memory_info().rss
                    continue
                self.rss = max(self.rss, process.memory_info().rss)
                self.anon = max(self.anon, read_status(process.pid)["RssAnon"])
            except (psutil.Error, OSError, KeyError):
                continue
        self.cluster = max(self.cluster, cluster)


def count_rows(run: Path, counted: dict[str, str]) -> dict[str, int]:
    """Rows of the tables ``counted`` (name -> the one column read) in ``run`` (stories: distinct
    story ids)."""
    counts = {}
    for name, column in counted.items():
        table = read_table(run, name, [column])
        counts[name] = table[column].nunique() if name == "stories" else len(table)
    return counts


def execute_stage(run: Path, stage: str, parameters: dict[str, str]) -> None:
    """Run notebook ``stage`` on ``run`` with ``parameters``, in a kernel started as ``storydiff
    run`` starts it."""
    with set_environment(KERNEL_ENVIRONMENT):
        papermill.execute_notebook(str(NOTEBOOKS / f"{stage}.ipynb"), str(run / f"{stage}.ipynb"),
                                   parameters={"run_dir": str(run)} | parameters, cwd=str(run),
                                   progress_bar=False, log_output=False, extra_arguments=KERNEL_ARGUMENTS)


def measure(run: Path, stage: str, parameters: dict[str, str]) -> dict[str, float]:
    """Run notebook ``stage`` on ``run`` with ``parameters``; wall seconds, kernel and cluster
    peaks (bytes) and the row counts of the tables it writes."""
    with KernelPeaks() as peaks:
        start = time.perf_counter()
        execute_stage(run, stage, parameters)
        seconds = time.perf_counter() - start
    counted = {"01_corpus": {"sentences": "sentence_id"}, "04_compare": COUNTED, "02_embed": {"article_similarity": "article_a"}, "03_claims": {"claims": "claim_id"},
               "05_figures": {"claim_map": "claim_id"}, "06_report": {}}[stage]
    return {"seconds": seconds, "rss": peaks.rss, "anon": peaks.anon, "cluster": peaks.cluster, **count_rows(run, counted)}


def write_jsonl_corpus(folder: Path) -> None:
    """Replace the article files of ``folder`` by one file ``corpus.jsonl``, a line each
    (``{"text": ...}``), in file name order."""
    files = sorted(folder.glob("*.txt"))
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as out:
        for path in files:
            out.write(json.dumps({"text": path.read_text(encoding="utf-8")}) + "\n")
            path.unlink()


def slope(x: list[float], y: list[float]) -> float:
    """Growth exponent between the last two points: log(y1 / y0) / log(x1 / x0)."""
    return math.log(y[-1] / y[-2]) / math.log(x[-1] / x[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=SEEDS_RUN, help="a run folder that went through 03_claims (default: outputs/seeds)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--keep", type=Path, help="write the grown run folders here (default: a temporary folder)")
    parser.add_argument("--stage", choices=["01_corpus", "02_embed", "03_claims", "04_compare", "05_figures", "06_report"], default="04_compare")
    parser.add_argument("--jsonl", action="store_true", help="01_corpus: the grown corpus as one JSONL file")
    parser.add_argument("--engine", choices=["local", "dask"], default="local", help="06_report: where the story pages are built")
    parser.add_argument("--scheduler", default="", help="06_report with --engine dask: an existing cluster's scheduler")
    args = parser.parse_args()
    if args.stage != "01_corpus" and args.run == SEEDS_RUN and not (SEEDS_RUN / "manifest.json").exists():
        print(f"no {SEEDS_RUN}: running the pipeline on the seeds first")
        run_pipeline(SEEDS, SEEDS_RUN, echo=print)
    with tempfile.TemporaryDirectory(prefix="compare-scale-") as scratch:
        work = args.keep or Path(scratch)
        embedding = args.stage == "02_embed"
        if embedding:
            export = "from storydiff.embed import load_model; load_model(backend='onnx-int8', cache_dir=%r)"
            subprocess.run([sys.executable, "-c", export % str(work / "export")], check=True)
        cluster_header = f" {'cluster_MiB':>11}" if args.engine == "dask" else ""
        print(f"{args.stage}: {'factor':>6} {'articles':>8} {'sentences':>9} {'wall_s':>7} {'rss_MiB':>8} {'anon_MiB':>8}"
              + {"01_corpus": f" {'cluster_MiB':>11}  sentences rows", "02_embed": f" {'cluster_MiB':>11}  article_similarity rows", "03_claims": f" {'cluster_MiB':>11}  claims rows",
                 "05_figures": "  claim_map rows", "06_report": f"{cluster_header}  story pages"}.get(args.stage, "  rows / factor-1 rows x factor"))
        results = []
        for factor in args.factors:
            run = work / f"x{factor}"
            after_comparison = args.stage in ("05_figures", "06_report")
            kept = after_comparison and "stories" in list_tables(run)  # not the manifest: it is the source run's
            if args.stage == "01_corpus":
                shutil.rmtree(run, ignore_errors=True)
                shutil.rmtree(work / f"corpus-x{factor}", ignore_errors=True)
                grow_corpus(list_bbc_articles(), factor, work / f"corpus-x{factor}")
                if args.jsonl:
                    write_jsonl_corpus(work / f"corpus-x{factor}")
                run.mkdir()
            elif not kept:
                shutil.rmtree(run, ignore_errors=True)  # a kept folder the comparison did not finish: grown again
                grow_run(args.run.resolve(), factor, run, PART_ARTICLES if args.stage in ("02_embed", "03_claims") else None)
                if after_comparison:
                    execute_stage(run, "04_compare", {})
            if args.stage == "06_report" and "figures" not in list_tables(run):
                execute_stage(run, "05_figures", {})
            parameters = {}
            if args.stage == "01_corpus":
                parameters = {"corpus": str(work / f"corpus-x{factor}"), "engine": "dask", "duplicate_threshold": 0.99}
                if args.jsonl:
                    parameters |= {"corpus": str(work / f"corpus-x{factor}" / "corpus.jsonl"), "max_file_mb": 1000}
            elif embedding:  # a cold vector cache, the ONNX export reused
                shutil.copytree(work / "export" / "onnx", work / f"cache-x{factor}" / "onnx")
                parameters = {"engine": "dask", "backend": "onnx-int8", "cache_dir": str(work / f"cache-x{factor}")}
            elif args.stage == "03_claims":
                parameters = {"engine": "dask", "partition_size": PART_ARTICLES}
            elif args.stage == "06_report":
                parameters = {"engine": args.engine, "scheduler": args.scheduler}
            result = {"factor": factor, **measure(run, args.stage, parameters)}
            n_articles = result["articles"] = len(read_table(run, "articles", ["article_id"]))
            n_sentences = result["sentences"] if args.stage == "01_corpus" else len(load_sentence_embeddings(run, mmap=True)[0])
            results.append(result)
            base = results[0]
            if args.stage == "04_compare":
                rows = "  " + " ".join(f"{name} {result[name] / (base[name] * factor / base['factor']):.4f}" for name in COUNTED)
            elif embedding:
                rows = f" {result['cluster'] / 2**20:>11.0f}  {result['article_similarity']}"
            elif args.stage == "03_claims":
                rows = f" {result['cluster'] / 2**20:>11.0f}  {result['claims']}"
            elif args.stage == "01_corpus":
                rows = f" {result['cluster'] / 2**20:>11.0f}  {n_sentences}"
            elif args.stage == "06_report":
                cluster = f" {result['cluster'] / 2**20:>11.0f}" if args.engine == "dask" else ""
                rows = f"{cluster}  {len(list((run / 'stories').glob('*.html')))}"
            else:
                rows = f"  {result['claim_map']}"
            print(f"{args.stage}: {factor:>6} {n_articles:>8} {n_sentences:>9} {result['seconds']:>7.1f} {result['rss'] / 2**20:>8.0f} "
                  f"{result['anon'] / 2**20:>8.0f}{rows}", flush=True)
            if args.keep is None:
                shutil.rmtree(run)
                shutil.rmtree(work / f"cache-x{factor}", ignore_errors=True)
                shutil.rmtree(work / f"corpus-x{factor}", ignore_errors=True)
    if len(results) > 1:
        articles = [r["articles"] for r in results]
        print(f"growth exponent between the two largest: time {slope(articles, [r['seconds'] for r in results]):.2f}, "
              f"resident {slope(articles, [r['rss'] for r in results]):.2f}, anonymous {slope(articles, [r['anon'] for r in results]):.2f}")
        extra = (results[-1]["anon"] - results[-2]["anon"]) / (articles[-1] - articles[-2])
        print(f"anonymous memory per added article: {extra / 2**10:.1f} KiB "
              f"({extra * 1_000_000 / 2**30:.1f} GiB per million articles, if it stays linear)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
