"""Quantity extraction: money, percent, scale and number words, approximations, changes,
conversions, counted nouns and measures; years and times are not quantities."""

from __future__ import annotations

import pytest

from storydiff.claims import load_nlp
from storydiff.claims.quantities import extract_quantities, normalise_quantity, parse_number


@pytest.fixture(scope="module")
def nlp():
    """spaCy's small English pipeline, loaded once for the module."""
    return load_nlp()


def quantities(nlp, text: str) -> list[tuple]:
    return [(q["text"], q["value"], q["unit"], q["approx"], q["is_change"], q["conversion_of"])
            for q in extract_quantities(nlp(text))]


@pytest.mark.parametrize("text, value", [("3,000", 3000.0), ("13.5", 13.5), ("six", 6.0),
                                          ("forty-three", 43.0), ("Two", 2.0)])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("parts, expected", [
    (("US$", "13.5", "billion", ""), (13.5e9, "USD")),
    (("$", "1.3", "trillion", ""), (1.3e12, "USD")),
    (("£", "5", "bn", ""), (5e9, "GBP")),
    (("€", "2", "m", ""), (2e6, "EUR")),
    (("", "370.8", "billion", "yuan"), (370.8e9, "CNY")),
    (("CNY", "10", "", ""), (10.0, "CNY")),
    (("", "13", "", "per cent"), (13.0, "percent")),
    (("", "13", "", "percent"), (13.0, "percent")),
    (("", "10", "", "%"), (10.0, "percent")),
    (("", "2", "", "percentage points"), (2.0, "percentage points")),
    (("", "43", "", ""), (43.0, "")),
])
def test_normalise_quantity(parts, expected):
    assert normalise_quantity(*parts) == expected


def test_money_with_conversion_and_change(nlp):
    found = extract_quantities(nlp("Beijing has earmarked some 98 billion yuan (about US$13.5 billion) "
                                   "for basic research this year, up 13 per cent from 2023."))
    assert [(q["text"], q["value"], q["unit"], q["approx"], q["is_change"], q["conversion_of"]) for q in found] == [
        ("some 98 billion yuan", 98e9, "CNY", "some", False, None),
        ("about US$13.5 billion", 13.5e9, "USD", "about", False, 0),
        ("13 per cent", 13.0, "percent", "", True, None),
    ]
    assert {q["measure"] for q in found} == {"basic research"}


def test_percent_increase_measure(nlp):
    [q] = extract_quantities(nlp("The draft budget, released Sunday, notes a more than 13 percent increase "
                                 "in funding for the nation’s storage of grain and other essentials."))
    assert (q["value"], q["unit"], q["approx"], q["is_change"]) == (13.0, "percent", "more than", True)
    assert q["measure"].startswith("funding for the nation’s storage of grain")


def test_increase_by_takes_the_object_of_the_verb(nlp):
    [q] = extract_quantities(nlp("The government had increased the funding for stockpiling grain and other "
                                 "food items by more than 13 per cent."))
    assert q["is_change"] and q["measure"].startswith("funding for stockpiling grain")


def test_increase_of_inherits_the_measure(nlp):
    found = extract_quantities(nlp("In comparison, the US federal budget for basic research this year is "
                                   "US$48.6 billion – an increase of US$1 billion from 2023."))
    assert [(q["value"], q["unit"], q["is_change"]) for q in found] == [(48.6e9, "USD", False), (1e9, "USD", True)]
    assert found[0]["measure"] == found[1]["measure"] == "US federal budget for basic research"


@pytest.mark.parametrize("text, expected", [
    ("Addressing some 3,000 scientists and researchers, Xi laid out his expectations.",
     ("some 3,000 scientists", 3000.0, "scientists", "some", False, None)),
    ("The group, consisting of 43 members, includes leading experts.",
     ("43 members", 43.0, "members", "", False, None)),
    ("Xi mentioned innovation 55 times in his speech.", ("55 times", 55.0, "times", "", False, None)),
    ("Xi called for innovation in six key areas of the hi-tech sector.",
     ("six key areas", 6.0, "areas", "", False, None)),
    ("It lost around $1.3 trillion in market value.", ("around $1.3 trillion", 1.3e12, "USD", "around", False, None)),
    ("Sales grew 10% last year.", ("10%", 10.0, "percent", "", True, None)),
    ("Only 80 per cent of delegates voted.", ("80 per cent", 80.0, "percent", "", False, None)),
])
def test_single_quantity(nlp, text, expected):
    assert quantities(nlp, text) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("The list would be limited to 30-40 enterprises.",
     [("30", 30.0, "enterprises", "at least"), ("40 enterprises", 40.0, "enterprises", "up to")]),
    ("It cost £5-10m.", [("£5", 5e6, "GBP", "at least"), ("10m", 1e7, "GBP", "up to")]),
    ("This is above the 0-5% range.", [("0", 0.0, "percent", "at least"), ("5%", 5.0, "percent", "up to")]),
    ("The 29-year-old two-time runner-up ran.", [("29-year-old", 29.0, "year-old", ""), ("two-time", 2.0, "time", "")]),
    ("A 512MB card and a 2.5GB drive within 2km.", [("512MB", 512.0, "MB", ""), ("2.5GB", 2.5, "GB", ""), ("2km", 2.0, "km", "")]),
    ("About 3m viewers watched the 100m final.", [("About 3m viewers", 3e6, "viewers", "about")]),
    ("The group plays four or five shows a year.", [("four", 4.0, "shows", "at least"), ("five shows", 5.0, "shows", "up to")]),
    ("A GameBoy costs about US $200 in Poland.", [("about US $200", 200.0, "USD", "about")]),
    ("He hosted the Top 20 Video Countdown on Windows 95.", []),
])
def test_ranges_compounds_and_units(nlp, text, expected):
    assert [(q["text"], q["value"], q["unit"], q["approx"]) for q in extract_quantities(nlp(text))] == expected


@pytest.mark.parametrize("text, changes", [
    ("Prices of homes in the UK rose a seasonally adjusted 0.5% in February.", [True]),
    ("House prices went up by 0.4% on the month.", [True]),
    ("Prices could fall by between 10% and 15% by 2009.", [True, True]),
    ("New mortgage loans fell to 79,000 from 82,000.", [False, False]),
])
def test_changes_and_levels(nlp, text, changes):
    assert [q["is_change"] for q in extract_quantities(nlp(text))] == changes


def test_counted_measure_and_times(nlp):
    [q] = extract_quantities(nlp("Indeed, Xi mentioned innovation 55 times in his speech on Tuesday."))
    assert q["measure"] == "mentioned innovation"
    [q] = extract_quantities(nlp("Xi called for innovation in six key areas of the hi-tech sector."))
    assert q["measure"] == "key areas of the hi-tech sector"


@pytest.mark.parametrize("text", [
    "The meeting ended at 2.15pm.",
    "Profits were up in 2023 and 2004.",
    "The 5G network covers the G7 and Covid-19 wards.",
    "Xi spoke during China’s ‘Two Sessions’.",
    "It is the so-called “two meetings” of the year.",
    "One of them said it was the 20th time.",
    "40",
])
def test_not_quantities(nlp, text):
    assert quantities(nlp, text) == []


def test_offsets_point_at_the_text(nlp):
    text = "It cost £5bn ($9m), roughly 3,000 pounds each, or 80 per cent more."
    for q in extract_quantities(nlp(text)):
        assert text[q["char_start"]:q["char_end"]] == q["text"]


def test_deterministic(nlp):
    text = "Beijing has earmarked some 98 billion yuan (about US$13.5 billion) for basic research."
    assert extract_quantities(nlp(text)) == extract_quantities(nlp(text))
