"""Coverage: the fact x article matrix and its status labels."""

import pandas as pd

from storydiff.compare.coverage import build_coverage, coverage_matrix, coverage_status


def test_status_names_shared_only_omitted_and_single_stories():
    assert coverage_status(True, 3, 3) == "shared"
    assert coverage_status(True, 1, 3) == "only here"
    assert coverage_status(True, 2, 3) == "covered"
    assert coverage_status(False, 2, 3) == "omitted"
    assert coverage_status(False, 1, 2) == "absent"
    assert coverage_status(True, 1, 1) == "single-article story"


def test_coverage_has_one_row_per_fact_and_story_article():
    stories = pd.DataFrame({"story_id": ["S1", "S1", "S1", "S2"], "article_id": ["a", "b", "c", "d"]})
    facts = pd.DataFrame({
        "fact_id": ["F1", "F1", "F2", "F3"], "claim_id": ["a:1", "b:4", "c:2", "d:1"],
        "article_id": ["a", "b", "c", "d"], "story_id": ["S1", "S1", "S1", "S2"],
    })
    coverage = build_coverage(facts, stories)
    assert len(coverage) == 3 + 3 + 1
    by_cell = coverage.set_index(["fact_id", "article_id"])
    assert by_cell.loc[("F1", "c"), "status"] == "omitted"
    assert by_cell.loc[("F2", "c"), "status"] == "only here"
    assert by_cell.loc[("F1", "b"), "claim_ids"] == "b:4"
    assert by_cell.loc[("F3", "d"), "status"] == "single-article story"
    matrix = coverage_matrix(coverage)
    assert matrix.loc["F1", "a"] == True and matrix.loc["F1", "c"] == False  # noqa: E712
    assert pd.isna(matrix.loc["F1", "d"])
