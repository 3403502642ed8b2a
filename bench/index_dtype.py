"""How the sentence search's HNSW index trades memory for recall by the precision it stores vectors
in (issue 8: the index is the largest thing the comparison kernel holds); prints figures, asserts
nothing.

Takes ``--sample`` distinct sentence vectors of a run (drawn with ``--seed``; rows with identical
vectors once), finds every pair at or above ``--threshold`` exactly (brute-force cosines), then
with ``storydiff.compare.candidates.find_candidate_pairs`` forced onto its approximate path for
each index precision (usearch's ``f32``, ``f16`` (what storydiff uses), ``i8``) and similarity
tolerance (``INDEX_TOLERANCE``: how far below the threshold the index's own cosines may fall and
still be rescored in float32), and prints the share of the exact pairs found, the pairs found that
are not exact ones (0 by construction: every pair is rescored), seconds and the index's memory per
vector (usearch's ``memory_usage`` over the vectors indexed).

    .venv/bin/python bench/index_dtype.py --run outputs/bbc --sample 40000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from storydiff.compare import candidates
from storydiff.embed import load_sentence_embeddings


def exact_pairs(vectors: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """Every pair i < j of ``vectors`` (n, dim, unit rows) with cosine >= ``threshold``."""
    found = set()
    for start in range(0, len(vectors), candidates.BLOCK_ROWS):
        sims = vectors[start : start + candidates.BLOCK_ROWS] @ vectors.T
        rows, columns = np.nonzero(sims >= threshold)
        rows += start
        found.update(zip(rows[rows < columns].tolist(), columns[rows < columns].tolist()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a run folder that went through 02_embed")
    parser.add_argument("--sample", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8)
    args = parser.parse_args()
    _, mapped = load_sentence_embeddings(args.run, mmap=True)
    distinct = np.unique(np.asarray(mapped), axis=0)
    rows = np.sort(np.random.default_rng(args.seed).choice(len(distinct), min(args.sample, len(distinct)), replace=False))
    vectors = np.ascontiguousarray(distinct[rows], dtype=np.float32)
    truth = exact_pairs(vectors, args.threshold)
    print(f"{len(vectors)} distinct vectors of {len(mapped)} sentences; {len(truth)} pairs >= {args.threshold} (exact)")
    print(f"{'dtype':>5} {'tolerance':>9} {'found':>7} {'recall':>7} {'extra':>5} {'seconds':>7} {'bytes/vector':>12}")
    build = candidates.build_index
    for dtype, tolerance in (("f32", 0.01), ("f16", 0.01), ("i8", 0.01), ("i8", 0.03), ("i8", 0.05)):
        sizes = []

        def build_measured(*positional, dtype=dtype, **named):
            index = build(*positional, dtype=dtype, **named)
            sizes.append(index.memory_usage / len(index))
            return index

        candidates.build_index, candidates.INDEX_TOLERANCE = build_measured, tolerance
        start = time.perf_counter()
        pairs = candidates.find_candidate_pairs(vectors, 10, args.threshold, exact_limit=0)
        seconds = time.perf_counter() - start
        found = set(map(tuple, pairs.tolist()))
        print(f"{dtype:>5} {tolerance:>9.2f} {len(found & truth):>7} {len(found & truth) / max(len(truth), 1):>7.4f} "
              f"{len(found - truth):>5} {seconds:>7.1f} {sizes[0]:>12.0f}", flush=True)
    candidates.build_index = build


if __name__ == "__main__":
    main()
