"""Memory sampling shared by the benchmarks (a helper module: ``make bench`` skips ``bench/_*.py``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Self

import psutil


def read_status(pid: int | str = "self") -> dict[str, int]:
    """The memory fields of ``/proc/<pid>/status`` (``VmRSS``, ``RssAnon``, ...), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def is_kernel(process: psutil.Process) -> bool:
    """Whether ``process`` is a notebook kernel (papermill's ``ipykernel``), not a cluster's."""
    return "ipykernel" in " ".join(process.cmdline())


class Sampler:
    """Context manager that calls ``sample`` every ``interval`` seconds on a background thread from
    ``__enter__`` until ``__exit__``; subclasses set ``interval``, ``start`` their figures and
    ``sample``."""

    interval = 0.1  # seconds

    def start(self) -> None:
        """Set the figures before the first sample."""

    def sample(self) -> None:
        """Take one sample (on the sampling thread)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
