"""NumPy helpers (``storydiff.arrays``): distinct values by sorting, arrays joined end to end."""

from __future__ import annotations

import numpy as np
import pytest

from storydiff.arrays import distinct_values, join_arrays


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint64])
def test_distinct_values_are_those_of_np_unique(dtype):
    rng = np.random.default_rng(0)
    for values in (rng.integers(0, 50, 1_000), rng.integers(0, 2**31, 1_000), rng.integers(0, 5, (40, 2)), np.array([7]), np.array([], dtype=int)):
        got = distinct_values(values.astype(dtype))
        assert got.dtype == dtype and np.array_equal(got, np.unique(values.astype(dtype)))


def test_joined_arrays_take_the_dtype_and_empty_the_list():
    arrays = [np.array([1, 2], dtype=np.int32), np.array([3], dtype=np.int64)]
    joined = join_arrays(arrays, np.int64)
    assert joined.dtype == np.int64 and joined.tolist() == [1, 2, 3] and arrays == []
    assert join_arrays([], np.float32).dtype == np.float32
