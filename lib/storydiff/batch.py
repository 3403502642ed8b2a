"""Render many run folders from one batch file (``storydiff batch RUNS.yaml``), with an index page.

A batch file lists runs, each with a name, a corpus and notebook parameters, plus defaults shared
by all::

    defaults:
      corpus: ../data/corpora/seeds      # relative paths are relative to the batch file
      parameters: {max_file_mb: 50}
    runs:
      - name: strict
        parameters: {same_claim_threshold: 0.75}
      - name: loose
        corpus: ../data/corpora/other
        parameters: {same_claim_threshold: 0.55}

Each run is written by ``storydiff.runner.run_pipeline`` to ``<out>/<name>/``, exactly as
``storydiff run`` writes it. A run whose key (corpus path and file hashes, typed parameters, code
version) equals the ``batch_key`` in its existing, successful run folder is left alone. Runs are
rendered in worker processes whose notebook kernels talk over Unix sockets, so concurrent kernels
cannot pick the same TCP ports. ``<out>/batch.json`` records the outcome of every run and the
counts; ``<out>/index.html`` shows them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from html import escape
from importlib import metadata
from multiprocessing import get_context
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import yaml
from filelock import FileLock, Timeout
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from papermill.engines import NBClientEngine, papermill_engines

import storydiff
from storydiff.runfolder import read_manifest, read_table, update_manifest, write_json
from storydiff.runner import (
    REPORTED_PACKAGES,
    RESERVED,
    RunError,
    Stage,
    discover_stages,
    find_notebooks_dir,
    hash_inputs,
    parse_parameters,
    run_pipeline,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
BATCH_KEYS = {"defaults", "runs"}
DEFAULTS_KEYS = {"corpus", "parameters"}
RUN_KEYS = {"name", "corpus", "parameters"}
INDEX = "index.html"
BATCH_MANIFEST = "batch.json"
HEADLINE_TABLES = {"articles": None, "stories": "story_id", "facts": "fact_id", "discrepancies": None}


class BatchError(Exception):
    """The batch file is invalid or the batch cannot start; the message is meant for the user."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: its typed parameters, and those that differ from the batch defaults."""

    name: str
    corpus: Path
    corpus_given: str
    parameters: dict[str, Any]
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """A parsed batch file: the runs in file order and the parameters shared by all of them."""

    path: Path
    defaults: dict[str, Any]
    runs: list[RunSpec]


@dataclass(frozen=True)
class PlannedRun:
    """A run and what this invocation does with it: ``render`` or ``unchanged``."""

    spec: RunSpec
    run_dir: Path
    key: str
    action: str


@dataclass
class RunOutcome:
    """What became of one run in this invocation (the row of the index, minus the figures)."""

    name: str
    status: str  # ok | failed | interrupted (stopped by Ctrl-C) | not run (the batch was stopped first)
    skipped: bool
    duration_s: float
    error: str = ""
    failed_dir: str = ""
    figures: dict[str, int | None] = field(default_factory=dict)
    link: str = ""  # the page the index links to, relative to the batch folder
    link_label: str = ""


@dataclass(frozen=True)
class BatchResult:
    """The outcome of ``run_batch``: the outcome of each run, in file order, and the counts."""

    out_dir: Path
    outcomes: list[RunOutcome]
    counts: dict[str, int]
    interrupted: bool = False


def format_parameter(value: Any) -> str:
    """A typed parameter value as the ``value`` of a runner ``key=value`` pair."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def _typed_parameters(given: Any, where: str, stages: list[Stage], problems: list[str]) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, dict):
        problems.append(f"{where}: parameters must be a mapping of name: value")
        return {}
    reserved = sorted(k for k in given if k in RESERVED)
    if reserved:
        problems.append(f"{where}: {', '.join(reserved)} cannot be a parameter (use the run's corpus: key)")
    pairs = [f"{k}={format_parameter(v)}" for k, v in given.items() if k not in RESERVED]
    try:
        return parse_parameters(stages, pairs)
    except RunError as err:
        problems.append(f"{where}: {err}")
        return {}


def _unknown_keys(entry: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    unknown = sorted(str(k) for k in entry if k not in allowed)
    return [f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"] if unknown else []


def parse_batch(data: Any, path: Path, stages: list[Stage]) -> Batch:
    """Validate the loaded YAML of batch file ``path`` against the pipeline's ``stages``.

    Relative corpus paths are resolved against the batch file's folder. Every problem found is
    reported at once in one ``BatchError``.
    """
    if not isinstance(data, dict):
        raise BatchError(f"{path}: expected a mapping with 'runs' (and optional 'defaults')")
    problems = _unknown_keys(data, BATCH_KEYS, str(path))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append("defaults: must be a mapping")
        defaults = {}
    problems += _unknown_keys(defaults, DEFAULTS_KEYS, "defaults")
    shared = _typed_parameters(defaults.get("parameters"), "defaults", stages, problems)
    entries = data.get("runs")
    if not isinstance(entries, list) or not entries:
        problems.append("runs: must be a non-empty list of runs")
        entries = []
    runs, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"run {number}: must be a mapping with name, corpus, parameters")
            continue
        name = str(entry.get("name", ""))
        where = f"run {number} ({name!r})" if name else f"run {number}"
        problems += _unknown_keys(entry, RUN_KEYS, where)
        if not NAME_PATTERN.match(name):
            problems.append(f"{where}: name must be 1-80 letters, digits, '-' or '_', starting with a letter or digit")
        elif name.lower() in seen:
            problems.append(f"{where}: name used twice (names become folder names)")
        seen.add(name.lower())
        corpus = entry.get("corpus", defaults.get("corpus"))
        if not isinstance(corpus, str) or not corpus.strip():
            problems.append(f"{where}: corpus missing (give it in the run or in defaults)")
            corpus = ""
        own = _typed_parameters(entry.get("parameters"), where, stages, problems)
        parameters = {**shared, **own}
        overrides = {k: v for k, v in parameters.items() if k not in shared or shared[k] != v}
        resolved = (path.parent / Path(corpus).expanduser()).resolve()
        runs.append(RunSpec(name, resolved, corpus, parameters, overrides))
    if problems:
        raise BatchError(f"{path}: invalid batch file:\n" + "\n".join(f"  {p}" for p in problems))
    return Batch(path, shared, runs)


def load_batch(path: str | Path, stages: list[Stage]) -> Batch:
    """Read and validate batch file ``path`` (YAML)."""
    path = Path(path).resolve()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BatchError(f"{path}: cannot read the batch file ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise BatchError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_batch(data, path, stages)


def describe_code_version(stages: list[Stage]) -> str:
    """``<storydiff version>+<hash>`` of the package source, the stage notebooks' cells and the
    reported packages' versions; saved outputs in the notebooks do not count."""
    digest = hashlib.sha256()
    package = Path(storydiff.__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for stage in stages:
        cells = json.loads(stage.path.read_text(encoding="utf-8")).get("cells", [])
        sources = [(c.get("cell_type"), "".join(c.get("source", ""))) for c in cells]
        digest.update(stage.path.name.encode() + json.dumps(sources).encode())
    for name in REPORTED_PACKAGES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent".encode())
    return f"{storydiff.__version__}+{digest.hexdigest()[:16]}"


def compute_run_key(spec: RunSpec, inputs: dict[str, str], code_version: str) -> str:
    """sha256 (hex) of what decides a run's output: corpus path and file hashes, parameters, code."""
    record = {"corpus": str(spec.corpus), "inputs": inputs, "parameters": spec.parameters, "code": code_version}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def plan_runs(batch: Batch, out_dir: Path, code_version: str, *, force: bool = False) -> list[PlannedRun]:
    """Each run with its key and action: ``unchanged`` when its run folder holds a successful run
    with the same key (and not ``force``), else ``render``. A missing corpus is rendered (and fails)."""
    planned = []
    for spec in batch.runs:
        run_dir = out_dir / spec.name
        key = compute_run_key(spec, hash_inputs(spec.corpus), code_version) if spec.corpus.exists() else ""
        manifest = read_manifest(run_dir)
        same = bool(key) and manifest.get("status") == "ok" and manifest.get("batch_key") == key
        planned.append(PlannedRun(spec, run_dir, key, "unchanged" if same and not force else "render"))
    return planned


class _IpcKernelManager(AsyncKernelManager):
    """A kernel manager reaching its kernel over Unix sockets named after a fresh connection file.

    With TCP, the client picks free ports and the kernel binds them a moment later, so two
    processes starting kernels at once can pick the same port (papermill issue #511).
    """

    def __init__(self, **kwargs: Any) -> None:
        kernel_id = str(uuid.uuid4())
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        connection_file = str(runtime / f"kernel-{kernel_id}.json")
        super().__init__(transport="ipc", kernel_id=kernel_id, connection_file=connection_file, **kwargs)


class _IpcEngine(NBClientEngine):
    """papermill's nbclient engine, with kernels reached as ``_IpcKernelManager`` reaches them,
    whatever else the caller's ``kernel_manager_class`` does (the runner's logs their output)."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man: Any, kernel_name: str, kernel_manager_class: type[AsyncKernelManager] = AsyncKernelManager, **kwargs: Any
    ) -> Any:
        manager = type("IpcKernelManager", (_IpcKernelManager, kernel_manager_class), {})
        return super().execute_managed_notebook(nb_man, kernel_name, kernel_manager_class=manager, **kwargs)


def use_ipc_kernels() -> None:
    """Make papermill's default engine, in this process, start kernels on Unix sockets (POSIX only)."""
    if os.name == "posix":
        papermill_engines.register(None, _IpcEngine)


_stop: Event | None = None  # a batch worker's: set by the batch when the user stops it
NOT_STARTED = "the batch was stopped before this run started"


def prepare_worker(stop: Event) -> None:
    """Initialise a batch worker process: IPC kernels; Ctrl-C is left to the batch, which sets
    ``stop`` and so stops the run in progress here (``render_run``) exactly once."""
    global _stop
    _stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    use_ipc_kernels()


@contextlib.contextmanager
def stop_when_set(stop: Event | None) -> Iterator[None]:
    """Raise KeyboardInterrupt in this (main) thread if ``stop`` is set while the block runs, as a
    Ctrl-C would (checked every 0.2 s)."""
    if stop is None:
        yield
        return
    running = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        if running.is_set():
            raise KeyboardInterrupt

    def watch() -> None:
        while running.is_set():
            if stop.wait(0.2):
                signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
                return

    previous = signal.signal(signal.SIGUSR1, interrupt)
    running.set()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        running.clear()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)


def render_run(name: str, corpus: str, run_dir: str, pairs: list[str], key: str, notebooks_dir: str) -> RunOutcome:
    """Run the pipeline into ``run_dir`` (replacing it) and stamp ``batch_key`` in its manifest.

    Runs in a worker process; progress lines are printed prefixed with ``[name]``. Not started when
    the batch was stopped; stopped (outcome ``interrupted``) when the batch is stopped meanwhile.
    """
    if _stop is not None and _stop.is_set():
        return RunOutcome(name, "not run", False, 0.0, NOT_STARTED)
    folder = Path(run_dir)
    failed_before = set(folder.parent.glob(f"{name}.failed-*"))
    started = time.perf_counter()
    try:
        with stop_when_set(_stop):
            run_pipeline(
                corpus, folder, pairs, force=True,
                notebooks_dir=Path(notebooks_dir),
                echo=lambda line: print(f"[{name}] {line}", flush=True),
            )
    except (RunError, KeyboardInterrupt) as err:  # a RunInterrupted, or the stop landing as the run ended
        failed = sorted(set(folder.parent.glob(f"{name}.failed-*")) - failed_before)
        error = (str(err) or "interrupted by the user").splitlines()[0]
        status = "failed" if isinstance(err, RunError) else "interrupted"
        print(f"[{name}] {status}: {error}", flush=True)
        return RunOutcome(name, status, False, round(time.perf_counter() - started, 2), error, str(failed[-1]) if failed else "")
    update_manifest(folder, batch_key=key)
    return RunOutcome(name, "ok", False, read_manifest(folder).get("duration_s", 0.0))


def execute_runs(
    planned: list[PlannedRun], jobs: int, notebooks_dir: Path, echo: Callable[[str], None] = print
) -> tuple[dict[str, RunOutcome], bool]:
    """Render the runs planned ``render``, ``jobs`` at a time in worker processes; name -> outcome,
    and whether the user stopped the batch (Ctrl-C).

    A run that fails, or whose worker dies, is a failed outcome; the other runs go on. On Ctrl-C
    the runs in progress are stopped (each moved aside as ``storydiff run`` does) and the others
    are not started; a second Ctrl-C while they stop is ignored.
    """
    todo = [p for p in planned if p.action == "render"]
    if not todo:
        return {}, False
    outcomes: dict[str, RunOutcome] = {}
    context = get_context("spawn")
    stop = context.Event()
    interrupted = False
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                             initializer=prepare_worker, initargs=(stop,)) as pool:
        futures = {
            pool.submit(
                render_run, p.spec.name, str(p.spec.corpus), str(p.run_dir),
                [f"{k}={format_parameter(v)}" for k, v in p.spec.parameters.items()],
                p.key, str(notebooks_dir),
            ): p
            for p in todo
        }
        try:
            for future in as_completed(futures):
                outcomes[futures[future].spec.name] = collect_outcome(future, futures[future].spec.name)
        except KeyboardInterrupt:
            interrupted = True
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            echo("storydiff batch: stopping the runs in progress")
            stop.set()
            for future, plan in futures.items():
                name = plan.spec.name
                if future.cancel():
                    outcomes[name] = RunOutcome(name, "not run", False, 0.0, NOT_STARTED)
                elif name not in outcomes:
                    outcomes[name] = collect_outcome(future, name)
            signal.signal(signal.SIGINT, previous)
    return outcomes, interrupted


def collect_outcome(future: Future, name: str) -> RunOutcome:
    """The outcome of run ``name`` from its finished (or finishing) ``future``."""
    try:
        return future.result()
    except BrokenProcessPool:
        return RunOutcome(name, "failed", False, 0.0, "the worker process died (out of memory?)")
    except Exception as err:  # a bug outside the pipeline: this run fails, the others go on
        return RunOutcome(name, "failed", False, 0.0, f"{type(err).__name__}: {err}".splitlines()[0])


def read_headline_figures(run_dir: Path) -> dict[str, int | None]:
    """Articles, stories, facts and discrepancies of a run folder; ``None`` for a missing table."""
    figures: dict[str, int | None] = {}
    for table, id_column in HEADLINE_TABLES.items():
        try:
            df = read_table(run_dir, table)
            figures[table] = int(df[id_column].nunique()) if id_column else len(df)
        except (OSError, KeyError, ValueError):
            figures[table] = None
    return figures


def count_outcomes(outcomes: list[RunOutcome]) -> dict[str, int]:
    """Runs in all, rendered (successfully), unchanged (skipped), failed, interrupted and not run."""
    return {
        "runs": len(outcomes),
        "rendered": sum(o.status == "ok" and not o.skipped for o in outcomes),
        "unchanged": sum(o.skipped for o in outcomes),
        **{status.replace(" ", "_"): sum(o.status == status for o in outcomes) for status in ("failed", "interrupted", "not run")},
    }


def describe_counts(counts: dict[str, int]) -> str:
    """``2 runs: 1 rendered, 1 unchanged`` (and ``, N failed``, ``, N interrupted``, ``, N not
    run`` when there are such runs)."""
    text = f"{counts['runs']} run{'s' if counts['runs'] != 1 else ''}: {counts['rendered']} rendered, {counts['unchanged']} unchanged"
    return text + "".join(f", {counts[key]} {key.replace('_', ' ')}" for key in ("failed", "interrupted", "not_run") if counts.get(key))


def _format_parameters(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_parameter(v)}" for k, v in parameters.items()) or "none"


def locate_run_page(out_dir: Path, outcome: RunOutcome) -> tuple[str, str]:
    """The page a run's row links to, relative to ``out_dir``, and its label: the report of a
    successful run, the executed notebook that failed (or was interrupted) of a failed
    (interrupted) one; ``("", "")`` if none exists."""
    if outcome.status == "ok":
        target, label = out_dir / outcome.name / "report.html", "report"
    else:
        failed = Path(outcome.failed_dir) if outcome.failed_dir else None
        stage = read_manifest(failed).get("failed_stage", "") if failed else ""
        if not (failed and stage):
            return "", ""
        target, label = failed / "html" / f"{stage}.html", f"{outcome.status} notebook ({stage})"
    return (target.relative_to(out_dir).as_posix(), label) if target.exists() else ("", "")


INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 15px;
  line-height: 1.5; max-width: 1200px; margin: 0 auto; padding: 1.5rem 2rem 4rem; color: #222; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #333; padding-bottom: .3rem; }
table { border-collapse: collapse; font-size: 13px; margin: 1rem 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
thead th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a6b2f; font-weight: 600; }
.failed { color: #a11; font-weight: 600; }
.muted { color: #666; }
.error { font-family: ui-monospace, monospace; color: #a11; max-width: 420px; overflow-wrap: anywhere; }
code { overflow-wrap: anywhere; }
"""


def build_index_html(batch: Batch, planned: list[PlannedRun], outcomes: list[RunOutcome], code_version: str, generated_at: str) -> str:
    """The batch's ``index.html``: one row per run, every value escaped, inline CSS, no script."""
    rows = []
    for plan, outcome in zip(planned, outcomes):
        cells = [f"<td><b>{escape(plan.spec.name)}</b></td>",
                 f"<td><code title='{escape(str(plan.spec.corpus))}'>{escape(plan.spec.corpus_given)}</code></td>",
                 f"<td>{escape(_format_parameters(plan.spec.overrides))}</td>"]
        for table in HEADLINE_TABLES:
            value = outcome.figures.get(table)
            cells.append(f"<td class='num'>{'' if value is None else value}</td>")
        if outcome.status == "ok":
            marker = "<br><span class='muted'>unchanged, not re-rendered</span>" if outcome.skipped else ""
            status = f"<span class='ok'>ok</span>{marker}"
        elif outcome.status == "not run":
            status = f"<span class='muted'>not run</span><div class='muted'>{escape(outcome.error)}</div>"
        else:
            status = f"<span class='failed'>{escape(outcome.status)}</span><div class='error'>{escape(outcome.error)}</div>"
        link = f"<a href='{escape(quote(outcome.link))}'>{escape(outcome.link_label)}</a>" if outcome.link else ""
        cells += [f"<td>{status}</td>", f"<td class='num'>{outcome.duration_s:.1f} s</td>", f"<td>{link}</td>"]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{h}</th>" for h in (
        "run", "corpus", "parameters (differing from the defaults)", "articles", "stories", "facts",
        "discrepancies", "status", "duration", "report"))
    counts = describe_counts(count_outcomes(outcomes))
    title = escape(f"storydiff batch: {batch.path.name}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{INDEX_CSS}</style>
</head>
<body>
<h1>{title}</h1>
<p><b>{escape(counts)}</b>. <span class="muted">Generated {escape(generated_at)} from
<code>{escape(str(batch.path))}</code>; code version {escape(code_version)}.</span></p>
<p>Parameters shared by every run (the defaults): {escape(_format_parameters(batch.defaults))}. A run is
<i>unchanged</i> when its corpus files, parameters and code version are those of its existing run folder;
it was not rendered again. Empty figures: the run has no such table.</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_batch(
    runs_file: str | Path,
    out_dir: str | Path,
    *,
    jobs: int = 1,
    force: bool = False,
    notebooks_dir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> BatchResult:
    """Render every run of ``runs_file`` not unchanged into ``out_dir``; write batch.json and index.html.

    Raises ``BatchError`` for an invalid batch file or when another batch holds ``out_dir``; a
    failing run is an outcome, not an exception.
    """
    if jobs < 1:
        raise BatchError(f"--jobs must be at least 1, not {jobs}")
    notebooks_dir = notebooks_dir or find_notebooks_dir()
    try:
        stages = discover_stages(notebooks_dir)
    except RunError as err:
        raise BatchError(str(err)) from None
    batch = load_batch(runs_file, stages)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / ".batch.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BatchError(f"{out_dir}: another storydiff batch is writing this folder") from None
    try:
        started_at, started = _now(), time.perf_counter()
        code_version = describe_code_version(stages)
        planned = plan_runs(batch, out_dir, code_version, force=force)
        for plan in planned:
            echo(f"{plan.spec.name}: {'unchanged, skipped' if plan.action == 'unchanged' else 'to render'}")
        rendered, interrupted = execute_runs(planned, jobs, notebooks_dir, echo)
        outcomes = []
        for plan in planned:
            outcome = rendered.get(plan.spec.name) or RunOutcome(
                plan.spec.name, "ok", True, read_manifest(plan.run_dir).get("duration_s", 0.0))
            if outcome.status == "ok":
                outcome.figures = read_headline_figures(plan.run_dir)
            outcome.link, outcome.link_label = locate_run_page(out_dir, outcome)
            outcomes.append(outcome)
        counts = count_outcomes(outcomes)
        write_json(out_dir / BATCH_MANIFEST, {
            "batch_file": str(batch.path), "started_at": started_at, "ended_at": _now(),
            "duration_s": round(time.perf_counter() - started, 2), "jobs": jobs, "force": force, "interrupted": interrupted,
            "code_version": code_version, "defaults": batch.defaults, "counts": counts,
            "runs": [
                {**asdict(o), "corpus": str(p.spec.corpus), "parameters": p.spec.parameters,
                 "overrides": p.spec.overrides, "run_dir": p.spec.name, "key": p.key}
                for p, o in zip(planned, outcomes)
            ],
        })
        index = build_index_html(batch, planned, outcomes, code_version, _now())
        (out_dir / INDEX).write_text(index, encoding="utf-8")
    finally:
        lock.release()
    return BatchResult(out_dir, outcomes, counts, interrupted)
