"""The dask engine gives the same tables as the local one (seeds and 300 BBC articles, real
model, real papermill runs of the stages 01-04) and reads a JSONL file in ranges on the workers,
loads models once per worker and only there, writes its
per-article tables in parts, and the runner replaces the workers of its own cluster between
stages; plus the partitioning helpers."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from storydiff import engine as engine_module
from storydiff.embed import describe_model, embed_texts, load_model, load_sentence_embeddings
from storydiff.engine import (
    LocalEngine, open_engine, open_renewable_cluster, shared_embedding_model, split_evenly, start_local_cluster,
)
from storydiff.runfolder import TABLES_DIR, list_tables, read_manifest, read_table, write_table
from storydiff.runner import RunError, _run_stages, run_pipeline
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.stages import CorpusReading, split_by_article

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
STAGES = ("01_corpus", "02_embed", "03_claims", "04_compare")


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker LocalCluster shared by this file's dask runs (started once: workers keep their
    models between runs, as on any cluster the runner did not start)."""
    with start_local_cluster(2) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def stage_notebooks(tmp_path_factory):
    """A notebooks folder holding the per-article and comparison stages (01-04) only."""
    folder = tmp_path_factory.mktemp("notebooks")
    for name in STAGES:
        (folder / f"{name}.ipynb").symlink_to(ROOT / "notebooks" / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="module")
def bbc_300(tmp_path_factory, bbc_dir):
    """A corpus folder of the first 300 BBC articles (business, then entertainment), linked."""
    folder = tmp_path_factory.mktemp("bbc-300")
    files = sorted(bbc_dir.rglob("*.txt"))
    files = [f for f in files if f.name.lower() != "readme.txt"][:300]
    for number, path in enumerate(files):
        (folder / f"{number:03d}-{path.parent.name}-{path.name}").symlink_to(path)
    return folder


def run_both(corpus: Path, tmp: Path, notebooks: Path, scheduler: str, partition_size: int) -> tuple[Path, Path]:
    """Run folders of the local and the dask engine on ``corpus``, each with its own cold
    embedding cache (so the dask workers really embed)."""
    runs = []
    for engine in ("local", "dask"):
        params = [f"cache_dir={tmp / f'cache-{engine}'}", f"partition_size={partition_size}"]
        runs.append(run_pipeline(
            corpus, tmp / engine, params, notebooks_dir=notebooks, echo=lambda line: None,
            engine=engine, scheduler=scheduler if engine == "dask" else "",
        ))
    return runs[0], runs[1]


def assert_same_tables(local: Path, dask: Path) -> None:
    """Every table of both runs equal after sorting its rows (floats to 1e-5), and the sentence
    vectors equal."""
    assert list_tables(local) == list_tables(dask)
    for name in list_tables(local):
        a, b = read_table(local, name), read_table(dask, name)
        columns = list(a.columns)
        a = a.sort_values(columns).reset_index(drop=True)
        b = b.sort_values(columns).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-5, obj=f"table {name}")
    ids_a, vectors_a = load_sentence_embeddings(local)
    ids_b, vectors_b = load_sentence_embeddings(dask)
    assert ids_a == ids_b
    np.testing.assert_allclose(vectors_a, vectors_b, atol=1e-5)


def test_dask_engine_gives_the_local_tables_on_the_seeds(tmp_path, stage_notebooks, cluster):
    local, dask = run_both(SEEDS, tmp_path, stage_notebooks, cluster.scheduler_address, partition_size=2)
    assert_same_tables(local, dask)
    for name in ("articles", "sentences", "claims"):
        assert (dask / TABLES_DIR / name).is_dir() and (local / TABLES_DIR / f"{name}.parquet").exists()
        assert len(list((dask / TABLES_DIR / name).glob("part-*.parquet"))) == 3  # 5 articles, 2 per part
    assert read_manifest(dask)["model"] == read_manifest(local)["model"]


def test_dask_engine_gives_the_local_tables_on_300_bbc_articles(tmp_path, bbc_300, stage_notebooks, cluster):
    local, dask = run_both(bbc_300, tmp_path, stage_notebooks, cluster.scheduler_address, partition_size=100)
    assert len(read_table(local, "articles")) == 300
    assert_same_tables(local, dask)
    assert len(list((dask / TABLES_DIR / "sentences").glob("part-*.parquet"))) == 3


def test_dask_workers_read_a_jsonl_file_in_ranges(tmp_path, bbc_300, cluster):
    """300 BBC articles in one JSONL file, cut into ranges of some 50 kB: the workers read a range
    a task, and the tables are those of the file read whole here."""
    feed = tmp_path / "feed.jsonl"
    texts = [path.read_text(encoding="latin-1") for path in sorted(bbc_300.iterdir())]
    feed.write_text("".join(json.dumps({"text": text, "outlet": "BBC"}) + "\n" for text in texts), encoding="utf-8")
    with open_engine("dask", cluster.scheduler_address) as engine:
        parts = list(CorpusReading(engine, feed, partition_size=100, range_bytes=50_000))
    articles, sentences = build_corpus_tables(read_corpus(feed)[0])
    assert feed.stat().st_size > 10 * 50_000 and len(parts) == 3
    pd.testing.assert_frame_equal(pd.concat([a for _, a, _ in parts], ignore_index=True), articles)
    pd.testing.assert_frame_equal(pd.concat([s for _, _, s in parts], ignore_index=True), sentences)


def test_models_load_once_per_worker(cluster):
    with open_engine("dask", cluster.scheduler_address) as engine:
        seen = engine.map(_model_identity, list(range(8)))
    by_worker: dict[int, set[int]] = {}
    for pid, model_id in seen:
        by_worker.setdefault(pid, set()).add(model_id)
    assert len(by_worker) == 2 and all(len(ids) == 1 for ids in by_worker.values())
    assert os.getpid() not in by_worker


def test_a_model_loaded_for_the_dask_engine_stays_on_the_workers(tmp_path, cluster):
    texts = [f"Sentence {number} says the budget grew by {number} per cent." for number in range(100)]
    here = load_model(cache_dir=tmp_path)
    with open_engine("dask", cluster.scheduler_address) as engine:
        loads_before = engine.client.run(_count_model_loads)
        remote = load_model(cache_dir=tmp_path, engine=engine)
        vectors = embed_texts(texts, model=remote, cache_dir=tmp_path, batch_size=2, engine=engine)
        loads_after = engine.client.run(_count_model_loads)
    assert remote.encoder is None and describe_model(remote) == describe_model(here)
    assert all(loads_after[worker] - loads_before[worker] <= 1 for worker in loads_before)
    np.testing.assert_allclose(vectors, embed_texts(texts, model=here, cache_dir=tmp_path / "here"), atol=1e-5)
    with pytest.raises(RuntimeError, match="loaded on the workers of a dask engine"):
        remote.encode_batch(texts[:1])


def test_imap_in_order_yields_in_order_and_takes_parts_as_it_goes(cluster):
    drawn: list[int] = []

    def parts():
        for part in range(12):
            drawn.append(part)
            yield part

    results, ahead = [], []
    with open_engine("dask", cluster.scheduler_address) as engine:
        for number, result in engine.imap_in_order(_square_first_slowly, parts()):
            results.append((number, result))
            ahead.append(len(drawn) - number)
    assert results == [(part, part * part) for part in range(12)]
    assert max(ahead) <= 2 * 2 + 1  # two parts per worker thread in flight, plus the next one taken


def _square_first_slowly(part: int) -> int:
    """``part`` squared; part 0 takes longest, so later parts finish before it."""
    time.sleep(1.0 if part == 0 else 0.05)
    return part * part


def _count_model_loads() -> int:
    """How many models this process has loaded through ``shared_embedding_model``."""
    return shared_embedding_model.cache_info().misses


def _model_identity(part: int) -> tuple[int, int]:
    """(worker process id, id of the default model object it holds) for one task."""
    return os.getpid(), id(shared_embedding_model("", "torch", ""))


@pytest.fixture
def worker_stages(tmp_path):
    """A notebooks folder of two stages that take the engine parameters and record the process
    ids of the cluster's workers in ``<run>/<stage>.json``, as a pipeline stage would use them."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_first", "02_second"):
        notebook = nbformat.v4.new_notebook()
        parameters = nbformat.v4.new_code_cell('run_dir = ""\nengine = "local"\nscheduler = ""\nworkers = 2')
        parameters.metadata["tags"] = ["parameters"]
        record = nbformat.v4.new_code_cell(
            "import json, os\nfrom distributed import Client\n"
            "with Client(scheduler) as client:\n"
            "    pids = sorted(client.run(os.getpid).values())\n"
            f"open(os.path.join(run_dir, '{name}.json'), 'w').write(json.dumps(pids))"
        )
        notebook.cells = [parameters, record]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder


def test_runner_replaces_the_workers_of_its_own_cluster_between_stages(tmp_path, worker_stages):
    run = run_pipeline(tmp_path, tmp_path / "run", notebooks_dir=worker_stages, echo=lambda line: None,
                       engine="dask", workers=2)
    first, second = (json.loads((run / f"{name}.json").read_text()) for name in ("01_first", "02_second"))
    assert len(first) == len(second) == 2
    assert not set(first) & set(second)


def test_runner_leaves_the_workers_of_a_given_cluster_running(tmp_path, worker_stages, cluster):
    run = run_pipeline(tmp_path, tmp_path / "run", notebooks_dir=worker_stages, echo=lambda line: None,
                       engine="dask", scheduler=cluster.scheduler_address)
    first, second = (json.loads((run / f"{name}.json").read_text()) for name in ("01_first", "02_second"))
    assert first == second and len(first) == 2


def test_a_failed_renewal_is_reported_and_the_run_goes_on(tmp_path, worker_stages, cluster):
    def fail() -> None:
        raise TimeoutError("workers did not come back")

    lines: list[str] = []
    placement = {"engine": "dask", "scheduler": cluster.scheduler_address, "workers": 2}
    run = _run_stages(tmp_path, tmp_path / "run", None, False, worker_stages, lines.append, placement, fail)
    assert (run / "02_second.json").exists()
    assert any("could not start fresh workers (TimeoutError: workers did not come back)" in line for line in lines)


def test_a_renewed_cluster_is_a_fresh_one_and_the_old_stays_if_none_starts(monkeypatch):
    handler = logging.StreamHandler()  # as distributed's own logging configuration adds, at INFO
    handler.setLevel(logging.INFO)
    monkeypatch.setattr(logging.getLogger("distributed"), "handlers", [handler])
    placement: dict = {}
    with open_renewable_cluster(1, placement) as renew:
        first = placement["scheduler"]
        with open_engine("dask", first) as engine:
            assert engine.map(_square_first_slowly, [3]) == [9]
        renew()
        second = placement["scheduler"]
        assert second != first
        assert handler.level == logging.CRITICAL  # the old cluster's closing did not unsilence the new one
        with open_engine("dask", second) as engine:
            assert engine.map(_square_first_slowly, [4]) == [16]

        def refuse(workers: int):
            raise OSError("no ports left")

        monkeypatch.setattr(engine_module, "start_local_cluster", refuse)
        with pytest.raises(OSError, match="no ports left"):
            renew()
        assert placement["scheduler"] == second
        with open_engine("dask", second) as engine:
            assert engine.map(_square_first_slowly, [5]) == [25]


def test_two_local_clusters_on_one_machine_start_without_a_port_warning():
    """Two runs with ``--engine dask`` at once: each cluster's scheduler serves HTTP on a port
    of its own, so neither warns (in a notebook) that port 8787 is taken."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with start_local_cluster(1) as first, start_local_cluster(1) as second:
            assert first.scheduler.http_server.port != second.scheduler.http_server.port


def test_unknown_engine_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(RunError, match="engine must be one of local, dask"):
        run_pipeline(SEEDS, tmp_path / "run", engine="spark", echo=lambda line: None)
    assert not (tmp_path / "run").exists()


def test_split_evenly_keeps_order_and_sizes():
    assert list(split_evenly([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(split_evenly(iter([1, 2, 3]), None)) == [[1, 2, 3]]
    assert list(split_evenly([], 4)) == []


def test_split_by_article_keeps_articles_whole():
    frame = pd.DataFrame({"article_id": ["b", "a", "c", "a", "b", "d"], "position": range(6)})
    parts = list(split_by_article(frame, 2))
    assert [sorted(set(p["article_id"])) for p in parts] == [["a", "b"], ["c", "d"]]
    assert sum(len(p) for p in parts) == len(frame)
    assert list(split_by_article(frame, None))[0] is frame


def test_dask_imap_takes_parts_as_tasks_finish(cluster):
    """20 parts from a generator on 2 single-thread workers: 4 in flight, so when the first
    result arrives at most 5 have been taken; every result comes back once, with its index."""
    taken: list[int] = []

    def parts():
        for number in range(20):
            taken.append(number)
            yield number

    with open_engine("dask", cluster.scheduler_address) as engine:
        results = engine.imap(pow, parts(), exp=2)
        first = next(results)
        taken_at_first = len(taken)
        rest = list(results)
    assert taken_at_first <= 5
    assert sorted([first, *rest]) == [(number, number**2) for number in range(20)]
    with open_engine("dask", cluster.scheduler_address) as engine:  # map takes parts as imap does, in order
        assert engine.map(pow, parts(), exp=2) == [number**2 for number in range(20)]


def test_local_engine_maps_in_order():
    engine = LocalEngine()
    assert engine.map(pow, [1, 2, 3], exp=2) == [1, 4, 9]
    assert list(engine.imap(pow, [2, 3], exp=3)) == [(0, 8), (1, 27)]


def test_partitioned_table_reads_back_and_replaces_the_single_file(tmp_path):
    frame = pd.DataFrame({"article_id": ["a", "a", "b"], "n": [1, 2, 3]})
    write_table(tmp_path, "claims", frame)
    write_table(tmp_path, "claims", frame, parts=[frame.iloc[:2], frame.iloc[2:]])
    assert not (tmp_path / TABLES_DIR / "claims.parquet").exists()
    assert sorted(p.name for p in (tmp_path / TABLES_DIR / "claims").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    pd.testing.assert_frame_equal(read_table(tmp_path, "claims"), frame)
    assert list_tables(tmp_path) == ["claims"]
    write_table(tmp_path, "claims", frame.iloc[:1])
    assert not (tmp_path / TABLES_DIR / "claims").exists() and len(read_table(tmp_path, "claims")) == 1
