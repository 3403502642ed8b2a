"""Facts, matches, coverage and discrepancies a block of whole stories at a time.

Claims of different stories are never compared, so the corpus can be cut between stories: a
block holds whole stories (in story_id order) with up to ``BLOCK_CLAIMS`` claims, a larger story
is a block of its own, and only one block's claim pairs, parsed claim records and fact groups
are held at once. Fact ids are given after every block is done, in the order of each fact's
first claim (claims sorted by article_id, claim_id), so every table is the one that linking the
whole corpus at once gives.

``compare_blocks`` yields each block's tables; ``gather_block_tables`` makes the corpus's tables of
them, ``write_block_tables`` writes them to a run folder a part per block as the blocks come, so
they are never all in memory (matches, the largest, are about 140 rows an article): only each
fact's sort key is kept, as one Arrow string (``key_facts``), to number the facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from storydiff.arrays import join_arrays
from storydiff.compare.coverage import build_coverage
from storydiff.compare.discrepancies import EVENT_THRESHOLD, find_discrepancies
from storydiff.compare.facts import link_facts
from storydiff.compare.sameclaim import SAME_CLAIM_THRESHOLD
from storydiff.engine import LocalEngine
from storydiff.memory import release_unused_memory
from storydiff.runfolder import (
    as_large_strings, concat_parts, iterate_table_batches, locate_strings, open_scratch_dir, open_table_parts, read_table,
    split_table_by_chunk,
)

BLOCK_CLAIMS = 5_000
BUCKET_CLAIMS = 100_000  # claims of consecutive blocks spilled to one temporary file, read back whole
TABLE_ORDER = {  # the tables of a block and the columns each is sorted by
    "facts": ["fact_id"],
    "matches": ["story_id", "claim_id_a", "claim_id_b"],
    "coverage": ["fact_id", "article_id"],
    "discrepancies": ["kind", "fact_id", "claim_id_a", "claim_id_b"],
}


def split_story_blocks(
    claims: pd.DataFrame, stories: pd.DataFrame, max_claims: int = BLOCK_CLAIMS
) -> list[np.ndarray]:
    """Row numbers of ``claims`` for each block (module docstring), ascending within a block.

    Every claim's article must be in ``stories``.
    """
    return split_sorted_blocks(claims["article_id"].map(stories.set_index("article_id")["story_id"]).to_numpy(), max_claims)


def split_sorted_blocks(story: np.ndarray, max_claims: int = BLOCK_CLAIMS) -> list[np.ndarray]:
    """``split_story_blocks`` from each claim's story (n,): its id, or any number that sorts as the
    ids do."""
    order = np.argsort(story, kind="stable")
    cuts = np.flatnonzero(story[order][1:] != story[order][:-1]) + 1
    blocks: list[np.ndarray] = []
    current: list[np.ndarray] = []
    size = 0
    for rows in np.split(order, cuts) if len(order) else []:
        if current and size + len(rows) > max_claims:
            blocks.append(np.sort(np.concatenate(current)))
            current, size = [], 0
        current.append(rows)
        size += len(rows)
    if current:
        blocks.append(np.sort(np.concatenate(current)))
    return blocks


def key_facts(facts: pd.DataFrame) -> pa.Table:
    """A block's facts (FACT_COLUMNS, ids local to the block), one row per fact: its ``fact_id``
    and ``key``, its claims' (article_id, claim_id) pairs in table order as one string, each id
    ended by a NUL, so that comparing two keys compares the lists of pairs (an id that is a prefix
    of another sorts first, as does a list that is a prefix of another). Arrow strings: some 60
    bytes a claim, not the 200 of Python tuples of strings."""
    ends: dict[str, list[str]] = {}  # fact -> its claims' ends, facts in order of first row
    for fact_id, end in zip(facts["fact_id"].tolist(), (facts["article_id"] + "\x00" + facts["claim_id"] + "\x00").tolist()):
        ends.setdefault(fact_id, []).append(end)
    return pa.table({"fact_id": pa.array(list(ends), pa.string()), "key": pa.array([*map("".join, ends.values())], pa.string())})


def number_facts(keys: list[pa.Table]) -> list[np.ndarray]:
    """For each block's ``key_facts``, the corpus-wide number (from 1) of each of its facts:
    facts are numbered in the order of their claims' (article_id, claim_id) lists, the order
    ``group_facts`` gives the facts of one corpus (equal lists: by block, then local id)."""
    if not keys:
        return []
    table = pa.concat_tables([
        block_keys.append_column("block", pa.array(np.full(block_keys.num_rows, block, dtype=np.int32)))
        for block, block_keys in enumerate(keys)
    ])
    order = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("block", "ascending"), ("fact_id", "ascending")])
    numbers = np.empty(table.num_rows, dtype=np.int64)
    numbers[order.to_numpy()] = np.arange(1, table.num_rows + 1)
    return np.split(numbers, np.cumsum([block_keys.num_rows for block_keys in keys])[:-1])


def name_facts(keys: pa.Table, numbers: np.ndarray, n_facts: int) -> dict[str, str]:
    """Local id -> corpus-wide id (``F`` and the number, padded for ``n_facts``) of one block's
    facts (``key_facts``, ``number_facts``); made a block at a time, as it is needed."""
    width = max(3, len(str(n_facts)))
    return dict(zip(keys.column("fact_id").to_pylist(), (f"F{number:0{width}d}" for number in numbers)))


def compare_block(
    block: tuple[pd.DataFrame, np.ndarray, pd.DataFrame],
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
) -> dict[str, pd.DataFrame]:
    """``facts``, ``matches``, ``coverage`` and ``discrepancies`` of one block of whole stories,
    ``(claims, embeddings, stories)``; fact ids are local to the block."""
    claims, embeddings, stories = block
    facts, matches = link_facts(claims, embeddings, stories, same_claim_threshold)
    return {
        "facts": facts,
        "matches": matches,
        "coverage": build_coverage(facts, stories),
        "discrepancies": find_discrepancies(claims, embeddings, facts, stories, event_threshold),
    }


def iterate_blocks(
    claims: pd.DataFrame, embeddings: np.ndarray, stories: pd.DataFrame, max_claims: int = BLOCK_CLAIMS
) -> Iterator[tuple[pd.DataFrame, np.ndarray, pd.DataFrame]]:
    """``(claims, embeddings, stories)`` of each block (``split_story_blocks``), one at a time;
    one empty block when there are no claims."""
    story_of = stories.set_index("article_id")["story_id"]
    for rows in split_story_blocks(claims, stories, max_claims) or [np.arange(0)]:
        yield select_block_stories(claims.iloc[rows].reset_index(drop=True), embeddings[rows], stories, story_of)


def select_block_stories(
    claims: pd.DataFrame, embeddings: np.ndarray, stories: pd.DataFrame, story_of: pd.Series
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """A block ``(claims, embeddings, the rows of stories of the claims' stories)``; ``story_of``
    maps article_id to story_id."""
    return claims, embeddings, stories[stories["story_id"].isin(set(claims["article_id"].map(story_of)))]


def iterate_run_blocks(
    run_dir: str | Path, sentence_ids: pd.Series, embeddings: np.ndarray, stories: pd.DataFrame,
    max_claims: int = BLOCK_CLAIMS, bucket_claims: int = BUCKET_CLAIMS,
) -> Iterator[tuple[pd.DataFrame, np.ndarray, pd.DataFrame]]:
    """As ``iterate_blocks`` for the claims of the content sentences ``sentence_ids`` (row i
    embedded in ``embeddings`` row i; a claim is a whole sentence), read from ``run_dir``'s claims
    table without ever holding all of them: their sentence and article ids are read to cut the
    blocks, then the table is read once, a record batch at a time, each claim going to a temporary
    file (in the run folder, removed when done) of consecutive blocks of about ``bucket_claims``
    claims; the files are read back one at a time. A block's claims are in table order.
    A content sentence without a claim is an error naming it (re-run the claims stage)."""
    vector_row, story = locate_run_claims(run_dir, sentence_ids, stories)
    selected = np.flatnonzero(vector_row >= 0)
    if len(selected) != len(sentence_ids):
        claimed = read_table(run_dir, "claims", ["sentence_id"])["sentence_id"]
        missing = pd.Index(sentence_ids, dtype="str").difference(pd.Index(claimed, dtype="str"))
        raise KeyError(f"{len(missing)} content sentences have no claim (first: {missing[0]}); re-run 03_claims")
    blocks = [selected[rows] for rows in split_sorted_blocks(story[selected], max_claims)]
    del story
    bucket_of_row = np.full(len(vector_row), np.nan)
    buckets: list[list[np.ndarray]] = []
    size = 0
    for rows in blocks:
        if not buckets or size + len(rows) > bucket_claims:
            buckets.append([])
            size = 0
        buckets[-1].append(rows)
        bucket_of_row[rows] = len(buckets) - 1
        size += len(rows)
    story_of = stories.set_index("article_id")["story_id"]
    with open_scratch_dir(run_dir, "claim-blocks") as folder:
        empty = split_table_by_chunk(
            run_dir, "claims", None, lambda batch, start: bucket_of_row[start : start + batch.num_rows], Path(folder))
        if not buckets:
            yield select_block_stories(empty, embeddings[:0], stories, story_of)
        for number, bucket in enumerate(buckets):
            claims = pd.read_parquet(Path(folder) / f"claims-{number}.parquet")  # the bucket's rows in table order
            table_rows = np.sort(np.concatenate(bucket))
            for rows in bucket:
                block_claims = claims.iloc[np.searchsorted(table_rows, rows)].reset_index(drop=True)
                yield select_block_stories(block_claims, embeddings[vector_row[rows]], stories, story_of)
            del claims
            release_unused_memory()


def locate_run_claims(run_dir: str | Path, sentence_ids: pd.Series, stories: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each claim of ``run_dir``'s claims table, in table order: the row (n,) int64 of its
    sentence in the content sentences ``sentence_ids`` (-1: not one of them), and its story (n,)
    int64 as a number in story id order (-1: its article is in no story of ``stories``). Read a
    record batch at a time and looked up in Arrow hash sets (``pyarrow.compute.index_in``): 16
    bytes a claim, and no Python string of any id (a pandas index of the ids makes one each)."""
    content, articles = as_large_strings(sentence_ids), as_large_strings(stories["article_id"])
    story_ids = stories["story_id"].to_numpy(dtype=str)
    story_of_article = np.append(np.searchsorted(np.unique(story_ids), story_ids), -1)  # [-1]: no story
    rows, numbers = [], []
    for batch in iterate_table_batches(run_dir, "claims", ["sentence_id", "article_id"]):
        rows.append(locate_strings(batch.column(0), content))
        numbers.append(story_of_article[locate_strings(batch.column(1), articles)])
    return join_arrays(rows, np.int64), join_arrays(numbers, np.int64)


def compare_blocks(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
    max_claims: int = BLOCK_CLAIMS,
    engine: Any = None,
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """``(block number, compare_block's tables)`` for each block of ``claims`` (embeddings
    (n, dim) L2-normalised, row i for claims row i) as the blocks finish (``compare_each_block``)."""
    return compare_each_block(
        iterate_blocks(claims, embeddings, stories, max_claims), same_claim_threshold, event_threshold, engine)


def compare_each_block(
    blocks: Iterable[tuple[pd.DataFrame, np.ndarray, pd.DataFrame]],
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
    engine: Any = None,
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """``(block number, compare_block's tables)`` for each of ``blocks`` (``iterate_blocks``' or
    ``iterate_run_blocks``'), as they finish, on ``engine`` (``storydiff.engine``; in this process
    when None), on its workers in parallel for ``dask``."""
    engine = engine or LocalEngine()
    yield from engine.imap(
        compare_block, blocks, same_claim_threshold=same_claim_threshold, event_threshold=event_threshold,
    )


def finish_part(name: str, table: pd.DataFrame, rename: dict[str, str]) -> pd.DataFrame:
    """A block's table ``name`` with corpus-wide fact ids (``rename``), sorted (TABLE_ORDER)."""
    if "fact_id" in table:
        table = table.assign(fact_id=table["fact_id"].map(lambda f: rename.get(f, f)))
    return table.sort_values(TABLE_ORDER[name], kind="stable").reset_index(drop=True)


def gather_block_tables(results: Iterable[tuple[int, dict[str, pd.DataFrame]]]) -> dict[str, pd.DataFrame]:
    """The tables of every block of ``compare_blocks`` (``results``), with corpus-wide fact ids,
    each sorted as TABLE_ORDER says: the same tables on every engine and for every block size."""
    done = dict(results)
    ordered = [done[number] for number in sorted(done)]
    keys = [key_facts(result["facts"]) for result in ordered]
    numbers = number_facts(keys)
    n_facts = sum(map(len, numbers))
    renames = [name_facts(block_keys, block_numbers, n_facts) for block_keys, block_numbers in zip(keys, numbers)]
    tables = {}
    for name in TABLE_ORDER:
        parts = [finish_part(name, result[name], rename) for result, rename in zip(ordered, renames)]
        tables[name] = concat_parts(parts).sort_values(TABLE_ORDER[name], kind="stable").reset_index(drop=True)
    return tables


def write_block_tables(run_dir: str | Path, results: Iterable[tuple[int, dict[str, pd.DataFrame]]]) -> None:
    """Write ``gather_block_tables``'s tables to ``run_dir`` as partitioned tables, part i from
    block i, each part sorted as TABLE_ORDER says (the same rows; read back, sort them to get the
    same table). Each block is written as it comes; only the fact keys stay in memory. The tables
    are put in place after the last block; on an error before that, the old ones stay."""
    keys: dict[int, pa.Table] = {}
    with ExitStack() as stack:
        writers = {name: stack.enter_context(open_table_parts(run_dir, name)) for name in TABLE_ORDER}
        for number, result in results:
            keys[number] = key_facts(result["facts"])
            for name, writer in writers.items():
                writer.write(number, result[name])
        numbers = dict(zip(sorted(keys), number_facts([keys[number] for number in sorted(keys)])))
        n_facts = sum(map(len, numbers.values()))
        for name, writer in writers.items():  # a block's names are made again for each table: never all held
            writer.rewrite(lambda number, part, name=name: finish_part(name, part, name_facts(keys[number], numbers[number], n_facts)))
