"""Facts, matches, coverage and discrepancies a block of whole stories at a time.

Claims of different stories are never compared, so the corpus can be cut between stories: a
block holds whole stories (in story_id order) with up to ``BLOCK_CLAIMS`` claims, a larger story
is a block of its own, and only one block's claim pairs, parsed claim records and fact groups
are held at once. Fact ids are given after every block is done, in the order of each fact's
first claim (claims sorted by article_id, claim_id), so every table is the one that linking the
whole corpus at once gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from storydiff.compare.coverage import build_coverage
from storydiff.compare.discrepancies import EVENT_THRESHOLD, find_discrepancies
from storydiff.compare.facts import link_facts
from storydiff.compare.sameclaim import SAME_CLAIM_THRESHOLD
from storydiff.engine import LocalEngine

BLOCK_CLAIMS = 5_000


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


def compare_story_blocks(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    same_claim_threshold: float = SAME_CLAIM_THRESHOLD,
    event_threshold: float = EVENT_THRESHOLD,
    max_claims: int = BLOCK_CLAIMS,
    engine: Any = None,
) -> dict[str, pd.DataFrame]:
    """``facts``, ``matches``, ``coverage`` and ``discrepancies`` of ``claims`` (embeddings (n, dim)
    L2-normalised, row i for claims row i), one block of stories at a time; the blocks run on
    ``engine`` (``storydiff.engine``; in this process when None), on its workers in parallel for
    ``dask``. The same tables on every engine and for every ``max_claims``.
    """
    engine = engine or LocalEngine()
    results = engine.map(
        compare_block, iterate_blocks(claims, embeddings, stories, max_claims),
        same_claim_threshold=same_claim_threshold, event_threshold=event_threshold,
    )
    renames = number_facts([result["facts"] for result in results])
    order = {
        "facts": ["fact_id"],
        "matches": ["story_id", "claim_id_a", "claim_id_b"],
        "coverage": ["fact_id", "article_id"],
        "discrepancies": ["kind", "fact_id", "claim_id_a", "claim_id_b"],
    }
    tables = {}
    for name, columns in order.items():
        parts = [
            result[name].assign(fact_id=result[name]["fact_id"].map(lambda f, r=rename: r.get(f, f)))
            if "fact_id" in result[name] else result[name]
            for result, rename in zip(results, renames)
        ]
        # empty parts left out: their columns are of dtype object and would turn strings to objects
        table = pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
        tables[name] = table.sort_values(columns, kind="stable").reset_index(drop=True)
    return tables
