"""Discrepancies between claims of one fact (and dated events of one story), each explained.

Four kinds, all conservative (a false discrepancy costs a researcher more than a missed one):

- ``number``: two quantities, one in each claim, with the same unit, both a level or both a
  change, and measures that share most of their content words, whose ranges do not overlap;
  only between claims at least ``STRICT_SIMILARITY`` alike that name the same dates. When the
  claims stage found no measure for a figure ("rose by 6%" often names none) in one claim or
  both, the figure is still compared if the two claims are worded alike apart from their
  figures (``SAME_WORDING``): then both figures fill the same place of one sentence.
  The range of a figure comes from its approximation word: "more than 13" is [13, inf),
  "about 98" is 98 +/- 10 %, an exact figure is +/- half its last written digit ("3,000" +/- 500,
  "12.8" +/- 0.05); but in sentences worded alike that give both figures with the same word
  ("more than 60%", "more than 63%") only the rounding counts. A figure is compared only with
  the one figure of the other claim it can match, and that one with it alone; in sentences worded
  alike that give as many figures of the same units, a figure both give agrees, and the one
  figure left on each side is the one a rewrite changed ("went up to 8.5% from 5.4%", "rose to
  5.5% from 5.4%": 8.5% against 5.5%); when several are left, they pair by place, those after
  the same word only. Conversions ("(about US$13.5 billion)") are never compared.
- ``date``: two claims about the same event give different weekdays or dates: either the claims
  are one fact at least ``STRICT_SIMILARITY`` alike, or each is dated with its article's
  most-mentioned day (named at least twice) and the two claims are
  similar enough to describe the same event (``EVENT_THRESHOLD``). Never when either article
  also mentions the other's day: then they may well report two events.
- ``quote``: both claims quote the same speaker (or one names no speaker), the quotes share most
  content words (so they render one passage), yet their words differ beyond spelling and
  neither is a fragment of the other.
- ``attribution``: nearly the same quoted words given to two different people, each named in
  its own sentence (speakers resolved from earlier sentences are too often wrong to accuse).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from difflib import SequenceMatcher
from itertools import combinations, groupby
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from storydiff.compare.textdiff import (
    contains_words,
    describe_word_changes,
    diff_words,
    match_words,
    normalise_word,
    split_words,
    word_overlap,
)

DISCREPANCY_COLUMNS = [
    "kind", "fact_id", "claim_id_a", "claim_id_b", "article_a", "article_b",
    "value_a", "value_b", "text_a", "text_b", "explanation",
]
EVENT_THRESHOLD = 0.45  # cosine above which two dated claims of one story describe one event
QUOTE_OVERLAP = 0.6  # share of the shorter quote's content words found in the other
QUOTE_SHARED_WORDS = 2  # and at least this many content words in common
STRICT_SIMILARITY = 0.80  # claims this close (STS-B "mostly equivalent") may conflict on a figure or day
SPELLING_RATIO = 0.8  # character similarity of two words that are one word spelled two ways
ATTRIBUTION_OVERLAP = 0.8  # word-sequence similarity of two quotes that are "the same words"
MIN_ATTRIBUTION_WORDS = 4  # shorter quotes ("gossip") are common words, not one person's
MEASURE_OVERLAP = 0.5  # share of the shorter measure's content words found in the other
SAME_WORDING = 0.8  # word-sequence similarity, figures aside, of one sentence given two figures
APPROX_SPREAD = 0.10
LOWER_BOUND_WORDS = {"more than", "over", "above", "at least", "in excess of", "upwards of",
                     "just over"}
UPPER_BOUND_WORDS = {"less than", "fewer than", "under", "below", "up to", "at most",
                     "as many as", "as much as", "nearly", "almost", "just under", "close to"}
# "Sunday Times", "Sunday Telegraph": a day followed by a capitalised word is part of a name
_NAME_AFTER = re.compile(r"[ \t]+[A-Z][a-z]")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "him", "her", "them"}


def content_stems(text: str) -> set[str]:
    """Content words of ``text`` cut to 5 letters (a crude stem: innovate/innovation)."""
    return {
        normalise_word(w)[:5]
        for w in split_words(text)
        if normalise_word(w) not in ENGLISH_STOP_WORDS and not w.isdigit()
    }


def share_of_shorter(text_a: str, text_b: str) -> float:
    """Share of the content stems of the text with fewer of them that the other text has."""
    stems_a, stems_b = content_stems(text_a), content_stems(text_b)
    if not stems_a or not stems_b:
        return 0.0
    return len(stems_a & stems_b) / min(len(stems_a), len(stems_b))


def figure_range(quantity: dict[str, Any]) -> tuple[float, float]:
    """The (low, high) values a quantity allows, given its approximation word (module doc).

    An exact figure allows half its last written digit; round thousands ("3,000") count their
    trailing zeros as rounding, smaller round numbers ("10 %") do not.
    """
    value, approx = float(quantity["value"]), quantity.get("approx", "") or ""
    written = _NUMBER.search(quantity.get("text", ""))
    tolerance = abs(value) * 1e-9
    if written:
        digits = written.group().replace(",", "")
        number = float(digits)
        if "." in digits:
            step = 10.0 ** -len(digits.split(".")[1])
        else:
            zeros = len(digits) - len(digits.rstrip("0")) if number >= 1000 else 0
            step = 10.0 ** zeros
        scale = value / number if number else 1.0
        tolerance = max(tolerance, step * abs(scale) / 2)
    if approx in LOWER_BOUND_WORDS:
        return value, math.inf
    if approx in UPPER_BOUND_WORDS:
        return -math.inf, value + tolerance
    if approx:
        spread = max(abs(value) * APPROX_SPREAD, tolerance)
        return value - spread, value + spread
    return value - tolerance, value + tolerance


def ranges_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two closed ranges share a value."""
    return a[0] <= b[1] and b[0] <= a[1]


def worded_alike(text_a: str, text_b: str) -> bool:
    """Whether two claims are one sentence apart from their figures: their words, every number
    read as the same placeholder, align with a ratio of at least ``SAME_WORDING``. Numbers are
    masked before the text is cut into words: "8.5%" is two words and "10%" one otherwise."""
    def words(text: str) -> list[str]:
        return split_words(_NUMBER.sub("0", text))

    return match_words(words(text_a), words(text_b)).ratio() >= SAME_WORDING


def _comparable(qa: dict[str, Any], qb: dict[str, Any], alike: bool = False) -> bool:
    """Same unit, both levels or both changes, and measures that say the same thing (or, in
    claims worded ``alike``, no measure found for one figure or both: a rewritten word, "new
    homes" -> "fresh homes", can hide the measure of one sentence from the claims stage)."""
    if qa["unit"] != qb["unit"] or bool(qa["is_change"]) != bool(qb["is_change"]):
        return False
    if qa["measure"] and qb["measure"]:
        return share_of_shorter(qa["measure"], qb["measure"]) >= MEASURE_OVERLAP
    return alike


def own_figures(quantities: list[dict]) -> list[dict]:
    """The quantities a claim gives itself: not conversions of another ("(about US$13.5 billion)")."""
    return [q for q in quantities if q.get("conversion_of") is None]


def list_words_before(text: str, quantities: list[dict]) -> list[str]:
    """The word before each of ``quantities`` (each with its offset ``char_start``) in the claim
    ``text``, lower case, "" at its start."""
    return [(re.findall(r"\w+", text[: q["char_start"]])[-1:] or [""])[0].lower() for q in quantities]


def compare_numbers(
    quantities_a: list[dict], quantities_b: list[dict], alike: bool = False, texts: tuple[str, str] | None = None,
) -> list[tuple[dict, dict]]:
    """Conflicting (quantity_a, quantity_b) pairs between two claims of one fact (module doc);
    ``alike``: the claims are worded alike apart from their figures (``worded_alike``);
    ``texts``: the claims' texts, which place their own figures when each has its offset
    (``char_start``). When alike claims with placed figures give as many of the same units,
    those both give (``find_unrepeated_figures``) agree; one left on each side is the figure a
    rewrite changed, wherever it stands and whatever word came before it; of more, those at one
    place after the same word (``list_words_before``) pair."""
    own_a, own_b = own_figures(quantities_a), own_figures(quantities_b)
    placed = texts is not None and all(q.get("char_start") is not None for q in (*own_a, *own_b))
    if (alike and placed and len(own_a) == len(own_b) > 1
            and all(_comparable(qa, qb, alike) for qa, qb in zip(own_a, own_b))):
        before_a, before_b = list_words_before(texts[0], own_a), list_words_before(texts[1], own_b)
        left_a, left_b = find_unrepeated_figures(own_a, own_b, before_a, before_b)
        if len(left_a) == 1:
            pairs = [(own_a[left_a[0]], own_b[left_b[0]])]
            pairs = pairs if _comparable(*pairs[0], alike) else []
        else:
            places = sorted(set(left_a) & set(left_b))
            pairs = [(own_a[k], own_b[k]) for k in places if before_a[k] == before_b[k]]
    else:
        pairs = []
        for qa in own_a:
            partners = [qb for qb in own_b if _comparable(qa, qb, alike)]
            rivals = [q for q in own_a if _comparable(q, partners[0], alike)] if len(partners) == 1 else []
            if len(partners) == 1 and len(rivals) == 1:
                pairs.append((qa, partners[0]))
    return [(qa, qb) for qa, qb in pairs if not ranges_overlap(*compared_ranges(qa, qb, alike))]


def find_unrepeated_figures(
    own_a: list[dict], own_b: list[dict], before_a: list[str], before_b: list[str],
) -> tuple[list[int], list[int]]:
    """Positions of the figures of each claim that the other does not give too; ``before_a`` and
    ``before_b``: the word before each figure (``list_words_before``). A figure of the same unit
    and value in both is one figure stated twice, matched one to one: at the same place first
    ("12%, in some areas 15%" against "15%, in some areas 15%": the second 15% of each), elsewhere
    only after the same word, its role ("to 8.5% from 5.4%" against "from 5.4% to 10%": the 5.4%
    of each; "from 5% to 7%" against "from 7% to 9%": no figure in common, the 7% is once an end
    and once a start)."""
    def same(qa: dict, qb: dict) -> bool:
        return qa["unit"] == qb["unit"] and qa["value"] == qb["value"]

    def unsettled(own: list[dict], other: list[dict]) -> list[int]:
        return [k for k, q in enumerate(own) if k >= len(other) or not same(q, other[k])]

    left_a, left_b = unsettled(own_a, own_b), unsettled(own_b, own_a)
    for i in list(left_a):
        match = next((j for j in left_b if same(own_a[i], own_b[j]) and before_a[i] == before_b[j]), None)
        if match is not None:
            left_a.remove(i)
            left_b.remove(match)
    return left_a, left_b


def compared_ranges(
    qa: dict[str, Any], qb: dict[str, Any], alike: bool = False
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``figure_range`` of each of two paired quantities; in claims worded ``alike`` that give
    both figures with the same approximation word ("more than 60%", "more than 63%"), the word is
    the sentence's, not a doubt between them: the figures' own ranges, rounding only."""
    if alike and qa.get("approx") and qa.get("approx") == qb.get("approx"):
        return figure_range({**qa, "approx": ""}), figure_range({**qb, "approx": ""})
    return figure_range(qa), figure_range(qb)


def only_spelling_differs(text_a: str, text_b: str) -> bool:
    """Whether every difference is one word spelled two ways ("judgment"/"judgement")."""
    return all(
        change.op == "equal" or (
            change.op == "replace" and len(change.words_a.split()) == len(change.words_b.split())
            and all(SequenceMatcher(a=x.lower(), b=y.lower()).ratio() >= SPELLING_RATIO
                    for x, y in zip(change.words_a.split(), change.words_b.split()))
        )
        for change in diff_words(text_a, text_b)
    )


def strip_brackets(quote: str) -> str:
    """A quote without editorial insertions in brackets ("Electronic Arts (EA)", "[the]")."""
    return re.sub(r"\s*[\[(][^\])]*[\])]", "", quote)


def reworded(part: str, other: str) -> bool:
    """Whether a quote fragment renders a passage of ``other`` in other words: not found in it
    word for word, yet sharing most (and at least ``QUOTE_SHARED_WORDS``) of its content words."""
    shared = len(content_stems(part) & content_stems(other))
    return (
        not contains_words(other, part)
        and shared >= QUOTE_SHARED_WORDS
        and share_of_shorter(part, other) >= QUOTE_OVERLAP
    )


def is_fragment(quote: str, other: str) -> bool:
    """Whether every part of ``quote`` (parts joined by "...") appears word for word in ``other``."""
    return all(contains_words(other, part) for part in quote.split("..."))


def same_person(speaker_a: str, speaker_b: str) -> bool:
    """Whether two speaker names share a name word ("Xi Jinping" / "Jinping")."""
    return bool(set(speaker_a.lower().split()) & set(speaker_b.lower().split()))


def is_named(speaker: str) -> bool:
    """Whether a speaker is a name (not empty, not a pronoun)."""
    return bool(speaker) and speaker.lower() not in PRONOUNS


def mentions_name(text: str, name: str) -> bool:
    """Whether ``text`` contains a word (3+ letters) of ``name``."""
    return any(len(w) > 2 and w in text for w in name.split())


def names_person_in_text(record: dict[str, Any]) -> bool:
    """Whether the claim's speaker is a PERSON entity of the claim and named in its own text
    (not resolved from an earlier sentence, where the claims stage can pick the wrong person)."""
    speaker = record["speaker"]
    people = [e["text"] for e in record.get("entities", []) if e.get("label") == "PERSON"]
    return is_named(speaker) and any(same_person(speaker, p) for p in people) and mentions_name(
        record["text"], speaker)


def day_of(date: dict[str, Any]) -> tuple[str, str]:
    """(ISO day or "", weekday or "") of a date entry; ("", "") when it names no single day."""
    iso = date.get("date", "") or ""
    iso = iso if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso) else ""
    return iso, date.get("weekday", "") or ""


def days_differ(day_a: tuple[str, str], day_b: tuple[str, str]) -> bool:
    """True when two (ISO, weekday) days are surely different (both resolved, or both weekdays)."""
    if day_a[0] and day_b[0]:
        return day_a[0] != day_b[0]
    if day_a[1] and day_b[1]:
        return day_a[1] != day_b[1]
    return False


def single_day(dates: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The one day a claim names, or None when it names none or several different days."""
    days = {day_of(d) for d in dates} - {("", "")}
    return days.pop() if len(days) == 1 else None


def label_day(day: tuple[str, str]) -> str:
    """Human label of a (ISO, weekday) day: "Tuesday (2024-06-25)", "Monday" or the ISO date."""
    iso, weekday = day
    return f"{weekday} ({iso})" if weekday and iso else weekday or iso


def _row(
    kind: str, fact_id: str, a: dict[str, Any], b: dict[str, Any], value_a: str, value_b: str,
    explanation: str,
) -> dict[str, Any]:
    """One discrepancy row from two claim records ``a`` and ``b``."""
    return {
        "kind": kind, "fact_id": fact_id, "claim_id_a": a["claim_id"], "claim_id_b": b["claim_id"],
        "article_a": a["article_id"], "article_b": b["article_id"], "value_a": value_a,
        "value_b": value_b, "text_a": a["text"], "text_b": b["text"], "explanation": explanation,
    }


def same_dates(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two claims name the same dates (as resolved, else as written), or none."""
    def keys(record: dict[str, Any]) -> set[str]:
        return {(d.get("date") or d.get("text", "")).lower() for d in record["dates"]}
    return keys(a) == keys(b)


def check_pair(
    fact_id: str, a: dict[str, Any], b: dict[str, Any], similarity: float
) -> list[dict[str, Any]]:
    """Number, date, quote and attribution discrepancies between two claims of one fact.

    ``a`` and ``b`` are claim records with parsed ``quantities``, ``dates`` and ``entities``
    lists; ``similarity`` their cosine. Figures and days are compared only between claims at
    least ``STRICT_SIMILARITY`` alike (and figures only when the claims name the same dates), so
    two statements about neighbouring things (November vs the whole year, two films' nominations)
    are not read as one figure given twice.
    """
    found = []
    strict = similarity >= STRICT_SIMILARITY
    conflicts = []
    if strict and same_dates(a, b):
        texts = (a["text"], b["text"])
        conflicts = compare_numbers(a["quantities"], b["quantities"], worded_alike(*texts), texts)
    for qa, qb in conflicts:
        if qa["measure"]:
            given = (f"{a['article_id']} gives {qa['measure']} as \"{qa['text']}\", {b['article_id']} "
                     f"gives {qb['measure']} as \"{qb['text']}\"")
        else:
            given = (f"In otherwise nearly identical sentences {a['article_id']} gives \"{qa['text']}\" "
                     f"and {b['article_id']} \"{qb['text']}\"")
        found.append(_row(
            "number", fact_id, a, b, qa["text"], qb["text"],
            f"{given}; even allowing for rounding and approximation words these figures cannot both be right.",
        ))
    day_a, day_b = single_day(a["dates"]), single_day(b["dates"])
    if strict and day_a and day_b and days_differ(day_a, day_b):
        found.append(_row(
            "date", fact_id, a, b, label_day(day_a), label_day(day_b),
            f"The two articles state this fact with different days: {a['article_id']} says "
            f"{label_day(day_a)}, {b['article_id']} says {label_day(day_b)}.",
        ))
    found += compare_quotes(fact_id, a, b)
    return found


def compare_quotes(fact_id: str, a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``quote`` or ``attribution`` discrepancy between two quoting claims, if any."""
    quote_a, quote_b = a["quote"], b["quote"]
    if not quote_a or not quote_b:
        return []
    speaker_a, speaker_b = a["speaker"], b["speaker"]
    both_named = is_named(speaker_a) and is_named(speaker_b)
    same_words = word_overlap(quote_a, quote_b) >= ATTRIBUTION_OVERLAP
    explicit = names_person_in_text(a) and names_person_in_text(b) and not (
        mentions_name(a["text"], speaker_b) or mentions_name(b["text"], speaker_a))
    long_enough = len(split_words(quote_a)) >= MIN_ATTRIBUTION_WORDS
    if same_words and explicit and long_enough and not same_person(speaker_a, speaker_b):
        return [_row(
            "attribution", fact_id, a, b, speaker_a, speaker_b,
            f"The same words (\"{quote_a}\") are attributed to {speaker_a} in {a['article_id']} "
            f"and to {speaker_b} in {b['article_id']}.",
        )]
    if both_named and not same_person(speaker_a, speaker_b):
        return []
    quote_a, quote_b = strip_brackets(quote_a), strip_brackets(quote_b)
    fragment = is_fragment(quote_a, quote_b) or is_fragment(quote_b, quote_a)
    if fragment or only_spelling_differs(quote_a, quote_b) or not (
        any(reworded(part, quote_b) for part in quote_a.split("..."))
        or any(reworded(part, quote_a) for part in quote_b.split("..."))
    ):
        return []
    changes = describe_word_changes(quote_a, quote_b)
    if not changes:
        return []
    speaker = speaker_a if is_named(speaker_a) else speaker_b or "the same speaker"
    return [_row(
        "quote", fact_id, a, b, quote_a, quote_b,
        f"Both articles quote {speaker} saying the same thing in different words "
        f"(A = {a['article_id']}, B = {b['article_id']}): {changes}.",
    )]


def parse_claims(claims: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Claim records keyed by claim_id, with ``quantities``, ``dates`` and ``entities`` parsed
    from JSON; a date directly followed by a capitalised word ("Sunday Times") is dropped."""
    records = {}
    columns = list(claims.columns)
    for record in (dict(zip(columns, values)) for values in zip(*(claims[c].tolist() for c in columns))):
        record["quantities"] = json.loads(record.get("quantities") or "[]")
        record["dates"] = [
            d for d in json.loads(record.get("dates") or "[]")
            if not _NAME_AFTER.match(record["text"][d.get("char_end", len(record["text"])):])
        ]
        record["entities"] = json.loads(record.get("entities") or "[]")
        record["quote"] = record.get("quote") or ""
        record["speaker"] = record.get("speaker") or ""
        records[record["claim_id"]] = record
    return records


def main_day(records: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The one day an article dates things to, if it names it at least twice and names no other
    day (an article naming several days may report several events)."""
    counts = Counter(day for r in records for d in r["dates"] if (day := day_of(d)) != ("", ""))
    if len(counts) != 1:
        return None
    (day, mentions), = counts.items()
    return day if mentions >= 2 else None


def mentions_day(records: list[dict[str, Any]], day: tuple[str, str]) -> bool:
    """Whether any claim of an article names ``day`` (same ISO date, or same weekday)."""
    return any(
        (day[0] and mentioned[0] == day[0]) or (day[1] and mentioned[1] == day[1])
        for record in records for mentioned in map(day_of, record["dates"])
    )


def group_by_article(records: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Claim records per article_id, in claim order."""
    by_article: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        by_article.setdefault(record["article_id"], []).append(record)
    return by_article


def knows_other_day(row: dict[str, Any], records: dict[str, dict[str, Any]],
                    by_article: dict[str, list[dict[str, Any]]]) -> bool:
    """Whether either article of a date discrepancy also mentions the other's day anywhere."""
    day_a = single_day(records[row["claim_id_a"]]["dates"])
    day_b = single_day(records[row["claim_id_b"]]["dates"])
    return mentions_day(by_article[row["article_a"]], day_b) or mentions_day(by_article[row["article_b"]], day_a)


def find_event_date_conflicts(
    by_article: dict[str, list[dict[str, Any]]],
    row_of: dict[str, int],
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    fact_of_pair: dict[tuple[str, str], str],
    event_threshold: float = EVENT_THRESHOLD,
) -> list[dict[str, Any]]:
    """Date discrepancies between articles of one story that date the same event differently.

    Each article's event day is the day it mentions most; when two articles' days differ and
    neither article mentions the other's day at all (else they may report two events, a day
    apart), the most similar pair of claims carrying those days is the evidence, if its cosine
    reaches ``event_threshold``.
    """
    found = []
    for _, group in stories.groupby("story_id", sort=True):
        articles = sorted(a for a in group["article_id"] if a in by_article)
        for article_a, article_b in combinations(articles, 2):
            day_a, day_b = main_day(by_article[article_a]), main_day(by_article[article_b])
            if not day_a or not day_b or not days_differ(day_a, day_b):
                continue
            if mentions_day(by_article[article_a], day_b) or mentions_day(by_article[article_b], day_a):
                continue  # each article knows the other's day: two events, not one misdated
            dated_a = [r for r in by_article[article_a] if single_day(r["dates"]) == day_a]
            dated_b = [r for r in by_article[article_b] if single_day(r["dates"]) == day_b]
            sims = embeddings[[row_of[r["claim_id"]] for r in dated_a]] @ embeddings[
                [row_of[r["claim_id"]] for r in dated_b]].T
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[i, j] < event_threshold:
                continue
            a, b = dated_a[i], dated_b[j]
            found.append(_row(
                "date", fact_of_pair.get((a["claim_id"], b["claim_id"]), ""), a, b,
                label_day(day_a), label_day(day_b),
                f"The articles date the same event differently: {article_a} says it happened on "
                f"{label_day(day_a)} (its most-mentioned day), {article_b} on {label_day(day_b)}; "
                f"the two sentences shown describe the event (similarity {sims[i, j]:.2f}).",
            ))
    return found


def find_discrepancies(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    facts: pd.DataFrame,
    stories: pd.DataFrame,
    event_threshold: float = EVENT_THRESHOLD,
) -> pd.DataFrame:
    """All discrepancies (DISCREPANCY_COLUMNS) between claims of the same facts and stories.

    ``embeddings`` (n_claims, dim) is row-aligned with ``claims``. Claim a is always from the
    article that sorts first. Sorted by kind, fact_id, claim ids.
    """
    records = parse_claims(claims)
    row_of = {cid: i for i, cid in enumerate(claims["claim_id"].tolist())}
    fact_of_pair: dict[tuple[str, str], str] = {}
    found = []
    shared = facts[facts["n_articles"] > 1].sort_values(["fact_id", "article_id", "claim_id"])
    for fact_id, group in groupby(zip(shared["fact_id"].tolist(), shared["claim_id"].tolist()), key=itemgetter(0)):
        for (_, id_a), (_, id_b) in combinations(group, 2):
            fact_of_pair.setdefault((id_a, id_b), fact_id)
            similarity = float(embeddings[row_of[id_a]] @ embeddings[row_of[id_b]])
            found += check_pair(fact_id, records[id_a], records[id_b], similarity)
    by_article = group_by_article(records)
    found = [r for r in found if r["kind"] != "date" or not knows_other_day(r, records, by_article)]
    flagged = {(r["article_a"], r["article_b"]) for r in found if r["kind"] == "date"}
    found += [
        r for r in find_event_date_conflicts(
            by_article, row_of, embeddings, stories, fact_of_pair, event_threshold)
        if (r["article_a"], r["article_b"]) not in flagged
    ]
    table = pd.DataFrame(found, columns=DISCREPANCY_COLUMNS)
    table = table.drop_duplicates(["kind", "claim_id_a", "claim_id_b", "value_a", "value_b"])
    return table.sort_values(["kind", "fact_id", "claim_id_a", "claim_id_b"]).reset_index(drop=True)
