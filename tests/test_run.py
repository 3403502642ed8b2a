"""`storydiff run`: the run folder it writes, and how it refuses, fails and reports bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_stage_notebook

import storydiff.runner
from storydiff.runfolder import read_manifest, read_table
from storydiff.runner import INTERRUPTED, RunError, RunInterrupted, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = {
    "articles": ["article_id", "path", "title", "outlet", "published", "published_from", "story_id", "n_sentences", "sha256", "duplicate_of"],
    "sentences": ["sentence_id", "article_id", "position", "text", "char_start", "char_end", "boilerplate"],
}


@pytest.fixture
def corpus_only_notebooks(tmp_path: Path) -> Path:
    """A notebooks folder holding just the corpus stage, to test the runner's mechanics quickly."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_corpus.ipynb", folder)
    return folder


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "storydiff", "run", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=900,
    )


def test_seeds_run_folder(seeds_run: Path) -> None:
    manifest = read_manifest(seeds_run)
    assert manifest["status"] == "ok"
    stages = [s["stage"] for s in manifest["stages"]]
    assert stages == sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert all(s["status"] == "ok" and s["duration_s"] >= 0 for s in manifest["stages"])
    assert set(manifest["inputs"]) == {p.name for p in (ROOT / "data/corpora/seeds").iterdir()}
    assert manifest["environment"]["packages"]["papermill"]
    for name, columns in CONTRACT.items():
        table = read_table(seeds_run, name)
        assert set(columns) <= set(table.columns)
        assert pd.read_csv(seeds_run / "tables" / f"{name}.csv").shape[0] == len(table)
    for stage in stages:
        assert (seeds_run / "notebooks" / f"{stage}.ipynb").exists()
        assert (seeds_run / "html" / f"{stage}.html").exists()
    report = (seeds_run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?https?:", report)
    assert "hl-ipython3" not in report and "import " not in report  # no code in the shareable report
    assert not list(seeds_run.parent.glob(".seeds.tmp-*"))


def test_past_a_thousand_inputs_the_manifest_keeps_their_count_and_digest_and_a_table_each_file_s(
    tmp_path: Path, seeds_dir: Path
) -> None:
    """``record_inputs`` with a limit of 2 files on the five seed articles:
    the digests go to table ``inputs``; each is the file's sha256, read a block at a time."""
    inputs = storydiff.runner.hash_inputs(seeds_dir)
    first = sorted(seeds_dir.glob("*.txt"))[0]
    assert inputs[first.name] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert storydiff.runner.record_inputs(tmp_path, inputs, limit=len(inputs)) == {"inputs": inputs}
    fields = storydiff.runner.record_inputs(tmp_path, inputs, limit=2)
    assert fields == {"n_inputs": len(inputs), "inputs_sha256": fields["inputs_sha256"], "inputs_table": "inputs"}
    assert len(fields["inputs_sha256"]) == 64 and len(inputs) > 2
    table = read_table(tmp_path, "inputs")
    assert dict(zip(table["path"], table["sha256"])) == inputs


def test_existing_run_is_kept_without_force(tmp_path: Path, seeds_dir: Path, corpus_only_notebooks: Path) -> None:
    out = tmp_path / "run"
    run_pipeline(seeds_dir, out, notebooks_dir=corpus_only_notebooks, echo=lambda s: None)
    (out / "my-notes.txt").write_text("keep me")
    with pytest.raises(RunError, match="already exists; use --force"):
        run_pipeline(seeds_dir, out, notebooks_dir=corpus_only_notebooks, echo=lambda s: None)
    assert (out / "my-notes.txt").read_text() == "keep me"
    run_pipeline(seeds_dir, out, ["max_file_mb=5"], force=True, notebooks_dir=corpus_only_notebooks, echo=lambda s: None)
    assert not (out / "my-notes.txt").exists()
    assert read_manifest(out)["parameters"] == {"max_file_mb": 5.0}


def test_unknown_and_mistyped_parameters(tmp_path: Path, seeds_dir: Path, corpus_only_notebooks: Path) -> None:
    with pytest.raises(RunError, match="unknown parameter 'threshold'; the pipeline's parameters are: .*max_file_mb"):
        run_pipeline(seeds_dir, tmp_path / "r", ["threshold=1"], notebooks_dir=corpus_only_notebooks)
    with pytest.raises(RunError, match="expected a value of type float"):
        run_pipeline(seeds_dir, tmp_path / "r", ["max_file_mb=big"], notebooks_dir=corpus_only_notebooks)
    assert not (tmp_path / "r").exists()


def test_failing_stage_keeps_notebook_and_says_why(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    result = run_cli("--corpus", str(corpus), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "stage 01_corpus failed: CorpusError:" in result.stderr and "no readable articles" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 3
    assert not (tmp_path / "out").exists()
    (failed,) = tmp_path.glob("out.failed-*")
    manifest = json.loads((failed / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["failed_stage"] == "01_corpus"
    assert (failed / "notebooks" / "01_corpus.ipynb").exists()


@pytest.fixture
def killed_kernel_notebooks(tmp_path: Path) -> Path:
    """A notebooks folder of one stage that writes a table and a dot file of its own, then, as the
    comparison does at scale, spills rows to a scratch folder and half-writes a table in parts,
    and dies the way an out-of-memory kill ends a kernel (SIGKILL), mid-write."""
    folder = tmp_path / "killed-notebooks"
    folder.mkdir()
    write_stage_notebook(
        folder / "01_killed.ipynb",
        "import os, pathlib, signal\n"
        "import pandas as pd\n"
        "from storydiff.runfolder import open_scratch_dir, open_table_parts, write_table\n"
        "write_table(run_dir, 'done', pd.DataFrame({'x': [1, 2]}))\n"
        "pathlib.Path(run_dir, '.notes').write_text('kept')\n"
        "spill = open_scratch_dir(run_dir, 'claim-blocks')\n"
        "pathlib.Path(spill.name, 'claims-0.parquet').write_bytes(b'rows')\n"
        "with open_table_parts(run_dir, 'matches') as parts:\n"
        "    parts.write(0, pd.DataFrame({'x': [1]}))\n"
        "    os.write(2, b'out of memory, as a native library says it\\n')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)",
    )
    return folder


def test_a_killed_kernel_leaves_its_tables_but_not_its_scratch(
    tmp_path: Path, seeds_dir: Path, killed_kernel_notebooks: Path
) -> None:
    with pytest.raises(RunError, match="stage 01_killed failed") as caught:
        run_pipeline(seeds_dir, tmp_path / "out", notebooks_dir=killed_kernel_notebooks, echo=lambda s: None)
    (failed,) = tmp_path.glob("out.failed-*")
    log = failed / "logs" / "01_killed.log"
    assert str(caught.value).splitlines()[-1] == f"  the kernel's own output: {log}"
    assert log.read_text() == "out of memory, as a native library says it\n"
    assert read_table(failed, "done")["x"].tolist() == [1, 2]
    assert (failed / ".notes").read_text() == "kept"
    assert (failed / "notebooks" / "01_killed.ipynb").exists()
    assert read_manifest(failed)["failed_stage"] == "01_killed"
    left = sorted(p.relative_to(failed).as_posix() for p in failed.rglob("*") if p.name.startswith("."))
    assert left == [".notes"], left
    assert not (failed / "tables" / "matches").exists()


def test_a_kernel_s_own_output_goes_to_the_run_s_log_not_the_terminal(
    tmp_path: Path, seeds_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """What a kernel process writes itself (a native library's warnings; the socket tracebacks of
    a kernel shut down by Ctrl-C) goes to ``logs/<stage>.log``; a stage whose kernel wrote
    nothing has no log; the cells' own output stays in the notebook."""
    notebooks = tmp_path / "noisy-notebooks"
    notebooks.mkdir()
    write_stage_notebook(notebooks / "01_noisy.ipynb", "import os\nos.write(1, b'native out\\n')\nos.write(2, b'native err\\n')\nprint('cell out')")
    write_stage_notebook(notebooks / "02_quiet.ipynb", "print('cell out')")
    run = run_pipeline(seeds_dir, tmp_path / "out", notebooks_dir=notebooks, echo=lambda s: None)
    captured = capfd.readouterr()
    assert "native" not in captured.out + captured.err
    assert sorted(p.name for p in (run / "logs").iterdir()) == ["01_noisy.log"]
    assert (run / "logs" / "01_noisy.log").read_text().splitlines() == ["native out", "native err"]
    assert "cell out" in (run / "notebooks" / "01_noisy.ipynb").read_text()


def test_ctrl_c_moves_the_run_so_far_aside_and_says_where(tmp_path: Path, seeds_dir: Path, sleeping_notebooks: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "storydiff", "run", "--corpus", str(seeds_dir), "--out", str(out)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "STORYDIFF_NOTEBOOKS": str(sleeping_notebooks)},
    )
    for _ in range(240):
        if list(tmp_path.glob(".out.tmp-*/started")) or process.poll() is not None:
            break
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    (failed,) = tmp_path.glob("out.failed-*")
    assert process.returncode == 130, stderr
    assert "[1/1] 01_sleep       INTERRUPTED after" in stdout
    assert stderr.strip().splitlines()[-1] == f"storydiff: run interrupted in stage 01_sleep; the run so far: {failed}", stderr
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
    assert read_table(failed, "done")["x"].tolist() == [1, 2]
    manifest = read_manifest(failed)
    assert manifest["status"] == "failed" and manifest["error"] == INTERRUPTED


def test_ctrl_c_outside_a_notebook_moves_the_run_aside_too(
    tmp_path: Path, seeds_dir: Path, pool_probe_notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands while the runner itself works (here: exporting a finished stage's
    notebook to HTML) stops the run as one inside a notebook does."""
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(storydiff.runner, "export_html", interrupt)
    with pytest.raises(RunInterrupted) as caught:
        run_pipeline(seeds_dir, tmp_path / "out", notebooks_dir=pool_probe_notebooks, echo=lambda line: None)
    (failed,) = tmp_path.glob("out.failed-*")
    assert str(caught.value) == f"run interrupted in stage 01_probe; the run so far: {failed}"
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))
    assert (failed / "pool.txt").exists()
    manifest = read_manifest(failed)
    assert (manifest["status"], manifest["failed_stage"], manifest["error"]) == ("failed", "01_probe", INTERRUPTED)


def test_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"storydiff: error: {tmp_path / 'nope'}: corpus path does not exist"


def test_bad_inputs_are_reported_and_the_rest_runs(tmp_path: Path, seeds_dir: Path, corpus_only_notebooks: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(seeds_dir, corpus)
    (corpus / "empty.txt").write_text("")
    (corpus / "feed.jsonl").write_text('{"text": "A wire story about chips."}\nnot json\n')
    (corpus / "noise.jsonl").write_text('{"title": "no body"}\n' * 60)
    result = run_cli("--corpus", str(corpus), "--out", str(tmp_path / "out"), env={"STORYDIFF_NOTEBOOKS": str(corpus_only_notebooks)})
    assert result.returncode == 0, result.stderr
    assert f"skipped {corpus / 'empty.txt'}: empty file" in result.stdout
    assert f"skipped {corpus / 'feed.jsonl'}:2: not valid JSON" in result.stdout
    assert f"skipped {corpus / 'noise.jsonl'}:48: no 'text' field" in result.stdout  # the 50th notice, the last one
    assert f"noise.jsonl:49:" not in result.stdout and "skipped 12 more inputs: every one is in table 'skipped'" in result.stdout
    skipped = read_table(tmp_path / "out", "skipped")
    assert skipped["problem"].tolist()[:3] == ["empty file", "not valid JSON (Expecting value)", "no 'text' field, or it is empty"]
    assert len(skipped) == 62 and skipped["line"].tolist()[-1] == 60
    assert len(read_table(tmp_path / "out", "articles")) == 6


@pytest.fixture
def pool_probe_notebooks(tmp_path: Path) -> Path:
    """A notebooks folder of one stage that writes which allocator pyarrow uses in its kernel to
    ``<run>/pool.txt``, and its malloc mmap threshold setting to ``<run>/mmap_threshold.txt``."""
    folder = tmp_path / "probe-notebooks"
    folder.mkdir()
    write_stage_notebook(
        folder / "01_probe.ipynb",
        "import os, pathlib, pyarrow\n"
        "pathlib.Path(run_dir, 'pool.txt').write_text(pyarrow.default_memory_pool().backend_name)\n"
        "pathlib.Path(run_dir, 'mmap_threshold.txt').write_text(os.environ.get('MALLOC_MMAP_THRESHOLD_', ''))",
    )
    return folder


def test_kernels_use_the_system_allocator_for_arrow_and_a_fixed_mmap_threshold_unless_the_user_chose(
    tmp_path: Path, seeds_dir: Path, pool_probe_notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    run = run_pipeline(seeds_dir, tmp_path / "default", notebooks_dir=pool_probe_notebooks, echo=lambda line: None)
    assert (run / "pool.txt").read_text() == "system" and (run / "mmap_threshold.txt").read_text() == "1048576"
    assert not {"ARROW_DEFAULT_MEMORY_POOL", "MALLOC_MMAP_THRESHOLD_"} & set(os.environ)  # the caller's environment is as it was
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    run = run_pipeline(seeds_dir, tmp_path / "chosen", notebooks_dir=pool_probe_notebooks, echo=lambda line: None)
    assert (run / "pool.txt").read_text() == "mimalloc" and (run / "mmap_threshold.txt").read_text() == "131072"


def test_a_ctrl_c_while_the_run_moves_into_place_waits_until_it_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C between the two renames (the old run set aside, the new one not yet in its place)
    would leave neither run in place: it lands once the new run is in place and the old removed."""
    final, work = tmp_path / "out", tmp_path / ".out.tmp-1"
    for folder, name in ((final, "old.txt"), (work, "new.txt")):
        folder.mkdir()
        (folder / name).write_text(name)
    rename = os.replace

    def rename_then_interrupt(source: Path, target: Path) -> None:
        rename(source, target)
        if Path(source) == final:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(storydiff.runner.os, "replace", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        storydiff.runner._move_into_place(work, final)
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in final.iterdir()] == ["new.txt"]
