"""The shareable report as a person sees it: headless Chromium, from disk, network blocked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from storydiff.runner import run_pipeline

FIXTURES = Path(__file__).parent / "fixtures"
DOCS_SCREENSHOT = Path(__file__).parents[1] / "docs" / "report-first-screen.png"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full run on two articles whose text carries <script>, onerror, javascript: and <style>."""
    corpus = FIXTURES / "hostile"
    out = tmp_path_factory.mktemp("hostile") / "run"
    return run_pipeline(corpus, out, echo=lambda line: None)


def test_seeds_report_in_browser(open_report, seeds_run: Path, tmp_path_factory) -> None:
    shot = tmp_path_factory.mktemp("shots") / "report-first-screen.png"
    seen = open_report(seeds_run / "report.html", shot)
    assert seen["outside"] == [] and seen["errors"] == []
    assert seen["images"] and all(seen["images"])
    assert "Monday" in seen["discrepancies"] and "Tuesday" in seen["discrepancies"]
    assert shot.stat().st_size > 10_000
    if os.environ.get("STORYDIFF_UPDATE_DOCS") == "1":  # `make docs` refreshes the README's picture
        shutil.copy(shot, DOCS_SCREENSHOT)


def test_hostile_markup_is_shown_as_text_and_never_runs(open_report, hostile_run: Path) -> None:
    seen = open_report(hostile_run / "report.html")
    assert seen["outside"] == [] and seen["errors"] == []
    assert seen["pwned"] is None and seen["live_markup"] == 0
    assert seen["visible"]  # the article's <style>body{display:none}</style> did not apply
    assert "<script>window.__pwned" in seen["text"]
    assert all(seen["images"])
