"""HTML pieces for the report and the notebooks. Every piece of corpus text is escaped here."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
from IPython.display import HTML

from storydiff.compare.textdiff import match_words, word_spans

# how DataFrame.to_html(escape=True) writes text: entities in headers and cells, control characters as
# backslash escapes in cells only
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
HEADER_ESCAPES = str.maketrans(ENTITIES)
CELL_ESCAPES = str.maketrans({"\t": r"\t", "\r": r"\r", "\n": r"\n", **ENTITIES})
# JupyterLab right-aligns and centres table cells with a more specific rule than plain CSS
LEFT_ALIGN = "<style>.sd-view td, .sd-view th {text-align: left !important; vertical-align: top !important}</style>"


def wrap_view(html: str) -> str:
    """``html`` in a container whose tables read left-aligned in JupyterLab and in the report."""
    return f"<div class='sd-view'>{LEFT_ALIGN}{html}</div>"


def note_first_rows(shown: int, total: int) -> str:
    """The HTML line under a table cut to its first ``shown`` of ``total`` rows ('' when whole)."""
    return "" if shown == total else f"<p class='sd-muted'>First {shown} of {total} rows.</p>"


def html_table(df: pd.DataFrame, *, max_rows: int | None = None, n_rows: int | None = None, empty: str = "None.") -> HTML:
    """``df`` as an HTML table with every cell escaped (its first ``max_rows`` rows when given);
    ``empty`` when it has no rows. ``n_rows``: the rows of the whole table when ``df`` holds only
    its first rows (``runfolder.read_head``), for the note under the table."""
    if df.empty:
        return HTML(f"<p class='sd-muted'>{escape(empty)}</p>")
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)  # head() alone took 0.3 ms
    note = note_first_rows(len(shown), len(df) if n_rows is None else n_rows)
    table = write_text_table(shown)
    if table is None:
        table = shown.to_html(index=False, escape=True, na_rep="", border=0)
    return HTML(wrap_view(table + note))


def write_text_table(df: pd.DataFrame) -> str | None:
    """``df.to_html(index=False, escape=True, na_rep="", border=0)``, the same characters, written
    here when every column is named by a string and holds strings (a missing one: NaN) or NumPy
    integers; None for any other frame (pandas then formats it: floats to a common precision and
    so on). pandas took about 1 ms for each of a story page's small tables."""
    if not len(df.columns) or not df.columns.is_unique or not all(isinstance(c, str) for c in df.columns):
        return None
    cells = [format_text_cells(df[c]) for c in df.columns]
    if any(c is None for c in cells):
        return None
    head = "".join(f"      <th>{write_cell_text(c, HEADER_ESCAPES)}</th>\n" for c in df.columns)
    body = "".join("    <tr>\n" + "".join(f"      <td>{cell}</td>\n" for cell in row) + "    </tr>\n" for row in zip(*cells))
    return (f'<table class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n{head}    </tr>\n  </thead>\n'
            f"  <tbody>\n{body}  </tbody>\n</table>")


def format_text_cells(column: pd.Series) -> list[str] | None:
    """Each value of ``column`` as ``DataFrame.to_html(escape=True)`` writes it (``write_cell_text``,
    NaN as ""), or None when the column holds anything but strings and NaN, or is not of NumPy
    integers."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu":
        return [str(value) for value in column.tolist()]
    if not (isinstance(column.dtype, pd.StringDtype) or column.dtype == object):
        return None
    cells = []
    for value in column.tolist():
        if isinstance(value, str):
            cells.append(write_cell_text(value, CELL_ESCAPES))
        elif isinstance(value, float) and value != value:  # NaN; None in an object column is "None" to pandas
            cells.append("")
        else:
            return None
    return cells


def write_cell_text(text: str, escapes: dict[int, str]) -> str:
    """``text`` as ``DataFrame.to_html(escape=True)`` writes a header or cell: ``escapes``
    (``HEADER_ESCAPES`` or ``CELL_ESCAPES``), outer whitespace stripped, then each pair of spaces
    as two non-breaking ones."""
    return text.translate(escapes).strip().replace("  ", "&nbsp;&nbsp;")


def html_cards(figures: dict[str, int | float | str]) -> HTML:
    """A row of headline figures, label -> value."""
    cards = "".join(
        f"<div class='sd-card'><b>{escape(str(value))}</b>{escape(label)}</div>"
        for label, value in figures.items()
    )
    return HTML(f"<div class='sd-cards'>{cards}</div>")


def html_text(text: str) -> HTML:
    """A paragraph of plain text (escaped), for sentences built from corpus values."""
    return HTML(f"<p>{escape(text)}</p>")


def mark_changed_words(text_a: str, text_b: str) -> tuple[str, str]:
    """Both texts as escaped HTML with the words that differ between them marked.

    Words are compared as in ``storydiff.compare.textdiff`` (case and curly apostrophes ignored);
    everything between words keeps its original spelling.
    """
    spans_a, spans_b = word_spans(text_a), word_spans(text_b)
    matcher = match_words([text_a[s:e] for s, e in spans_a], [text_b[s:e] for s, e in spans_b])
    changed_a: set[int] = set()
    changed_b: set[int] = set()
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            changed_a.update(range(i1, i2))
            changed_b.update(range(j1, j2))
    return _mark(text_a, spans_a, changed_a), _mark(text_b, spans_b, changed_b)


def _mark(text: str, spans: list[tuple[int, int]], changed: set[int]) -> str:
    """Escape ``text``, wrapping each run of changed words (and the gaps inside it) in a mark."""
    parts, last = [], 0
    for index, (start, end) in enumerate(spans):
        gap = escape(text[last:start])
        opens = index in changed and index - 1 not in changed
        closes = index in changed and index + 1 not in changed
        parts.append(gap + ("<mark class='sd-diff'>" if opens else "") + escape(text[start:end]) + ("</mark>" if closes else ""))
        last = end
    parts.append(escape(text[last:]))
    return "".join(parts)


def html_discrepancies(
    discrepancies: pd.DataFrame, labels: dict[str, str], *, max_rows: int | None = None, n_rows: int | None = None
) -> HTML:
    """Discrepancies side by side: each article's wording with the differing words marked (the
    first ``max_rows`` when given; ``n_rows`` as for ``html_table``)."""
    if discrepancies.empty:
        return HTML("<p class='sd-muted'>No discrepancy found.</p>")
    listed = discrepancies if max_rows is None else discrepancies.head(max_rows)
    rows = []
    for d in listed.itertuples():
        marked = mark_changed_words(d.text_a, d.text_b)
        cells = ""
        for article, value, text, html in zip((d.article_a, d.article_b), (d.value_a, d.value_b), (d.text_a, d.text_b), marked):
            shown = "" if str(value) in text else f": {escape(str(value))}"
            cells += f"<td><b>{escape(labels.get(article, article))}</b>{shown}<br>{html}</td>"
        rows.append(
            f"<tr><td><b>{escape(d.kind)}</b><br><span class='sd-muted'>{escape(str(d.fact_id))}</span></td>"
            f"{cells}<td>{escape(d.explanation)}</td></tr>"
        )
    head = "<tr><th>kind</th><th>article A says</th><th>article B says</th><th>explanation</th></tr>"
    table = f"<table class='sd-discrepancies'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    return HTML(wrap_view(table + note_first_rows(len(listed), len(discrepancies) if n_rows is None else n_rows)))


def summarise_story_coverage(
    coverage: pd.DataFrame, facts: pd.DataFrame, claims: pd.DataFrame, story_id: str,
    min_checkworthiness: float = 0.5,
) -> dict[str, pd.DataFrame]:
    """What the articles of one story share, add alone and omit, from the ``coverage`` table.

    ``coverage`` is the comparison stage's long table (one row per fact and article of its story,
    with ``status``), ``facts`` gives each fact's text, ``claims`` each claim's kind and
    checkworthiness. Returns ``shared`` (fact_id, text): facts every article carries;
    ``only`` (article_id, fact_id, kind, checkworthiness, text): checkable facts that one article
    alone carries (opinion and filler left out), most checkworthy first; ``omitted`` (article_id,
    fact_id, n_covering, text): facts most of the story's articles carry but this one does not.
    """
    rows = coverage[coverage["story_id"] == story_id]
    fact, article, status, claim_ids = (rows[c].tolist() for c in ("fact_id", "article_id", "status", "claim_ids"))
    n_covering = rows["n_covering"].tolist()
    # a story's rows are a few dozen: Python lists and dicts, not a pandas operation per step
    text_of: dict[str, str] = {}
    for fact_id, text in zip(facts["fact_id"].tolist(), facts["text"].tolist()):
        if fact_id not in text_of and isinstance(text, str):
            text_of[fact_id] = text
    shared, shared_facts, shared_texts = [], set(), set()
    for fact_id in (f for f, s in zip(fact, status) if s == "shared"):
        text = text_of.get(fact_id)
        if fact_id not in shared_facts and text not in shared_texts:
            shared.append((fact_id, text))
            shared_texts.add(text)
        shared_facts.add(fact_id)
    claim_row = {claim_id: i for i, claim_id in enumerate(claims["claim_id"].tolist())}
    kind, worth, claim_text = (claims[c].tolist() for c in ("kind", "checkworthiness", "text"))
    only = [
        (a, f, kind[i], worth[i], claim_text[i]) for f, a, s, ids in zip(fact, article, status, claim_ids)
        if s == "only here" and (i := claim_row.get(ids.split(";")[0])) is not None
        and kind[i] != "opinion" and worth[i] >= min_checkworthiness
    ]
    only.sort(key=lambda row: (row[0], -row[3], row[1]))  # by article, most checkworthy first, by fact
    omitted = [(a, f, n, text_of.get(f)) for f, a, s, n in zip(fact, article, status, n_covering) if s == "omitted"]
    return {
        "shared": pd.DataFrame(shared, columns=["fact_id", "text"]),
        "only": pd.DataFrame(only, columns=["article_id", "fact_id", "kind", "checkworthiness", "text"]),
        "omitted": pd.DataFrame(omitted, columns=["article_id", "fact_id", "n_covering", "text"]),
    }


def html_list(items: list[str], empty: str = "None.") -> HTML:
    """A bulleted list of plain-text items (escaped)."""
    if not items:
        return HTML(f"<p class='sd-muted'>{escape(empty)}</p>")
    return HTML("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")


def html_heading(text: str, level: int = 3) -> HTML:
    """A heading built from corpus values (escaped)."""
    return HTML(f"<h{level}>{escape(text)}</h{level}>")
