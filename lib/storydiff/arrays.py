"""NumPy helpers shared by the stages: distinct values by sorting, and arrays joined end to end."""

from __future__ import annotations

import numpy as np


def distinct_values(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (m,) of the integers ``values`` (any shape): ``np.unique(values)``
    by one sort. NumPy 2.3+'s ``np.unique`` hashes first, some 100x slower on a million distinct
    int64 here (0.7 s against 0.006 s)."""
    ordered = np.sort(values, axis=None)
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def join_arrays(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    """The ``arrays`` end to end as one array of ``dtype`` (empty when there are none); the list is
    emptied, so its arrays are freed once joined."""
    joined = np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.array([], dtype=dtype)
    arrays.clear()
    return joined
