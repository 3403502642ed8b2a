"""Whether two sentences state the same claim: cosine similarity of sentence embeddings.

Calibration (``bench/calibrate_same_claim.py``): on the STS Benchmark news rows
(``main-news``; train+dev, 3,799 pairs) a pair counts as the same claim when annotators scored it
3 or more ("roughly equivalent, but some important information differs or is missing"). That
cut is the right one for storydiff: two outlets' versions of one claim are exactly the pairs
that may differ in a detail (a figure, a day, a translated word), and those differences are what
the discrepancy checks look for, so they must still be linked. The threshold is the cosine
(all-MiniLM-L6-v2, L2-normalised embeddings) that maximises F1 on train+dev; it is reported on
the test news rows by the bench script: cosine 0.650, F1 0.836 on train+dev; on test (500 pairs)
F1 0.827, precision 0.771, recall 0.893. ``REUSE_THRESHOLD`` is found the same way for a cut of
4 ("mostly equivalent, only unimportant details differ"): a rewritten sentence, not just the
same fact (cosine 0.800, F1 0.625 on train+dev, 0.609 on test).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# F1-maximising cosines on STS-B news train+dev (see module docstring and the bench script)
SAME_CLAIM_THRESHOLD = 0.65
REUSE_THRESHOLD = 0.80


def score_pairs(embeddings_a: np.ndarray, embeddings_b: np.ndarray) -> np.ndarray:
    """Cosine of row i of ``embeddings_a`` with row i of ``embeddings_b``: (n, dim) x2 -> (n,)."""
    return np.einsum("ij,ij->i", embeddings_a, embeddings_b).astype(np.float32)


def same_claim(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    model: Any | None = None,
    threshold: float = SAME_CLAIM_THRESHOLD,
) -> pd.DataFrame:
    """Decide for each pair (texts_a[i], texts_b[i]) whether it states the same claim.

    Uses the pipeline's defaults: the default embedding model (loaded when ``model`` is None)
    and the calibrated ``SAME_CLAIM_THRESHOLD``. Returns one row per pair with columns
    ``text_a``, ``text_b``, ``score`` (cosine, -1..1) and ``same`` (score >= threshold).
    """
    from storydiff.embed import embed_texts, load_model

    if len(texts_a) != len(texts_b):
        raise ValueError(f"texts_a has {len(texts_a)} texts, texts_b {len(texts_b)}: pairs needed")
    model = load_model() if model is None else model
    scores = score_pairs(
        embed_texts(list(texts_a), model=model), embed_texts(list(texts_b), model=model)
    )
    return pd.DataFrame(
        {"text_a": list(texts_a), "text_b": list(texts_b), "score": scores, "same": scores >= threshold}
    )


def read_sts_news(path: str | Path) -> pd.DataFrame:
    """The ``main-news`` rows of an STS Benchmark TSV file: columns score (0-5), text_a, text_b."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 7 and fields[0] == "main-news":
                rows.append((float(fields[4]), fields[5], fields[6]))
    return pd.DataFrame(rows, columns=["score", "text_a", "text_b"])


def f1_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(F1, precision, recall) of deciding ``scores >= threshold`` against bool ``labels``."""
    predicted = scores >= threshold
    true_positive = float(np.sum(predicted & labels))
    precision = true_positive / max(int(predicted.sum()), 1)
    recall = true_positive / max(int(labels.sum()), 1)
    return 2 * true_positive / max(int(predicted.sum() + labels.sum()), 1), precision, recall


def choose_threshold(scores: np.ndarray, labels: np.ndarray, step: float = 0.005) -> tuple[float, float]:
    """(threshold, F1): the threshold on a ``step`` grid in [0, 1] with the highest F1 (lowest on ties)."""
    grid = np.round(np.arange(0.0, 1.0 + step / 2, step), 4)
    f1s = [f1_at(scores, labels, t)[0] for t in grid]
    best = int(np.argmax(f1s))
    return float(grid[best]), float(f1s[best])
