"""The persistent embedding cache: corrupt entries and files are recovered from, a writer killed
with SIGKILL leaves a consistent cache, two processes can fill one cache at once, and processes
opening one new cache file at the same moment all wait their turn."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from storydiff.embed import EmbedStats, embed_texts, load_model
from storydiff.embed_cache import DB_NAME, EmbeddingCache, hash_texts

TEXTS = [
    f"Research budget {i}: up {i % 17} per cent, the finance ministry said in its draft report on Sunday."
    for i in range(240)
]

WRITER = """
import json, sys
from storydiff.embed import embed_texts, load_model
texts = json.loads(sys.argv[2])
embed_texts(texts, model=load_model(), cache_dir=sys.argv[1], batch_size=8, show_progress=False)
"""


@pytest.fixture(scope="module")
def model():
    """The packaged all-MiniLM-L6-v2, torch backend, loaded once for this file."""
    return load_model()


@pytest.fixture(scope="module")
def reference(model, tmp_path_factory) -> np.ndarray:
    """Vectors of TEXTS computed in this process, in batches of 8 as the writer processes do."""
    return embed_texts(TEXTS, model=model, cache_dir=tmp_path_factory.mktemp("reference"), batch_size=8)


def start_writer(cache_dir: Path, first: int, last: int) -> subprocess.Popen:
    """A separate Python process embedding TEXTS[first:last] into ``cache_dir``."""
    return subprocess.Popen([sys.executable, "-c", WRITER, str(cache_dir), json.dumps(TEXTS[first:last])])


def count_rows(cache_dir: Path) -> int:
    """Rows committed to the cache (0 while the file does not exist yet)."""
    if not (cache_dir / DB_NAME).exists():
        return 0
    with closing(sqlite3.connect(cache_dir / DB_NAME, timeout=60)) as connection:
        try:
            return connection.execute("SELECT count(*) FROM vectors").fetchone()[0]
        except sqlite3.OperationalError:  # table not created yet
            return 0


def assert_consistent(cache_dir: Path) -> None:
    """SQLite's own integrity check passes on the cache file."""
    with closing(sqlite3.connect(cache_dir / DB_NAME)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_writer_killed_mid_way_leaves_a_usable_cache(model, reference, tmp_path):
    writer = start_writer(tmp_path, 0, len(TEXTS))
    deadline = time.monotonic() + 300
    while count_rows(tmp_path) < 16 and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.poll() is None, "the writer finished before it could be killed"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    assert_consistent(tmp_path)
    kept = count_rows(tmp_path)
    assert 16 <= kept < len(TEXTS) and kept % 8 == 0  # whole batches only
    stats = EmbedStats()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*corrupt")
        vectors = embed_texts(TEXTS, model=model, cache_dir=tmp_path, batch_size=8, stats=stats)
    assert (stats.hits, stats.corrupt) == (kept, 0)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_two_processes_fill_one_cache_at_once(model, reference, tmp_path):
    writers = [start_writer(tmp_path, 0, 160), start_writer(tmp_path, 80, 240)]
    assert [w.wait(timeout=600) for w in writers] == [0, 0]
    assert_consistent(tmp_path)
    stats = EmbedStats()
    vectors = embed_texts(TEXTS, model=model, cache_dir=tmp_path, batch_size=8, stats=stats)
    assert stats.hits == len(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def open_new_caches(folders: list[Path], barrier, results) -> None:
    """Open the cache in each of ``folders`` after all processes reach ``barrier``, store and read
    back one vector; put the error text (or None) of each folder on ``results``."""
    keys = hash_texts(["one sentence"], "ns")
    for folder in folders:
        barrier.wait()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with EmbeddingCache(folder, 4) as cache:
                    cache.put_many(keys, np.ones((1, 4), dtype=np.float32))
                    found = []
                    cache.lookup(keys, lambda key, vector: found.append(key))
            results.put(None if found == keys else f"{folder}: stored vector not found")
        except Exception as err:  # noqa: BLE001 - reported to the test process
            results.put(f"{folder}: {type(err).__name__}: {err}")


def test_processes_opening_one_new_cache_at_once_all_wait(tmp_path):
    # Switching a new file to WAL made SQLite answer "database is locked" at once to one of two
    # processes; the cache took that for a corrupt file and moved it aside under the other.
    folders, processes = [tmp_path / f"cache{i}" for i in range(40)], 4
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=open_new_caches, args=(folders, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    errors = [results.get(timeout=300) for _ in range(len(folders) * processes)]
    for worker in workers:
        worker.join(timeout=60)
    assert [error for error in errors if error] == []
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert not list(tmp_path.glob(f"*/{DB_NAME}.corrupt-*"))


def test_corrupt_entry_is_recomputed_with_a_warning(model, reference, tmp_path):
    embed_texts(TEXTS[:8], model=model, cache_dir=tmp_path, batch_size=8)
    with closing(sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)) as connection:
        connection.execute("UPDATE vectors SET vector = zeroblob(1536) WHERE key = (SELECT min(key) FROM vectors)")
    stats = EmbedStats()
    with pytest.warns(UserWarning, match="1 corrupt entries"):
        vectors = embed_texts(TEXTS[:8], model=model, cache_dir=tmp_path, batch_size=8, stats=stats)
    assert (stats.corrupt, stats.hits, stats.misses) == (1, 7, 1)
    np.testing.assert_allclose(vectors, reference[:8], atol=1e-5)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*corrupt")
        embed_texts(TEXTS[:8], model=model, cache_dir=tmp_path, batch_size=8)


def test_unreadable_cache_file_is_moved_aside(model, tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not an SQLite database" * 100)
    with pytest.warns(UserWarning, match="unreadable"):
        vectors = embed_texts(TEXTS[:2], model=model, cache_dir=tmp_path)
    assert vectors.shape == (2, 384)
    assert list(tmp_path.glob(f"{DB_NAME}.corrupt-*"))


def test_keys_depend_on_namespace_and_text():
    a, b = hash_texts(["x", "y"], "model-1")
    assert a != b and hash_texts(["x"], "model-2")[0] != a and hash_texts(["x"], "model-1")[0] == a


def test_put_then_get_round_trips_bytes(tmp_path):
    vectors = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    keys = hash_texts(["a", "b", "c"], "ns")
    found = {}
    with EmbeddingCache(tmp_path, dim=4) as cache:
        cache.put_many(keys, vectors)
        corrupt = cache.lookup(keys + hash_texts(["not stored"], "ns"), lambda k, v: found.update({k: v.tobytes()}))
    assert corrupt == 0
    assert [found[k] for k in keys] == [v.tobytes() for v in vectors] and len(found) == 3
