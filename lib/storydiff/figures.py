"""The run's figures: pure plotting functions that take tables and return a matplotlib Figure.

Every figure is built inside the fixed style ``STYLE`` (colour-blind-safe Okabe-Ito colours for
categories, cividis for continuous values) on a bare ``Figure`` (no pyplot state), and saved by
``save_figure`` as PNG and SVG whose bytes depend only on the inputs: no software, creator or
date metadata, and SVG ids salted with a constant. Articles are named by ``label_articles``
(outlet, else a shortened title, plus a short id), which the report reuses. A figure with
nothing to show (one article, no facts, no dated article...) says so in its body instead of
failing.
"""

from __future__ import annotations

import functools
import re
from itertools import combinations, islice
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from adjustText import adjust_text
from matplotlib import dates as mdates
from matplotlib.collections import PatchCollection
from matplotlib.colors import ListedColormap, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from storydiff.claim_map import PLACE_NEIGHBOURS, UMAP_MAX_POINTS
from storydiff.compare.stories import choose_largest_stories
from storydiff.runfolder import locate_strings, sum_part_counts

# Okabe & Ito (2008), ordered so the first colours stay distinct on white; yellow comes last.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
OTHER_COLOUR = "#999999"
STORY_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
MATRIX_CMAP = "cividis"
MISSING_COLOUR = "#e8e8e8"
DPI = 150
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "path",
    "svg.hashsalt": "storydiff",
    "path.simplify": True,
    "text.parse_math": False,  # corpus text is full of "$": print it, never parse it as mathtext
}
FIGURE_COLUMNS = ["name", "png", "svg", "caption"]
PNG_METADATA = {"Software": None, "Creation Time": None}
SVG_METADATA = {"Date": None, "Creator": None}
NO_STORY = "(no story)"
ANNOTATE_MAX_ARTICLES = 12  # write the value in each heatmap cell up to this many articles
NAMED_MAX_ARTICLES = 40  # name each article on the timeline up to this many articles
LEGEND_MAX_STORIES = 12  # stories listed in the claim map's legend
MAX_TICK_LABELS = 80  # past this many articles or stories, an axis gives a count instead of names
MAX_INCHES = 18.0  # largest side of a figure that grows with the corpus
FACT_TEXT_MAX_ROWS = 120  # name each coverage row by its text up to this many facts
RASTER_POINTS = 2_000  # past this many claims the claim map's points are a bitmap inside the SVG
LABEL_ITERATIONS = 300  # adjustText's steps to move labels apart: a count, not its default second, for the same figure on any machine
# status values of the comparison stage's ``coverage`` table (storydiff.compare.coverage)
COVERAGE_COLOURS = {
    "shared": OKABE_ITO[0],
    "covered": OKABE_ITO[5],
    "only here": OKABE_ITO[1],
    "single-article story": OKABE_ITO[2],
    "omitted": "#F2B99A",  # a light vermillion: a gap most of the story's articles fill
    "absent": "#EEEEEE",
}
DOT_COSINE_RANGE = (0.5, 1.0)
CAPTIONS = {
    "similarity_heatmap": (
        "Article similarity: each cell is the mean best-match cosine between the two articles' "
        "sentences (colours span the values found; the diagonal is left blank); articles are "
        "grouped by story and each story is boxed."
    ),
    "coverage_matrix": (
        "Coverage: one row per fact (claims that state the same thing), one column per article of "
        "the fact's story, coloured by whether the article reports it: shared by all, by some, "
        "only by this article, or omitted although most articles report it. Widely reported "
        "facts come first in each story, then what each article alone reports."
    ),
    "timeline": (
        "Timeline: articles by stated publication date, one row per story; articles that do not "
        "state a date are listed apart and not placed on the axis."
    ),
}


def styled(plot: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure returned by ``plot`` inside the fixed rcParams ``STYLE``."""

    @functools.wraps(plot)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(STYLE):
            return plot(*args, **kwargs)

    return wrapper


def shorten(text: str, width: int = 28) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters (with "…")."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(" ,;:-–—") + "…"


def short_id(article_id: str, width: int = 12) -> str:
    """The id's leading number (``003`` of ``003_e726dfa3e51d9b8c``), else its first ``width``
    characters; a record id ``<stem>-<row>`` keeps its row (``news-12``)."""
    record = re.fullmatch(r"(.+)-(\d+)", article_id)
    stem, row = (record[1], f"-{record[2]}") if record else (article_id, "")
    number = re.match(r"\d+", stem)
    return (number[0] if number else stem[:width]) + row


def name_articles(articles: pd.DataFrame) -> pd.Series:
    """Each article's outlet, else its title, else "" (stripped), in ``articles`` order."""
    names = articles.get("outlet", pd.Series("", index=articles.index)).fillna("").astype(str).str.strip()
    titles = articles.get("title", pd.Series("", index=articles.index)).fillna("").astype(str).str.strip()
    return names.where(names != "", titles)


def list_unnamed_articles(articles: pd.DataFrame) -> list[str]:
    """Ids of the articles with neither outlet nor title: the only ones whose ``sentences``
    ``label_articles`` reads (it names them by their first content sentence)."""
    return articles.loc[(name_articles(articles) == "").to_numpy(), "article_id"].astype(str).tolist()


def label_articles(articles: pd.DataFrame, sentences: pd.DataFrame | None = None, width: int = 28) -> pd.Series:
    """A short readable label per article, e.g. ``"003 · newszkz.com"``: Series indexed by
    article_id, named ``label``, in ``articles`` order.

    The name is the outlet, else the title, else (when ``sentences`` is given) the article's first
    content sentence, shortened to ``width`` characters. The id part is ``short_id`` (the whole id
    where that would not be unique)."""
    ids = articles["article_id"].astype(str)
    names = name_articles(articles)
    if sentences is not None and len(sentences):
        content = sentences[~sentences["boilerplate"].astype(bool)] if "boilerplate" in sentences else sentences
        first = content.sort_values(["article_id", "position"]).groupby("article_id")["text"].first()
        names = names.where(names != "", ids.map(first).fillna(""))
    keys = ids.map(short_id)
    keys = keys.where(~keys.duplicated(keep=False), ids)
    labels = [f"{key} · {shorten(name, width)}" if name else key for key, name in zip(keys, names, strict=True)]
    return pd.Series(labels, index=pd.Index(ids, name="article_id"), name="label")


def group_outlets(articles: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Colour group of each article of ``labels`` (same index): its outlet, else its label."""
    outlets = articles.set_index("article_id")["outlet"].fillna("").astype(str).str.strip()
    return pd.Series([outlets.get(a, "") or label for a, label in labels.items()], index=labels.index, name="outlet")


def assign_colours(groups: pd.Series) -> dict[str, str]:
    """Okabe-Ito colour per distinct value of ``groups`` in order of first appearance (yellow
    left out: too pale for points on white); grey past the palette."""
    distinct = list(dict.fromkeys(groups))
    return {g: OKABE_ITO[i] if i < len(OKABE_ITO) - 1 else OTHER_COLOUR for i, g in enumerate(distinct)}


def assign_markers(story_ids: list[str]) -> dict[str, str]:
    """A marker per story, in the given order (cycling past eight stories)."""
    return {s: STORY_MARKERS[i % len(STORY_MARKERS)] for i, s in enumerate(story_ids)}


def order_stories(stories: pd.DataFrame, article_ids: list[str]) -> pd.DataFrame:
    """(story_id, article_id, story_label) for ``article_ids``, grouped by story (stories by id,
    then articles by id); articles of no story come last under NO_STORY."""
    known = stories.drop_duplicates("article_id").set_index("article_id") if len(stories) else None
    rows = []
    for article_id in article_ids:
        if known is not None and article_id in known.index:
            story = known.loc[article_id]
            rows.append((str(story["story_id"]), article_id, str(story.get("label", "") or story["story_id"])))
        else:
            rows.append((NO_STORY, article_id, NO_STORY))
    ordered = pd.DataFrame(rows, columns=["story_id", "article_id", "story_label"])
    ordered["_last"] = ordered["story_id"] == NO_STORY
    return ordered.sort_values(["_last", "story_id", "article_id"]).drop(columns="_last").reset_index(drop=True)


def story_blocks(story_ids: pd.Series) -> list[tuple[str, int, int]]:
    """(story_id, start, end) of each run of equal values in ``story_ids`` (end exclusive)."""
    values = list(story_ids)
    starts = [i for i in range(len(values)) if i == 0 or values[i] != values[i - 1]]
    return [(values[s], s, e) for s, e in zip(starts, starts[1:] + [len(values)], strict=True)]


def tick_fontsize(n_ticks: int, roomy: int = 20) -> float:
    """Tick label size in points: 8 up to ``roomy`` ticks, then smaller (at least 3.5)."""
    return 8.0 if n_ticks <= roomy else max(3.5, 8.0 * roomy / n_ticks)


def describe_story(story_id: str, label: str, width: int = 34) -> str:
    """Axis text for a story: its id and its label, shortened."""
    return story_id if label in ("", story_id) else f"{story_id}: {shorten(label, width)}"


@styled
def plot_empty(title: str, message: str, size: tuple[float, float] = (6.0, 2.2)) -> Figure:
    """A figure that only says why there is nothing to plot."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, color="#444444", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def build_similarity_matrix(similarity: pd.DataFrame, article_ids: list[str]) -> np.ndarray:
    """Square symmetric matrix (len(article_ids),) * 2 from the pair table (article_a, article_b,
    similarity); 1 on the diagonal, NaN for pairs not in the table."""
    position = pd.Series(range(len(article_ids)), index=pd.Index(article_ids), dtype="int64")
    matrix = np.full((len(article_ids), len(article_ids)), np.nan)
    np.fill_diagonal(matrix, 1.0)
    known = similarity[similarity["article_a"].isin(position.index) & similarity["article_b"].isin(position.index)]
    rows, columns = position[known["article_a"]].to_numpy(), position[known["article_b"]].to_numpy()
    matrix[rows, columns] = matrix[columns, rows] = known["similarity"].to_numpy(dtype=float)
    return matrix


def scale_range(values: np.ndarray, step: float = 0.05) -> tuple[float, float]:
    """Colour-scale limits around ``values`` (cosines), widened to multiples of ``step``; (0, 1)
    when there are none."""
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.floor(values.min() / step) * step, np.ceil(values.max() / step) * step
    return float(low), float(max(high, low + step))


@styled
def plot_similarity_heatmap(similarity: pd.DataFrame, stories: pd.DataFrame, labels: pd.Series) -> Figure:
    """Heatmap of article-to-article similarity (cosine units; colours scaled to the values
    present, the diagonal left blank), articles ordered by story, each story's block outlined.
    ``similarity``: pairs (article_a, article_b, similarity); ``stories``: (story_id, article_id,
    label); ``labels``: ``label_articles`` output (its index sets which articles are shown)."""
    title = "How similar the articles are"
    if len(labels) < 2:
        return plot_empty(title, f"{len(labels)} article{'' if len(labels) == 1 else 's'}: no pair to compare.")
    order = order_stories(stories, list(labels.index))
    matrix = build_similarity_matrix(similarity, list(order["article_id"]))
    n = len(order)
    off_diagonal = matrix[~np.eye(n, dtype=bool) & ~np.isnan(matrix)]
    low, high = scale_range(off_diagonal)
    np.fill_diagonal(matrix, np.nan)
    side = min(MAX_INCHES, max(4.5, 0.6 * n + 3.0))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    cmap = mpl.colormaps[MATRIX_CMAP].with_extremes(bad=MISSING_COLOUR)
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=low, vmax=high)
    names = [labels[a] for a in order["article_id"]] if n <= MAX_TICK_LABELS else []
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", rotation_mode="anchor", fontsize=tick_fontsize(n))
    ax.set_yticks(range(len(names)), names, fontsize=tick_fontsize(n))
    if not names:
        ax.set_xlabel(f"{n} articles, grouped by story (too many to name)")
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    if n <= ANNOTATE_MAX_ARTICLES:
        middle = (low + high) / 2
        for i, j in zip(*np.nonzero(~np.isnan(matrix)), strict=True):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if matrix[i, j] > middle else "white")
    blocks = story_blocks(order["story_id"])
    ax.add_collection(PatchCollection(
        [Rectangle((start - 0.5, start - 0.5), end - start, end - start) for _, start, end in blocks],
        facecolor="none", edgecolor=OKABE_ITO[3], linewidth=2.0 if len(blocks) <= MAX_TICK_LABELS else 0.5))
    named_blocks = blocks if len(blocks) <= MAX_TICK_LABELS else []
    top = ax.secondary_xaxis("top")
    top.set_xticks([(s + e - 1) / 2 for _, s, e in named_blocks], [story_id for story_id, _, _ in named_blocks])
    top.tick_params(length=0, labelsize=tick_fontsize(len(blocks)), labelcolor=OKABE_ITO[3])
    top.spines[:].set_visible(False)
    ax.set_title(f"{title} (boxes: stories)")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, label="similarity: mean best-match sentence cosine")
    colorbar.outline.set_visible(False)
    return fig


def caption_claim_map(method: str, n_claims: int, umap_min_points: int, umap_max_points: int = UMAP_MAX_POINTS) -> str:
    """Caption of the claim map, saying which projection made it (``compute_claim_map``'s method)."""
    how = {
        "umap": "a UMAP projection of the claims' sentence embeddings (fixed random state)",
        "umap-sample": (
            f"a UMAP projection of the sentence embeddings of {umap_max_points:,} of the {n_claims:,} "
            "claims, drawn with a fixed random state; each other claim sits at the similarity-weighted "
            f"mean of its {PLACE_NEIGHBOURS} most similar drawn claims"
        ),
    }.get(method, f"a PCA projection of the claims' sentence embeddings (fallback: {n_claims} claims, "
                  f"fewer than the {umap_min_points} UMAP needs)")
    return (
        f"Claim map: each point is a claim placed by {how}; nearby points say similar things. "
        "Colour is the outlet, marker the story; the facts reported by the most articles are "
        "labelled and joined to their claims."
    )


def size_facts(facts: pd.DataFrame) -> pd.DataFrame:
    """(fact_id, n_articles, n_claims) per fact of ``facts`` (fact_id, article_id, claim_id)."""
    if facts.empty:
        return pd.DataFrame(columns=["fact_id", "n_articles", "n_claims"])
    sizes = facts.groupby("fact_id").agg(n_articles=("article_id", "nunique"), n_claims=("claim_id", "size"))
    return sizes.reset_index()


def rank_facts(sizes: pd.DataFrame) -> pd.DataFrame:
    """``size_facts`` rows, most articles first then most claims, then id."""
    ranked = sizes.sort_values(["n_articles", "n_claims", "fact_id"], ascending=[False, False, True])
    return ranked.reset_index(drop=True)


def choose_labelled_facts(fact_parts: Iterable[pd.DataFrame], n: int = 6) -> list[str]:
    """Ids of the ``n`` facts the claim map labels: those carried by the most articles (at least
    two), then by the most claims, then by id. ``fact_parts``: the facts table (fact_id,
    article_id, claim_id) a part at a time, each fact's rows in one part, as the comparison stage
    writes it (a story's facts in one part); only each part's first ``n`` facts are kept."""
    leaders = []
    for part in fact_parts:
        sizes = size_facts(part)
        leaders.append(rank_facts(sizes[sizes["n_articles"] >= 2]).head(n))
    return rank_facts(pd.concat(leaders))["fact_id"].head(n).tolist() if leaders else []


@styled
def plot_claim_map(
    claim_map: pd.DataFrame,
    claims: pd.DataFrame,
    facts: pd.DataFrame,
    articles: pd.DataFrame,
    stories: pd.DataFrame,
    labels: pd.Series,
    fact_texts: pd.Series,
) -> Figure:
    """Scatter of ``claim_map`` (claim_id, x, y, method) with the claims' (claim_id, article_id)
    ``claims``: colour by outlet (the article label when the outlet is unknown), marker by story.
    The facts of ``fact_texts`` (fact_id -> text, in legend order: ``choose_labelled_facts``) are
    labelled at the centroid of their claims in ``facts`` (fact_id, article_id, claim_id; the
    rows of those facts are enough) and joined to them. One scatter per marker: a scatter per
    story and outlet cost an artist per article when outlets are unknown (35,600 of them at
    582,768 claims)."""
    title = "Claims mapped by meaning"
    if claim_map.empty:
        return plot_empty(title, "No claims to map.")
    method = str(claim_map["method"].iloc[0])
    fig = Figure(figsize=(9.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    colours, outlets, order, markers = scatter_claims(ax, claim_map, claims, group_outlets(articles, labels), stories)
    xy = claim_map[["x", "y"]].to_numpy()
    labelled = facts[fact_texts.index.get_indexer(facts["fact_id"]) >= 0]
    mapped = locate_strings(labelled["claim_id"], claim_map["claim_id"])
    fact_handles, fact_labels, centroids = [], [], []
    for fact_id, text in fact_texts.items():
        is_member = (labelled["fact_id"] == fact_id).to_numpy()
        members, where = labelled[is_member], mapped[is_member]
        coords = xy[where[where >= 0]]
        if not len(coords):
            continue
        cx, cy = coords.mean(axis=0)
        for px, py in coords:
            ax.plot([cx, px], [cy, py], color="#333333", linewidth=0.9, zorder=1)
        fact_labels.append(ax.text(cx, cy, fact_id, fontsize=7.5, fontweight="bold", zorder=3, bbox={
            "boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "#333333", "linewidth": 0.6}))
        centroids.append((cx, cy))
        fact_handles.append(Line2D([], [], linestyle="", label=(
            f"{fact_id} ({members['article_id'].nunique()} articles): {shorten(text, 90)}")))
    umap = method.startswith("umap")
    axis = "UMAP" if umap else "PC"
    ax.set_xlabel(f"{axis} 1 (no unit: relative layout)")
    ax.set_ylabel(f"{axis} 2")
    ax.set_xticks([])
    ax.set_yticks([])
    how = {"umap": "UMAP", "umap-sample": "UMAP fitted on a sample"}.get(method, "PCA fallback: too few claims for UMAP")
    ax.set_title(f"{title} ({how})")
    present = set(outlets)
    named = {o: c for o, c in colours.items() if o in present and c != OTHER_COLOUR}
    outlet_handles = [Line2D([], [], marker="o", linestyle="", color=c, label=shorten(o, 30)) for o, c in named.items()]
    if len(named) < len(present):
        outlet_handles.append(Line2D([], [], marker="o", linestyle="", color=OTHER_COLOUR,
                                     label=f"{len(present) - len(named)} other outlets"))
    fig.legend(handles=outlet_handles, title="outlet", loc="outside right upper")
    story_label = order.drop_duplicates("story_id").set_index("story_id")["story_label"]
    story_handles = [Line2D([], [], marker=m, linestyle="", color="#444444", label=describe_story(s, story_label[s], 30))
                     for s, m in list(markers.items())[:LEGEND_MAX_STORIES]]
    if len(markers) > LEGEND_MAX_STORIES:
        story_handles.append(Line2D([], [], linestyle="", label=f"… and {len(markers) - LEGEND_MAX_STORIES} more stories"))
    fig.legend(handles=story_handles, title="story", loc="outside right lower")
    if fact_handles:
        fig.legend(handles=fact_handles, title="facts reported by the most articles", loc="outside lower left",
                   handlelength=0, handletextpad=0, alignment="left")
        separate_labels(fact_labels, np.array(centroids))
    return fig


def scatter_claims(
    ax: Any, claim_map: pd.DataFrame, claims: pd.DataFrame, outlet_of: pd.Series, stories: pd.DataFrame
) -> tuple[dict[str, str], list[str], pd.DataFrame, dict[str, str]]:
    """Draw ``claim_map``'s points (claim_id, x, y) on ``ax``, one scatter per story marker, each
    point in its outlet's colour (``outlet_of``: article_id -> outlet, the article id where an
    article has none; a claim missing from ``claims`` (claim_id, article_id) in grey, no story),
    in drawing order by story id then outlet (later on top). Returns the colours (outlet ->
    colour), the outlets drawn (sorted), ``order_stories`` of the articles drawn and the markers
    (story_id -> marker).

    Work is per article, then indexed per claim: string columns of 582,768 claims (a merge, two
    maps, a sort) held some 190 MiB more than these integer arrays."""
    rows = locate_strings(claim_map["claim_id"], claims["claim_id"])
    article_codes, article_ids = pd.factorize(claims["article_id"])
    point_article = np.where(rows >= 0, article_codes[np.maximum(rows, 0)], -1) if len(article_codes) else np.full(len(rows), -1)
    drawn = pd.unique(point_article[point_article >= 0])  # in the map's order: colours go by first appearance
    drawn_ids = pd.Series(article_ids[drawn], dtype=object)
    drawn_outlets = drawn_ids.map(outlet_of).fillna(drawn_ids).tolist()
    order = order_stories(stories, sorted(drawn_ids))
    drawn_stories = drawn_ids.map(order.set_index("article_id")["story_id"]).tolist()
    colours = assign_colours(pd.concat([outlet_of, pd.Series(drawn_outlets, dtype=object)]))
    markers = assign_markers(list(dict.fromkeys(order["story_id"])))
    outlets = sorted(set(drawn_outlets))
    story_names = sorted({*drawn_stories, *([NO_STORY] if (point_article < 0).any() else [])})
    outlet_rank, story_rank = {o: i for i, o in enumerate(outlets)}, {s: i for i, s in enumerate(story_names)}
    article_outlet = np.full(len(article_ids) + 1, len(outlets))  # the last entry: a claim of no known article
    article_story = np.full(len(article_ids) + 1, story_rank.get(NO_STORY, 0))
    article_outlet[drawn] = [outlet_rank[o] for o in drawn_outlets]
    article_story[drawn] = [story_rank[s] for s in drawn_stories]
    point_outlet, point_story = article_outlet[point_article], article_story[point_article]
    drawing = np.argsort(point_story * (len(outlets) + 1) + point_outlet, kind="stable")
    point_outlet, point_story = point_outlet[drawing], point_story[drawing]
    rgba = to_rgba_array([colours[o] for o in outlets] + [OTHER_COLOUR])
    marker_names = sorted({markers.get(s, "o") for s in story_names})
    story_marker = np.array([marker_names.index(markers.get(s, "o")) for s in story_names])
    point_marker = story_marker[point_story]
    x, y = claim_map["x"].to_numpy()[drawing], claim_map["y"].to_numpy()[drawing]
    for code, marker in enumerate(marker_names):
        at = np.flatnonzero(point_marker == code)
        if len(at):
            ax.scatter(x[at], y[at], c=rgba[point_outlet[at]], marker=marker, s=36, alpha=0.85, edgecolors="white",
                       linewidths=0.5, rasterized=len(rows) > RASTER_POINTS)
    return colours, outlets, order, markers


def separate_labels(labels: list[Text], anchors: np.ndarray) -> None:
    """Move ``labels`` (drawn at ``anchors``, shape (n, 2), data coordinates) apart from each
    other and off the anchors with adjustText, ``LABEL_ITERATIONS`` steps, a thin line joining a
    moved label to its anchor; call it once the figure is laid out (legends placed)."""
    adjust_text(labels, x=anchors[:, 0], y=anchors[:, 1], ax=labels[0].axes, iter_lim=LABEL_ITERATIONS,
                arrowprops={"arrowstyle": "-", "color": "#333333", "linewidth": 0.6})


def sort_coverage(coverage: pd.DataFrame, order: pd.DataFrame) -> pd.DataFrame:
    """One row per fact of the ``coverage`` table (fact_id, story_id, article_id, covered,
    n_covering), sorted for reading: stories and articles as in ``order`` (``order_stories``
    output); in each story the facts most articles carry first, then single-article facts grouped
    by their article. Returns (fact_id, story_id, n_covering, first_article), first_article being
    the position in ``order`` of the first article that reports the fact."""
    position = {a: i for i, a in enumerate(order["article_id"])}
    story_rank = {s: i for i, s in enumerate(dict.fromkeys(order["story_id"]))}
    covered = coverage[coverage["covered"].astype(bool)]
    covered = covered.assign(first_article=covered["article_id"].map(position).fillna(len(position)))
    facts = covered.groupby("fact_id").agg(story_id=("story_id", "first"), n_covering=("n_covering", "first"),
                                          first_article=("first_article", "min")).reset_index()
    facts["story_rank"] = facts["story_id"].map(story_rank).fillna(len(story_rank))
    facts = facts.sort_values(["story_rank", "n_covering", "first_article", "fact_id"], ascending=[True, False, True, True])
    return facts.drop(columns="story_rank").reset_index(drop=True)


def fit_stories(facts_per_story: pd.Series, max_facts: int) -> list[str]:
    """The first stories of ``facts_per_story`` (story_id -> facts, in drawing order) whose facts
    fit in ``max_facts`` together; at least the first."""
    fits = (facts_per_story.cumsum() <= max_facts) | (np.arange(len(facts_per_story)) == 0)
    return list(facts_per_story.index[fits])


def choose_coverage_stories(
    fact_parts: Iterable[pd.DataFrame], stories: pd.DataFrame, labels: pd.Series, max_facts: int = 400
) -> tuple[list[str], int]:
    """(the stories ``plot_coverage_matrix`` draws of a corpus's facts, how many stories have
    facts): so that only their rows of the coverage table need reading. ``fact_parts``: the facts
    table (fact_id, story_id) a part at a time, each fact's rows in one part."""
    rank = {s: i for i, s in enumerate(dict.fromkeys(order_stories(stories, list(labels.index))["story_id"]))}
    per_story = sum_part_counts(part.groupby("story_id")["fact_id"].nunique() for part in fact_parts)
    per_story = per_story.rename("n").rename_axis("story_id").reset_index()
    per_story["rank"] = per_story["story_id"].map(rank).fillna(len(rank))
    return fit_stories(per_story.sort_values(["rank", "story_id"]).set_index("story_id")["n"], max_facts), len(per_story)


@styled
def plot_coverage_matrix(
    coverage: pd.DataFrame,
    stories: pd.DataFrame,
    labels: pd.Series,
    texts: pd.Series | None = None,
    max_facts: int = 400,
    n_stories: int | None = None,
) -> Figure:
    """Coverage matrix: facts (rows) x articles (columns), each cell coloured by its ``status``
    in the ``coverage`` table (COVERAGE_COLOURS; blank where the article is of another story),
    rows sorted by ``sort_coverage``. ``texts``: optional fact text by fact_id for row labels.
    Past ``max_facts`` facts, only the first stories that fit are drawn (the title says so).
    ``coverage`` may hold only the stories to draw (``choose_coverage_stories``), ``n_stories``
    then saying how many stories have facts in all."""
    title = "Which article reports which fact"
    if coverage.empty or labels.empty:
        return plot_empty(title, "No facts were found, so there is no coverage to show.")
    order = order_stories(stories, list(labels.index))
    rows = sort_coverage(coverage, order)
    kept = list(dict.fromkeys(rows["story_id"]))
    n_stories = n_stories or len(kept)
    cut = len(rows) > max_facts
    if cut:
        kept = fit_stories(rows.groupby("story_id", sort=False).size(), max_facts)
        rows = rows[rows["story_id"].isin(kept)].head(max_facts)
    if cut or len(kept) < n_stories:
        order = order[order["story_id"].isin(kept)]
        title = f"{title} (first {len(kept)} of {n_stories} stories)"
    article_ids = list(order["article_id"])
    statuses = list(COVERAGE_COLOURS)
    shown = coverage[coverage["fact_id"].isin(rows["fact_id"])]
    status = shown.pivot_table(index="fact_id", columns="article_id", values="status", aggfunc="first")
    status = status.reindex(index=rows["fact_id"], columns=article_ids)
    cells = status.apply(lambda column: column.map({s: i + 1 for i, s in enumerate(statuses)})).fillna(0).to_numpy()
    n_rows, n_cols = cells.shape
    named = texts is not None and n_rows <= FACT_TEXT_MAX_ROWS
    height = min(30.0, 2.8 + (0.13 if named else 0.04) * n_rows)
    fig = Figure(figsize=(min(15.0, 5.0 + 0.6 * n_cols + (3.2 if named else 0.0)), height), layout="constrained")
    ax = fig.add_subplot()
    cmap = ListedColormap(["white", *COVERAGE_COLOURS.values()])
    ax.imshow(cells, cmap=cmap, vmin=-0.5, vmax=len(statuses) + 0.5, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(n_cols), [labels[a] for a in article_ids], rotation=40, ha="left", rotation_mode="anchor",
                  fontsize=tick_fontsize(n_cols))
    ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    plt_labels = [f"{f} · {shorten(texts.get(f, ''), 52)}" for f in rows["fact_id"]] if named else []
    ax.set_yticks(range(n_rows) if named else [], plt_labels, fontsize=6.5)
    ax.set_ylabel(f"{n_rows} facts: most widely reported first, then those of one article")
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    for _, start, _ in story_blocks(rows["story_id"])[1:]:
        ax.axhline(start - 0.5, color="#333333", linewidth=1.0)
    for _, start, _ in story_blocks(order["story_id"])[1:]:
        ax.axvline(start - 0.5, color="#333333", linewidth=1.0)
    present = set(shown["status"])  # the statuses drawn, not those of stories left out
    ax.legend(handles=[Patch(color=c, label=s) for s, c in COVERAGE_COLOURS.items() if s in present],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), title="the article's coverage")
    ax.set_title(title if n_stories < 2 else f"{title}; lines separate stories")
    return fig


def list_story_pairs(stories: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Pairs of articles within one story: (story_id, article_a, article_b), a < b, sorted; only
    the first ``limit`` when given (a story of k articles has k (k - 1) / 2 pairs, too many to list
    for a large story when a figure draws a dozen: ``count_story_pairs`` counts them)."""
    pairs = (
        (story_id, a, b)
        for story_id, group in stories.groupby("story_id", sort=True)
        for a, b in combinations(sorted(set(group["article_id"])), 2)
    )
    return pd.DataFrame(list(islice(pairs, limit)), columns=["story_id", "article_a", "article_b"])


def count_story_pairs(stories: pd.DataFrame) -> int:
    """How many rows ``list_story_pairs(stories)`` has, without listing them."""
    sizes = stories.groupby("story_id")["article_id"].nunique()
    return int((sizes * (sizes - 1) // 2).sum())


def build_pair_filters(pairs: pd.DataFrame) -> list[list[tuple[str, str, str]]]:
    """``runfolder.read_table`` filters for the rows of a table with article_a, article_b columns
    (``matches``, ``reuse_alignments``) that belong to one of ``pairs`` (article_a, article_b):
    the dot-plots read only the pairs they draw, not every matched pair of the corpus."""
    return [[("article_a", "==", a), ("article_b", "==", b)] for a, b in zip(pairs["article_a"], pairs["article_b"])]


def build_alignment_dots(
    matches: pd.DataFrame, claims: pd.DataFrame, reuse_alignments: pd.DataFrame, sentences: pd.DataFrame
) -> pd.DataFrame:
    """Dots of the alignment dot-plots: one per matched claim pair (``matches``) or reused
    sentence pair (``reuse_alignments``: article_a, article_b, sentence_id_a, sentence_id_b,
    similarity), at the two sentences' ranks among their articles' content ``sentences``
    (0 = first). Returns (article_a, article_b, index_a, index_b, similarity, reused)."""
    columns = ["article_a", "article_b", "index_a", "index_b", "similarity", "reused"]
    content = sentences.sort_values(["article_id", "position"])
    rank = pd.Series(content.groupby("article_id").cumcount().to_numpy(), index=content["sentence_id"].to_numpy())
    sentence_of = claims.set_index("claim_id")["sentence_id"]
    claim_pairs = matches.assign(sentence_id_a=matches["claim_id_a"].map(sentence_of),
                                 sentence_id_b=matches["claim_id_b"].map(sentence_of), reused=False)
    both = pd.concat([reuse_alignments.assign(reused=True), claim_pairs], ignore_index=True)
    both = both.assign(index_a=both["sentence_id_a"].map(rank), index_b=both["sentence_id_b"].map(rank))
    both = both.dropna(subset=["index_a", "index_b"]).astype({"index_a": int, "index_b": int})
    both = both.sort_values(["article_a", "article_b", "index_a", "index_b", "reused"], ascending=[True] * 4 + [False])
    dots = both.drop_duplicates(["article_a", "article_b", "index_a", "index_b"])[columns]
    return dots.reset_index(drop=True)


@styled
def plot_alignment(
    dots: pd.DataFrame, pairs: pd.DataFrame, sentence_counts: pd.Series, labels: pd.Series, max_pairs: int = 12,
    n_pairs: int | None = None,
) -> Figure:
    """Dot-plot per article pair of a story: content sentence number in A (x) against in B (y), a
    dot per matched pair (colour: cosine), ringed when the sentence was reused. Dots along the
    dashed diagonal are material kept in the same order; dots off it are reordered material.
    ``dots``: ``build_alignment_dots`` output; ``pairs``: (story_id, article_a, article_b), the
    first ``max_pairs`` drawn, of ``n_pairs`` in all (default: ``len(pairs)``); ``sentence_counts``:
    content sentences per article_id."""
    title = "Where two articles of a story say the same thing"
    if pairs.empty:
        return plot_empty(title, "No story has two articles, so there is no pair to align.")
    shown = pairs.head(max_pairs)
    n_cols = min(3, len(shown))
    n_rows = -(-len(shown) // n_cols)
    fig = Figure(figsize=(3.8 * n_cols + 1.4, 3.7 * n_rows + 1.0), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    cmap = mpl.colormaps[MATRIX_CMAP]
    image = None
    for ax, pair in zip(axes, shown.itertuples(), strict=False):
        pair_dots = dots[(dots["article_a"] == pair.article_a) & (dots["article_b"] == pair.article_b)]
        n_a, n_b = int(sentence_counts.get(pair.article_a, 0)), int(sentence_counts.get(pair.article_b, 0))
        ax.plot([-0.5, n_a - 0.5], [-0.5, n_b - 0.5], linestyle="--", color="#999999", linewidth=0.8)
        reused = pair_dots[pair_dots["reused"].astype(bool)]
        ax.scatter(reused["index_a"], reused["index_b"], s=110, facecolors="none", edgecolors=OKABE_ITO[3], linewidths=1.5)
        image = ax.scatter(pair_dots["index_a"], pair_dots["index_b"], c=pair_dots["similarity"], cmap=cmap,
                           vmin=DOT_COSINE_RANGE[0], vmax=DOT_COSINE_RANGE[1], s=26, edgecolors="black", linewidths=0.3)
        ax.set_xlim(-0.5, max(n_a, 1) - 0.5)
        ax.set_ylim(-0.5, max(n_b, 1) - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"sentence # in {labels.get(pair.article_a, pair.article_a)}", fontsize=8)
        ax.set_ylabel(f"sentence # in {labels.get(pair.article_b, pair.article_b)}", fontsize=8)
        ax.set_title(f"{pair.story_id}: {len(pair_dots)} matched, {len(reused)} reused", fontsize=9)
        if pair_dots.empty:
            ax.text(0.5, 0.5, "no matching sentences", ha="center", va="center", color="#444444", transform=ax.transAxes)
    for ax in axes[len(shown):]:
        ax.set_axis_off()
    n_pairs = len(pairs) if n_pairs is None else n_pairs
    note = f" (first {len(shown)} of {n_pairs} pairs)" if len(shown) < n_pairs else ""
    fig.suptitle(f"{title}{note}", fontweight="bold")
    fig.colorbar(image, ax=list(axes[: len(shown)]), shrink=0.8, label="cosine of the two sentences")
    fig.legend(handles=[Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markersize=10,
                               markeredgecolor=OKABE_ITO[3], label="reused sentence (verbatim or paraphrase)"),
                        Line2D([], [], linestyle="--", color="#999999", label="same order in both")],
               loc="outside lower center", ncols=2)
    return fig


def select_story_articles(stories: pd.DataFrame, labels: pd.Series, max_articles: int) -> pd.Series:
    """``labels`` of the articles of the largest stories (most articles first, then story id),
    whole stories only, at most ``max_articles`` (all when they fit; at least the largest story)."""
    shown = stories[stories["article_id"].isin(labels.index)]
    if len(shown) <= max_articles:
        return labels
    kept = choose_largest_stories(shown, max_articles)
    chosen = set(shown.loc[shown["story_id"].isin(kept), "article_id"])
    return labels[labels.index.isin(chosen)]


def caption_similarity_heatmap(n_shown: int, n_articles: int) -> str:
    """Caption of the similarity heatmap, saying which articles it leaves out."""
    more = (f" Only the {n_shown} articles of the largest stories are drawn, of {n_articles}; the "
            "table article_similarity holds the rest." if n_shown < n_articles else "")
    return CAPTIONS["similarity_heatmap"] + more


def caption_alignment(n_pairs: int, max_pairs: int) -> str:
    """Caption of the alignment dot-plots."""
    more = f" The first {max_pairs} of {n_pairs} pairs are drawn." if n_pairs > max_pairs else ""
    return (
        "Alignment dot-plots: for each pair of articles in one story, the content sentence number "
        "in one article against the other, with a dot where two claims state the same thing "
        "(matched facts) and a ring where a sentence was reused. Dots along the diagonal are "
        f"material kept in the same order (a rewrite); dots off it are reordered material.{more}"
    )


@styled
def plot_timeline(articles: pd.DataFrame, stories: pd.DataFrame, labels: pd.Series) -> Figure:
    """Articles by publication date (``published``, ISO date or ""), one row per story; articles
    without a date are listed in a separate panel, never placed on the date axis."""
    title = "When the articles were published"
    if labels.empty:
        return plot_empty(title, "No articles.")
    order = order_stories(stories, list(labels.index))
    published = articles.set_index("article_id")["published"].fillna("").astype(str)
    order["date"] = pd.to_datetime(order["article_id"].map(published), format="%Y-%m-%d", errors="coerce")
    outlet_of = group_outlets(articles, labels)
    colours = assign_colours(outlet_of)
    groups = order["article_id"].map(outlet_of)
    story_rows = list(dict.fromkeys(order["story_id"]))
    row_of = {s: len(story_rows) - 1 - i for i, s in enumerate(story_rows)}
    fig = Figure(figsize=(10.0, min(MAX_INCHES, 1.6 + 0.9 * len(story_rows))), layout="constrained")
    named = len(order) <= NAMED_MAX_ARTICLES
    dated_ax, undated_ax = fig.subplots(1, 2, width_ratios=[4, 1.7], sharey=True)
    dated, undated = order[order["date"].notna()], order[order["date"].isna()]
    stack = pd.concat([dated.groupby(["story_id", "date"]).cumcount(), undated.groupby("story_id").cumcount()])
    step = min(0.22, 0.8 / max(1, int(stack.max()) + 1)) if len(stack) else 0.22  # stacked articles stay in their row
    y = order["story_id"].map(row_of) + step * stack.reindex(order.index)
    dated_ax.scatter(dated["date"], y[dated.index], color=groups[dated.index].map(colours).tolist(), s=50, zorder=3)
    undated_ax.scatter(np.zeros(len(undated)), y[undated.index], edgecolors=groups[undated.index].map(colours).tolist(),
                       s=50, facecolors="none", linewidths=1.5)
    if named:
        for idx, article in dated.iterrows():
            dated_ax.annotate(labels[article["article_id"]], (article["date"], y[idx]), xytext=(6, 4),
                              textcoords="offset points", fontsize=8)
        for idx, article in undated.iterrows():
            undated_ax.annotate(labels[article["article_id"]], (0, y[idx]), xytext=(7, -3),
                                textcoords="offset points", fontsize=8)
    if dated.empty:
        dated_ax.text(0.5, 0.5, "No article states its publication date.", ha="center", va="center",
                      color="#444444", transform=dated_ax.transAxes)
        dated_ax.set_xticks([])
    else:
        span = dated["date"].max() - dated["date"].min()
        pad = max(span * 0.25, pd.Timedelta(days=3))
        dated_ax.set_xlim(dated["date"].min() - pad, dated["date"].max() + pad)
        locator = mdates.AutoDateLocator(maxticks=6)
        dated_ax.xaxis.set_major_locator(locator)
        dated_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    dated_ax.set_xlabel("publication date (as stated by the article or its metadata)")
    story_label = order.drop_duplicates("story_id").set_index("story_id")["story_label"]
    named_rows = story_rows if len(story_rows) <= MAX_TICK_LABELS else []
    dated_ax.set_yticks([row_of[s] for s in named_rows], [describe_story(s, story_label[s], 30) for s in named_rows],
                        fontsize=tick_fontsize(len(story_rows)))
    if not named_rows:
        dated_ax.set_ylabel(f"{len(story_rows)} stories (too many to name)")
    dated_ax.set_ylim(-0.6, len(story_rows) - 0.3)
    dated_ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    undated_ax.set_xlim(-0.2, 2.0)
    undated_ax.set_xticks([])
    undated_ax.tick_params(axis="y", left=False)
    undated_ax.spines[["left", "bottom"]].set_visible(False)
    undated_ax.set_title(f"date unknown ({len(undated)})", fontsize=9, fontweight="normal", color="#444444")
    dated_ax.set_title(title, loc="left")
    return fig


def save_figure(fig: Figure, figures_dir: str | Path, name: str) -> dict[str, str]:
    """Write ``fig`` as ``<figures_dir>/<name>.png`` (DPI dots per inch) and ``.svg`` with no
    date or software metadata and salted SVG ids, so equal figures give equal bytes, then clear
    ``fig``: a figure's artists refer to each other, so they wait for Python's cycle collector
    once no longer used (a claim map of 582,768 points held some 50 MiB through the next figures).
    Returns {"name", "png", "svg"}, the paths relative to the parent of ``figures_dir`` (the run folder)."""
    folder = Path(figures_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"png": folder / f"{name}.png", "svg": folder / f"{name}.svg"}
    with mpl.rc_context(STYLE):
        fig.savefig(paths["png"], format="png", dpi=DPI, metadata=PNG_METADATA)
        fig.savefig(paths["svg"], format="svg", metadata=SVG_METADATA)
    fig.clear()
    return {"name": name, **{kind: f"{folder.name}/{path.name}" for kind, path in paths.items()}}
