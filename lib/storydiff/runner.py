"""Run the pipeline notebooks in order with papermill into a run folder.

Stages are the notebooks ``notebooks/NN_name.ipynb``, found and ordered by their number, so a new
stage plugs in without editing this module. The run is written under a temporary name beside its
destination and moved into place only when every stage succeeded; a failed run is moved to
``<name>.failed-<time>`` with the executed notebook that failed and the tables written so far,
without the temporary files a killed kernel leaves (``remove_scratch``), and nothing already in
place is touched. A run stopped with Ctrl-C during a stage is moved there too.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import papermill
import yaml
from jupyter_client import AsyncKernelManager

from storydiff.corpus.readers import SIDECAR_NAMES, list_input_files
from storydiff.engine import DEFAULT_WORKERS, ENGINES, open_renewable_cluster
from storydiff.export import export_html
from storydiff.runfolder import read_manifest, remove_scratch, update_manifest, write_table

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KERNEL_ENVIRONMENT = {
    # pyarrow's default allocator (mimalloc) keeps what it freed for reuse: with the system one,
    # the comparison and report kernels peaked 15-18% lower on 2,240 articles, at the same speed
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    # glibc serves a large block from its heap once one that size was freed (its mmap threshold
    # rises to 32 MiB), and a freed block under a live one stays with the process: with a fixed
    # 1 MiB threshold, blocks past it are mapped and unmapped, and the comparison's stories step
    # at 35,600 articles peaked at 572 MiB instead of 674, in the same time
    "MALLOC_MMAP_THRESHOLD_": "1048576",
}
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # no warnings about the transport on every start
RESERVED = ("run_dir", "corpus", "engine", "scheduler", "workers")
REPORTED_PACKAGES = (
    "storydiff", "numpy", "pandas", "pyarrow", "torch", "sentence-transformers", "transformers",
    "onnxruntime", "spacy", "scikit-learn", "umap-learn", "matplotlib", "papermill", "nbconvert",
    "trafilatura",
)


class RunError(Exception):
    """A run could not start or a stage failed; the message is meant for the user."""


class RunInterrupted(KeyboardInterrupt):
    """The user stopped a run (Ctrl-C); the message, meant for the user, says where the run so far
    was moved. A KeyboardInterrupt still, so whatever runs the run stops too."""


INTERRUPTED = "KeyboardInterrupt: interrupted by the user"  # a stopped run's error in its manifest
MANIFEST_INPUTS = 1_000  # input files whose digests the manifest lists; more go to a table
LOGS_DIR = "logs"  # in a run folder: a stage's kernel process's own output, <stage>.log, when it wrote any


@dataclass(frozen=True)
class Stage:
    """A pipeline notebook and the parameters it declares (name -> papermill's description)."""

    name: str
    path: Path
    parameters: dict[str, dict[str, Any]]


def find_notebooks_dir() -> Path:
    """The pipeline's notebooks: ``$STORYDIFF_NOTEBOOKS`` or ``notebooks/`` of the checkout."""
    return Path(os.environ.get("STORYDIFF_NOTEBOOKS", PROJECT_ROOT / "notebooks"))


def discover_stages(notebooks_dir: Path) -> list[Stage]:
    """Pipeline notebooks named ``NN_name.ipynb``, in number order."""
    paths = sorted(p for p in notebooks_dir.glob("*.ipynb") if re.match(r"^\d\d_", p.name))
    if not paths:
        raise RunError(f"{notebooks_dir}: no pipeline notebooks (NN_name.ipynb) found")
    return [Stage(p.stem, p, papermill.inspect_notebook(str(p))) for p in paths]


def _convert(value: str, declared: dict[str, Any], key: str) -> Any:
    """``value`` converted to the type of the parameter's default literal in the notebook."""
    try:
        kind = type(ast.literal_eval(declared.get("default", "None"))).__name__
    except (ValueError, SyntaxError):
        kind = "NoneType"
    try:
        if kind == "bool":
            lowered = value.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(value)
            return lowered in {"true", "1", "yes"}
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "str":
            return value
    except ValueError:
        raise RunError(f"parameter {key}={value!r}: expected a value of type {kind}") from None
    return yaml.safe_load(value)


def parse_parameters(stages: list[Stage], pairs: list[str]) -> dict[str, Any]:
    """Turn ``key=value`` strings into typed parameters; unknown keys are an error."""
    declared: dict[str, dict[str, Any]] = {}
    for stage in stages:
        for key, info in stage.parameters.items():
            declared.setdefault(key, info)
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunError(f"parameter {pair!r}: expected key=value")
        if key in RESERVED:
            raise RunError(f"parameter {key}: set it with --{key.replace('_', '-')}, not -p")
        if key not in declared:
            known = ", ".join(sorted(k for k in declared if k not in RESERVED))
            raise RunError(f"unknown parameter {key!r}; the pipeline's parameters are: {known}")
        values[key] = _convert(value, declared[key], key)
    return values


def hash_inputs(corpus: Path) -> dict[str, str]:
    """sha256 of every input file of the corpus (relative path -> hex digest)."""
    files = list(list_input_files(corpus)) if corpus.is_dir() else [corpus]
    if corpus.is_dir():
        files += [corpus / n for n in SIDECAR_NAMES if (corpus / n).exists()]
    digests = {}
    for path in sorted(files):
        name = str(path.relative_to(corpus)) if corpus.is_dir() else path.name
        try:
            with open(path, "rb") as file:  # a buffer at a time: an archive file may be gigabytes
                digests[name] = hashlib.file_digest(file, "sha256").hexdigest()
        except OSError as err:
            digests[name] = f"unreadable: {err.strerror or err}"
    return digests


def record_inputs(run_dir: Path, inputs: dict[str, str], limit: int = MANIFEST_INPUTS) -> dict[str, Any]:
    """The manifest's fields for ``inputs`` (``hash_inputs``): ``inputs`` itself up to ``limit``
    files; past that, ``n_inputs``, ``inputs_sha256`` (the sha256 of them all as sorted JSON) and
    ``inputs_table``, the table written here with their ``path`` and ``sha256``, so the manifest
    that every stage reads and rewrites stays small."""
    if len(inputs) <= limit:
        return {"inputs": inputs}
    write_table(run_dir, "inputs", pd.DataFrame({"path": list(inputs), "sha256": list(inputs.values())}))
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return {"n_inputs": len(inputs), "inputs_sha256": digest, "inputs_table": "inputs"}


def describe_environment() -> dict[str, Any]:
    """Package versions, Python, platform and the git commit of the checkout."""
    versions = {}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    commit = ""
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty", "--abbrev=40"],
            capture_output=True, text=True, timeout=10, check=False,
        )
        commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "packages": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": commit,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stage_parameters(stage: Stage, given: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in given.items() if k in stage.parameters}


def _error_line(err: papermill.PapermillExecutionError) -> str:
    return f"{err.ename}: {err.evalue}".strip().splitlines()[0] if err.evalue else err.ename


def run_pipeline(
    corpus: str | Path,
    out_dir: str | Path,
    parameters: list[str] | None = None,
    *,
    force: bool = False,
    notebooks_dir: Path | None = None,
    echo: Callable[[str], None] = print,
    engine: str = "local",
    scheduler: str = "",
    workers: int = DEFAULT_WORKERS,
) -> Path:
    """Run every stage on ``corpus`` into ``out_dir`` and return it; raise ``RunError`` on failure.

    ``engine`` is where the per-article stages run (``storydiff.engine``): ``local`` (this
    machine, in each stage's kernel) or ``dask``, on the cluster at ``scheduler`` or, when it is
    empty, on a ``LocalCluster`` of ``workers`` processes that the run starts and replaces by a
    fresh one after each stage that used it (``storydiff.engine.open_renewable_cluster``).
    """
    if engine not in ENGINES:
        raise RunError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    placement = {"engine": engine, "scheduler": scheduler, "workers": workers}
    with contextlib.ExitStack() as stack:
        stack.enter_context(set_environment(KERNEL_ENVIRONMENT))
        release = None
        if engine == "dask" and not scheduler:
            release = stack.enter_context(open_renewable_cluster(workers, placement))
        return _run_stages(corpus, out_dir, parameters, force, notebooks_dir, echo, placement, release)


@contextlib.contextmanager
def set_environment(defaults: dict[str, str]) -> Iterator[None]:
    """Set the variables of ``defaults`` that are not set yet in this process's environment, which
    the kernels and workers started inside inherit; remove them again on exit. A value the user
    set is left as it is."""
    added = {key: value for key, value in defaults.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _run_stages(
    corpus: str | Path,
    out_dir: str | Path,
    parameters: list[str] | None,
    force: bool,
    notebooks_dir: Path | None,
    echo: Callable[[str], None],
    placement: dict[str, Any],
    release_workers: Callable[[], None] | None = None,
) -> Path:
    """``run_pipeline`` once the engine is chosen; ``placement`` holds engine, scheduler, workers;
    ``release_workers`` is called after each stage but the last that takes the ``engine``."""
    corpus, final = Path(corpus).resolve(), Path(out_dir).resolve()
    notebooks_dir = notebooks_dir or find_notebooks_dir()
    if not corpus.exists():
        raise RunError(f"{corpus}: corpus path does not exist")
    if final.exists() and not force:
        raise RunError(f"{final} already exists; use --force to replace it, or --name/--out for a new run")
    stages = discover_stages(notebooks_dir)
    user = parse_parameters(stages, parameters or [])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    work = final.parent / f".{final.name}.tmp-{stamp}-{os.getpid()}"
    for sub in ("notebooks", "html", "figures", "tables"):
        (work / sub).mkdir(parents=True)
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    where, current = "before its first stage", ""  # what a Ctrl-C outside a stage's notebook stops
    try:
        update_manifest(
            work,
            run_name=final.name,
            corpus=str(corpus),
            parameters=user,
            engine=placement,
            seeds={k: v for k, v in user.items() if "random_state" in k or k == "seed"},
            **record_inputs(work, hash_inputs(corpus)),
            environment=describe_environment(),
            started_at=_now(),
            status="running",
            stages=[],
        )
        for number, stage in enumerate(stages, start=1):
            echo_prefix = f"[{number}/{len(stages)}] {stage.name:<14}"
            where, current = f"in stage {stage.name}", stage.name
            executed = work / "notebooks" / stage.path.name
            kernel_log = work / LOGS_DIR / f"{stage.name}.log"
            record = {"stage": stage.name, "started_at": _now()}
            seen_notices = len(read_manifest(work).get("notices", []))
            t0 = time.perf_counter()
            interrupted = False
            try:
                papermill.execute_notebook(
                    str(stage.path),
                    str(executed),
                    parameters=_stage_parameters(stage, {"run_dir": str(work), "corpus": str(corpus), **placement, **user}),
                    cwd=str(notebooks_dir),
                    progress_bar=False,
                    kernel_name="python3",
                    extra_arguments=KERNEL_ARGUMENTS,
                    kernel_manager_class=log_kernel_output(kernel_log),
                )
                error = None
            except KeyboardInterrupt:  # papermill has shut the kernel down
                interrupted, error = True, INTERRUPTED
            except papermill.PapermillExecutionError as err:
                error = _error_line(err)
            except Exception as err:  # kernel died, notebook unreadable: still a failed stage
                error = f"{type(err).__name__}: {err}".splitlines()[0]
            record.update(ended_at=_now(), duration_s=round(time.perf_counter() - t0, 2))
            record["status"] = "failed" if error else "ok"
            records.append(record)
            kept_log = _keep_kernel_log(kernel_log)
            if executed.exists():
                export_html(executed, work / "html" / f"{stage.name}.html")
            if interrupted:
                echo(f"{echo_prefix} INTERRUPTED after {record['duration_s']:.1f} s")
                raise KeyboardInterrupt  # set aside below, as a Ctrl-C outside the notebook is
            if error:
                failed = _set_aside(work, final, stamp, started, records, stage.name, error)
                echo(f"{echo_prefix} FAILED after {record['duration_s']:.1f} s")
                log_line = f"\n  the kernel's own output: {failed / kept_log.relative_to(work)}" if kept_log else ""
                raise RunError(
                    f"stage {stage.name} failed: {error.replace(str(work), str(failed))}\n"
                    f"  executed notebook: {failed / 'notebooks' / stage.path.name}{log_line}"
                )
            echo(f"{echo_prefix} ok  {record['duration_s']:6.1f} s")
            where, current = f"after stage {stage.name}", ""
            if release_workers and "engine" in stage.parameters and number < len(stages):
                try:
                    release_workers()
                except Exception as err:  # the run can go on on the old cluster; its workers only keep their memory
                    echo(f"    could not start fresh workers ({type(err).__name__}: {err}); the old ones keep this stage's models")
            for line in read_manifest(work).get("notices", [])[seen_notices:]:
                echo(f"    {line}")
        report_stage = [s for s in stages if s.name.endswith("_report")]
        if report_stage:
            where = "while exporting the report"
            export_html(work / "notebooks" / report_stage[-1].path.name, work / "report.html", exclude_code=True)
        update_manifest(
            work, stages=records, status="ok", ended_at=_now(),
            duration_s=round(time.perf_counter() - started, 2),
        )
        where = "while moving the run into place"
        _move_into_place(work, final)
    except KeyboardInterrupt:
        if not work.exists():  # a Ctrl-C held back while the run moved into place
            raise RunInterrupted(f"run interrupted once it was complete: it is in place, {final}") from None
        failed = _set_aside(work, final, stamp, started, records, current, INTERRUPTED)
        raise RunInterrupted(f"run interrupted {where}; the run so far: {failed}") from None
    return final


def _set_aside(
    work: Path, final: Path, stamp: str, started: float, records: list[dict[str, Any]], stage: str, error: str
) -> Path:
    """Move the failed or interrupted run ``work`` to ``<final>.failed-<stamp>`` without the
    temporary files a killed kernel leaves, its manifest saying ``error`` in ``stage`` ("" when
    between stages); the new path."""
    remove_scratch(work)  # what a killed kernel spilled: copies of whole tables at scale
    failed = final.parent / f"{final.name}.failed-{stamp}"
    update_manifest(
        work, stages=records, status="failed", failed_stage=stage,
        error=error.replace(str(work), str(failed)),  # name paths where the user will find them
        ended_at=_now(), duration_s=round(time.perf_counter() - started, 2),
    )
    os.replace(work, failed)
    return failed


def log_kernel_output(path: Path) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels write their process's own stdout and stderr to
    ``path`` (appended), not to the terminal: what native libraries print, and the tracebacks of
    its sockets a kernel shut down by a Ctrl-C prints. Cells' output still goes to the notebook."""

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as log:  # the kernel process keeps its own copy
                await super().start_kernel(**{"stdout": log, "stderr": log, **kw})

    return LoggedKernelManager


def _keep_kernel_log(path: Path) -> Path | None:
    """``path`` when the kernel wrote to it; else remove it (and its folder once empty)."""
    if path.exists() and path.stat().st_size:
        return path
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
    return None


def _move_into_place(work: Path, final: Path) -> None:
    """Replace ``final`` by ``work`` with renames, so a complete run is always in place; a signal
    (a Ctrl-C) that comes meanwhile is held back until both runs are where they belong: between
    the renames neither would be in place."""
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    with hold_signals():
        if final.exists():
            os.replace(final, old)
        os.replace(work, final)
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def hold_signals() -> Iterator[None]:
    """Hold back the signals that have a Python handler (Ctrl-C's SIGINT, and the one a batch stops
    its runs with) while the block runs, then give each one that came to its handler (a SIGINT
    then raises KeyboardInterrupt). Python runs handlers in the main thread only: elsewhere the
    block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[tuple[int, Any]] = []
    handled = [s for s in signal.valid_signals() if callable(signal.getsignal(s))]
    previous = {s: signal.signal(s, lambda signum, frame: came.append((signum, frame))) for s in handled}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number, frame in came:
            previous[number](number, frame)
