"""The per-article stages (read, clean and split; claims) as partition tasks on an engine.

Each task sees only its own articles, so any split of the corpus gives the same rows; the work
that needs the whole corpus (sidecar metadata, unique ids, duplicate detection) runs here, on
the caller's side, on the tasks' results. On the ``local`` engine a stage is one partition; on
``dask`` a partition is ``partition_size`` articles (input files, when reading). Embedding is
partitioned inside ``storydiff.embed.embed_texts`` (its ``engine`` argument).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from storydiff.corpus.readers import (
    DEFAULT_MAX_FILE_MB, RawArticle, SkippedInput, finish_corpus, list_corpus_files, read_files,
)
from storydiff.corpus.tables import mark_duplicates, tabulate_articles
from storydiff.engine import DEFAULT_PARTITION_SIZE, shared_nlp, split_evenly


def partition_size_on(engine: Any, partition_size: int) -> int | None:
    """Items per partition on ``engine``: ``partition_size`` on dask, everything at once locally."""
    return partition_size if engine.name == "dask" else None


def read_corpus_on(
    engine: Any,
    corpus: str | Path,
    *,
    metadata: str | Path | None = None,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> tuple[list[RawArticle], list[SkippedInput]]:
    """``storydiff.corpus.readers.read_corpus`` with the files read in partitions on ``engine``."""
    parts = split_evenly(list_corpus_files(corpus), partition_size_on(engine, partition_size))
    results = engine.map(read_files, parts, max_file_mb=max_file_mb)
    articles = [article for found, _ in results for article in found]
    skipped = [problem for _, problems in results for problem in problems]
    return finish_corpus(corpus, articles, skipped, metadata), skipped


def build_corpus_tables_on(
    engine: Any,
    raws: list[RawArticle],
    duplicate_threshold: float = 0.8,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    """(``articles``, ``sentences``, the sentences of each partition): articles cleaned and split
    in partitions on ``engine``, then duplicates marked across the whole corpus."""
    results = engine.map(tabulate_articles, split_evenly(raws, partition_size_on(engine, partition_size)))
    articles = pd.concat([a for a, _ in results], ignore_index=True)
    sentences = pd.concat([s for _, s in results], ignore_index=True)
    articles, sentences = mark_duplicates(articles, sentences, duplicate_threshold)
    return articles, sentences, [s for _, s in results]


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
