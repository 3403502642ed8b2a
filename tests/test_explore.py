"""storydiff.explore on a real seeds run: what each view returns, and that corpus text is escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from storydiff.explore import OUTPUTS_DIR, Run, find_latest_run, interleave_alignment, open_run
from storydiff.runner import PROJECT_ROOT

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def run(seeds_run: Path) -> Run:
    """The seeds run opened once for this module (its model loads on the first search)."""
    return open_run(seeds_run)


@pytest.fixture()
def hostile_run(seeds_run: Path, run: Run) -> Run:
    """The seeds run opened afresh, with markup injected into every corpus text it shows."""
    fresh = open_run(seeds_run, model=run.model())
    for table, columns in {
        "articles": ["outlet", "title"],
        "sentences": ["text"],
        "claims": ["text"],
        "facts": ["text"],
        "discrepancies": ["text_a", "text_b", "value_a", "value_b", "explanation"],
    }.items():
        for column in columns:
            fresh.tables[table][column] = HOSTILE + fresh.tables[table][column].astype(str)
    return fresh


def test_open_run_gives_the_contract_tables(run: Run, seeds_run: Path) -> None:
    for name in ("articles", "sentences", "claims", "facts", "matches", "discrepancies", "stories", "reuse"):
        assert name in run.tables
    assert len(run.tables) == len(list(run.tables)) >= 8
    assert len(run.articles) == 5
    assert run.claims is run.tables["claims"]  # read once, then kept
    assert set(run.facts["claim_id"]) <= set(run.claims["claim_id"])
    assert callable(run.discrepancies) and isinstance(run.tables["discrepancies"], pd.DataFrame)
    assert str(seeds_run.resolve()) in repr(run) and "5 articles" in repr(run)
    with pytest.raises(KeyError):
        run.tables["no_such_table"]


def test_latest_finished_run_is_chosen(tmp_path: Path) -> None:
    for name, status, ended in [
        ("old", "ok", "2026-01-01T10:00:00+00:00"),
        ("new", "ok", "2026-01-02T10:00:00+00:00"),
        ("newer-failed", "failed", "2026-01-03T10:00:00+00:00"),
        (".new.tmp-1", "ok", "2026-01-04T10:00:00+00:00"),
    ]:
        (tmp_path / name / "tables").mkdir(parents=True)
        (tmp_path / name / "manifest.json").write_text(json.dumps({"status": status, "ended_at": ended}))
    assert find_latest_run(tmp_path) == tmp_path / "new"
    assert OUTPUTS_DIR == PROJECT_ROOT / "outputs"  # where `storydiff run --name` writes
    with pytest.raises(FileNotFoundError, match="no finished run"):
        find_latest_run(tmp_path / "old" / "tables")


def test_open_run_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        open_run(tmp_path)


def test_article_ids_resolve_from_prefixes(run: Run) -> None:
    full = run.articles["article_id"].iloc[0]
    assert run.article_id("000") == full == run.article_id(full)
    with pytest.raises(KeyError, match="several"):
        run.article_id("00")
    with pytest.raises(KeyError, match="no article"):
        run.article_id("999")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a more than 13 per cent increase in funding for grain", {"000", "001"}),
        ("the US Treasury's proposed rules on outbound investment", {"003", "004"}),
    ],
)
def test_search_finds_each_outlets_version(run: Run, query: str, expected: set[str]) -> None:
    results = run.search(query, k=4)
    hits = results.to_frame()
    assert list(hits["rank"]) == [1, 2, 3, 4]
    assert hits["score"].is_monotonic_decreasing
    assert set(hits["article_id"].head(2).str[:3]) == expected
    assert {"claim_id", "article", "outlet", "story_id", "story", "text"} <= set(hits.columns)
    assert hits["story_id"].head(2).nunique() == 1
    text = str(results)
    assert query in text and hits["article"].iloc[0] in text and "<" not in text
    assert "<table" in results._repr_html_()


def test_search_returns_every_claim_when_k_is_larger(run: Run) -> None:
    assert len(run.search("China", k=10_000).to_frame()) == len(run.claims)
    with pytest.raises(ValueError, match="at least 1"):
        run.search("China", k=0)


def test_to_frame_is_a_copy(run: Run) -> None:
    results = run.search("semiconductors", k=2)
    frame = results.to_frame()
    frame.loc[0, "text"] = "changed"
    assert results.to_frame().loc[0, "text"] != "changed"


def test_fact_shows_each_version_and_the_articles_that_omit_it(run: Run) -> None:
    budget = run.claims.loc[
        run.claims["article_id"].str.startswith("000") & run.claims["text"].str.contains("13 percent"), "claim_id"
    ].iloc[0]
    fact_id = run.facts.loc[(run.facts["claim_id"] == budget) & (run.facts["n_articles"] > 1), "fact_id"].iloc[0]
    view = run.fact(fact_id)
    versions = view.to_frame()
    assert set(versions["article_id"].str[:3]) == {"000", "001"}
    assert versions["text"].str.contains("13 per").all()
    assert view.omitted.empty
    html = view._repr_html_()
    assert html.count("<td") == 2 and "<mark class='sd-diff'>" in html
    single = run.facts[(run.facts["n_articles"] == 1) & (run.facts["story_id"] == run.facts.loc[
        run.facts["fact_id"] == fact_id, "story_id"].iloc[0])]["fact_id"].iloc[0]
    assert len(run.fact(single).omitted) == 1
    assert "Not reported by" in str(run.fact(single))
    with pytest.raises(KeyError, match="no fact"):
        run.fact("F99999")


def test_fact_carries_its_discrepancies(run: Run) -> None:
    quote = run.tables["discrepancies"].query("kind == 'quote'").iloc[0]
    view = run.fact(quote["fact_id"])
    assert quote["claim_id_a"] in set(view.discrepancies["claim_id_a"])
    assert "quote" in str(view) and "sd-discrepancies" in view._repr_html_()


def test_compare_aligns_every_content_sentence_once(run: Run) -> None:
    comparison = run.compare("000", "001")
    rows = comparison.to_frame()
    content = run.sentences[~run.sentences["boilerplate"]]
    for side, prefix in (("a", "000"), ("b", "001")):
        shown = rows.loc[rows[f"sentence_id_{side}"] != "", f"sentence_id_{side}"]
        expected = content.loc[content["article_id"].str.startswith(prefix), "sentence_id"]
        assert sorted(shown) == sorted(expected) and shown.is_unique
    a_order = rows.loc[rows["sentence_id_a"] != "", "sentence_id_a"]
    assert list(a_order) == sorted(a_order)
    matched = rows[rows["status"] == "matched"]
    assert len(matched) >= 3 and (matched["similarity"] >= 0.65).all()
    assert set(rows["status"]) == {"matched", "only in A", "only in B"}
    assert "only in A" in str(comparison) and "<mark class='sd-diff'>" in comparison._repr_html_()
    swapped = run.compare(run.article_id("001"), "000").to_frame()
    assert sorted(swapped.loc[swapped["status"] == "matched", "sentence_id_b"]) == sorted(matched["sentence_id_a"])
    strict = run.compare("000", "001", threshold=0.9).to_frame()
    strict_matched = strict[strict["status"] == "matched"]
    assert len(strict_matched) < len(matched) and (strict_matched["similarity"] >= 0.9).all()
    with pytest.raises(ValueError, match="two different"):
        run.compare("000", "000")


def test_interleave_alignment_keeps_each_articles_order() -> None:
    sentences_a = pd.DataFrame({"sentence_id": ["a0", "a1", "a2"], "text": ["A0", "A1", "A2"]})
    sentences_b = pd.DataFrame({"sentence_id": ["b0", "b1", "b2", "b3"], "text": ["B0", "B1", "B2", "B3"]})
    rows = interleave_alignment(sentences_a, sentences_b, {"a1": ("b1", 0.9), "a2": ("b3", 0.7)})
    assert list(zip(rows["status"], rows["text_a"], rows["text_b"])) == [
        ("only in B", "", "B0"),
        ("only in A", "A0", ""),
        ("matched", "A1", "B1"),
        ("only in B", "", "B2"),
        ("matched", "A2", "B3"),
    ]
    assert rows["similarity"].isna().sum() == 3


def test_discrepancies_filter_by_kind_and_story(run: Run) -> None:
    everything = run.discrepancies().to_frame()
    assert len(everything) == len(run.tables["discrepancies"]) > 0
    dates = run.discrepancies(kind="date").to_frame()
    assert (dates["kind"] == "date").all()
    monday_tuesday = dates[dates["article_a"].str.startswith("003") & dates["article_b"].str.startswith("004")]
    assert {monday_tuesday["value_a"].iloc[0], monday_tuesday["value_b"].iloc[0]} == {"Monday", "Tuesday"}
    story = monday_tuesday["story_id"].iloc[0]
    in_story = run.discrepancies(story=story).to_frame()
    assert (in_story["story_id"] == story).all() and len(in_story) < len(everything)
    assert "Monday" in str(run.discrepancies(kind="date"))
    with pytest.raises(ValueError, match="kind must be"):
        run.discrepancies(kind="numbers")
    with pytest.raises(ValueError, match="no story"):
        run.discrepancies(story="S999")


def test_every_view_escapes_corpus_text(hostile_run: Run) -> None:
    quote = hostile_run.tables["discrepancies"].query("kind == 'quote'").iloc[0]
    views = [
        hostile_run.search("grain budget", k=3),
        hostile_run.search(HOSTILE, k=1),
        hostile_run.fact(quote["fact_id"]),
        hostile_run.compare("000", "001"),
        hostile_run.discrepancies(),
    ]
    for view in views:
        html = view._repr_html_()
        assert "<script" not in html and "<img" not in html, type(view).__name__
        assert "&lt;script&gt;" in html, type(view).__name__
