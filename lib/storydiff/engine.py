"""Where the per-article work runs: in this process (``local``) or on a Dask cluster (``dask``).

An engine maps a function over partitions: ``engine.map(func, parts, **shared)`` returns
``[func(part, **shared) for part in parts]``, ``engine.imap`` yields ``(index, result)`` as
results arrive and ``engine.imap_in_order`` in the order of the parts. The ``dask`` engine sends
``shared`` to each worker once (scattered, not once per partition), each partition as data of its
own, and runs partitions in parallel on the workers of
an existing cluster (``scheduler="tcp://host:8786"``) or of a ``LocalCluster`` of ``workers``
processes started for the run; ``map`` and both ``imap`` keep two partitions per worker thread in
flight and take the next as one finishes, so the cluster holds a few partitions at a time (and
this process too, when the partitions come from a generator). Models are
loaded once per worker process, not per partition: the task functions get them through
``shared_embedding_model`` and ``shared_nlp``, memoised in the worker. The runner replaces a
cluster it started by a fresh one after each stage that used it (``open_renewable_cluster``), so no
stage's models stay resident through the stages after it.

The ``local`` engine keeps each stage in one partition, as storydiff always ran; ``dask`` splits
the articles into partitions of ``partition_size`` articles.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

ENGINES = ("local", "dask")
DEFAULT_WORKERS = 2
DEFAULT_PARTITION_SIZE = 100  # articles per partition on the dask engine
SILENCED_LOGS = 50  # logging.CRITICAL: the cluster's chatter would fill the notebooks and the terminal


class LocalEngine:
    """Runs every partition in this process, in order."""

    name = "local"

    def map(self, func: Callable[..., Any], parts: Iterable[Any], **shared: Any) -> list[Any]:
        """``[func(part, **shared) for part in parts]``."""
        return [func(part, **shared) for part in parts]

    def imap(self, func: Callable[..., Any], parts: Iterable[Any], **shared: Any) -> Iterator[tuple[int, Any]]:
        """``(i, func(i-th part, **shared))`` in order."""
        for i, part in enumerate(parts):
            yield i, func(part, **shared)

    imap_in_order = imap


class DaskEngine:
    """Runs partitions as tasks on the workers of a ``distributed.Client``."""

    name = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client

    def _scatter_shared(self, shared: dict[str, Any]) -> dict[str, Any]:
        """``shared`` sent to every worker once, under keys of this call's own: a key made from
        the value's hash (dask's default) is the same for the next call with the same value, and
        the scheduler could drop it as this call's futures are released while the next call's
        tasks wait on it ("lost dependencies")."""
        return {k: self.client.scatter(v, broadcast=True, hash=False) for k, v in shared.items()}

    def _submit(self, func: Callable[..., Any], part: Any, scattered: dict[str, Any]) -> Any:
        """The task ``func(part, **shared)``; the part is sent to a worker as data of its own, not
        inside the task graph (a part of several MB, such as a block of stories' claims and
        vectors, would make the graph large)."""
        return self.client.submit(func, self.client.scatter([part], hash=False)[0], pure=False, **scattered)

    def map(self, func: Callable[..., Any], parts: Iterable[Any], **shared: Any) -> list[Any]:
        """Results of ``func(part, **shared)`` for every part, in the order of ``parts``; the
        parts are taken as ``imap`` takes them (a generator's are made only as workers free up)."""
        results = dict(self.imap(func, parts, **shared))
        return [results.pop(i) for i in range(len(results))]

    def imap(self, func: Callable[..., Any], parts: Iterable[Any], **shared: Any) -> Iterator[tuple[int, Any]]:
        """``(i, result of the i-th part)`` as tasks finish; a failed task raises its error here.

        Parts are taken from ``parts`` (it may be a generator) as tasks finish, two per worker
        thread in flight: the cluster holds a few parts at a time, not all of them.
        """
        from distributed import as_completed

        scattered = self._scatter_shared(shared)
        numbered = enumerate(parts)
        index: dict[str, int] = {}

        def submit_next(count: int) -> list[Any]:
            futures = []
            for i, part in itertools.islice(numbered, count):
                futures.append(self._submit(func, part, scattered))
                index[futures[-1].key] = i
            return futures

        pending = as_completed(submit_next(self._window()))
        for future in pending:
            for queued in submit_next(1):
                pending.add(queued)
            yield index.pop(future.key), future.result()
            future.release()

    def imap_in_order(self, func: Callable[..., Any], parts: Iterable[Any], **shared: Any) -> Iterator[tuple[int, Any]]:
        """``(i, result of the i-th part)`` in the order of ``parts``, taken from ``parts`` as
        ``imap`` takes them: two per worker thread in flight or finished and waiting for the ones
        before them (a slow part holds the next ones back rather than letting results pile up)."""
        scattered = self._scatter_shared(shared)
        futures = (self._submit(func, part, scattered) for part in parts)
        pending = collections.deque(itertools.islice(futures, self._window()))
        number = 0
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            pending.extend(itertools.islice(futures, 1))
            yield number, result
            number += 1

    def _window(self) -> int:
        """Parts in flight at once: two per worker thread."""
        return 2 * max(sum(self.client.nthreads().values()), 1)


@contextlib.contextmanager
def open_engine(engine: str = "local", scheduler: str = "", workers: int = DEFAULT_WORKERS) -> Iterator[LocalEngine | DaskEngine]:
    """The engine named ``engine``; for ``dask``, a client of ``scheduler`` or, when it is empty,
    of a ``LocalCluster`` of ``workers`` single-threaded worker processes, closed on exit."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "local":
        yield LocalEngine()
        return
    from distributed import Client

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield DaskEngine(client)
        return
    with start_local_cluster(workers) as cluster, Client(cluster) as client:
        yield DaskEngine(client)


def start_local_cluster(workers: int = DEFAULT_WORKERS) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` processes, one thread each, no dashboard,
    each allowed an equal share of this machine's memory."""
    from distributed import LocalCluster

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        # without a dashboard the scheduler still serves HTTP (health, metrics), by default on
        # port 8787: a second cluster on the machine warned that the port was taken
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=SILENCED_LOGS,
    )


@contextlib.contextmanager
def open_renewable_cluster(workers: int, placement: dict[str, Any]) -> Iterator[Callable[[], None]]:
    """A ``LocalCluster`` of ``workers`` processes (``start_local_cluster``) whose scheduler address
    is kept in ``placement["scheduler"]``; yields the function that replaces it by a fresh one, so
    that nothing a stage left on the workers (its model, spaCy, freed but unreturned memory, about
    0.8 GiB a worker) stays for the next. The old cluster is closed once the new one runs (if the
    new one cannot start, the old one stays); the last one is closed on exit.

    ``Client.restart`` did this job until 2026-12-08, but now and then its nannies closed instead
    of starting their workers again (in 4 of 5 dask runs of 140 and 300 BBC articles here, with
    distributed 2026.11), and the next stage that sent work found none ("No valid workers found").

    Logging is silenced for the whole, not per cluster: a cluster restores the log level it found
    when it closes, and the old one's closing unsilenced the new one (its scheduler's INFO lines
    on the terminal)."""
    from distributed.utils import silence_logging_cmgr

    with silence_logging_cmgr(SILENCED_LOGS):
        cluster = start_local_cluster(workers)
        placement["scheduler"] = cluster.scheduler_address

        def renew() -> None:
            nonlocal cluster
            fresh = start_local_cluster(workers)  # if this fails, the old cluster stays
            old, cluster = cluster, fresh
            placement["scheduler"] = fresh.scheduler_address
            old.close()

        try:
            yield renew
        finally:
            cluster.close()


def split_evenly(items: Iterable[Any], size: int | None) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of ``size`` (one list of all when ``size`` is None or 0;
    none when there are no items), each taken from ``items`` as it is asked for."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size or None)):
        yield chunk


@functools.lru_cache(maxsize=4)
def shared_embedding_model(name: str, backend: str, cache_dir: str) -> Any:
    """``storydiff.embed.load_model(name, backend=..., cache_dir=...)``, loaded once per process."""
    from storydiff.embed import load_model

    return load_model(name or None, backend=backend, cache_dir=cache_dir or None)


@functools.lru_cache(maxsize=1)
def shared_nlp() -> Any:
    """spaCy's pipeline (``storydiff.claims.load_nlp``), loaded once per process."""
    from storydiff.claims import load_nlp

    return load_nlp()
