"""Giving memory a stage has freed back to the operating system.

Python objects and Arrow buffers freed by a step go back to the C allocator, which keeps much of
them: glibc's malloc raises its threshold for mapping large blocks once one is freed, so later
large blocks come from its heap, and a heap with one block still in use near its top is not shrunk.
In a kernel that then builds something large of another kind (the sentence search's index, after
the stories' texts and TF-IDF matrices are freed), the kept memory and the new allocation add up.
"""

from __future__ import annotations

import ctypes

import pyarrow as pa

try:
    _TRIM = ctypes.CDLL(None).malloc_trim  # glibc only
except (AttributeError, OSError):
    _TRIM = None


def release_unused_memory() -> None:
    """Return the freed memory that pyarrow's pool and (on glibc) malloc still hold to the system
    (pyarrow's system pool, which ``storydiff run`` gives its kernels, trims malloc itself; its
    default pool, mimalloc, does not)."""
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
