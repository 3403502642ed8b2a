"""Find exact and near-duplicate articles (the first in article order is kept)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

from storydiff.arrays import distinct_values

SHINGLE_WORDS = 5
NUM_PERM = 128
CACHE_MIB = 32  # SQLite pages a DuplicateFinder holds in memory


def hash_shingles(text: str) -> np.ndarray:
    """The word 5-gram shingles of ``text`` (lower-cased; a text of fewer words is one shingle)
    as the sorted, distinct first 8 bytes of their SHA-1, little-endian uint64 (m,). Their low
    32 bits are datasketch's ``sha1_hash32`` of the shingle, what its MinHash hashes."""
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(len(words) - SHINGLE_WORDS + 1, 1))}
    digests = b"".join(hashlib.sha1(shingle.encode()).digest()[:8] for shingle in shingles)
    return distinct_values(np.frombuffer(digests, dtype="<u8"))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct values."""
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def key_contents(contents: pd.Series) -> pd.DataFrame:
    """What duplicate detection needs of each text: ``contents`` (content texts indexed by
    article_id) to a frame indexed like it with ``digest`` (SHA-256 of the lower-cased words, the
    32 bytes: equal for exact copies) and ``shingles`` (``hash_shingles``)."""
    return pd.DataFrame(
        {
            "digest": [hashlib.sha256(" ".join(re.findall(r"\w+", t.lower())).encode()).digest() for t in contents],
            "shingles": [hash_shingles(t) for t in contents],
        },
        index=contents.index,
    )


class DuplicateFinder:
    """Marks each text that repeats an earlier one, the texts' keys (``key_contents``) given in
    order a batch at a time. What it must remember of the texts before (each one's digest, and
    the LSH band keys and shingle hashes of those that are not duplicates, about 4 KiB a text) is
    kept in a temporary SQLite database on disk (in ``SQLITE_TMPDIR``, ``TMPDIR`` or /var/tmp),
    deleted by ``close``, so this process holds only SQLite's page cache (``CACHE_MIB``) however
    many texts it has seen.

    Near-duplicates are candidates from MinHash LSH (datasketch's signatures, cut into the bands
    its ``MinHashLSH`` chooses for ``0.9 * threshold``: the same candidates it gives), confirmed by
    the Jaccard similarity of the shingles' 64-bit hashes (8 bytes per shingle, not the shingle
    text; a collision among an article pair's few hundred shingles has odds near 1e-14).
    """

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold
        lsh = MinHashLSH(threshold=threshold * 0.9, num_perm=NUM_PERM)
        self.bands, self.rows = lsh.b, lsh.r
        self.db = sqlite3.connect("")  # "": a private database in a file that is gone once closed
        self.db.executescript(
            f"""
            PRAGMA cache_size = -{CACHE_MIB * 1024};
            PRAGMA journal_mode = OFF;
            CREATE TABLE digests (digest BLOB PRIMARY KEY, article_id TEXT, similarity REAL) WITHOUT ROWID;
            CREATE TABLE texts (n INTEGER PRIMARY KEY, article_id TEXT, shingles BLOB);
            CREATE TABLE bands (band BLOB, n INTEGER, PRIMARY KEY (band, n)) WITHOUT ROWID;
            """
        )

    def close(self) -> None:
        """Delete the database."""
        self.db.close()

    def mark(self, keys: pd.DataFrame) -> pd.DataFrame:
        """A frame indexed like ``keys`` with ``duplicate_of`` (the earlier article_id, in this
        batch or an earlier one, or ``""``) and ``duplicate_similarity`` (Jaccard similarity of
        word 5-gram shingles; 1.0 for exact copies). ``duplicate_of`` is always a text that is
        not itself a duplicate: an exact copy of a near-duplicate is marked as that text is."""
        marks = [self._mark_one(*row) for row in zip(keys.index, keys["digest"], keys["shingles"])]
        self.db.commit()
        return pd.DataFrame(marks, columns=["duplicate_of", "duplicate_similarity"], index=keys.index).astype(
            {"duplicate_of": str, "duplicate_similarity": float}
        )

    def _mark_one(self, article_id: str, digest: bytes, mine: np.ndarray) -> tuple[str, float]:
        """``(duplicate_of, duplicate_similarity)`` of one text, remembered for the texts after it."""
        first = self.db.execute("SELECT article_id, similarity FROM digests WHERE digest = ?", (digest,)).fetchone()
        if first:
            return first[0], first[1]
        bands = self._band_keys(mine)
        best, best_score = "", 0.0
        for other, theirs in self.db.execute(
            f"SELECT article_id, shingles FROM texts WHERE n IN "
            f"(SELECT n FROM bands WHERE band IN ({','.join('?' * len(bands))}))",
            bands,
        ):
            score = jaccard(mine, np.frombuffer(theirs, dtype="<u8"))
            if score >= self.threshold and (score > best_score or (score == best_score and other < best)):
                best, best_score = other, score
        if best:
            self.db.execute("INSERT INTO digests VALUES (?, ?, ?)", (digest, best, round(best_score, 4)))
            return best, round(best_score, 4)
        self.db.execute("INSERT INTO digests VALUES (?, ?, ?)", (digest, article_id, 1.0))
        kept = self.db.execute(
            "INSERT INTO texts (article_id, shingles) VALUES (?, ?)", (article_id, mine.astype("<u8").tobytes())
        ).lastrowid
        self.db.executemany("INSERT INTO bands VALUES (?, ?)", ((band, kept) for band in bands))
        return "", 0.0

    def _band_keys(self, shingles: np.ndarray) -> list[bytes]:
        """The LSH band keys of a text's shingle hashes: per band, its number and the band's
        ``rows`` MinHash values (each under 2**32) as little-endian uint32."""
        signature = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int)
        signature.update_batch((shingles & 0xFFFFFFFF).tolist())
        values = signature.hashvalues[: self.bands * self.rows].astype("<u4").reshape(self.bands, self.rows)
        return [bytes([band]) + values[band].tobytes() for band in range(self.bands)]


def find_duplicates(contents: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """Mark each text that repeats an earlier one: ``contents`` (content texts indexed by
    article_id, in article order) to ``DuplicateFinder.mark``'s frame, indexed like it."""
    with closing(DuplicateFinder(threshold)) as finder:
        return finder.mark(key_contents(contents))
