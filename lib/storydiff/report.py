"""HTML pieces for the report and the notebooks. Every piece of corpus text is escaped here."""

from __future__ import annotations

from html import escape

import pandas as pd
from IPython.display import HTML


def html_table(df: pd.DataFrame, *, max_rows: int | None = None, empty: str = "None.") -> HTML:
    """``df`` as an HTML table with every cell escaped; ``empty`` when it has no rows."""
    if df.empty:
        return HTML(f"<p class='sd-muted'>{escape(empty)}</p>")
    shown = df if max_rows is None else df.head(max_rows)
    note = "" if len(shown) == len(df) else f"<p class='sd-muted'>First {len(shown)} of {len(df)} rows.</p>"
    return HTML(shown.to_html(index=False, escape=True, na_rep="", border=0) + note)


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
