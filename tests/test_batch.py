"""`storydiff batch`: the batch file, the index page, failing runs, and skipping unchanged runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

import storydiff.batch
from storydiff.batch import (
    Batch, BatchError, PlannedRun, RunOutcome, RunSpec, build_index_html, describe_code_version, describe_counts,
    load_batch, parse_batch, plan_runs, run_batch,
)
from storydiff.runfolder import read_manifest, read_table
from storydiff.runner import discover_stages

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "batches" / "example.yaml"


class LinkParser(HTMLParser):
    """Collects the href of every link and the src of every element of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name in {"href", "src"}]


def parse_links(html: str) -> LinkParser:
    parser = LinkParser()
    parser.feed(html)
    return parser


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "storydiff", "batch", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=1200,
    )


@pytest.fixture(scope="module")
def probe_notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A notebooks folder with the corpus stage and a stage that saves its kernel's connection
    info (transport) to the run folder: the batch mechanics without the slow stages."""
    folder = tmp_path_factory.mktemp("notebooks")
    shutil.copy(ROOT / "notebooks" / "01_corpus.ipynb", folder)
    parameters = nbformat.v4.new_code_cell('run_dir = "../outputs/seeds"')
    parameters.metadata["tags"] = ["parameters"]
    probe = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Kernel probe"),
        parameters,
        nbformat.v4.new_code_cell(
            "import pathlib\nfrom ipykernel import get_connection_info\n"
            "pathlib.Path(run_dir, 'kernel.json').write_text(get_connection_info())"
        ),
    ])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, folder / "02_probe.ipynb")
    return folder


@pytest.fixture(scope="module")
def stages(probe_notebooks: Path) -> list:
    """The probe pipeline's stages (their declared parameters: run_dir, corpus, max_file_mb, ...)."""
    return discover_stages(probe_notebooks)


@pytest.fixture(scope="module")
def example_batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example batch rendered once with the real pipeline, two runs at once, sharing a fresh
    embedding cache: the command's output, and the batch folder."""
    out = tmp_path_factory.mktemp("example") / "batch"
    env = {"STORYDIFF_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    first = run_cli(str(EXAMPLE), "--out", str(out), "--jobs", "2", env=env)
    return {"out": out, "env": env, "first": first, "index": (out / "index.html").read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def broken_batch(tmp_path_factory: pytest.TempPathFactory, probe_notebooks: Path, seeds_dir: Path) -> dict:
    """A batch of the probe pipeline: the seeds, a folder holding only an empty file, and a
    corpus path that does not exist (and holds markup); run once, two at a time."""
    base = tmp_path_factory.mktemp("broken")
    (base / "empty").mkdir()
    (base / "empty" / "empty.txt").write_text("")
    runs_file = base / "runs.yaml"
    runs_file.write_text(yaml.safe_dump({
        "defaults": {"parameters": {"max_file_mb": 5}},
        "runs": [
            {"name": "seeds", "corpus": str(seeds_dir)},
            {"name": "empty", "corpus": "empty", "parameters": {"duplicate_threshold": 0.9}},
            {"name": "missing", "corpus": "no/<b>such</b>"},
        ],
    }))
    result = run_cli(str(runs_file), "--out", str(base / "out"), "--jobs", "2",
                     env={"STORYDIFF_NOTEBOOKS": str(probe_notebooks)})
    return {"base": base, "runs_file": runs_file, "out": base / "out", "result": result}


@pytest.mark.slow
def test_example_batch_end_to_end(example_batch: dict) -> None:
    first, out = example_batch["first"], example_batch["out"]
    assert first.returncode == 0, first.stderr
    assert "storydiff batch: 2 runs: 2 rendered, 0 unchanged" in first.stdout
    batch = json.loads((out / "batch.json").read_text())
    assert [r["name"] for r in batch["runs"]] == ["seeds-default", "seeds-strict"]
    assert [r["status"] for r in batch["runs"]] == ["ok", "ok"]
    assert [r["overrides"] for r in batch["runs"]] == [{"same_claim_threshold": 0.65}, {"same_claim_threshold": 0.8}]
    for run in batch["runs"]:
        manifest = read_manifest(out / run["name"])
        assert manifest["status"] == "ok" and manifest["batch_key"] == run["key"]
        assert manifest["parameters"]["same_claim_threshold"] == run["overrides"]["same_claim_threshold"]
        assert run["figures"]["articles"] == len(read_table(out / run["name"], "articles")) == 5
    links = parse_links(example_batch["index"])
    assert sorted(links.hrefs) == ["seeds-default/report.html", "seeds-strict/report.html"]
    assert all((out / href).is_file() for href in links.hrefs)
    assert "script" not in links.tags and "link" not in links.tags
    assert example_batch["index"].count("<span class='ok'>ok</span>") == 2
    assert (Path(example_batch["env"]["STORYDIFF_CACHE_DIR"]) / "embeddings.sqlite3").exists()


def pin_code_version(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    """Make ``run_batch`` see the code version the batch in ``out`` recorded: in a checkout being
    edited, the real one changes between invocations, and the runs would rightly be rendered again."""
    recorded = json.loads((out / "batch.json").read_text())["code_version"]
    monkeypatch.setattr(storydiff.batch, "describe_code_version", lambda stages: recorded)


def test_code_version_is_stable(stages: list) -> None:
    assert describe_code_version(stages) == describe_code_version(stages)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*\+[0-9a-f]{16}", describe_code_version(stages))


@pytest.mark.slow
def test_second_invocation_skips_unchanged_runs(example_batch: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    out = example_batch["out"]
    started = {name: read_manifest(out / name)["started_at"] for name in ("seeds-default", "seeds-strict")}
    pin_code_version(monkeypatch, out)
    monkeypatch.setenv("STORYDIFF_CACHE_DIR", example_batch["env"]["STORYDIFF_CACHE_DIR"])
    second = run_batch(EXAMPLE, out, jobs=2, echo=lambda s: None)
    assert describe_counts(second.counts) == "2 runs: 0 rendered, 2 unchanged"
    assert json.loads((out / "batch.json").read_text())["counts"] == {"runs": 2, "rendered": 0, "unchanged": 2, "failed": 0, "interrupted": 0, "not_run": 0}
    assert {name: read_manifest(out / name)["started_at"] for name in started} == started
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("unchanged, not re-rendered") == 2
    assert sorted(parse_links(index).hrefs) == ["seeds-default/report.html", "seeds-strict/report.html"]


def test_broken_corpus_fails_alone(broken_batch: dict, seeds_dir: Path) -> None:
    result, out = broken_batch["result"], broken_batch["out"]
    assert result.returncode == 1
    assert "3 runs: 1 rendered, 0 unchanged, 2 failed" in result.stdout
    assert "storydiff batch: run empty failed: stage 01_corpus failed: CorpusError:" in result.stderr
    assert "storydiff batch: run missing failed:" in result.stderr and "corpus path does not exist" in result.stderr
    assert read_manifest(out / "seeds")["status"] == "ok"
    assert len(read_table(out / "seeds", "articles")) == 5
    assert not (out / "empty").exists() and not (out / "missing").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "no readable articles" in index and "empty.txt: empty file" in index
    assert "no/&lt;b&gt;such&lt;/b&gt;" in index and "<b>such</b>" not in index
    (failed_link,) = parse_links(index).hrefs
    assert re.fullmatch(r"empty\.failed-[0-9-]+/html/01_corpus\.html", failed_link) and (out / failed_link).is_file()


def test_concurrent_kernels_use_unix_sockets(broken_batch: dict) -> None:
    info = json.loads((broken_batch["out"] / "seeds" / "kernel.json").read_text())
    assert info["transport"] == ("ipc" if os.name == "posix" else "tcp")


def test_adding_a_run_renders_only_that_run(
    broken_batch: dict, probe_notebooks: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = yaml.safe_load(broken_batch["runs_file"].read_text())
    spec["runs"] = [spec["runs"][0], {"name": "seeds-no-dedup", "corpus": str(seeds_dir), "parameters": {"duplicate_threshold": 1.0}}]
    runs_file = broken_batch["base"] / "more.yaml"
    runs_file.write_text(yaml.safe_dump(spec))
    pin_code_version(monkeypatch, broken_batch["out"])
    result = run_batch(runs_file, broken_batch["out"], jobs=2, notebooks_dir=probe_notebooks, echo=lambda s: None)
    assert result.counts == {"runs": 2, "rendered": 1, "unchanged": 1, "failed": 0, "interrupted": 0, "not_run": 0}
    assert [(o.name, o.skipped) for o in result.outcomes] == [("seeds", True), ("seeds-no-dedup", False)]


def test_plan_rerenders_on_changed_corpus_parameters_or_force(broken_batch: dict, stages: list, seeds_dir: Path, tmp_path: Path) -> None:
    out = broken_batch["out"]
    code = json.loads((out / "batch.json").read_text())["code_version"]
    batch = load_batch(broken_batch["runs_file"], stages)
    assert [p.action for p in plan_runs(batch, out, code)][0] == "unchanged"
    assert [p.action for p in plan_runs(batch, out, code, force=True)][0] == "render"
    assert [p.action for p in plan_runs(batch, out, code + "-edited")][0] == "render"
    other = parse_batch({"runs": [{"name": "seeds", "corpus": str(seeds_dir), "parameters": {"max_file_mb": 6}}]}, tmp_path / "b.yaml", stages)
    assert plan_runs(other, out, code)[0].action == "render"
    copy = tmp_path / "seeds"
    shutil.copytree(seeds_dir, copy)
    moved = parse_batch({"runs": [{"name": "seeds", "corpus": str(copy), "parameters": {"max_file_mb": 5}}]}, tmp_path / "b.yaml", stages)
    assert plan_runs(moved, out, code)[0].action == "render"


def test_batch_file_resolves_corpora_and_overrides(stages: list, tmp_path: Path) -> None:
    batch = parse_batch(
        {"defaults": {"corpus": "../corpora/a", "parameters": {"max_file_mb": 5}},
         "runs": [{"name": "one"}, {"name": "two", "corpus": "/data/b", "parameters": {"max_file_mb": "7", "duplicate_threshold": 0.8}}]},
        tmp_path / "batches" / "runs.yaml", stages,
    )
    assert batch.defaults == {"max_file_mb": 5.0}
    one, two = batch.runs
    assert one.corpus == (tmp_path / "corpora" / "a").resolve() and one.overrides == {}
    assert two.corpus == Path("/data/b") and two.corpus_given == "/data/b"
    assert two.parameters == {"max_file_mb": 7.0, "duplicate_threshold": 0.8}
    assert two.overrides == two.parameters


def test_invalid_batch_file_lists_every_problem(stages: list, tmp_path: Path) -> None:
    data = {
        "default": {},
        "runs": [
            {"name": "a", "corpus": "x", "parameters": {"threshold": 1}},
            {"name": "a", "corpus": "x"},
            {"name": "../up", "corpus": "x"},
            {"name": "b"},
            {"name": "c", "corpus": "x", "paramters": {}},
            {"name": "d", "corpus": "x", "parameters": {"corpus": "y", "max_file_mb": "big"}},
        ],
    }
    with pytest.raises(BatchError) as caught:
        parse_batch(data, tmp_path / "runs.yaml", stages)
    message = str(caught.value)
    for expected in (
        "unknown key(s) default", "run 1 ('a'): unknown parameter 'threshold'", "run 2 ('a'): name used twice",
        "run 3 ('../up'): name must be", "run 4 ('b'): corpus missing", "run 5 ('c'): unknown key(s) paramters",
        "run 6 ('d'): corpus cannot be a parameter", "run 6 ('d'): parameter max_file_mb='big': expected a value of type float",
    ):
        assert expected in message
    with pytest.raises(BatchError, match="not valid YAML"):
        (tmp_path / "bad.yaml").write_text("runs: [\n")
        load_batch(tmp_path / "bad.yaml", stages)
    with pytest.raises(BatchError, match="runs: must be a non-empty list"):
        parse_batch({"runs": []}, tmp_path / "runs.yaml", stages)


def test_index_escapes_every_value(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    spec = RunSpec("r1", tmp_path / hostile, hostile, {"metadata": hostile}, {"metadata": hostile})
    batch = Batch(tmp_path / "<b>.yaml", {"metadata": hostile}, [spec])
    outcomes = [RunOutcome("r1", "failed", False, 1.0, error=f"CorpusError: {hostile}", link="r1.failed-1/html/01_corpus.html", link_label=hostile)]
    page = build_index_html(batch, [PlannedRun(spec, tmp_path / "r1", "", "render")], outcomes, "0.1.0+x", hostile)
    links = parse_links(page)
    assert "img" not in links.tags and "script" not in links.tags and hostile not in page
    assert links.hrefs == ["r1.failed-1/html/01_corpus.html"]
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 7


def test_ctrl_c_stops_the_batch_and_says_what_became_of_each_run(
    tmp_path: Path, seeds_dir: Path, sleeping_notebooks: Path
) -> None:
    """Ctrl-C as a terminal sends it (to the whole process group) while the first of two runs is in
    a stage: that run is moved aside as ``storydiff run`` moves it, the second is not started, and
    the batch's record and index say so."""
    runs_file = tmp_path / "runs.yaml"
    runs_file.write_text(yaml.safe_dump({"defaults": {"corpus": str(seeds_dir)}, "runs": [{"name": "first"}, {"name": "second"}]}))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "storydiff", "batch", str(runs_file), "--out", str(out)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "STORYDIFF_NOTEBOOKS": str(sleeping_notebooks)},
    )
    for _ in range(240):
        if list(out.glob(".first.tmp-*/started")) or process.poll() is not None:
            break
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    (failed,) = out.glob("first.failed-*")
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == "storydiff batch: interrupted by the user; runs not started are marked 'not run'", stderr
    assert lines[-2] == f"storydiff batch: first: run interrupted in stage 01_sleep; the run so far: {failed}", stderr
    assert "storydiff batch: 2 runs: 0 rendered, 0 unchanged, 1 interrupted, 1 not run" in stdout
    assert not list(out.glob(".first.tmp-*")) and not list(out.glob("second*"))
    assert read_table(failed, "done")["x"].tolist() == [1, 2]
    batch = json.loads((out / "batch.json").read_text())
    assert batch["interrupted"] is True
    assert [(r["name"], r["status"]) for r in batch["runs"]] == [("first", "interrupted"), ("second", "not run")]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "interrupted notebook (01_sleep)" in index and "<span class='muted'>not run</span>" in index
    assert parse_links(index).hrefs == [f"{failed.name}/html/01_sleep.html"]
    assert (failed / "html" / "01_sleep.html").is_file()
