"""How the search for similar sentences trades recall for time and memory by the size of its cells
and the number of cells each vector goes to (issue 8: the search held an HNSW index of every
distinct sentence, the largest thing the comparison kernel held); prints figures, asserts nothing.

Takes ``--sample`` distinct sentence vectors of a run (drawn with ``--seed``; rows with identical
vectors once), finds every pair at or above ``--threshold`` exactly (brute-force cosines), then
with ``storydiff.compare.candidates.search_cells`` for each (cell rows, probes) setting, the
library's first, and prints the share of the exact pairs found, the pairs found that are not exact
ones (0 by construction: cells are searched exactly), seconds, and the most memory numpy held at
once during the search beyond the vectors (tracemalloc).

    .venv/bin/python bench/sentence_search.py --run outputs/bbc --sample 40000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from storydiff.compare import candidates
from storydiff.embed import load_sentence_embeddings

SETTINGS = [(candidates.CELL_ROWS, candidates.CELL_PROBES), (2_048, 2), (1_024, 3), (4_096, 2), (4_096, 3)]


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
    del distinct
    truth = exact_pairs(vectors, args.threshold)
    print(f"{len(vectors)} distinct vectors of {len(mapped)} sentences; {len(truth)} pairs >= {args.threshold} (exact)")
    print(f"{'cell rows':>9} {'probes':>6} {'found':>7} {'recall':>7} {'extra':>5} {'seconds':>7} {'peak MiB':>8}")
    members = np.arange(len(vectors))
    for cell_rows, probes in SETTINGS:
        tracemalloc.start()
        start = time.perf_counter()
        pairs = candidates.search_cells(vectors, members, args.threshold, cell_rows=cell_rows, probes=probes)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        found = set(map(tuple, pairs.tolist()))
        print(f"{cell_rows:>9} {probes:>6} {len(found & truth):>7} {len(found & truth) / max(len(truth), 1):>7.4f} "
              f"{len(found - truth):>5} {seconds:>7.1f} {peak:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
