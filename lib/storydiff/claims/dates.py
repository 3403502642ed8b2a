"""Dates, weekdays, relative dates and times in a sentence, resolved against the publication date.

Each date is a dict: ``text`` (as written), ``weekday`` ("" or Monday..Sunday, when one is
named), ``date`` (ISO 8601 at the precision the text gives: ``2023-03-05``, ``2023-03``,
``2023``, or an ISO week ``2023-W10`` for "last week"; "" when it cannot be resolved: a
weekday or "this year" is resolved only when the publication date is known, never guessed),
``relative`` ("" or the relative expression, lower case: "last week", "this year",
"recent years", "the day before"), ``time`` ("" or ``HH:MM`` for times such as "2.15pm") and
``char_start``/``char_end`` (offsets of ``text`` in the sentence).

A named weekday is taken as the latest such day on or before publication (news reports the
past), or the first one after it when the sentence speaks of the future ("will", "next").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from spacy.tokens import Doc, Span, Token

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAY_ABBR = {"Mon": 0, "Tue": 1, "Tues": 1, "Wed": 2, "Thu": 3, "Thur": 3, "Thurs": 3,
                 "Fri": 4, "Sat": 5, "Sun": 6}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"Sept": 9}
_MONTH = r"(?P<month>(?:" + "|".join(MONTHS) + r")|(?:" + "|".join(_MONTH_ABBR) + r")\.?)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>1[89]\d\d|20\d\d)"
_WEEKDAY_PREFIX = (r"(?:(?P<wd>" + "|".join(WEEKDAYS) + "|" + "|".join(_WEEKDAY_ABBR)
                   + r")\.?,?\s+)?")
EXPLICIT_RES = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
    re.compile(_WEEKDAY_PREFIX + r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b"),
    re.compile(_WEEKDAY_PREFIX + r"\b" + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + r"\b"),
    re.compile(_WEEKDAY_PREFIX + r"\b" + _MONTH + r"\s+" + _DAY + r"\b(?![,.]?\d)"),
    re.compile(_WEEKDAY_PREFIX + r"\b" + _DAY + r"\s+" + _MONTH + r"\b"),
    re.compile(r"\b" + _MONTH + r"\s+" + _YEAR + r"\b"),
]
BARE_MONTH_RE = re.compile(
    r"(?i:\b(?:in|since|last|next|this|early|late|mid-|until|by|from|to|through|before|after|during"
    r"|end\s+of|start\s+of|an?)\s+)" + _MONTH + r"\b")
WEEKDAY_RE = re.compile(r"\b(?:(?P<mod>last|next|this|past|coming)\s+)?(?P<wd>"
                        + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)
RELATIVE_RE = re.compile(
    r"(?i)\b(?:(?:earlier|later)\s+)?(?P<rel>(?:this|last|next|past|the\s+next|the\s+past)\s+"
    r"(?P<unit>week|weekend|month|year)|today|yesterday|tomorrow|tonight|the\s+day\s+before"
    r"|the\s+previous\s+day|the\s+following\s+day|recent\s+(?:years|months|weeks|days)"
    r"|(?:the\s+)?(?:past|last|next|coming)\s+(?:few|couple\s+of)\s+(?:years|months|weeks|days)"
    r"|(?:this|last|next)\s+(?:spring|summer|autumn|fall|winter)"
    r"|(?P<n>\d+|a|an|a few|several|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?P<ago_unit>day|week|month|year)s?\s+ago)\b")
TIME_RE = re.compile(r"(?i)\b(?P<h>[01]?\d|2[0-3])(?:[.:](?P<m>[0-5]\d))?\s?(?P<ampm>[ap]m\b|[ap]\.m\.)"
                     r"|\b(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)\b")
YEAR_RE = re.compile(r"(?:(?<=\bmid-)|(?<![\w$£€¥.,-]))" + _YEAR + r"(?![\w%]|[.,]\d|\s?(?i:per ?cent|percent|"
                     r"thousand|million|billion|trillion|bn)\b)")
_FUTURE_AUX = {"will", "shall", "’ll", "'ll", "wo"}
_SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                  "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def month_number(name: str) -> int:
    """1..12 for a month name or abbreviation ("March", "Mar", "Mar.", "Sept")."""
    name = name.rstrip(".")
    return MONTHS.index(name) + 1 if name in MONTHS else _MONTH_ABBR[name]


def weekday_number(name: str) -> int:
    """0 (Monday) .. 6 (Sunday) for a weekday name or abbreviation."""
    name = name.rstrip(".").capitalize()
    return WEEKDAYS.index(name) if name in WEEKDAYS else _WEEKDAY_ABBR[name]


def resolve_weekday(weekday: int, published: dt.date, future: bool, strict: bool = False) -> dt.date:
    """The day with ``weekday`` nearest to ``published``: on or before it (or on or after it when
    ``future``); ``strict`` excludes ``published`` itself ("last Monday", "next Monday")."""
    if future:
        delta = (weekday - published.weekday()) % 7 or (7 if strict else 0)
        return published + dt.timedelta(days=delta)
    delta = (published.weekday() - weekday) % 7 or (7 if strict else 0)
    return published - dt.timedelta(days=delta)


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def resolve_relative(rel: str, published: dt.date | None) -> str:
    """ISO date of a relative expression ("last week" -> "2023-W09"), or "" when it cannot be
    resolved (no publication date, or an expression without an anchor: "recent years")."""
    if published is None:
        return ""
    rel = " ".join(rel.lower().split())
    days = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}
    if rel in days:
        return (published + dt.timedelta(days=days[rel])).isoformat()
    m = re.fullmatch(r"(?:the )?(this|last|next|past) (week|weekend|month|year)", rel)
    if m:
        step = {"this": 0, "last": -1, "past": -1, "next": 1}[m.group(1)]
        unit = m.group(2)
        if unit in ("week", "weekend"):
            return _iso_week(published + dt.timedelta(weeks=step))
        if unit == "month":
            return "%04d-%02d" % _shift_month(published.year, published.month, step)
        return str(published.year + step)
    m = re.fullmatch(r"(\w+|a few) (day|week|month|year)s? ago", rel)
    if m:
        if m.group(1) not in _SMALL_NUMBERS and not m.group(1).isdigit():
            return ""  # "a few weeks ago", "several years ago"
        n = int(m.group(1)) if m.group(1).isdigit() else _SMALL_NUMBERS[m.group(1)]
        unit = m.group(2)
        if unit == "day":
            return (published - dt.timedelta(days=n)).isoformat()
        if unit == "week":
            return _iso_week(published - dt.timedelta(weeks=n))
        if unit == "month":
            return "%04d-%02d" % _shift_month(published.year, published.month, -n)
        return str(published.year - n)
    return ""


def parse_published(published: str | None) -> dt.date | None:
    """The publication date from an ISO string ("2023-03-06"), or None when empty/invalid."""
    try:
        return dt.date.fromisoformat(str(published)[:10]) if published else None
    except ValueError:
        return None


def _entry(text: str, start: int, end: int, weekday: str = "", date: str = "",
           relative: str = "", time: str = "") -> dict[str, Any]:
    return {"text": text[start:end], "weekday": weekday, "date": date, "relative": relative,
            "time": time, "char_start": start, "char_end": end}


def _explicit(m: re.Match, published: dt.date | None) -> tuple[str, str]:
    """(ISO date, weekday name) of an explicit-date match; a missing year comes from the
    publication date (the year before when that would put the day months after publication)."""
    groups = m.groupdict()
    month = int(groups["month"]) if groups["month"].isdigit() else month_number(groups["month"])
    weekday = WEEKDAYS[weekday_number(groups["wd"])] if groups.get("wd") else ""
    if groups.get("day") is None:
        return f"{int(groups['year']):04d}-{month:02d}", weekday
    day = int(groups["day"])
    year = int(groups["year"]) if groups.get("year") else None
    if year is None:
        if published is None:
            return "", weekday
        year = published.year
        if dt.date(year, month, min(day, 28)) > published + dt.timedelta(days=60):
            year -= 1
    try:
        return dt.date(year, month, day).isoformat(), weekday
    except ValueError:
        return "", weekday


def extract_dates(doc: Doc | Span, published: dt.date | None) -> list[dict[str, Any]]:
    """Dates, weekdays, relative dates and times of one sentence, in text order, without
    overlaps (an explicit date wins over the weekday or year inside it)."""
    text = doc.text
    found: list[dict[str, Any]] = []

    def free(start: int, end: int) -> bool:
        return not any(d["char_start"] < end and start < d["char_end"] for d in found)

    for pattern in EXPLICIT_RES:
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                date, weekday = _explicit(m, published)
                found.append(_entry(text, m.start(), m.end(), weekday, date))
    for m in TIME_RE.finditer(text):
        if free(m.start(), m.end()):
            hour = int(m.group("h") or m.group("h24"))
            minute = int(m.group("m") or m.group("m24") or 0)
            if m.group("ampm"):
                hour = hour % 12 + (12 if m.group("ampm").lower().startswith("p") else 0)
            found.append(_entry(text, m.start(), m.end(), time=f"{hour:02d}:{minute:02d}"))
    for m in RELATIVE_RE.finditer(text):
        if free(m.start("rel"), m.end("rel")):
            rel = " ".join(m.group("rel").lower().split())
            found.append(_entry(text, m.start("rel"), m.end("rel"),
                                date=resolve_relative(rel, published), relative=rel))
    for m in WEEKDAY_RE.finditer(text):
        if not free(m.start(), m.end()) or not m.group("wd")[0].isupper():
            continue
        weekday = weekday_number(m.group("wd"))
        mod = (m.group("mod") or "").lower()
        date = ""
        if published is not None:
            date = resolve_weekday(weekday, published, future=mod in ("next", "coming") or not mod and _is_future(doc, m.start("wd")),
                                   strict=mod in ("last", "next", "past")).isoformat()
        found.append(_entry(text, m.start(), m.end(), WEEKDAYS[weekday], date))
    for m in BARE_MONTH_RE.finditer(text):
        start = m.start("month")
        if free(start, m.end()):
            month = month_number(m.group("month"))
            date = ""
            if published is not None:
                year = published.year - (1 if month > published.month else 0)
                date = f"{year:04d}-{month:02d}"
            found.append(_entry(text, start, m.end(), date=date))
    for m in YEAR_RE.finditer(text):
        if free(m.start(), m.end()) and not _counts_things(doc, m.end()):
            found.append(_entry(text, m.start(), m.end(), date=m.group("year")))
    return sorted(found, key=lambda d: d["char_start"])


def _token_from(doc: Doc | Span, char: int) -> Token | None:
    """The first token of ``doc`` at or after sentence offset ``char``."""
    offset = doc.start_char if isinstance(doc, Span) else 0
    return next((t for t in doc if t.idx - offset >= char), None)


def _is_future(doc: Doc | Span, char: int) -> bool:
    """Whether the verb governing the word at ``char`` is in the future tense ("will meet")."""
    token = _token_from(doc, char)
    chain = [token, *token.ancestors] if token is not None else []
    verb = next((a for a in chain if a.pos_ in ("VERB", "AUX")), None)
    return verb is not None and any(c.dep_ == "aux" and c.lower_ in _FUTURE_AUX for c in verb.children)


def _counts_things(doc: Doc | Span, end: int) -> bool:
    """Whether the four-digit number ending at ``end`` counts the plural noun right after it
    ("2000 people"), which makes it a quantity rather than a year."""
    token = _token_from(doc, end + 1)
    return token is not None and token.tag_ == "NNS" and token.idx - (doc.start_char if isinstance(doc, Span) else 0) == end + 1
