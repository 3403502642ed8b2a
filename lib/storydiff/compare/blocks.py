"""Facts, matches, coverage and discrepancies a block of whole stories at a time.

Claims of different stories are never compared, so the corpus can be cut between stories: a
block holds whole stories (in story_id order) with up to ``BLOCK_CLAIMS`` claims, a larger story
is a block of its own, and only one block's claim pairs, parsed claim records and fact groups
are held at once. Fact ids are given after every block is done, in the order of each fact's
first claim (claims sorted by article_id, claim_id), so every table is the one that linking the
whole corpus at once gives.

``compare_blocks`` yields each block's tables; ``gather_block_tables`` makes the corpus's tables of
them, ``write_block_tables`` writes them to a run folder a part per block as the blocks come, so
they are never all in memory (matches, the largest, are about 140 rows an article): only the
(fact, article, claim) keys are kept, to number the facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from storydiff.compare.coverage import build_coverage
from storydiff.compare.discrepancies import EVENT_THRESHOLD, find_discrepancies
from storydiff.compare.facts import link_facts
from storydiff.compare.sameclaim import SAME_CLAIM_THRESHOLD
from storydiff.engine import LocalEngine
from storydiff.runfolder import concat_parts, open_table_parts

BLOCK_CLAIMS = 5_000
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
    story = claims["article_id"].map(stories.set_index("article_id")["story_id"]).to_numpy()
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


def number_facts(fact_blocks: list[pd.DataFrame]) -> list[dict[str, str]]:
    """For each block's facts (FACT_COLUMNS, ids local to the block), local id -> corpus-wide id.

    Facts are numbered in the order of their claims' (article_id, claim_id) lists, the order
    ``group_facts`` gives the facts of one corpus.
    """
    keyed = []
    for block, facts in enumerate(fact_blocks):
        members = facts.groupby("fact_id", sort=False)[["article_id", "claim_id"]]
        for fact_id, group in members:
            keyed.append((list(zip(group["article_id"], group["claim_id"])), block, fact_id))
    keyed.sort()
    width = max(3, len(str(len(keyed))))
    renames: list[dict[str, str]] = [{} for _ in fact_blocks]
    for number, (_, block, fact_id) in enumerate(keyed, start=1):
        renames[block][fact_id] = f"F{number:0{width}d}"
    return renames


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
        block_claims = claims.iloc[rows].reset_index(drop=True)
        story_ids = set(block_claims["article_id"].map(story_of))
        yield block_claims, embeddings[rows], stories[stories["story_id"].isin(story_ids)]


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
    (n, dim) L2-normalised, row i for claims row i) as the blocks finish, on ``engine``
    (``storydiff.engine``; in this process when None), on its workers in parallel for ``dask``."""
    engine = engine or LocalEngine()
    yield from engine.imap(
        compare_block, iterate_blocks(claims, embeddings, stories, max_claims),
        same_claim_threshold=same_claim_threshold, event_threshold=event_threshold,
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
    renames = number_facts([result["facts"] for result in ordered])
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
    keys: dict[int, pd.DataFrame] = {}
    with ExitStack() as stack:
        writers = {name: stack.enter_context(open_table_parts(run_dir, name)) for name in TABLE_ORDER}
        for number, result in results:
            keys[number] = result["facts"][["fact_id", "article_id", "claim_id"]]
            for name, writer in writers.items():
                writer.write(number, result[name])
        renames = dict(zip(sorted(keys), number_facts([keys[number] for number in sorted(keys)])))
        for name, writer in writers.items():
            writer.rewrite(lambda number, part, name=name: finish_part(name, part, renames[number]))
