"""The shareable report as a person sees it: headless Chromium, from disk, network blocked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from storydiff.runner import run_pipeline

FIXTURES = Path(__file__).parent / "fixtures"
DOCS_SCREENSHOT = Path(__file__).parents[1] / "docs" / "report-first-screen.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


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


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full run on two articles whose text carries <script>, onerror, javascript: and <style>."""
    corpus = FIXTURES / "hostile"
    out = tmp_path_factory.mktemp("hostile") / "run"
    return run_pipeline(corpus, out, echo=lambda line: None)


def open_report(browser, report: Path, screenshot: Path | None = None) -> dict[str, Any]:
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


def test_seeds_report_in_browser(browser, seeds_run: Path, tmp_path_factory) -> None:
    shot = tmp_path_factory.mktemp("shots") / "report-first-screen.png"
    seen = open_report(browser, seeds_run / "report.html", shot)
    assert seen["outside"] == [] and seen["errors"] == []
    assert seen["images"] and all(seen["images"])
    assert "Monday" in seen["discrepancies"] and "Tuesday" in seen["discrepancies"]
    assert shot.stat().st_size > 10_000
    if os.environ.get("STORYDIFF_UPDATE_DOCS") == "1":  # `make docs` refreshes the README's picture
        shutil.copy(shot, DOCS_SCREENSHOT)


def test_hostile_markup_is_shown_as_text_and_never_runs(browser, hostile_run: Path) -> None:
    seen = open_report(browser, hostile_run / "report.html")
    assert seen["outside"] == [] and seen["errors"] == []
    assert seen["pwned"] is None and seen["live_markup"] == 0
    assert seen["visible"]  # the article's <style>body{display:none}</style> did not apply
    assert "<script>window.__pwned" in seen["text"]
    assert all(seen["images"])
