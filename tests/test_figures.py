"""Figures: article labels, deterministic files, table-to-figure helpers, and edge cases that
must give an informative figure rather than an error (one article, no facts, no matches...)."""

from __future__ import annotations

import gc
import io
import weakref
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure

from storydiff import figures, runfolder
from storydiff.claim_map import compute_claim_map
from storydiff.compare import build_coverage

A, B, C = "000_aaaa", "001_bbbb", "002_cccc"


def name_labelled_facts(facts: pd.DataFrame, n: int = 6) -> pd.Series:
    """fact_id -> text of the facts the claim map labels, as 05_figures reads them."""
    labelled = figures.choose_labelled_facts([facts], n)
    return facts.groupby("fact_id")["text"].first().reindex(labelled)


@pytest.fixture()
def articles() -> pd.DataFrame:
    """Three articles: A and B of story S001 (A dated, B not), C alone in S002 (dated)."""
    return pd.DataFrame({
        "article_id": [A, B, C],
        "title": ["", "A very long headline about the national science conference in Beijing", "C title"],
        "outlet": ["Daily Planet", "", ""],
        "published": ["2024-06-24", "", "2024-03-06"],
        "duplicate_of": ["", "", ""],
    })


@pytest.fixture()
def stories() -> pd.DataFrame:
    """Story S001 = A, B; story S002 = C."""
    return pd.DataFrame({"story_id": ["S001", "S001", "S002"], "article_id": [A, B, C],
                         "label": ["science conference", "science conference", "two sessions"]})


@pytest.fixture()
def sentences() -> pd.DataFrame:
    """Content sentences: A has 4 (its position 1 is boilerplate, so left out), B 3, C 2."""
    rows = [(A, 0), (A, 2), (A, 3), (A, 4), (B, 0), (B, 1), (B, 2), (C, 0), (C, 1)]
    return pd.DataFrame({
        "sentence_id": [f"{a}:{p:04d}" for a, p in rows],
        "article_id": [a for a, _ in rows],
        "position": [p for _, p in rows],
        "text": [f"Sentence {p} of {a}." for a, p in rows],
        "boilerplate": False,
    })


@pytest.fixture()
def claims(sentences: pd.DataFrame) -> pd.DataFrame:
    """One claim per content sentence (claim_id = sentence_id)."""
    return sentences.assign(claim_id=sentences["sentence_id"])[["claim_id", "sentence_id", "article_id", "text"]]


@pytest.fixture()
def facts(claims: pd.DataFrame) -> pd.DataFrame:
    """F1 shared by A and B; every other claim a fact of its own article."""
    ids = claims["claim_id"].tolist()
    fact_of = {ids[0]: "F1", ids[4]: "F1"}
    others = iter(f"F{i}" for i in range(2, 20))
    rows = [(fact_of.get(c) or next(others), c, a) for c, a in zip(claims["claim_id"], claims["article_id"])]
    table = pd.DataFrame(rows, columns=["fact_id", "claim_id", "article_id"])
    table["story_id"] = table["article_id"].map({A: "S001", B: "S001", C: "S002"})
    return table.merge(claims[["claim_id", "text"]], on="claim_id")


@pytest.fixture()
def matches(claims: pd.DataFrame) -> pd.DataFrame:
    """Two matched claim pairs of A and B: A's 1st with B's 1st, A's 4th with B's 2nd."""
    ids = claims["claim_id"].tolist()
    return pd.DataFrame({"claim_id_a": [ids[0], ids[3]], "claim_id_b": [ids[4], ids[5]],
                         "article_a": [A, A], "article_b": [B, B], "similarity": [0.9, 0.7]})


@pytest.fixture()
def reuse_alignments(sentences: pd.DataFrame) -> pd.DataFrame:
    """One reused sentence pair: A's 1st with B's 1st."""
    return pd.DataFrame({"article_a": [A], "article_b": [B], "sentence_id_a": [f"{A}:0000"],
                         "sentence_id_b": [f"{B}:0000"], "similarity": [0.95], "kind": ["paraphrase"]})


@pytest.fixture()
def similarity() -> pd.DataFrame:
    """Pair similarities of A, B, C."""
    return pd.DataFrame({"article_a": [A, A, B], "article_b": [B, C, C], "similarity": [0.7, 0.4, 0.5]})


@pytest.fixture()
def labels(articles: pd.DataFrame, sentences: pd.DataFrame) -> pd.Series:
    """``label_articles`` of the three articles."""
    return figures.label_articles(articles, sentences)


def test_labels_use_outlet_then_title_then_first_sentence(articles, sentences) -> None:
    labels = figures.label_articles(articles.assign(title=["", articles.loc[1, "title"], ""]), sentences)
    assert labels.name == "label" and labels.index.tolist() == [A, B, C]
    assert labels[A] == "000 · Daily Planet"
    assert labels[B].startswith("001 · A very long headline") and labels[B].endswith("…")
    assert len(labels[B].split(" · ", 1)[1]) <= 28
    assert labels[C] == f"002 · Sentence 0 of {C}."


def test_only_the_unnamed_articles_need_their_sentences(articles, sentences) -> None:
    """The report reads the sentences of the articles with neither outlet nor title alone."""
    nameless = articles.assign(title=["", articles.loc[1, "title"], ""])
    unnamed = figures.list_unnamed_articles(nameless)
    assert unnamed == [C]
    own = sentences[sentences["article_id"].isin(unnamed)]
    assert figures.label_articles(nameless, own).equals(figures.label_articles(nameless, sentences))


def test_short_ids_and_their_uniqueness() -> None:
    ids = ["003_e726dfa3e51d9b8c", "a_gazette_of_the_north", "feed-1", "feed-2", "2023_a", "2023_b"]
    articles = pd.DataFrame({"article_id": ids, "outlet": "X", "title": ""})
    assert figures.label_articles(articles).tolist() == [
        "003 · X", "a_gazette_of · X", "feed-1 · X", "feed-2 · X", "2023_a · X", "2023_b · X"]


def test_similarity_matrix_is_symmetric_with_unknown_pairs_missing(similarity) -> None:
    matrix = figures.build_similarity_matrix(similarity.iloc[:2], [A, B, C])
    assert np.allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] == matrix[1, 0] == 0.7 and np.isnan(matrix[1, 2]) and np.isnan(matrix[2, 1])


def test_coverage_rows_put_shared_facts_first(facts, stories, labels) -> None:
    coverage = build_coverage(facts, stories)
    rows = figures.sort_coverage(coverage, figures.order_stories(stories, list(labels.index)))
    assert rows["fact_id"].iloc[0] == "F1"
    assert rows["story_id"].tolist() == ["S001"] * 6 + ["S002"] * 2
    first_articles = rows["first_article"].tolist()[1:6]
    assert first_articles == sorted(first_articles)  # single-article facts grouped by article


def test_alignment_dots_use_content_sentence_ranks(matches, claims, reuse_alignments, sentences) -> None:
    dots = figures.build_alignment_dots(matches, claims, reuse_alignments, sentences)
    assert dots[["index_a", "index_b", "reused"]].values.tolist() == [[0, 0, True], [3, 1, False]]


def test_story_pairs_only_within_stories(stories) -> None:
    assert figures.list_story_pairs(stories).values.tolist() == [["S001", A, B]]


def test_story_pairs_listed_up_to_a_limit_and_counted_whole() -> None:
    """Story S1 of four articles (6 pairs), S2 of one (none), S3 of three (3 pairs)."""
    stories = pd.DataFrame({"story_id": ["S1"] * 4 + ["S2"] + ["S3"] * 3, "article_id": list("dcbaexyz")})
    everything = figures.list_story_pairs(stories)
    assert len(everything) == figures.count_story_pairs(stories) == 9
    assert everything.iloc[:2].values.tolist() == [["S1", "a", "b"], ["S1", "a", "c"]]
    pd.testing.assert_frame_equal(figures.list_story_pairs(stories, limit=7), everything.iloc[:7])
    assert figures.count_story_pairs(stories.iloc[:0]) == 0 and figures.list_story_pairs(stories, limit=0).empty
    no_dots = pd.DataFrame(columns=["article_a", "article_b", "index_a", "index_b", "similarity", "reused"])
    fig = figures.plot_alignment(no_dots, figures.list_story_pairs(stories, limit=2), pd.Series(dtype=int),
                                 pd.Series(dtype=str), max_pairs=2, n_pairs=9)
    assert "(first 2 of 9 pairs)" in fig._suptitle.get_text()


def test_every_figure_draws_on_the_synthetic_run(
    tmp_path, articles, stories, sentences, claims, facts, matches, reuse_alignments, similarity, labels
) -> None:
    claim_map = compute_claim_map(claims["claim_id"].tolist(), np.eye(len(claims)), umap_min_points=40)
    dots = figures.build_alignment_dots(matches, claims, reuse_alignments, sentences)
    drawn = {
        "similarity_heatmap": figures.plot_similarity_heatmap(similarity, stories, labels),
        "claim_map": figures.plot_claim_map(claim_map, claims, facts, articles, stories, labels, name_labelled_facts(facts)),
        "coverage_matrix": figures.plot_coverage_matrix(
            build_coverage(facts, stories), stories, labels, facts.groupby("fact_id")["text"].first()),
        "alignment": figures.plot_alignment(
            dots, figures.list_story_pairs(stories), sentences.groupby("article_id").size(), labels),
        "timeline": figures.plot_timeline(articles, stories, labels),
    }
    for name, fig in drawn.items():
        assert isinstance(fig, Figure)
        saved = figures.save_figure(fig, tmp_path / "figures", name)
        assert saved == {"name": name, "png": f"figures/{name}.png", "svg": f"figures/{name}.svg"}
        assert (tmp_path / saved["png"]).stat().st_size > 0 and (tmp_path / saved["svg"]).stat().st_size > 0


def test_timeline_keeps_undated_articles_off_the_date_axis(articles, stories, labels) -> None:
    fig = figures.plot_timeline(articles, stories, labels)
    dated_ax, undated_ax = fig.axes
    assert [len(ax.collections[0].get_offsets()) for ax in (dated_ax, undated_ax)] == [2, 1]
    assert {t.get_text() for t in undated_ax.texts} == {labels[B]}
    assert undated_ax.get_title() == "date unknown (1)"


def test_claim_map_caption_names_the_method() -> None:
    assert "UMAP" in figures.caption_claim_map("umap", 80, 40)
    assert "PCA" in figures.caption_claim_map("pca", 12, 40) and "12 claims" in figures.caption_claim_map("pca", 12, 40)
    sampled = figures.caption_claim_map("umap-sample", 31_965, 40, 20_000)
    assert "UMAP" in sampled and "20,000 of the 31,965 claims" in sampled and "most similar" in sampled


def test_pair_filters_read_only_the_drawn_pairs(tmp_path) -> None:
    """A matches table of three article pairs, read for two of them, then for none."""
    matches = pd.DataFrame({"article_a": ["a", "a", "b"], "article_b": ["b", "c", "c"], "similarity": [0.9, 0.8, 0.7]})
    runfolder.write_table(tmp_path, "matches", matches)
    drawn = pd.DataFrame({"article_a": ["a", "b"], "article_b": ["b", "c"]})
    read = runfolder.read_table(tmp_path, "matches", filters=figures.build_pair_filters(drawn))
    assert read["similarity"].tolist() == [0.9, 0.7]
    none = runfolder.read_table(tmp_path, "matches", filters=figures.build_pair_filters(drawn.iloc[:0]))
    assert none.empty and list(none.columns) == list(matches.columns)


def draw_sample() -> Figure:
    """A small figure with text, a heatmap image and clipped artists (what SVG ids come from)."""
    labels = pd.Series(["000 · X", "001 · Y"], index=pd.Index(["000_a", "001_b"], name="article_id"))
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ["000_a", "001_b"], "label": ["s", "s"]})
    similarity = pd.DataFrame({"article_a": ["000_a"], "article_b": ["001_b"], "similarity": [0.6]})
    return figures.plot_similarity_heatmap(similarity, stories, labels)


def test_a_saved_figure_frees_its_points_without_the_cycle_collector(tmp_path: Path) -> None:
    """Artists refer to their axes and the axes to them: a figure dropped whole waits for the
    cycle collector, which a kernel may not run for the rest of the stage (a claim map of 582,768
    points held some 50 MiB). ``save_figure`` clears the figure, so a claim map's scatter is freed
    as soon as the figure is dropped."""
    ids = ["000_x", "001_y"]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": ["X", "Y"]})
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": ["c0", "c1"], "article_id": ids})
    claim_map = pd.DataFrame({"claim_id": ["c0", "c1"], "x": [0.0, 2.0], "y": 0.0, "method": "pca"})
    fig = figures.plot_claim_map(claim_map, claims, claims.iloc[:0].assign(fact_id=""), articles, stories,
                                 figures.label_articles(articles), pd.Series(dtype=str))
    scatter = weakref.ref(fig.axes[0].collections[0])
    figures.save_figure(fig, tmp_path / "figures", "claim_map")
    gc.disable()
    try:
        del fig
        assert scatter() is None
    finally:
        gc.enable()


def test_save_figure_bytes_are_deterministic(tmp_path: Path) -> None:
    first = figures.save_figure(draw_sample(), tmp_path / "one" / "figures", "sample")
    second = figures.save_figure(draw_sample(), tmp_path / "two" / "figures", "sample")
    for kind in ("png", "svg"):
        assert (tmp_path / "one" / first[kind]).read_bytes() == (tmp_path / "two" / second[kind]).read_bytes()
    png = (tmp_path / "one" / first["png"]).read_bytes()
    svg = (tmp_path / "one" / first["svg"]).read_text(encoding="utf-8")
    assert b"Software" not in png and b"Matplotlib" not in png
    assert "<dc:date>" not in svg and "Matplotlib" not in svg


@pytest.mark.parametrize("case", ["no articles", "one article", "no claims", "no facts", "no pairs", "no dates"])
def test_edge_cases_draw_an_informative_figure(case, articles, stories, claims, facts, sentences) -> None:
    one = articles.iloc[:1]
    one_label = figures.label_articles(one)
    no_pairs = pd.DataFrame(columns=["story_id", "article_a", "article_b"])
    no_dots = pd.DataFrame(columns=["article_a", "article_b", "index_a", "index_b", "similarity", "reused"])
    empty_map = pd.DataFrame(columns=["claim_id", "x", "y", "method"])
    no_similarity = pd.DataFrame(columns=["article_a", "article_b", "similarity"])
    counts = sentences.groupby("article_id").size()
    draws = {
        "no articles": lambda: figures.plot_similarity_heatmap(no_similarity, stories, one_label.iloc[:0]),
        "one article": lambda: [figures.plot_similarity_heatmap(no_similarity, stories.iloc[:1], one_label),
                                figures.plot_timeline(one, stories.iloc[:1], one_label)],
        "no claims": lambda: figures.plot_claim_map(empty_map, claims, facts, articles, stories, one_label, name_labelled_facts(facts)),
        "no facts": lambda: figures.plot_coverage_matrix(build_coverage(facts.iloc[:0], stories), stories, one_label),
        "no pairs": lambda: [figures.plot_alignment(no_dots, no_pairs, counts, one_label),
                             figures.plot_alignment(no_dots, figures.list_story_pairs(stories), counts, one_label)],
        "no dates": lambda: figures.plot_timeline(articles.assign(published=""), stories, figures.label_articles(articles)),
    }
    drawn = draws[case]()
    for fig in drawn if isinstance(drawn, list) else [drawn]:
        assert isinstance(fig, Figure)
        fig.savefig(io.BytesIO(), format="png")


def test_a_large_corpus_keeps_figures_bounded(tmp_path: Path) -> None:
    """150 articles in 50 stories: figures stay within MAX_INCHES and still draw."""
    ids = [f"{i:03d}_x" for i in range(150)]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": [f"Outlet {i % 9}" for i in range(150)],
                             "published": [f"2024-01-{1 + i % 28:02d}" if i % 3 else "" for i in range(150)]})
    stories = pd.DataFrame({"story_id": [f"S{i // 3:03d}" for i in range(150)], "article_id": ids, "label": ""})
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    similarity = pd.DataFrame(pairs, columns=["article_a", "article_b"]).assign(similarity=0.5)
    labels = figures.label_articles(articles)
    for fig in (figures.plot_similarity_heatmap(similarity, stories, labels),
                figures.plot_timeline(articles, stories, labels)):
        assert max(fig.get_size_inches()) <= figures.MAX_INCHES + 1.2
        fig.savefig(io.BytesIO(), format="png")


def test_corpus_text_is_drawn_literally_and_never_becomes_markup(tmp_path: Path) -> None:
    """Dollar signs are not mathtext; markup in a title stays text inside the SVG."""
    articles = pd.DataFrame({
        "article_id": ["000_a", "001_b"], "outlet": "",
        "title": ["Deal worth $5bn, up from $3 bn (C:\\new$\\x$)", "<script>alert(1)</script><img src=x onerror=alert(2)>"],
    })
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ["000_a", "001_b"], "label": "$x^2$ --> <b>"})
    similarity = pd.DataFrame({"article_a": ["000_a"], "article_b": ["001_b"], "similarity": [0.6]})
    labels = figures.label_articles(articles, width=80)
    saved = figures.save_figure(figures.plot_similarity_heatmap(similarity, stories, labels), tmp_path / "figures", "hostile")
    svg = (tmp_path / saved["svg"]).read_text(encoding="utf-8")
    assert "$5bn, up from $3 bn" in svg  # kept as the literal text (in the SVG's comments)
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg


def test_claim_map_legends_stay_short_with_many_outlets_and_stories() -> None:
    """30 articles of 30 outlets in 30 stories: seven named outlets plus "others", 12 stories."""
    ids = [f"{i:03d}_x" for i in range(30)]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": [f"Outlet {i}" for i in range(30)]})
    stories = pd.DataFrame({"story_id": [f"S{i:03d}" for i in range(30)], "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": [f"{a}:0000" for a in ids], "article_id": ids, "text": "A claim."})
    claim_map = claims[["claim_id"]].assign(x=np.arange(30.0), y=np.arange(30.0) % 7, method="umap")
    facts = claims.assign(fact_id=[f"F{i // 2}" for i in range(30)])
    fig = figures.plot_claim_map(claim_map, claims[["claim_id", "article_id"]], facts, articles, stories,
                                 figures.label_articles(articles), name_labelled_facts(facts))
    outlets, story_legend, fact_legend = fig.legends
    assert [t.get_text() for t in outlets.get_texts()][-1] == "23 other outlets" and len(outlets.get_texts()) == 8
    assert len(story_legend.get_texts()) == figures.LEGEND_MAX_STORIES + 1
    assert len(fact_legend.get_texts()) == 6


def test_claim_map_draws_a_scatter_per_marker_in_each_claims_colour() -> None:
    """Two claims in each of 20 articles without an outlet, each article its own story: one
    scatter per story marker (not one per article) holding every claim, each in its article's
    colour; the three facts carried by the most articles labelled with the texts given."""
    ids = [f"{i:03d}_x" for i in range(20)]
    articles = pd.DataFrame({"article_id": ids, "title": [f"Title {i}" for i in range(20)], "outlet": ""})
    stories = pd.DataFrame({"story_id": [f"S{i:03d}" for i in range(20)], "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": [f"{a}:{k}" for a in ids for k in range(2)], "article_id": [a for a in ids for _ in range(2)]})
    claim_map = claims[["claim_id"]].assign(x=np.arange(40.0), y=np.arange(40.0) % 5, method="umap")
    facts = pd.DataFrame({"fact_id": ["F1", "F1", "F1", "F2", "F2", "F3"], "claim_id": claims["claim_id"].iloc[[0, 2, 4, 6, 8, 10]],
                          "article_id": claims["article_id"].iloc[[0, 2, 4, 6, 8, 10]]})
    assert figures.choose_labelled_facts([facts], 3) == ["F1", "F2"]  # F3: one article only
    labels = figures.label_articles(articles)
    fig = figures.plot_claim_map(claim_map, claims, facts, articles, stories, labels,
                                 pd.Series({"F1": "First fact.", "F2": "Second fact."}))
    scatters = fig.axes[0].collections
    assert len(scatters) == len(figures.STORY_MARKERS)
    assert sum(len(c.get_offsets()) for c in scatters) == 40
    colours = figures.assign_colours(figures.group_outlets(articles, labels))
    diamonds = scatters[1]  # markers in sorted order, "*" then "D": stories 3, 11 and 19
    expected = [colours[labels[ids[i]]] for i in (3, 3, 11, 11, 19, 19)]
    np.testing.assert_allclose(diamonds.get_facecolors()[:, :3], to_rgba_array(expected)[:, :3])
    np.testing.assert_array_equal(diamonds.get_offsets()[:, 0], [6, 7, 22, 23, 38, 39])
    assert [t.get_text() for t in fig.legends[2].get_texts()] == ["F1 (3 articles): First fact.", "F2 (2 articles): Second fact."]


def test_claim_map_moves_fact_labels_apart() -> None:
    """Three facts of two claims each whose centres lie within a hundredth of the map's width:
    their labels do not overlap once drawn, and the same data draw them at the same places."""
    ids = [f"{i:03d}_x" for i in range(6)]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": "Wire"})
    stories = pd.DataFrame({"story_id": "S1", "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": [f"{a}:0" for a in ids], "article_id": ids})
    claim_map = claims[["claim_id"]].assign(x=[0.0, 0.02, 0.01, 0.03, 0.0, 0.02], y=[0.0, 0.0, 0.01, 0.01, 0.02, 0.02], method="umap")
    background = pd.DataFrame({"claim_id": ["far-a", "far-b"], "x": [-1.0, 1.0], "y": [-1.0, 1.0], "method": "umap"})
    facts = claims.assign(fact_id=["F1", "F1", "F2", "F2", "F3", "F3"])
    texts = pd.Series({"F1": "One.", "F2": "Two.", "F3": "Three."})
    placed = []
    for _ in range(2):
        fig = figures.plot_claim_map(pd.concat([claim_map, background]), claims, facts, articles, stories, figures.label_articles(articles), texts)
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        boxes = [label.get_window_extent(renderer) for label in fig.axes[0].texts]
        assert len(boxes) == 3 and not any(a.overlaps(b) for a, b in combinations(boxes, 2))
        placed.append([label.get_position() for label in fig.axes[0].texts])
    assert placed[0] == placed[1]


def test_a_mapped_claim_of_no_known_article_is_grey_and_takes_no_outlet_colour() -> None:
    """Two claims of outlets X and Y and one claim ("stray") missing from ``claims``: X and Y keep
    the first two palette colours and the only outlet legend entries, the stray claim is drawn
    grey, under no story (first in drawing order: "(no story)" sorts before "S1")."""
    ids = ["000_x", "001_y"]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": ["X", "Y"]})
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": ["c0", "c1"], "article_id": ids})
    claim_map = pd.DataFrame({"claim_id": ["c0", "stray", "c1"], "x": [0.0, 1.0, 2.0], "y": 0.0, "method": "pca"})
    fig = figures.plot_claim_map(claim_map, claims, claims.iloc[:0].assign(fact_id=""), articles, stories,
                                 figures.label_articles(articles), pd.Series(dtype=str))
    (scatter,) = fig.axes[0].collections
    np.testing.assert_array_equal(scatter.get_offsets()[:, 0], [1.0, 0.0, 2.0])
    expected = to_rgba_array([figures.OTHER_COLOUR, figures.OKABE_ITO[0], figures.OKABE_ITO[1]])
    np.testing.assert_allclose(scatter.get_facecolors()[:, :3], expected[:, :3])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["X", "Y"]


def test_a_large_claim_map_is_a_bitmap_inside_its_svg(tmp_path) -> None:
    """RASTER_POINTS + 1 claims of two articles: the SVG holds one image, not a path per point."""
    n = figures.RASTER_POINTS + 1
    ids = ["000_x", "001_y"]
    articles = pd.DataFrame({"article_id": ids, "title": "", "outlet": ["X", "Y"]})
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ids, "label": ""})
    claims = pd.DataFrame({"claim_id": [f"c{i}" for i in range(n)], "article_id": [ids[i % 2] for i in range(n)], "text": "A claim."})
    claim_map = claims[["claim_id"]].assign(x=np.cos(np.arange(n)), y=np.sin(np.arange(n) * 0.7), method="umap-sample")
    fig = figures.plot_claim_map(claim_map, claims, claims.iloc[:0].assign(fact_id=""), articles, stories,
                                 figures.label_articles(articles), pd.Series(dtype=str))
    svg = (tmp_path / figures.save_figure(fig, tmp_path / "figures", "claim_map")["svg"]).read_text(encoding="utf-8")
    assert svg.count("<image") == 1 and svg.count('xlink:href="#m') < 20  # markers: the legend's only


@pytest.fixture
def three_stories() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(coverage, stories, labels): three stories S0-S2 of two articles and five facts each, each
    fact carried by the story's first article, the first fact by both; one cell of S2 is
    "omitted", a status no other story has."""
    rows = [(f"F{s}{f}", f"S{s}", f"{s}{a}_x", a == 0 or f == 0, 2 if f == 0 else 1, "shared" if f == 0 else "only here")
            for s in range(3) for f in range(5) for a in range(2)]
    coverage = pd.DataFrame(rows, columns=["fact_id", "story_id", "article_id", "covered", "n_covering", "status"])
    coverage.loc[(coverage["story_id"] == "S2") & ~coverage["covered"], "status"] = "omitted"
    stories = coverage[["story_id", "article_id"]].drop_duplicates().assign(label="")
    labels = figures.label_articles(pd.DataFrame({"article_id": stories["article_id"], "outlet": "X", "title": ""}))
    return coverage, stories, labels


def test_coverage_of_a_large_corpus_draws_the_first_stories_that_fit(three_stories) -> None:
    coverage, stories, labels = three_stories
    fig = figures.plot_coverage_matrix(coverage, stories, labels, max_facts=8)  # room for story S0 only
    assert fig.axes[0].images[0].get_array().shape == (5, 2)
    assert "first 1 of 3 stories" in fig.axes[0].get_title()
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == ["shared", "only here"]


def test_coverage_drawn_from_the_chosen_stories_alone_equals_that_drawn_from_all(three_stories) -> None:
    coverage, stories, labels = three_stories
    facts = coverage[coverage["covered"]][["fact_id", "story_id", "article_id"]]
    assert figures.choose_coverage_stories([facts], stories, labels, 8) == (["S0"], 3)
    assert figures.choose_coverage_stories([facts], stories, labels, 10) == (["S0", "S1"], 3)
    assert figures.choose_coverage_stories([facts.iloc[:0]], stories, labels, 8) == ([], 0)
    for max_facts in (8, 10, 100):
        chosen, n_stories = figures.choose_coverage_stories([facts], stories, labels, max_facts)
        whole = figures.plot_coverage_matrix(coverage, stories, labels, max_facts=max_facts)
        part = figures.plot_coverage_matrix(coverage[coverage["story_id"].isin(chosen)], stories, labels,
                                            max_facts=max_facts, n_stories=n_stories)
        np.testing.assert_array_equal(part.axes[0].images[0].get_array(), whole.axes[0].images[0].get_array())
        assert part.axes[0].get_title() == whole.axes[0].get_title()
        assert [t.get_text() for t in part.axes[0].get_xticklabels()] == [t.get_text() for t in whole.axes[0].get_xticklabels()]


def test_heatmap_keeps_whole_largest_stories_within_the_limit() -> None:
    stories = pd.DataFrame({
        "story_id": ["S1", "S2", "S2", "S2", "S3", "S3", "S4"],
        "article_id": ["a", "b", "c", "d", "e", "f", "g"],
    })
    labels = pd.Series(list("abcdefg"), index=pd.Index(list("abcdefg"), name="article_id"))
    assert figures.select_story_articles(stories, labels, 5).index.tolist() == ["b", "c", "d", "e", "f"]
    assert figures.select_story_articles(stories, labels, 2).index.tolist() == ["b", "c", "d"]
    assert figures.select_story_articles(stories, labels, 10) is labels
    assert "Only the 5 articles" in figures.caption_similarity_heatmap(5, 7)
    assert figures.caption_similarity_heatmap(7, 7) == figures.CAPTIONS["similarity_heatmap"]


def test_facts_read_a_story_part_at_a_time_choose_what_the_whole_table_chooses() -> None:
    """Facts of 30 stories of three articles each, fact sizes varied so that ties and
    single-article facts occur, split into parts by story as the comparison stage writes them:
    the labelled facts and the coverage stories are those chosen from the whole table."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(30):
        for f in range(int(rng.integers(1, 6))):
            articles = rng.choice(3, size=int(rng.integers(1, 4)), replace=False)
            rows += [(f"F{s:02d}{f}", f"S{s:02d}", f"{s:02d}{a}_x", f"{s:02d}{a}:{f}") for a in articles]
    facts = pd.DataFrame(rows, columns=["fact_id", "story_id", "article_id", "claim_id"])
    parts = [part for _, part in facts.groupby(facts["story_id"].str[1:].astype(int) // 7)]
    assert len(parts) == 5
    for n in (1, 6, 100):
        assert figures.choose_labelled_facts(parts, n) == figures.choose_labelled_facts([facts], n)
    whole = figures.rank_facts(figures.size_facts(facts))
    assert figures.choose_labelled_facts(parts, 6) == whole.loc[whole["n_articles"] >= 2, "fact_id"].head(6).tolist()
    stories = facts[["story_id", "article_id"]].drop_duplicates().assign(label="")
    labels = figures.label_articles(pd.DataFrame({"article_id": stories["article_id"].unique(), "outlet": "X", "title": ""}))
    for max_facts in (3, 20, 1000):
        assert figures.choose_coverage_stories(parts, stories, labels, max_facts) == \
            figures.choose_coverage_stories([facts], stories, labels, max_facts)
