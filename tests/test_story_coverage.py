"""A story's coverage summary: what its articles share, what one alone reports, what one omits."""

import pandas as pd
import pytest

from storydiff.compare.coverage import COVERAGE_COLUMNS
from storydiff.report import summarise_story_coverage


@pytest.fixture
def story_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(coverage, facts, claims) of story S1 (articles a, b, c) and one row of another story S2.

    F1 and F2 are shared by all three articles and worded the same (one line in the summary); F3
    is shared too; F4 only a reports, as two claims (the first one's kind and checkworthiness
    count); F5 only b reports, an opinion; F6 only c reports, checkworthiness 0.2; F7 only a
    reports, checkworthiness 0.9; F8 is omitted by c (a and b carry it)."""
    def row(fact, article, status, claims="", n_covering=3):
        return (fact, "S1", article, bool(claims), claims, n_covering, 3, status)

    rows = [
        *(row("F1", a, "shared", f"{a}:1") for a in "abc"),
        *(row("F2", a, "shared", f"{a}:2") for a in "abc"),
        *(row("F3", a, "shared", f"{a}:3") for a in "abc"),
        row("F4", "a", "only here", "a:4;a:5", 1), row("F4", "b", "absent", n_covering=1), row("F4", "c", "absent", n_covering=1),
        row("F5", "b", "only here", "b:5", 1),
        row("F6", "c", "only here", "c:6", 1),
        row("F7", "a", "only here", "a:7", 1),
        row("F8", "a", "covered", "a:8", 2), row("F8", "b", "covered", "b:8", 2), row("F8", "c", "omitted", n_covering=2),
        ("F9", "S2", "z", True, "z:1", 1, 1, "single-article story"),
    ]
    coverage = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
    texts = {"F1": "Sales rose 5%.", "F2": "Sales rose 5%.", "F3": "The plant closed.", "F4": "Jobs were cut.",
             "F5": "It is a disgrace.", "F6": "The town is small.", "F7": "The firm made a loss of £2m.",
             "F8": "Talks went on.", "F9": "Elsewhere."}
    facts = pd.DataFrame({"fact_id": list(texts), "text": list(texts.values())})
    claims = pd.DataFrame([
        ("a:4", "statistic", 0.7, "Jobs were cut."), ("a:5", "opinion", 0.1, "Sadly jobs went."),
        ("b:5", "opinion", 0.8, "It is a disgrace."), ("c:6", "event", 0.2, "The town is small."),
        ("a:7", "statistic", 0.9, "The firm made a loss of £2m."),
    ], columns=["claim_id", "kind", "checkworthiness", "text"])
    return coverage, facts, claims


def test_a_story_summary_lists_shared_only_and_omitted_facts(story_tables):
    summary = summarise_story_coverage(*story_tables, "S1")
    assert summary["shared"].to_dict("list") == {"fact_id": ["F1", "F3"], "text": ["Sales rose 5%.", "The plant closed."]}
    only = summary["only"]
    assert only[["article_id", "fact_id", "kind"]].values.tolist() == [["a", "F7", "statistic"], ["a", "F4", "statistic"]]
    assert only["checkworthiness"].tolist() == [0.9, 0.7] and only["checkworthiness"].dtype == float
    assert summary["omitted"].values.tolist() == [["c", "F8", 2, "Talks went on."]]
    assert summary["omitted"]["n_covering"].dtype == "int64"


def test_a_story_without_such_facts_gives_empty_tables_with_their_columns(story_tables):
    summary = summarise_story_coverage(*story_tables, "S2")
    assert [list(summary[name].columns) for name in ("shared", "only", "omitted")] == [
        ["fact_id", "text"], ["article_id", "fact_id", "kind", "checkworthiness", "text"],
        ["article_id", "fact_id", "n_covering", "text"]]
    assert all(summary[name].empty for name in summary)
