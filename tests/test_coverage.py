"""Coverage: the fact x article matrix and its status labels."""

import pandas as pd

from storydiff.compare.coverage import build_coverage, count_statuses, coverage_matrix, coverage_status


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


def test_status_counts_summed_over_parts_equal_those_of_the_whole_table():
    """Two parts (blocks of whole stories) of a coverage table; the counts per article and status
    read part by part are those of one pivot of the whole, zeros where an article has none."""
    stories = pd.DataFrame({"story_id": ["S1", "S1", "S1", "S2", "S2"], "article_id": ["a", "b", "c", "d", "e"]})
    facts = pd.DataFrame({
        "fact_id": ["F1", "F1", "F2", "F3", "F3", "F4"], "claim_id": ["a:1", "b:1", "c:1", "d:1", "e:1", "e:2"],
        "article_id": ["a", "b", "c", "d", "e", "e"], "story_id": ["S1", "S1", "S1", "S2", "S2", "S2"],
    })
    coverage = build_coverage(facts, stories)
    parts = [coverage[coverage["story_id"] == s][["article_id", "status"]] for s in ("S1", "S2")]
    whole = coverage.pivot_table(index="article_id", columns="status", values="fact_id", aggfunc="count", fill_value=0)
    counts = count_statuses(parts)
    pd.testing.assert_frame_equal(counts, whole)
    assert counts.loc["e", "only here"] == 1 and counts.loc["a", "only here"] == 0
    assert count_statuses([parts[0].iloc[:0]]).empty
