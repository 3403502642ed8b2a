"""A report that stays readable for a large corpus: one page per story, an index and top lists.

The evidence of one story (its articles, discrepancies side by side, shared, single-outlet and
omitted facts, reuse) is built once by ``html_story``: the report shows it inline for a small
corpus, and ``build_story_pages`` wraps it in standalone pages ``stories/<story_id>.html`` for a
large one. Every piece of corpus text is escaped; pages carry the report's CSS and Content
Security Policy, and no script. ``iterate_run_story_chunks`` reads the run folder a chunk of
stories at a time, so the report holds a few chunks' rows, not the corpus's, and
``build_run_story_pages`` builds each chunk's pages on an engine: in the report's process, or on
the workers of a Dask cluster, which then share the pages' work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from IPython.display import HTML

from storydiff.export import CONTENT_SECURITY_POLICY
from storydiff.report import (
    html_discrepancies, html_heading, html_list, html_table, html_text, summarise_story_coverage, wrap_view,
)
from storydiff.runfolder import (
    as_large_strings, atomic_write, locate_strings, open_scratch_dir, split_table_by_chunk, sum_part_counts,
)

STORIES_DIR = "stories"
REPORT_FROM_STORY = "../report.html"  # a story page's link back, relative to stories/
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
SUMMARY_COLUMNS = ["story_id", "label", "articles", "facts_shared", "discrepancies", "page"]
COUNT_HEADERS = {"articles": "articles", "facts_shared": "facts shared", "discrepancies": "discrepancies"}
TOP_COLUMNS = {"label": "story", "story_id": "id", **COUNT_HEADERS}
INDEX_COLUMNS = {"story_id": "id", "label": "label", **COUNT_HEADERS, "page": "page"}
STORY_CHUNK_ARTICLES = 2_000  # articles whose stories' rows are in memory at once
CHUNK_READS = {  # table: (the column that places a row in a chunk of stories, a story or an article id, the columns read)
    "claims": ("article_id", "article", ["claim_id", "article_id", "kind", "checkworthiness", "text"]),
    "facts": ("story_id", "story", ["fact_id", "article_id", "story_id", "text"]),
    "coverage": ("story_id", "story", None),
    "discrepancies": ("article_a", "article", None),
    "reuse": ("article_a", "article", None),
}


@dataclass(frozen=True)
class StoryTables:
    """The run's tables a story's evidence comes from (columns as in DESIGN.md; ``coverage`` as
    written by the compare stage) and each article's readable label (article_id -> label)."""

    articles: pd.DataFrame
    stories: pd.DataFrame
    claims: pd.DataFrame
    facts: pd.DataFrame
    coverage: pd.DataFrame
    discrepancies: pd.DataFrame
    reuse: pd.DataFrame
    labels: dict[str, str]


def story_page_path(story_id: str) -> str:
    """Path of a story's page relative to the run folder, ``stories/<story_id>.html``.

    Raises ``ValueError`` for an id that is not a plain file name (letters, digits, ``_``, ``-``).
    """
    if not SAFE_ID.fullmatch(story_id):
        raise ValueError(f"story id {story_id!r} cannot name a page: letters, digits, _ and - only")
    return f"{STORIES_DIR}/{story_id}.html"


def story_title(story_id: str, label: str, n_articles: int) -> str:
    """A story's heading, e.g. ``"S001: budget vote (2 articles)"``."""
    return f"{story_id}: {label} ({n_articles} article{'s' if n_articles > 1 else ''})"


def summarise_stories(
    stories: pd.DataFrame, facts: Iterable[pd.DataFrame], discrepancies: Iterable[pd.DataFrame]
) -> pd.DataFrame:
    """One row per story of ``stories``, in story_id order: SUMMARY_COLUMNS.

    ``articles`` counts the story's articles, ``facts_shared`` its facts carried by two or more
    articles, ``discrepancies`` the discrepancies between two of its articles; ``page`` is
    ``story_page_path``. ``facts`` and ``discrepancies`` are those tables' parts, read one at a
    time (columns fact_id, story_id, n_articles; article_a), each fact's rows in one part, as the
    comparison stage writes them (a part per block of whole stories).
    """
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    summary = stories.groupby("story_id", sort=True).agg(label=("label", "first"), articles=("article_id", "nunique"))
    summary["facts_shared"] = sum_part_counts(
        part[part["n_articles"] > 1].groupby("story_id")["fact_id"].nunique() for part in facts)
    summary["discrepancies"] = sum_part_counts(part["article_a"].map(story_of).value_counts() for part in discrepancies)
    summary = summary.fillna({"facts_shared": 0, "discrepancies": 0}).astype({"facts_shared": int, "discrepancies": int})
    summary = summary.reset_index()
    summary["page"] = summary["story_id"].map(story_page_path)
    return summary[SUMMARY_COLUMNS]


def rank_stories(summary: pd.DataFrame, by: str, n: int) -> pd.DataFrame:
    """The ``n`` stories of ``summary`` with most ``by`` (ties in story_id order); stories with
    none left out."""
    ranked = summary[summary[by] > 0].sort_values([by, "story_id"], ascending=[False, True], kind="stable")
    return ranked.head(n).reset_index(drop=True)


def html_story_links(summary: pd.DataFrame, columns: dict[str, str], link: str, empty: str = "None.") -> HTML:
    """Rows of ``summary`` as a table of ``columns`` (column -> header), every cell escaped, the
    ``link`` column's text a relative link to the row's ``page``."""
    if summary.empty:
        return HTML(f"<p class='sd-muted'>{escape(empty)}</p>")
    head = "".join(f"<th>{escape(header)}</th>" for header in columns.values())
    rows = []
    for row in summary.to_dict("records"):
        cells = []
        for column in columns:
            text = escape(str(row[column]))
            cells.append(f"<td><a href='{escape(row['page'])}'>{text}</a></td>" if column == link else f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return HTML(wrap_view(f"<table class='sd-stories'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"))


def html_top_stories(summary: pd.DataFrame, by: str, n: int) -> HTML:
    """The ``n`` stories with most ``by`` (``articles`` or ``discrepancies``), each story's
    label a link to its page."""
    return html_story_links(rank_stories(summary, by, n), TOP_COLUMNS, link="label", empty=f"No story has {by}.")


def html_story_index(summary: pd.DataFrame) -> HTML:
    """Every story of ``summary``, one row each, with a link to its page."""
    return html_story_links(summary, INDEX_COLUMNS, link="page", empty="No story.")


def name_articles(article_ids: pd.Series, labels: dict[str, str]) -> list[str]:
    """The label of each of ``article_ids`` (the id itself when it has none), looked up one at a
    time: ``Series.map`` of a dict makes a Series of the whole dict, every article of the corpus,
    at each call, which made the report stage's time grow with stories x articles."""
    return [labels.get(a, a) for a in article_ids]


def html_story(
    tables: StoryTables, story_id: str, *, max_only_per_article: int = 6, max_rows: int | None = None, level: int = 4
) -> list[HTML]:
    """What the report shows for one story, heading excepted, as display pieces in order: its
    articles; then, when it has two or more, its discrepancies side by side, the facts every
    article carries, what one article alone reports (``max_only_per_article`` at most each), what
    most report and one leaves out (three articles or more), and text reuse, strongest first.
    With ``max_rows``, each of those tables and lists shows its first ``max_rows`` rows and says
    how many there are (a story of k articles has k(k-1)/2 reuse pairs). ``level`` is the level
    of the section headings."""
    # a story's rows are a few dozen: positions found with Python lists, not a pandas filter per
    # step (some 3 ms a page, two thirds of the time of building the pages)
    labels = tables.labels
    ids = sorted(a for s, a in zip(tables.stories["story_id"].tolist(), tables.stories["article_id"].tolist()) if s == story_id)
    row_of = dict(zip(tables.articles["article_id"].tolist(), range(len(tables.articles))))
    story_articles = tables.articles.iloc[[row_of[a] for a in ids]][["title", "published", "published_from", "n_sentences"]]
    story_articles.insert(0, "label", [labels[i] for i in ids])
    pieces = [html_table(story_articles, max_rows=max_rows)]
    if len(ids) == 1:
        return pieces + [html_text("A single article: nothing to compare it with.")]
    in_story = set(ids)
    coverage = summarise_story_coverage(tables.coverage, tables.facts, tables.claims, story_id)
    shared = coverage["shared"]["text"].tolist()
    more_shared = [f"... and {len(shared) - max_rows} more (table coverage)"] if max_rows is not None and len(shared) > max_rows else []
    only = coverage["only"]
    only = only.iloc[[i for i, n in enumerate(number_within(only["article_id"].tolist())) if n < max_only_per_article]]
    pieces += [
        html_heading("Discrepancies", level),
        html_discrepancies(select_pairs_within(tables.discrepancies, in_story), labels, max_rows=max_rows),
        html_heading("Facts every article carries", level), html_list(shared[:max_rows] + more_shared),
        html_heading("What one article alone reports", level),
        html_table(name_article_column(only[["article_id", "kind", "text"]], labels), max_rows=max_rows,
                   empty="Nothing checkable that only one article reports."),
    ]
    if len(ids) >= 3:
        pieces += [
            html_heading("What most articles report and one leaves out", level),
            html_table(name_article_column(coverage["omitted"][["article_id", "n_covering", "text"]], labels),
                       max_rows=max_rows, empty="No article leaves out a widely reported fact."),
        ]
    pairs = select_pairs_within(tables.reuse, in_story).sort_values(
        ["score", "article_a", "article_b"], ascending=[False, True, True], kind="stable")
    return pieces + [
        html_heading("Text reuse", level),
        html_table(pairs.assign(**{c: name_articles(pairs[c], labels) for c in ("article_a", "article_b", "likely_source")}),
                   max_rows=max_rows),
    ]


def number_within(values: list[str]) -> list[int]:
    """Each value's count of earlier equal values (0 for its first), as ``groupby().cumcount()``."""
    seen: dict[str, int] = {}
    numbers = []
    for value in values:
        numbers.append(seen.get(value, 0))
        seen[value] = numbers[-1] + 1
    return numbers


def select_pairs_within(pairs: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """The rows of ``pairs`` (article_a, article_b, ...) whose two articles are both in ``ids``."""
    both = zip(pairs["article_a"].tolist(), pairs["article_b"].tolist())
    return pairs.iloc[[row for row, (a, b) in enumerate(both) if a in ids and b in ids]]


def name_article_column(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """``frame`` with its first column, article ids, replaced by a column ``article`` of their labels."""
    named = frame.iloc[:, 1:]
    named.insert(0, "article", name_articles(frame.iloc[:, 0], labels))
    return named


def html_page(title: str, body: str, css: str, back_href: str = REPORT_FROM_STORY) -> str:
    """A standalone HTML document: ``title`` (plain text, escaped) as its title and heading, a
    link back to ``back_href``, then ``body`` (HTML already escaped), styled by ``css`` as the
    report is, under the report's Content Security Policy (no script, no request out)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{escape(title)}</title>\n<style>\n{css}\n</style>\n</head>\n"
        "<body class='jp-Notebook'>\n<main class='jp-RenderedHTMLCommon'>\n"
        f"<p><a href='{escape(back_href)}'>&larr; Back to the report</a></p>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def iterate_story_tables(tables: StoryTables) -> Iterator[tuple[str, StoryTables]]:
    """``(story_id, the story's own rows of tables)`` for every story, in story_id order, one
    story at a time: each table is sorted by story once and each story's rows are a slice of it,
    so building every page reads the corpus once rather than once per story. Rows are placed by
    their ``story_id``, else by the story of their ``article_id`` (``article_a`` for pairs)."""
    story_of = dict(zip(tables.stories["article_id"], tables.stories["story_id"]))
    keys = {"stories": "story_id", "articles": "article_id", "claims": "article_id", "facts": "article_id",
            "coverage": "story_id", "discrepancies": "article_a", "reuse": "article_a"}
    story_ids = np.array(sorted(set(tables.stories["story_id"])), dtype=object)
    sorted_tables, bounds = {}, {}
    for name, key in keys.items():
        frame = getattr(tables, name)
        story = (frame[key] if key == "story_id" else frame[key].map(story_of)).fillna("").to_numpy(dtype=object)
        order = np.argsort(story, kind="stable")
        sorted_tables[name] = frame.iloc[order]
        bounds[name] = (np.searchsorted(story[order], story_ids, "left"), np.searchsorted(story[order], story_ids, "right"))
    for i, story_id in enumerate(story_ids):
        yield story_id, StoryTables(
            **{name: frame.iloc[bounds[name][0][i] : bounds[name][1][i]] for name, frame in sorted_tables.items()},
            labels=tables.labels,
        )


def iterate_story_chunks(stories: pd.DataFrame, max_articles: int) -> Iterator[pd.DataFrame]:
    """The rows of ``stories`` a chunk of whole stories at a time, in story_id order, each chunk
    holding up to ``max_articles`` articles (a larger story is a chunk of its own)."""
    ordered = stories.sort_values(["story_id", "article_id"], kind="stable")
    sizes = ordered.groupby("story_id", sort=True).size()
    begin, count = 0, 0
    for size in sizes:
        if count and count + size > max_articles:
            yield ordered.iloc[begin : begin + count]
            begin, count = begin + count, 0
        count += size
    if count:
        yield ordered.iloc[begin : begin + count]


def key_chunks(chunks: list[pd.DataFrame], column: str) -> tuple[pa.Array, np.ndarray]:
    """The distinct values of ``column`` in each of ``chunks``, as one Arrow array (m,), and the
    chunk number (m + 1,) float of each, then NaN (for a value in no chunk)."""
    values = [as_large_strings(chunk[column].drop_duplicates()) for chunk in chunks]
    sizes = [len(v) for v in values]
    return (as_large_strings(pa.chunked_array(values, pa.large_string())),
            np.append(np.repeat(np.arange(len(chunks), dtype=float), sizes), np.nan))


def number_by_key(key: str, keyed: tuple[pa.Array, np.ndarray], batch: pa.RecordBatch, start: int) -> np.ndarray:
    """The chunk number (float, NaN for none) of each row of ``batch``, its ``key`` looked up in
    ``key_chunks``'s values (an Arrow hash set: no Python string of any id)."""
    keys, numbers = keyed
    return numbers[locate_strings(batch.column(key), keys)]


def iterate_run_story_chunks(
    run_dir: str | Path, stories: pd.DataFrame, articles: pd.DataFrame, labels: dict[str, str],
    max_articles: int = STORY_CHUNK_ARTICLES,
) -> Iterator[StoryTables]:
    """The run's tables a chunk of stories of up to ``max_articles`` articles at a time
    (``iterate_story_chunks``), in story_id order: each chunk's ``StoryTables`` holds only its
    stories' rows, articles and labels, so it can travel to a worker on its own.

    Each table the stories need (``CHUNK_READS``) is read once, a record batch at a time, and
    its rows are written to a temporary folder in the run folder, a file per chunk
    (``split_table_by_chunk``); then each chunk's files are read in turn. The folder is removed
    when the iteration ends.
    """
    chunks = list(iterate_story_chunks(stories, max_articles))
    keyed = {"story": key_chunks(chunks, "story_id"), "article": key_chunks(chunks, "article_id")}
    with open_scratch_dir(run_dir, "story-chunks") as folder:
        empty = {
            name: split_table_by_chunk(run_dir, name, columns, partial(number_by_key, key, keyed[kind]), Path(folder))
            for name, (key, kind, columns) in CHUNK_READS.items()
        }
        for number, chunk in enumerate(chunks):
            own = {name: pd.read_parquet(path) if (path := Path(folder) / f"{name}-{number}.parquet").exists()
                   else empty[name] for name in CHUNK_READS}
            ids = chunk["article_id"].tolist()
            yield StoryTables(articles=articles[articles["article_id"].isin(ids)], stories=chunk, **own,
                              labels={a: labels[a] for a in ids if a in labels})


def iterate_run_stories(
    run_dir: str | Path, stories: pd.DataFrame, articles: pd.DataFrame, labels: dict[str, str],
    max_articles: int = STORY_CHUNK_ARTICLES,
) -> Iterator[tuple[str, StoryTables]]:
    """``(story_id, the story's own rows of the run's tables)`` for every story of ``stories``, in
    story_id order, as ``iterate_story_tables`` gives them for the whole run, with one chunk of
    stories of up to ``max_articles`` articles in memory at a time (``iterate_run_story_chunks``)."""
    for chunk in iterate_run_story_chunks(run_dir, stories, articles, labels, max_articles):
        yield from iterate_story_tables(chunk)


def build_story_pages(
    stories: Iterable[tuple[str, StoryTables]], summary: pd.DataFrame, css: str, *, max_only_per_article: int = 6,
    max_rows: int | None = None,
) -> Iterator[tuple[str, str]]:
    """``(path relative to the run folder, HTML)`` of the page of every story of ``stories``
    (``(story_id, its own tables)``, as ``iterate_run_stories`` or ``iterate_story_tables`` give
    them; its path ``summary["page"]``), one at a time, each table of a page cut to ``max_rows``
    rows when given (``html_story``)."""
    rows = summary.set_index("story_id")
    for story_id, own in stories:
        story = rows.loc[story_id]
        pieces = html_story(own, story_id, max_only_per_article=max_only_per_article, max_rows=max_rows, level=2)
        body = "\n".join(piece.data for piece in pieces)
        yield story["page"], html_page(story_title(story_id, story["label"], story["articles"]), body, css)


def build_chunk_pages(
    chunk: tuple[StoryTables, pd.DataFrame], css: str, *, max_only_per_article: int = 6, max_rows: int | None = None,
) -> list[tuple[str, str]]:
    """``build_story_pages`` of one chunk of stories: its ``StoryTables`` (as
    ``iterate_run_story_chunks`` gives them) and its stories' rows of the summary; all its pages
    as a list, what an engine's task sends back."""
    tables, summary = chunk
    return list(build_story_pages(iterate_story_tables(tables), summary, css,
                                  max_only_per_article=max_only_per_article, max_rows=max_rows))


def build_run_story_pages(
    engine: Any, chunks: Iterable[StoryTables], summary: pd.DataFrame, css: str, *, max_only_per_article: int = 6,
    max_rows: int | None = None,
) -> Iterator[tuple[str, str]]:
    """``(path, HTML)`` of the page of every story of ``chunks`` (``iterate_run_story_chunks``'s,
    in story_id order), a chunk's pages at a time in chunk order, each chunk's built on ``engine``
    (``storydiff.engine``: in this process, or on a Dask cluster's workers with a few chunks in
    flight) from its tables and its rows of ``summary`` (``summarise_stories``'s: the same stories,
    in story_id order, so each chunk's rows are the next ones).

    Raises ``ValueError`` when a chunk's stories are not the next rows of ``summary``.
    """
    def with_summary() -> Iterator[tuple[StoryTables, pd.DataFrame]]:
        start = 0
        for tables in chunks:
            ids = sorted(set(tables.stories["story_id"].tolist()))
            rows = summary.iloc[start : start + len(ids)]
            if rows["story_id"].tolist() != ids:
                raise ValueError(f"the summary's rows {start}-{start + len(ids) - 1} are not the stories "
                                 f"of the next chunk ({ids[0]}-{ids[-1]})")
            start += len(ids)
            yield tables, rows

    for _, pages in engine.imap_in_order(build_chunk_pages, with_summary(), css=css,
                                         max_only_per_article=max_only_per_article, max_rows=max_rows):
        yield from pages


def write_pages(run_dir: str | Path, pages: Iterable[tuple[str, str]]) -> None:
    """Write each page (path relative to ``run_dir``, HTML) as UTF-8, atomically, as ``pages``
    gives them, then remove the story pages an earlier run left that ``pages`` did not have (the
    report would not link them, and a reader who found one would read stale evidence)."""
    written = set()
    for relative, html in pages:
        atomic_write(Path(run_dir) / relative, lambda p, html=html: p.write_text(html, encoding="utf-8"))
        written.add(relative)
    for page in (Path(run_dir) / STORIES_DIR).glob("*.html"):
        if page.relative_to(run_dir).as_posix() not in written:
            page.unlink()
