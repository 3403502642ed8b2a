"""Shared fixtures: the seed corpus, one real pipeline run on it per test session, a real
browser (headless Chromium) to open reports in, and one-cell stages to test the runner with."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storydiff.engine import LocalEngine
from storydiff.runner import KERNEL_ARGUMENTS, KERNEL_ENVIRONMENT, run_pipeline, set_environment

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The demo corpus: five articles on Xi Jinping and tech self-reliance (read-only)."""
    return SEEDS


@pytest.fixture(scope="session")
def bbc_dir() -> Path:
    """The BBC corpus shipped beside the project: 2,225 articles in five topic folders, plus a
    README.TXT (read-only)."""
    return BBC


class PartitionedEngine(LocalEngine):
    """The in-process engine under the dask engine's name, so a stage splits its work into
    partitions as on a cluster (run here, in order)."""

    name = "dask"


@pytest.fixture
def partitioned_engine() -> LocalEngine:
    """An in-process engine that a stage partitions its work for as it does for dask."""
    return PartitionedEngine()


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete `storydiff run` of the seeds with default parameters, made once per session."""
    out = tmp_path_factory.mktemp("runs") / "seeds"
    return run_pipeline(SEEDS, out, echo=lambda line: None)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (installed by `make browser`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_page(browser, report: Path, screenshot: Path | None = None) -> dict[str, Any]:
    """Open ``report`` with every non-file request blocked; return what the page did."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    errors: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    result = {
        "outside": outside,
        "errors": errors,
        "images": page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"),
        "pwned": page.evaluate("window.__pwned === undefined ? null : window.__pwned"),
        "live_markup": page.evaluate(
            "document.querySelectorAll('script, iframe, svg[onload], [onerror], a[href^=\"javascript\"]').length"
        ),
        "text": page.inner_text("body"),
        "discrepancies": " ".join(page.locator("table.sd-discrepancies").all_inner_texts()),
        "visible": page.is_visible("body"),
    }
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    context.close()
    return result


@pytest.fixture
def open_report(browser) -> Callable[..., dict[str, Any]]:
    """``open_report(report, screenshot=None)``: ``open_page`` in the module's browser."""
    return functools.partial(open_page, browser)


def execute_stage(stage: str, run: Path, parameters: dict[str, Any]) -> None:
    """Run the project's notebook ``stage`` (e.g. ``"06_report"``) again on the run folder ``run``
    with ``parameters``, in a kernel started as ``storydiff run`` starts it; the executed copy
    goes beside the run folder."""
    import papermill

    with set_environment(KERNEL_ENVIRONMENT):
        papermill.execute_notebook(str(ROOT / "notebooks" / f"{stage}.ipynb"), str(run.parent / f"{run.name}-{stage}.ipynb"),
                                   parameters={"run_dir": str(run)} | parameters, cwd=str(ROOT / "notebooks"),
                                   progress_bar=False, extra_arguments=KERNEL_ARGUMENTS)


def write_stage_notebook(path: Path, source: str) -> None:
    """Write a one-stage notebook at ``path``: a ``parameters`` cell taking ``run_dir``, then ``source``."""
    import nbformat

    parameters = nbformat.v4.new_code_cell('run_dir = ""', metadata={"tags": ["parameters"]})
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(source)], metadata={"kernelspec": kernelspec})
    nbformat.write(notebook, path)


@pytest.fixture
def sleeping_notebooks(tmp_path: Path) -> Path:
    """A notebooks folder of one stage that writes a table and ``<run>/started``, then sleeps a
    minute: a stage to stop with Ctrl-C once ``started`` is there."""
    folder = tmp_path / "sleeping-notebooks"
    folder.mkdir()
    write_stage_notebook(
        folder / "01_sleep.ipynb",
        "import pathlib, time\n"
        "import pandas as pd\n"
        "from storydiff.runfolder import write_table\n"
        "write_table(run_dir, 'done', pd.DataFrame({'x': [1, 2]}))\n"
        "pathlib.Path(run_dir, 'started').write_text('')\n"
        "time.sleep(60)",
    )
    return folder
