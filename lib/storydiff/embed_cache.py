"""Persistent embedding cache: one SQLite file of float32 vectors keyed by a hash.

The key of a vector is ``sha256(namespace + text)``, where the namespace names everything that
changes the vector (model weights hash, backend, normalisation; see ``storydiff.embed``). SQLite
in WAL mode gives the two guarantees the pipeline needs: a write is one transaction, so a process
killed mid-way leaves either the whole batch or none of it, and several processes can read and
write the same file at once (writers wait on a lock, readers never block). Each row also stores
a CRC32 of its bytes; a row that fails the check is reported as corrupt and recomputed by the
caller.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs

CACHE_ENV = "STORYDIFF_CACHE_DIR"
DB_NAME = "embeddings.sqlite3"
LOCK_TIMEOUT_S = 120.0
QUERY_CHUNK = 900  # keys per SELECT ... IN (...), well under SQLite's variable limit
MMAP_BYTES = 1 << 30  # reads through a memory map: no read() call per page on warm runs
PAGE_CACHE_KIB = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key BLOB PRIMARY KEY,
    vector BLOB NOT NULL,
    crc INTEGER NOT NULL
) WITHOUT ROWID
"""


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir`` if given (non-empty), else ``$STORYDIFF_CACHE_DIR``, else
    the user cache directory (``platformdirs.user_cache_dir('storydiff')``)."""
    chosen = str(cache_dir or "") or os.environ.get(CACHE_ENV, "") or platformdirs.user_cache_dir("storydiff")
    return Path(chosen).expanduser()


def hash_texts(texts: list[str], namespace: str) -> list[bytes]:
    """Cache keys (32-byte sha256 digests) of ``texts`` under ``namespace``."""
    prefix = hashlib.sha256(namespace.encode("utf-8") + b"\0")
    keys = []
    for text in texts:
        digest = prefix.copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        keys.append(digest.digest())
    return keys


def set_journal_wal(connection: sqlite3.Connection, timeout_s: float) -> None:
    """Switch ``connection``'s database to WAL mode, retrying for up to ``timeout_s`` seconds.

    The switch needs an exclusive lock; when two processes open a new file at once, SQLite answers
    one of them "database is locked" at once rather than wait on its busy handler (it would
    deadlock otherwise), so the wait happens here.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.25)


class EmbeddingCache:
    """Vectors of one dimension ``dim`` in ``<cache_dir>/embeddings.sqlite3``; use as a context
    manager (the connection is closed on exit)."""

    def __init__(self, cache_dir: str | Path, dim: int) -> None:
        self.path = Path(cache_dir) / DB_NAME
        self.dim = dim
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = self._connect()
        except sqlite3.OperationalError:  # locked or unopenable: the file itself may be fine
            raise
        except sqlite3.DatabaseError as err:  # not a database: a foreign or truncated file
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            warnings.warn(f"embedding cache {self.path} is unreadable ({err}); moved to {aside.name}, starting empty")
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    os.replace(src, Path(f"{aside}{suffix}"))
            self.connection = self._connect()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
        try:
            set_journal_wal(connection, LOCK_TIMEOUT_S)
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
            connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            connection.execute(SCHEMA)
            connection.execute("SELECT count(*) FROM vectors WHERE key = x''").fetchone()
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def lookup(self, keys: list[bytes], store: Callable[[bytes, np.ndarray], None]) -> int:
        """Call ``store(key, vector)`` (float32 (dim,), a read-only view valid during the call) for
        each of ``keys`` in the cache; returns how many corrupt rows were skipped.

        Rows are fetched a few hundred at a time and handed over at once, so the cache never holds
        a second copy of the vectors in memory. A row whose length or CRC32 is wrong is skipped
        (the caller recomputes it) with a warning.
        """
        corrupt = 0
        nbytes = 4 * self.dim
        for start in range(0, len(keys), QUERY_CHUNK):
            chunk = keys[start : start + QUERY_CHUNK]
            rows = self.connection.execute(
                f"SELECT key, vector, crc FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for key, blob, crc in rows:
                if len(blob) != nbytes or zlib.crc32(blob) != crc:
                    corrupt += 1
                else:
                    store(bytes(key), np.frombuffer(blob, dtype=np.float32))
        if corrupt:
            warnings.warn(f"{corrupt} corrupt entries in embedding cache {self.path}; recomputing them")
        return corrupt

    def put_many(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors`` (float32, (len(keys), dim)) under ``keys`` in one transaction."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = []
        for key, vector in zip(keys, vectors, strict=True):
            blob = vector.tobytes()
            rows.append((key, blob, zlib.crc32(blob)))
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            self.connection.executemany("INSERT OR REPLACE INTO vectors (key, vector, crc) VALUES (?, ?, ?)", rows)
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
