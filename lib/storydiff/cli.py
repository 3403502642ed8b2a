"""Command line: ``storydiff run`` and ``storydiff batch`` (also ``python -m storydiff ...``)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from storydiff.batch import INDEX, BatchError, describe_counts, run_batch
from storydiff.engine import DEFAULT_WORKERS, ENGINES
from storydiff.runner import PROJECT_ROOT, RunError, RunInterrupted, run_pipeline

DEFAULT_CORPUS = PROJECT_ROOT / "data" / "corpora" / "seeds"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``storydiff`` command."""
    parser = argparse.ArgumentParser(prog="storydiff", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the pipeline on a folder or file of articles")
    run.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder or file of articles (default: the seeds)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="run folder to create")
    where.add_argument("--name", help="run name: the folder is outputs/NAME")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="a notebook parameter (repeatable)")
    run.add_argument("--force", action="store_true", help="replace an existing run folder of the same name")
    run.add_argument("--engine", choices=ENGINES, default="local", help="where the per-article stages run (default: local)")
    run.add_argument("--scheduler", default="", metavar="ADDRESS", help="engine dask: an existing cluster's scheduler (tcp://host:8786)")
    run.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N", help="engine dask without --scheduler: worker processes of the LocalCluster started for the run (default: 2)")
    batch = sub.add_parser("batch", help="render every run listed in a batch file, with an index page")
    batch.add_argument("runs_file", type=Path, metavar="RUNS.yaml", help="batch file: defaults and a list of runs (name, corpus, parameters)")
    batch.add_argument("--out", type=Path, metavar="DIR", help="batch folder (default: outputs/<batch file name>)")
    batch.add_argument("--jobs", type=int, default=1, metavar="N", help="runs rendered at once (default: 1)")
    batch.add_argument("--force", action="store_true", help="render every run, even those unchanged since their last run")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "batch":
        return main_batch(args)
    if args.out is not None:
        out = args.out
    else:
        name = args.name or f"{args.corpus.resolve().stem}-{datetime.now():%Y%m%d-%H%M%S}"
        out = PROJECT_ROOT / "outputs" / name
    print(f"storydiff: {args.corpus} -> {out}", flush=True)
    try:
        final = run_pipeline(
            args.corpus, out, args.param, force=args.force, echo=lambda s: print(s, flush=True),
            engine=args.engine, scheduler=args.scheduler, workers=args.workers,
        )
    except RunError as err:
        print(f"storydiff: error: {err}", file=sys.stderr)
        return 1
    except RunInterrupted as err:
        print(f"storydiff: {err}", file=sys.stderr)
        return 130  # the shell's code for a process stopped by Ctrl-C
    print(f"storydiff: report: {final / 'report.html'}")
    return 0


def main_batch(args: argparse.Namespace) -> int:
    """``storydiff batch``: render the runs, print the counts; 1 when the file is invalid or a run
    failed, 130 when the user stopped the batch (Ctrl-C)."""
    out = args.out if args.out is not None else PROJECT_ROOT / "outputs" / args.runs_file.stem
    print(f"storydiff batch: {args.runs_file} -> {out}", flush=True)
    try:
        result = run_batch(args.runs_file, out, jobs=args.jobs, force=args.force, echo=lambda s: print(s, flush=True))
    except BatchError as err:
        print(f"storydiff batch: error: {err}", file=sys.stderr)
        return 1
    print(f"storydiff batch: {describe_counts(result.counts)}")
    print(f"storydiff batch: index: {result.out_dir / INDEX}")
    failed = [o for o in result.outcomes if o.status == "failed"]
    for outcome in failed:
        print(f"storydiff batch: run {outcome.name} failed: {outcome.error}", file=sys.stderr)
    if result.interrupted:
        for outcome in result.outcomes:
            if outcome.status == "interrupted":
                print(f"storydiff batch: {outcome.name}: {outcome.error}", file=sys.stderr)
        print("storydiff batch: interrupted by the user; runs not started are marked 'not run'", file=sys.stderr)
        return 130  # the shell's code for a process stopped by Ctrl-C
    return 1 if failed else 0
