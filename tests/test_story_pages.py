"""A large corpus's report: top stories, an index, and one safe page per story."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import execute_stage
from storydiff import runfolder, story_pages
from storydiff.engine import LocalEngine, start_local_cluster
from storydiff.export import CONTENT_SECURITY_POLICY, read_report_css
from storydiff.runner import run_pipeline
from storydiff.story_pages import (
    StoryTables, build_run_story_pages, build_story_pages, html_story, html_story_index, html_top_stories,
    iterate_run_stories, iterate_run_story_chunks, iterate_story_chunks, iterate_story_tables, rank_stories,
    story_page_path, summarise_stories, write_pages,
)

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = "<script>window.__pwned = 1</script> budget"


@pytest.fixture
def tables() -> StoryTables:
    """Two stories: S001 of three articles (a1 titled with hostile markup) with two discrepancies,
    one fact all three share (F1), one a3 leaves out (F4) and one each a1 and a2 alone report;
    S002 of one article (b1) with one claim (F5)."""
    ids = ["a1", "a2", "a3", "b1"]
    articles = pd.DataFrame({
        "article_id": ids, "title": [HOSTILE, "Vote", "Vote passes", "Floods"], "published": "",
        "published_from": "", "n_sentences": 3, "duplicate_of": "",
    })
    stories = pd.DataFrame({"story_id": ["S001"] * 3 + ["S002"], "article_id": ids, "label": [HOSTILE] * 3 + ["floods"]})
    claims = pd.DataFrame({
        "claim_id": ["a1:0", "a2:0", "a3:0", "a1:1", "a2:1", "a1:2", "a2:2", "b1:0"],
        "article_id": ["a1", "a2", "a3", "a1", "a2", "a1", "a2", "b1"], "kind": "quantity", "checkworthiness": 0.9,
        "text": ["It cost 12 million.", "It cost 13 million.", "It cost 12 million euros.", "Berg <b>won</b>.",
                 "Seven voted yes.", "Buses lose out.", "Buses get less.", "The river rose."],
    })
    facts = pd.DataFrame({
        "fact_id": ["F1", "F1", "F1", "F2", "F3", "F4", "F4", "F5"],
        "claim_id": ["a1:0", "a2:0", "a3:0", "a1:1", "a2:1", "a1:2", "a2:2", "b1:0"],
        "article_id": ["a1", "a2", "a3", "a1", "a2", "a1", "a2", "b1"],
        "story_id": ["S001"] * 7 + ["S002"], "n_articles": [3, 3, 3, 1, 1, 2, 2, 1],
        "text": ["It cost 12 million."] * 3 + ["Berg <b>won</b>.", "Seven voted yes.", "Buses lose out.", "Buses get less.",
                                               "The river rose."],
    })
    coverage = pd.DataFrame({
        "fact_id": ["F1"] * 3 + ["F2"] * 3 + ["F3"] * 3 + ["F4"] * 3, "story_id": "S001",
        "article_id": ["a1", "a2", "a3"] * 4,
        "claim_ids": ["a1:0", "a2:0", "a3:0", "a1:1", "", "", "", "a2:1", "", "a1:2", "a2:2", ""],
        "n_covering": [3, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 2], "n_story_articles": 3,
        "status": ["shared"] * 3 + ["only here", "absent", "absent", "absent", "only here", "absent", "covered", "covered", "omitted"],
    })
    discrepancies = pd.DataFrame({
        "kind": ["number", "number"], "fact_id": ["F1", "F1"], "claim_id_a": ["a1:0", "a2:0"], "claim_id_b": ["a2:0", "a3:0"],
        "article_a": ["a1", "a2"], "article_b": ["a2", "a3"], "value_a": ["12 million", "13 million"],
        "value_b": ["13 million", "12 million"], "text_a": ["It cost 12 million.", "It cost 13 million."],
        "text_b": ["It cost 13 million.", "It cost 12 million euros."], "explanation": ["12 vs 13 million", "13 vs 12 million"],
    })
    reuse = pd.DataFrame({"article_a": ["a1"], "article_b": ["a3"], "score": [0.5], "likely_source": ["a1"]})
    labels = {"a1": "a1 · Gazette", "a2": "a2 · Courier", "a3": "a3 · Post", "b1": "b1 · Herald"}
    return StoryTables(articles, stories, claims, facts, coverage, discrepancies, reuse, labels)


def summarise(tables: StoryTables) -> pd.DataFrame:
    """``summarise_stories`` of ``tables``, each of facts and discrepancies one part."""
    return summarise_stories(tables.stories, [tables.facts], [tables.discrepancies])


def test_summary_counts_articles_shared_facts_and_discrepancies_per_story(tables: StoryTables) -> None:
    summary = summarise(tables)
    assert summary.to_dict("records") == [
        {"story_id": "S001", "label": HOSTILE, "articles": 3, "facts_shared": 2, "discrepancies": 2, "page": "stories/S001.html"},
        {"story_id": "S002", "label": "floods", "articles": 1, "facts_shared": 0, "discrepancies": 0, "page": "stories/S002.html"},
    ]


def test_summary_counted_a_part_at_a_time_equals_that_of_the_whole_tables(tables: StoryTables) -> None:
    facts, discrepancies = tables.facts, tables.discrepancies
    parts = summarise_stories(tables.stories, [facts.iloc[:3], facts.iloc[3:5], facts.iloc[5:]],
                              [discrepancies.iloc[:1], discrepancies.iloc[:0], discrepancies.iloc[1:]])
    pd.testing.assert_frame_equal(parts, summarise(tables))
    none = summarise_stories(tables.stories, [], [])
    assert none["facts_shared"].tolist() == [0, 0] and none["discrepancies"].tolist() == [0, 0]


def test_rank_keeps_the_n_largest_and_leaves_out_stories_with_none() -> None:
    summary = pd.DataFrame({"story_id": ["S1", "S2", "S3", "S4"], "discrepancies": [2, 0, 5, 2]})
    assert rank_stories(summary, "discrepancies", 3)["story_id"].tolist() == ["S3", "S1", "S4"]
    assert rank_stories(summary, "discrepancies", 10)["story_id"].tolist() == ["S3", "S1", "S4"]
    assert rank_stories(summary, "discrepancies", 1)["story_id"].tolist() == ["S3"]


@pytest.mark.parametrize("story_id", ["../report", "S/1", ".hidden", "", "S 1"])
def test_a_story_id_that_is_no_plain_file_name_gets_no_page(story_id: str) -> None:
    with pytest.raises(ValueError, match="cannot name a page"):
        story_page_path(story_id)


def test_index_and_top_tables_link_each_story_and_escape_labels(tables: StoryTables) -> None:
    summary = summarise(tables)
    index = html_story_index(summary).data
    assert index.count("<tr>") == 1 + len(summary)
    assert "href='stories/S001.html'" in index and "href='stories/S002.html'" in index
    assert "<script" not in index and "&lt;script&gt;window.__pwned" in index
    top = html_top_stories(summary, "discrepancies", 10).data
    assert top.count("<a href=") == 1 and "<a href='stories/S001.html'>&lt;script&gt;" in top
    assert "No story has discrepancies." in html_top_stories(summary.assign(discrepancies=0), "discrepancies", 10).data


def test_story_evidence_has_every_section_and_a_single_article_has_none(tables: StoryTables) -> None:
    pieces = "".join(piece.data for piece in html_story(tables, "S001", level=2))
    for heading in ("Discrepancies", "Facts every article carries", "What one article alone reports",
                    "What most articles report and one leaves out", "Text reuse"):
        assert f"<h2>{heading}</h2>" in pieces
    assert "<mark class='sd-diff'>13</mark>" in pieces and "Berg &lt;b&gt;won&lt;/b&gt;." in pieces
    assert "Buses lose out." in pieces  # what a3 leaves out
    single = "".join(piece.data for piece in html_story(tables, "S002"))
    assert "nothing to compare it with" in single and "<h4>" not in single


def test_story_pages_are_standalone_escaped_and_link_back(tables: StoryTables) -> None:
    css = read_report_css()
    pages = dict(build_story_pages(iterate_story_tables(tables), summarise(tables), css))
    assert list(pages) == ["stories/S001.html", "stories/S002.html"]
    page = pages["stories/S001.html"]
    assert page.startswith("<!DOCTYPE html>") and css in page
    assert f"content=\"{CONTENT_SECURITY_POLICY}\"" in page
    assert "<script" not in page.lower() and "<title>S001: &lt;script&gt;" in page
    assert "<a href='../report.html'>" in page and "<h2>Discrepancies</h2>" in page


def test_writing_pages_removes_the_pages_an_earlier_run_left(tmp_path: Path) -> None:
    """Re-running the report with a higher inline limit (fewer or no pages) leaves no stale page."""
    write_pages(tmp_path, [("stories/S001.html", "one"), ("stories/S002.html", "two")])
    (tmp_path / "stories" / "notes.txt").write_text("mine", encoding="utf-8")
    write_pages(tmp_path, [("stories/S001.html", "one again")])
    assert sorted(p.name for p in (tmp_path / "stories").iterdir()) == ["S001.html", "notes.txt"]
    assert (tmp_path / "stories" / "S001.html").read_text(encoding="utf-8") == "one again"
    write_pages(tmp_path, [])
    assert [p.name for p in (tmp_path / "stories").iterdir()] == ["notes.txt"]


@pytest.fixture(scope="module")
def paged_run(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Path:
    """A full run on the seeds plus the two hostile articles (four stories), with one story at
    most inline: the report lists and indexes the stories, each on its own page, its rows read
    from the run folder a chunk of stories of up to two articles at a time."""
    corpus = tmp_path_factory.mktemp("paged") / "corpus"
    shutil.copytree(seeds_dir, corpus)
    for path in (FIXTURES / "hostile").glob("*.txt"):
        shutil.copy(path, corpus)
    return run_pipeline(corpus, corpus.parent / "run", ["max_stories_inline=1", "story_chunk_articles=2"], echo=lambda line: None)


@pytest.mark.slow
def test_paged_report_and_story_pages_in_browser(browser, open_report, paged_run: Path) -> None:
    pages = sorted(paged_run.glob("stories/*.html"))
    assert len(pages) == 4
    seen = open_report(paged_run / "report.html")
    assert seen["outside"] == [] and seen["errors"] == [] and seen["pwned"] is None and seen["live_markup"] == 0
    assert "Top stories by number of articles" in seen["text"] and "Index of stories" in seen["text"]
    assert "Facts every article carries" not in seen["text"]  # the evidence is on the pages
    assert "<script>window.__pwned" in seen["text"]  # the hostile title, shown as text
    context = browser.new_context()
    page = context.new_page()
    page.goto((paged_run / "report.html").as_uri())
    links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    context.close()
    linked = {Path(unquote(urlparse(link).path)) for link in links if link.startswith("file:")}
    assert set(pages) <= linked and all(path.is_file() for path in linked)
    texts = {}
    for story in pages:
        seen = open_report(story)
        assert seen["outside"] == [] and seen["errors"] == [] and seen["pwned"] is None and seen["live_markup"] == 0
        assert seen["visible"] and seen["text"].startswith("← Back to the report")
        texts[story.name] = seen
    assert any("Monday" in s["discrepancies"] and "Tuesday" in s["discrepancies"] for s in texts.values())
    assert any("<script>window.__pwned" in s["text"] for s in texts.values())
    back = story.read_text(encoding="utf-8")
    assert "href='../report.html'" in back and (story.parent / "../report.html").resolve().is_file()


def test_story_evidence_from_the_split_tables_equals_that_from_the_whole_run(tables: StoryTables) -> None:
    by_story = dict(iterate_story_tables(tables))
    assert list(by_story) == ["S001", "S002"]
    for story_id, own in by_story.items():
        whole = [piece.data for piece in html_story(tables, story_id)]
        assert [piece.data for piece in html_story(own, story_id)] == whole


def test_pages_are_written_one_at_a_time_as_they_are_built(tmp_path: Path, tables: StoryTables) -> None:
    written_before = []

    def pages():
        for path, html in build_story_pages(iterate_story_tables(tables), summarise(tables), read_report_css()):
            written_before.append(sorted(p.name for p in (tmp_path / "stories").glob("*.html")))
            yield path, html

    write_pages(tmp_path, pages())
    assert written_before == [[], ["S001.html"]]  # the first page was on disk before the second was built
    assert sorted(p.name for p in (tmp_path / "stories").iterdir()) == ["S001.html", "S002.html"]


@pytest.fixture
def large_story() -> StoryTables:
    """One story (S001) of 40 articles x00-x39: every pair of them has a reuse row, scored
    higher the higher its articles' numbers sum (x38-x39 strongest, x00-x01 weakest); twelve facts that all 40
    carry; 30 discrepancies between x00 and x01, numbered in their explanations."""
    ids = [f"x{i:02d}" for i in range(40)]
    articles = pd.DataFrame({"article_id": ids, "title": ids, "published": "", "published_from": "",
                             "n_sentences": 3, "duplicate_of": ""})
    stories = pd.DataFrame({"story_id": "S001", "article_id": ids, "label": "big"})
    facts = pd.DataFrame([(f"F{f:02d}", f"{a}:{f}", a, f"Fact {f} is shared.") for f in range(12) for a in ids],
                         columns=["fact_id", "claim_id", "article_id", "text"])
    claims = facts[["claim_id", "article_id", "text"]].assign(kind="quantity", checkworthiness=0.9)
    coverage = facts[["fact_id", "article_id"]].assign(story_id="S001", claim_ids=facts["claim_id"], n_covering=40,
                                                       n_story_articles=40, status="shared")
    discrepancies = pd.DataFrame({
        "kind": "number", "fact_id": "F00", "claim_id_a": "x00:0", "claim_id_b": "x01:0", "article_a": "x00",
        "article_b": "x01", "value_a": "12", "value_b": "13", "text_a": "It cost 12.", "text_b": "It cost 13.",
        "explanation": [f"difference {n}" for n in range(30)],
    })
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    reuse = pd.DataFrame({"article_a": [a for a, _ in pairs], "article_b": [b for _, b in pairs],
                          "score": [(int(a[1:]) + int(b[1:])) / 100 for a, b in pairs], "likely_source": "undetermined"})
    return StoryTables(articles, stories, claims, facts, coverage, discrepancies, reuse, {a: f"{a} · Paper" for a in ids})


def test_a_large_story_shows_the_first_rows_of_each_table_and_says_how_many(large_story: StoryTables) -> None:
    page = "".join(piece.data for piece in html_story(large_story, "S001", max_rows=10, level=2))
    for total in (40, 30, 780):  # articles, discrepancies, reuse pairs
        assert f"First 10 of {total} rows." in page
    assert "... and 2 more (table coverage)" in page and "Fact 9 is shared." in page and "Fact 10 is shared." not in page
    reuse = page[page.index("<h2>Text reuse</h2>"):]
    assert reuse.count("<tr") == 11 and "x38 · Paper" in reuse and "x00 · Paper" not in reuse  # strongest first
    whole = "".join(piece.data for piece in html_story(large_story, "S001", level=2))
    assert "First " not in whole and whole[whole.index("<h2>Text reuse</h2>"):].count("<tr") == 781


def test_what_one_article_alone_reports_is_cut_per_article_most_checkworthy_first() -> None:
    """Two articles: a1 alone reports five checkable facts (checkworthiness 0.5-0.9, G0 least),
    a2 alone two. With three at most per article, a1's three most checkworthy and both of a2's
    are listed, in that order."""
    only = [("a1", f"G{i}", 0.5 + i / 10) for i in range(5)] + [("a2", f"H{i}", 0.7) for i in range(2)]
    articles = pd.DataFrame({"article_id": ["a1", "a2"], "title": ["One", "Two"], "published": "", "published_from": "",
                             "n_sentences": 3, "duplicate_of": ""})
    claims = pd.DataFrame({"claim_id": [f"{a}:{f}" for a, f, _ in only], "article_id": [a for a, _, _ in only],
                           "kind": "quantity", "checkworthiness": [w for _, _, w in only],
                           "text": [f"Fact {f} of {a}." for a, f, _ in only]})
    facts = claims[["claim_id", "article_id", "text"]].assign(fact_id=[f for _, f, _ in only], story_id="S1", n_articles=1)
    coverage = pd.DataFrame([(f, "S1", b, f"{a}:{f}" if a == b else "", 1, 2, "only here" if a == b else "absent")
                             for a, f, _ in only for b in ("a1", "a2")],
                            columns=["fact_id", "story_id", "article_id", "claim_ids", "n_covering", "n_story_articles", "status"])
    no_pairs = pd.DataFrame(columns=["article_a", "article_b", "score", "likely_source"])
    tables = StoryTables(articles, pd.DataFrame({"story_id": "S1", "article_id": ["a1", "a2"], "label": "s"}), claims, facts,
                         coverage, pd.DataFrame(columns=["article_a", "article_b"]), no_pairs, {"a1": "a1 · One", "a2": "a2 · Two"})
    page = "".join(piece.data for piece in html_story(tables, "S1", max_only_per_article=3, level=2))
    alone = page[page.index("What one article alone reports"):page.index("Text reuse")]
    listed = [line.strip()[len("<td>Fact "):-len(".</td>")] for line in alone.splitlines() if "<td>Fact " in line]
    assert listed == ["G4 of a1", "G3 of a1", "G2 of a1", "H0 of a2", "H1 of a2"]


def test_story_chunks_hold_whole_stories_in_order_up_to_the_limit() -> None:
    stories = pd.DataFrame({
        "story_id": ["S5", "S2", "S1", "S2", "S3", "S2", "S4", "S5", "S2", "S1", "S2", "S5"],
        "article_id": [f"x{i:02d}" for i in range(12)],
    })
    chunks = list(iterate_story_chunks(stories, 3))
    assert [sorted(set(chunk["story_id"])) for chunk in chunks] == [["S1"], ["S2"], ["S3", "S4"], ["S5"]]
    assert [len(chunk) for chunk in chunks] == [2, 5, 2, 3]  # S2's five articles: a chunk of their own
    assert pd.concat(chunks).sort_index().equals(stories)
    assert [len(chunk) for chunk in iterate_story_chunks(stories, 100)] == [12]


def test_rows_are_placed_in_the_chunk_of_their_story_or_article() -> None:
    stories = pd.DataFrame({"story_id": ["S2", "S1", "S2", "S3"], "article_id": ["x0", "x1", "x2", "x3"]})
    chunks = list(iterate_story_chunks(stories, 2))  # S1 | S2 (two articles) | S3
    batch = pa.record_batch({"story_id": ["S3", "S9", None, "S2", "S1"], "article_id": ["x2", "x3", "x1", "x9", "x0"]})
    by_story = story_pages.number_by_key("story_id", story_pages.key_chunks(chunks, "story_id"), batch, 0)
    by_article = story_pages.number_by_key("article_id", story_pages.key_chunks(chunks, "article_id"), batch, 0)
    np.testing.assert_array_equal(by_story, [2, np.nan, np.nan, 1, 0])
    np.testing.assert_array_equal(by_article, [1, 2, 0, np.nan, 1])


@pytest.fixture
def run_folder(tmp_path: Path, tables: StoryTables) -> Path:
    """The run folder of ``tables``: facts and discrepancies written a part per story block as
    the comparison writes them (one block empty, its columns typed null), the rest one file each."""
    runfolder.write_table(tmp_path, "claims", tables.claims)
    runfolder.write_table(tmp_path, "facts", tables.facts, parts=[tables.facts.iloc[:7], tables.facts.iloc[7:]])
    runfolder.write_table(tmp_path, "coverage", tables.coverage)
    discrepancies = tables.discrepancies
    runfolder.write_table(tmp_path, "discrepancies", discrepancies, parts=[discrepancies, discrepancies.iloc[:0]])
    runfolder.write_table(tmp_path, "reuse", tables.reuse)
    return tmp_path


@pytest.mark.parametrize("max_articles", [1, 3, 4, 100])
def test_stories_read_a_chunk_at_a_time_show_what_the_whole_tables_show(
    run_folder: Path, tables: StoryTables, max_articles: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's reading holds only its own stories' rows, and every story's evidence is the
    same as from the whole tables in memory."""
    seen = []
    split = story_pages.iterate_story_tables

    def record(chunk: StoryTables):
        seen.append({name: set(getattr(chunk, name)[key]) for name, key in
                     (("stories", "story_id"), ("claims", "article_id"), ("facts", "story_id"), ("coverage", "story_id"))})
        return split(chunk)

    monkeypatch.setattr(story_pages, "iterate_story_tables", record)
    read = list(iterate_run_stories(run_folder, tables.stories, tables.articles, tables.labels, max_articles))
    assert [story_id for story_id, _ in read] == ["S001", "S002"]
    whole = dict(split(tables))
    for story_id, own in read:
        for level in (2, 4):
            assert [p.data for p in html_story(own, story_id, level=level)] == [p.data for p in html_story(whole[story_id], story_id, level=level)]
        assert set(own.claims["claim_id"]) == set(whole[story_id].claims["claim_id"])
    assert seen == (
        [{"stories": {"S001", "S002"}, "claims": {"a1", "a2", "a3", "b1"}, "facts": {"S001", "S002"}, "coverage": {"S001"}}]
        if max_articles >= 4 else
        [{"stories": {"S001"}, "claims": {"a1", "a2", "a3"}, "facts": {"S001"}, "coverage": {"S001"}},
         {"stories": {"S002"}, "claims": {"b1"}, "facts": {"S002"}, "coverage": set()}]
    )
    assert [p.name for p in run_folder.iterdir()] == ["tables"]  # the chunks' temporary files are gone


@pytest.mark.parametrize("max_articles", [1, 3, 100])
def test_pages_built_a_chunk_at_a_time_on_an_engine_are_those_of_the_whole_tables(
    run_folder: Path, tables: StoryTables, max_articles: int
) -> None:
    """Every page is the one built from the whole tables in memory, in story order, whatever the
    chunks; each chunk carries the labels of its own articles only (it travels to a worker alone)."""
    chunks = list(iterate_run_story_chunks(run_folder, tables.stories, tables.articles, tables.labels, max_articles))
    assert [set(chunk.labels) for chunk in chunks] == [set(chunk.stories["article_id"]) for chunk in chunks]
    summary, css = summarise(tables), read_report_css()
    pages = list(build_run_story_pages(LocalEngine(), chunks, summary, css, max_rows=2))
    assert pages == list(build_story_pages(iterate_story_tables(tables), summary, css, max_rows=2))
    assert [path for path, _ in pages] == ["stories/S001.html", "stories/S002.html"]


def test_pages_need_the_summary_of_the_same_stories_in_order(run_folder: Path, tables: StoryTables) -> None:
    chunks = iterate_run_story_chunks(run_folder, tables.stories, tables.articles, tables.labels, 3)
    with pytest.raises(ValueError, match="not the stories of the next chunk"):
        list(build_run_story_pages(LocalEngine(), chunks, summarise(tables).iloc[::-1], read_report_css()))


@pytest.mark.slow
def test_story_pages_built_on_dask_workers_are_the_local_ones(paged_run: Path, tmp_path: Path) -> None:
    """The report stage run again on the paged run with the dask engine (a 2-worker LocalCluster)
    builds each chunk of at most two articles' stories in a task on the workers and writes the
    same pages, byte for byte."""
    run = shutil.copytree(paged_run, tmp_path / "run")
    shutil.rmtree(run / "stories")
    with start_local_cluster(2) as cluster:
        execute_stage("06_report", run, {"max_stories_inline": 1, "story_chunk_articles": 2, "engine": "dask",
                                         "scheduler": cluster.scheduler_address})
        built_on_workers = cluster.scheduler.task_prefixes["build_chunk_pages"].state_counts["memory"]
    assert built_on_workers == len(list(iterate_story_chunks(runfolder.read_table(run, "stories"), 2))) > 1
    local = {p.name: p.read_bytes() for p in (paged_run / "stories").glob("*.html")}
    assert len(local) == 4 and {p.name: p.read_bytes() for p in (run / "stories").glob("*.html")} == local
