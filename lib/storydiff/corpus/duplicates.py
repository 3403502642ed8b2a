"""Find exact and near-duplicate articles (the first in article order is kept)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
NUM_PERM = 128


def hash_shingles(text: str) -> np.ndarray:
    """The word 5-gram shingles of ``text`` (lower-cased; a text of fewer words is one shingle)
    as the sorted, distinct first 8 bytes of their SHA-1, little-endian uint64 (m,). Their low
    32 bits are datasketch's ``sha1_hash32`` of the shingle, what its MinHash hashes."""
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(len(words) - SHINGLE_WORDS + 1, 1))}
    digests = b"".join(hashlib.sha1(shingle.encode()).digest()[:8] for shingle in shingles)
    return np.unique(np.frombuffer(digests, dtype="<u8"))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct values."""
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def key_contents(contents: pd.Series) -> pd.DataFrame:
    """What duplicate detection needs of each text: ``contents`` (content texts indexed by
    article_id) to a frame indexed like it with ``digest`` (SHA-256 of the lower-cased words, hex:
    equal for exact copies) and ``shingles`` (``hash_shingles``)."""
    return pd.DataFrame(
        {
            "digest": [hashlib.sha256(" ".join(re.findall(r"\w+", t.lower())).encode()).hexdigest() for t in contents],
            "shingles": [hash_shingles(t) for t in contents],
        },
        index=contents.index,
    )


class DuplicateFinder:
    """Marks each text that repeats an earlier one, the texts' keys (``key_contents``) given in
    order a batch at a time; it holds the digest of every text and the shingle hashes and MinHash
    LSH entry of every text that is not a duplicate.

    Near-duplicates are candidates from MinHash LSH, confirmed by the Jaccard similarity of the
    shingles' 64-bit hashes (8 bytes per shingle held, not the shingle text; a collision among
    an article pair's few hundred shingles has odds near 1e-14).
    """

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold
        self.first_by_digest: dict[str, str] = {}
        self.shingles: dict[str, np.ndarray] = {}
        self.lsh = MinHashLSH(threshold=threshold * 0.9, num_perm=NUM_PERM)

    def mark(self, keys: pd.DataFrame) -> pd.DataFrame:
        """A frame indexed like ``keys`` with ``duplicate_of`` (the earlier article_id, in this
        batch or an earlier one, or ``""``) and ``duplicate_similarity`` (Jaccard similarity of
        word 5-gram shingles; 1.0 for exact copies)."""
        marks = []
        for article_id, digest, mine in zip(keys.index, keys["digest"], keys["shingles"]):
            if digest in self.first_by_digest:
                marks.append((self.first_by_digest[digest], 1.0))
                continue
            self.first_by_digest[digest] = article_id
            signature = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int)
            signature.update_batch((mine & 0xFFFFFFFF).tolist())
            best, best_score = "", 0.0
            for other in sorted(self.lsh.query(signature)):
                score = jaccard(mine, self.shingles[other])
                if score >= self.threshold and (score > best_score or (score == best_score and other < best)):
                    best, best_score = other, score
            if best:
                marks.append((best, round(best_score, 4)))
                continue
            marks.append(("", 0.0))
            self.shingles[article_id] = mine
            self.lsh.insert(article_id, signature)
        return pd.DataFrame(marks, columns=["duplicate_of", "duplicate_similarity"], index=keys.index).astype(
            {"duplicate_of": str, "duplicate_similarity": float}
        )


def find_duplicates(contents: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """Mark each text that repeats an earlier one: ``contents`` (content texts indexed by
    article_id, in article order) to ``DuplicateFinder.mark``'s frame, indexed like it."""
    return DuplicateFinder(threshold).mark(key_contents(contents))
