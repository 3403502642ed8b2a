"""Claim map cost with corpus size (issue 8): ``compute_claim_map`` on N synthetic claim vectors
read from a memory-mapped ``.npy`` file, as the figures stage reads the run's vectors; prints
figures, asserts nothing.

Past ``--sample`` claims UMAP is fitted on a sample of that many and every other claim is placed
from its nearest sampled claims a block at a time (``storydiff.claim_map``), so the map's memory
should stay flat in N but for its output (two float64 coordinates and an id per claim) and the
vectors' pages the kernel maps while reading them. Each size runs in its own process; per size:
wall time, peak resident memory (all pages, the mapped file's included) and peak anonymous
memory (``RssAnon``: what the process itself allocated), sampled every 0.05 s.

The vectors: ``--clusters`` Gaussian clusters in 384 dimensions (claims on a few hundred
topics), L2-normalised, written a block at a time so this script never holds them.

    .venv/bin/python bench/claim_map.py                         # 40,000 / 160,000 / 640,000 claims
    .venv/bin/python bench/claim_map.py --sizes 30000 60000 --sample 5000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _sampling import Sampler, read_status

DIM = 384
WRITE_BLOCK = 50_000


def write_vectors(path: Path, n: int, clusters: int, seed: int = 0) -> None:
    """``n`` unit vectors (float32, DIM) around ``clusters`` random centres, to ``path`` (.npy)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    for start in range(0, n, WRITE_BLOCK):
        size = min(WRITE_BLOCK, n - start)
        block = centres[rng.integers(clusters, size=size)] + 0.6 * rng.normal(size=(size, DIM)).astype(np.float32)
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()
    del out


class StatusPeaks(Sampler):
    """Context manager sampling this process's ``/proc/self/status`` every 50 ms: ``peaks`` holds
    the largest ``VmRSS`` and ``RssAnon``, in bytes."""

    interval = 0.05

    def start(self) -> None:
        self.peaks = {"VmRSS": 0, "RssAnon": 0}

    def sample(self) -> None:
        status = read_status()
        for field in self.peaks:
            self.peaks[field] = max(self.peaks[field], status[field])


def measure_one(path: Path, sample: int) -> None:
    """Map the claims of ``path`` (memory-mapped) and print 'seconds rss_peak anon_peak' (bytes)."""
    from storydiff.claim_map import compute_claim_map

    vectors = np.load(path, mmap_mode="r")
    ids = [f"claim-{i:08d}" for i in range(len(vectors))]
    with StatusPeaks() as status:
        started = time.perf_counter()
        claim_map = compute_claim_map(ids, vectors, random_state=42, umap_min_points=40, umap_max_points=sample)
        seconds = time.perf_counter() - started
    assert len(claim_map) == len(ids)
    print(f"{seconds:.1f} {status.peaks['VmRSS']} {status.peaks['RssAnon']} {claim_map['method'].iloc[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40_000, 160_000, 640_000])
    parser.add_argument("--sample", type=int, default=20_000, help="UMAP's fitted sample (umap_max_points)")
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: measure one file
    args = parser.parse_args()
    if args.one:
        measure_one(args.one, args.sample)
        return
    sys.stdout.reconfigure(line_buffering=True)
    print(f"claim map of N synthetic claims ({args.clusters} clusters, dim {DIM}), UMAP fitted on {args.sample:,}, "
          "vectors memory-mapped; one process per size")
    print("   claims  method        wall_s  peak RSS MiB  peak anon MiB  vectors file MiB")
    with tempfile.TemporaryDirectory(prefix="storydiff-claim-map-") as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"v{n}.npy"
            write_vectors(path, n, args.clusters)
            result = subprocess.run([sys.executable, __file__, "--one", str(path), "--sample", str(args.sample)],
                                    check=True, capture_output=True, text=True)
            seconds, rss, anon, method = result.stdout.split()[-4:]
            print(f"{n:9,d}  {method:12}  {float(seconds):6.1f}  {int(rss) / 2**20:12.0f}  {int(anon) / 2**20:13.0f}"
                  f"  {path.stat().st_size / 2**20:16.0f}")
            path.unlink()


if __name__ == "__main__":
    main()
