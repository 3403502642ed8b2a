"""Find exact and near-duplicate articles (the first in article order is kept)."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
NUM_PERM = 128


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)}
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def find_duplicates(contents: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """Mark each text that repeats an earlier one.

    ``contents`` is indexed by article_id, in article order, holding each article's content text.
    Returns a frame indexed like it with ``duplicate_of`` (the earlier article_id or ``""``) and
    ``duplicate_similarity`` (Jaccard similarity of word 5-gram shingles; 1.0 for exact copies).
    Near-duplicates are candidates from MinHash LSH, confirmed by the exact Jaccard similarity.
    """
    result = pd.DataFrame({"duplicate_of": "", "duplicate_similarity": 0.0}, index=contents.index)
    first_by_hash: dict[str, str] = {}
    shingles: dict[str, set[str]] = {}
    lsh = MinHashLSH(threshold=threshold * 0.9, num_perm=NUM_PERM)
    for article_id, text in contents.items():
        normal = " ".join(re.findall(r"\w+", text.lower()))
        digest = hashlib.sha256(normal.encode()).hexdigest()
        if digest in first_by_hash:
            result.loc[article_id] = (first_by_hash[digest], 1.0)
            continue
        first_by_hash[digest] = article_id
        mine = _shingles(text)
        signature = MinHash(num_perm=NUM_PERM, seed=1)
        signature.update_batch([s.encode() for s in sorted(mine)])
        best, best_score = "", 0.0
        for other in sorted(lsh.query(signature)):
            score = len(mine & shingles[other]) / len(mine | shingles[other])
            if score >= threshold and (score > best_score or (score == best_score and other < best)):
                best, best_score = other, score
        if best:
            result.loc[article_id] = (best, round(best_score, 4))
            continue
        shingles[article_id] = mine
        lsh.insert(article_id, signature)
    return result
