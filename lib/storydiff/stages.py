"""The per-article stages (read, clean and split; claims) as partition tasks on an engine.

Each task sees only its own articles, so any split of the corpus gives the same rows; the work
that needs the whole corpus (sidecar metadata, unique ids, duplicate detection) runs here, on
the caller's side, on the tasks' results. On the ``local`` engine a stage is one partition; on
``dask`` a partition is ``partition_size`` articles (input files, when reading). Embedding is
partitioned inside ``storydiff.embed.embed_texts`` (its ``engine`` argument).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from storydiff.corpus.duplicates import DuplicateFinder, key_contents
from storydiff.corpus.readers import (
    DEFAULT_MAX_FILE_MB, TABLE_RANGE_BYTES, FileRange, RawArticle, SkippedInput, describe_no_articles, find_sidecar,
    finish_articles, list_corpus_files, read_files, split_large_tables,
)
from storydiff.corpus.tables import add_duplicate_marks, join_contents, tabulate_articles
from storydiff.engine import DEFAULT_PARTITION_SIZE, shared_nlp, split_evenly


def partition_size_on(engine: Any, partition_size: int) -> int | None:
    """Items per partition on ``engine``: ``partition_size`` on dask, everything at once locally."""
    return partition_size if engine.name == "dask" else None


def tabulate_partition(raws: list[RawArticle]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``articles`` (without the duplicate columns), ``sentences`` and the articles' duplicate keys
    (``key_contents``) of one partition of raw articles."""
    articles, sentences = tabulate_articles(raws)
    return articles, sentences, key_contents(join_contents(articles, sentences))


class CorpusReading:
    """The corpus read, cleaned and split a partition at a time on ``engine`` (see
    ``storydiff.corpus.readers.read_corpus`` and ``storydiff.corpus.tables.build_corpus_tables``
    for what each step does; the same tables, in parts).

    Iterating yields ``(number, articles, sentences)`` for each partition of ``partition_size``
    articles on dask (all of them at once locally), in corpus order, with duplicates marked
    against every article before them; afterwards ``skipped`` lists the inputs that were not
    read. Files are read and articles tabulated on the workers, a few partitions in flight at a
    time: ``partition_size`` files a task, or one range of ``range_bytes`` of a larger JSONL or
    CSV file (``split_large_tables``: this process finds where its records end, in one pass over
    it). This process finishes them in order (sidecar metadata, unique ids, duplicates), holding
    each article's id, not its text (``DuplicateFinder`` keeps its keys on disk). ``CorpusError``
    when the corpus path is missing or, once every input was tried, no article was read.
    """

    def __init__(
        self,
        engine: Any,
        corpus: str | Path,
        *,
        metadata: str | Path | None = None,
        max_file_mb: float = DEFAULT_MAX_FILE_MB,
        duplicate_threshold: float = 0.8,
        partition_size: int = DEFAULT_PARTITION_SIZE,
        range_bytes: int = TABLE_RANGE_BYTES,
    ) -> None:
        self.engine, self.corpus, self.metadata = engine, corpus, metadata
        self.max_file_mb, self.duplicate_threshold, self.partition_size = max_file_mb, duplicate_threshold, partition_size
        self.range_bytes = range_bytes
        self.skipped: list[SkippedInput] = []

    def __iter__(self) -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame]]:
        self.skipped = []
        size = partition_size_on(self.engine, self.partition_size)
        inputs = split_large_tables(list_corpus_files(self.corpus), self.max_file_mb, self.range_bytes)
        raws = self._read_articles(group_inputs(inputs, size))
        read = 0
        with closing(DuplicateFinder(self.duplicate_threshold)) as finder:
            for number, (articles, sentences, keys) in self.engine.imap_in_order(tabulate_partition, split_evenly(raws, size)):
                read += len(articles)
                yield number, add_duplicate_marks(articles, finder.mark(keys)), sentences
        if not read:
            raise describe_no_articles(self.corpus, self.skipped)

    def _read_articles(self, file_parts: Iterable[list[Path | FileRange | SkippedInput]]) -> Iterator[RawArticle]:
        """The articles of the inputs, read in partitions on the engine and finished in order."""
        sidecar, seen = find_sidecar(self.corpus, self.metadata), {}
        for _, (found, problems) in self.engine.imap_in_order(read_files, file_parts, max_file_mb=self.max_file_mb):
            self.skipped.extend(problems)
            yield from finish_articles(found, sidecar, seen)


def group_inputs(inputs: Iterable[Path | FileRange | SkippedInput], size: int | None) -> Iterator[list[Path | FileRange | SkippedInput]]:
    """``inputs`` in consecutive lists of ``size`` (all in one when ``size`` is None), except that
    a file range, some megabytes of records, is a list of its own."""
    if not size:
        yield from split_evenly(inputs, size)
        return
    for is_range, run in itertools.groupby(inputs, key=lambda item: isinstance(item, FileRange)):
        yield from ([item] for item in run) if is_range else split_evenly(run, size)


def split_by_article(frame: pd.DataFrame, size: int | None) -> Iterator[pd.DataFrame]:
    """``frame``'s rows in partitions of ``size`` whole articles (sorted article ids; ``frame``
    itself when ``size`` is None), each copied out as it is taken."""
    ids = sorted(frame["article_id"].unique())
    if not size or len(ids) <= size:
        yield frame
        return
    number = {article_id: i // size for i, article_id in enumerate(ids)}
    yield from (part for _, part in frame.groupby(frame["article_id"].map(number), sort=True))


def extract_partition(sentences: pd.DataFrame, articles: pd.DataFrame, batch_size: int) -> pd.DataFrame:
    """Claims of one partition's sentences, with spaCy loaded once per process."""
    from storydiff.claims import extract_claims

    return extract_claims(sentences, articles, shared_nlp(), batch_size=batch_size)


def extract_claims_on(
    engine: Any,
    sentence_parts: Iterable[pd.DataFrame],
    articles: pd.DataFrame,
    batch_size: int = 256,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(number, claims)`` of each partition of whole articles, extracted on ``engine`` and
    yielded as the partitions finish (parts numbered in sentence order; write them with
    ``runfolder.open_table_parts``). ``sentence_parts``: the content sentences, a few articles'
    whole sentences per part (``runfolder.iterate_content_sentences``), split further into
    partitions of ``partition_size`` articles on dask; ``articles`` needs ``article_id`` and
    ``published``. The parts are read and split as the workers take them: neither this process
    nor the cluster holds all the sentences or all the claims."""
    size = partition_size_on(engine, partition_size)
    partitions = (partition for part in sentence_parts for partition in split_by_article(part, size))
    dates = articles[["article_id", "published"]].reset_index(drop=True)
    yield from engine.imap(extract_partition, partitions, articles=dates, batch_size=batch_size)
