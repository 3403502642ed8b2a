"""Coverage: which article of a story reports which fact (the fact x article matrix).

Long form, one row per (fact, article of the fact's story). ``status`` sums up the row:
``shared`` (covered, and every article of the story covers the fact), ``covered`` (covered by
some but not all), ``only here`` (this is the one article of a several-article story that has
the fact), ``omitted`` (not covered here although more than half of the story's articles, and
at least two, report it), ``absent`` (not covered, and the fact is not widely reported) and
``single-article story``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from storydiff.runfolder import sum_part_counts

COVERAGE_COLUMNS = [
    "fact_id", "story_id", "article_id", "covered", "claim_ids", "n_covering", "n_story_articles",
    "status",
]


def coverage_status(covered: bool, n_covering: int, n_story: int) -> str:
    """The ``status`` of one coverage cell (module docstring)."""
    if n_story == 1:
        return "single-article story"
    if covered:
        return "shared" if n_covering == n_story else "only here" if n_covering == 1 else "covered"
    return "omitted" if n_covering >= 2 and n_covering > n_story / 2 else "absent"


def build_coverage(facts: pd.DataFrame, stories: pd.DataFrame) -> pd.DataFrame:
    """COVERAGE_COLUMNS for every fact and every article of its story, sorted by fact, article."""
    members_of: dict[str, list[str]] = {}
    for story_id, article_id in sorted(zip(stories["story_id"].tolist(), stories["article_id"].tolist())):
        members_of.setdefault(story_id, []).append(article_id)  # each story's articles sorted
    claims_of: dict[tuple[str, str], list[str]] = {}  # (fact, article): its claims in table order
    story_of_fact: dict[str, str] = {}
    for fact_id, article_id, claim_id, story_id in zip(*(facts[c].tolist() for c in ("fact_id", "article_id", "claim_id", "story_id"))):
        claims_of.setdefault((fact_id, article_id), []).append(claim_id)
        story_of_fact.setdefault(fact_id, story_id)
    rows = []
    for fact_id in sorted(story_of_fact):
        story_id = story_of_fact[fact_id]
        members = members_of[story_id]
        n_covering = sum((fact_id, a) in claims_of for a in members)
        for article_id in members:
            claim_ids = claims_of.get((fact_id, article_id))
            rows.append((
                fact_id, story_id, article_id, claim_ids is not None, ";".join(claim_ids or ()), n_covering,
                len(members), coverage_status(claim_ids is not None, n_covering, len(members)),
            ))
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def coverage_matrix(coverage: pd.DataFrame) -> pd.DataFrame:
    """Wide form: one row per fact (index fact_id), one bool column per article (NaN: other story)."""
    return coverage.pivot(index="fact_id", columns="article_id", values="covered")


def count_statuses(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """How many facts of each ``status`` every article has: one row per article (index
    article_id, sorted), one int column per status (sorted; 0 where none), summed over ``parts``
    of the coverage table (columns article_id, status), read one at a time."""
    summed = sum_part_counts(part.groupby(["article_id", "status"]).size() for part in parts)
    if summed.empty:
        return pd.DataFrame(index=pd.Index([], name="article_id"), columns=pd.Index([], name="status"), dtype=int)
    return summed.unstack("status", fill_value=0).sort_index().sort_index(axis=1)
