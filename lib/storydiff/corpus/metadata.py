"""Infer an article's metadata from its text, recording where each value came from.

Only what the text states is taken: a labelled date ("date 2023-03-06", "Published: ..."), a
date line directly under a byline, the byline's name, the outlet named in an author bio ("... is
a journalist at 247 News Reel", "As a content writer at newszkz.com") or in the outlet's own
back-reference ("Business Insider previously reported" where the article also writes "BI
previously reported"), and "Source:" lines. A date at the top of a page with no byline above it
is the site header's date, not the publication date. Unknown stays empty.
"""

from __future__ import annotations

import re
from datetime import date

from dateutil import parser as dateparser

from storydiff.corpus.clean import BIO, BYLINE, DATE_ONLY, LABELLED_DATE, SOURCE_LINE, Block

OUTLET_IN_BIO = re.compile(
    r"\b(?:at|for|with)\s+(?P<outlet>(?:[A-Z0-9][\w.&'’-]*|[a-z0-9-]+\.(?:com|org|net|co\.uk|news|info))"
    r"(?:\s+[A-Z0-9][\w.&'’-]*){0,4})"
)
BACK_REFERENCE = re.compile(r"\b(?P<name>[A-Z][\w&'’-]+(?:\s+[A-Z][\w&'’-]+){0,3})\s+(?:previously|earlier|first)\s+reported\b")


def parse_date(text: str) -> str:
    """ISO date (``YYYY-MM-DD``) of a date string, or ``""`` when it does not parse."""
    cleaned = re.sub(r"^[•·|\-–—\s]+", "", text).strip()
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned)
    try:
        parsed = dateparser.parse(cleaned, default=None, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return ""
    return parsed.date().isoformat() if parsed and isinstance(parsed.date(), date) else ""


def _initialism(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isupper())


def infer_metadata(text: str, blocks: list[Block]) -> dict[str, str]:
    """Metadata stated in ``text``: published, author, outlet, sources (each ``""`` if unknown)."""
    lines = [text[b.start : b.end] for b in blocks]
    found = {"published": "", "author": "", "outlet": "", "sources": ""}
    for i, line in enumerate(lines[:4]):
        label = LABELLED_DATE.match(line)
        if label:
            found["published"] = parse_date(label.group("date"))
            break
    bylines = [i for i, line in enumerate(lines) if BYLINE.match(line)]
    if bylines:
        found["author"] = BYLINE.match(lines[bylines[0]]).group("name")
    if not found["published"]:
        for i in bylines:
            after = next((j for j in range(i + 1, min(i + 3, len(lines))) if DATE_ONLY.match(lines[j])), None)
            if after is not None:
                found["published"] = parse_date(DATE_ONLY.match(lines[after]).group("date"))
                break
    for line in lines:
        bio = BIO.match(line)
        if not bio:
            continue
        if bio.group("name") and not found["author"]:
            found["author"] = bio.group("name")
        outlet = OUTLET_IN_BIO.search(line, bio.end() - 5 if bio.group("name") else 0)
        if outlet and not found["outlet"]:
            found["outlet"] = outlet.group("outlet").rstrip(".,")
    if not found["outlet"]:
        for match in BACK_REFERENCE.finditer(text):
            name = match.group("name")
            initials = _initialism(name)
            if len(name.split()) > 1 and re.search(rf"\b{initials}\s+(?:previously|earlier|first)\s+reported\b", text):
                found["outlet"] = name
                break
    sources = [SOURCE_LINE.match(line).group("sources") for line in lines if SOURCE_LINE.match(line)]
    found["sources"] = "; ".join(sources)
    return found


def infer_title(text: str, blocks: list[Block]) -> str:
    """The headline: the first content heading of five or more words before the first body paragraph."""
    for block in blocks:
        line = text[block.start : block.end]
        if block.reason:
            continue
        if not block.is_heading:
            return ""
        if len(line.split()) >= 5:
            return line
    return ""
