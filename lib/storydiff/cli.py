"""Command line: ``storydiff run`` (and ``python -m storydiff run``)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from storydiff.runner import PROJECT_ROOT, RunError, run_pipeline

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.out is not None:
        out = args.out
    else:
        name = args.name or f"{args.corpus.resolve().stem}-{datetime.now():%Y%m%d-%H%M%S}"
        out = PROJECT_ROOT / "outputs" / name
    print(f"storydiff: {args.corpus} -> {out}", flush=True)
    try:
        final = run_pipeline(args.corpus, out, args.param, force=args.force, echo=lambda s: print(s, flush=True))
    except RunError as err:
        print(f"storydiff: error: {err}", file=sys.stderr)
        return 1
    print(f"storydiff: report: {final / 'report.html'}")
    return 0
