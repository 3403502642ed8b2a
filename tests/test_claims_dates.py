"""Date extraction: explicit dates, weekdays, months, years, relative dates and times,
resolved against the publication date only when it is known."""

from __future__ import annotations

import datetime as dt

import pytest

from storydiff.claims import load_nlp
from storydiff.claims.dates import extract_dates, parse_published, resolve_relative, resolve_weekday

MONDAY = dt.date(2023, 3, 6)


@pytest.fixture(scope="module")
def nlp():
    """spaCy's small English pipeline, loaded once for the module."""
    return load_nlp()


def dates(nlp, text: str, published: dt.date | None = MONDAY) -> list[tuple]:
    return [(d["text"], d["weekday"], d["date"], d["relative"], d["time"]) for d in extract_dates(nlp(text), published)]


@pytest.mark.parametrize("weekday, future, strict, expected", [
    (6, False, False, "2023-03-05"),  # "on Sunday" in a Monday article: the day before
    (0, False, False, "2023-03-06"),  # "on Monday": the day itself
    (0, False, True, "2023-02-27"),   # "last Monday"
    (4, True, False, "2023-03-10"),   # "will meet on Friday"
    (0, True, True, "2023-03-13"),    # "next Monday"
])
def test_resolve_weekday(weekday, future, strict, expected):
    assert resolve_weekday(weekday, MONDAY, future, strict).isoformat() == expected


@pytest.mark.parametrize("rel, expected", [
    ("this year", "2023"), ("last year", "2022"), ("next week", "2023-W11"), ("last week", "2023-W09"),
    ("last month", "2023-02"), ("yesterday", "2023-03-05"), ("two weeks ago", "2023-W08"),
    ("recent years", ""), ("the day before", ""),
])
def test_resolve_relative(rel, expected):
    assert resolve_relative(rel, MONDAY) == expected


def test_nothing_resolves_without_a_publication_date(nlp):
    assert dates(nlp, "The session began on Sunday and will run until next week; this year it grew.", None) == [
        ("Sunday", "Sunday", "", "", ""), ("next week", "", "", "next week", ""), ("this year", "", "", "this year", "")]


def test_weekday_past_and_future(nlp):
    assert dates(nlp, "The session began on Sunday and will run until next week.") == [
        ("Sunday", "Sunday", "2023-03-05", "", ""), ("next week", "", "2023-W11", "next week", "")]
    assert dates(nlp, "The delegates will meet on Friday.") == [("Friday", "Friday", "2023-03-10", "", "")]


@pytest.mark.parametrize("text, expected", [
    ("• Sat. Apr 20th, 2024", ("Sat. Apr 20th, 2024", "Saturday", "2024-04-20", "", "")),
    ("Mar 6, 2024", ("Mar 6, 2024", "", "2024-03-06", "", "")),
    ("It opened on 6 March 2023.", ("6 March 2023", "", "2023-03-06", "", "")),
    ("date 2023-03-06 Chinese President", ("2023-03-06", "", "2023-03-06", "", "")),
    ("The plan was set in March 2022.", ("March 2022", "", "2022-03", "", "")),
    ("Up 13 per cent from 2023.", ("2023", "", "2023", "", "")),
    ("The meeting ended at 2.15pm.", ("2.15pm", "", "", "", "14:15")),
    ("It has grown in recent years.", ("recent years", "", "", "recent years", "")),
    ("The last couple of years were hard.", ("The last couple of years", "", "", "the last couple of years", "")),
    ("And last summer, economists warned.", ("last summer", "", "", "last summer", "")),
    ("He finished it a few months ago.", ("a few months ago", "", "", "a few months ago", "")),
    ("Software must be genuine from mid-2005.", ("2005", "", "2005", "", "")),
    ("It is bought before November.", ("November", "", "2022-11", "", "")),
])
def test_single_date(nlp, text, expected):
    assert dates(nlp, text) == [expected]


def test_last_year_in_october(nlp):
    assert dates(nlp, "Last year in October, the US announced export controls.") == [
        ("Last year", "", "2022", "last year", ""), ("October", "", "2022-10", "", "")]


@pytest.mark.parametrize("text", ["He may march on.", "It cost 2,000 dollars.", "There were 2000 people.",
                                  "It grew 13 per cent.", "Sunday Times readers"])
def test_not_dates(nlp, text):
    assert [d for d in dates(nlp, text) if d[0] != "Sunday"] == []


def test_parse_published():
    assert parse_published("2023-03-06") == MONDAY
    assert parse_published("") is None and parse_published("not a date") is None
