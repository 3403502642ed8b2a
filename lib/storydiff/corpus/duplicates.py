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


def find_duplicates(contents: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """Mark each text that repeats an earlier one.

    ``contents`` is indexed by article_id, in article order, holding each article's content text.
    Returns a frame indexed like it with ``duplicate_of`` (the earlier article_id or ``""``) and
    ``duplicate_similarity`` (Jaccard similarity of word 5-gram shingles; 1.0 for exact copies).
    Near-duplicates are candidates from MinHash LSH, confirmed by the Jaccard similarity of the
    shingles' 64-bit hashes (``hash_shingles``: 8 bytes per shingle held, not the shingle text;
    a collision among an article pair's few hundred shingles has odds near 1e-14).
    """
    result = pd.DataFrame({"duplicate_of": "", "duplicate_similarity": 0.0}, index=contents.index)
    first_by_hash: dict[str, str] = {}
    shingles: dict[str, np.ndarray] = {}
    lsh = MinHashLSH(threshold=threshold * 0.9, num_perm=NUM_PERM)
    for article_id, text in contents.items():
        normal = " ".join(re.findall(r"\w+", text.lower()))
        digest = hashlib.sha256(normal.encode()).hexdigest()
        if digest in first_by_hash:
            result.loc[article_id] = (first_by_hash[digest], 1.0)
            continue
        first_by_hash[digest] = article_id
        mine = hash_shingles(text)
        signature = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int)
        signature.update_batch((mine & 0xFFFFFFFF).tolist())
        best, best_score = "", 0.0
        for other in sorted(lsh.query(signature)):
            score = jaccard(mine, shingles[other])
            if score >= threshold and (score > best_score or (score == best_score and other < best)):
                best, best_score = other, score
        if best:
            result.loc[article_id] = (best, round(best_score, 4))
            continue
        shingles[article_id] = mine
        lsh.insert(article_id, signature)
    return result
