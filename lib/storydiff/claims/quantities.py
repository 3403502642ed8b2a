"""Quantities in a sentence: money, percentages and counts, normalised deterministically.

The normaliser is hand-written (regular expressions over the text, spaCy's parse only to find
the counted noun and the measure) because quantity libraries such as quantulum3 mis-read news
text ("2.15pm" as picometres, a crash on "80 per cent") and are not deterministic.

Each quantity is a dict: ``text`` (as written, approximation word included), ``value`` (float,
scale applied: "370.8 billion yuan" -> 3.708e11), ``unit`` (ISO 4217 code for money, ``percent``,
``percentage points``, the counted noun as written such as ``scientists``, or "" for a bare
number), ``approx`` ("" or the qualifier as written, lower case: "about", "more than", ...),
``measure`` (a short phrase from the sentence saying what is counted, or ""), ``is_change``
(the number is a change: "up 13 per cent", "an increase of US$1 billion"), ``conversion_of``
(index of the quantity this one converts, "98 billion yuan (about US$13.5 billion)", else None)
and ``char_start``/``char_end`` (offsets of ``text`` in the sentence).
"""

from __future__ import annotations

import re
from typing import Any

from spacy.tokens import Doc, Span, Token

CURRENCY_PREFIXES = {
    "US$": "USD", "US $": "USD", "U.S.$": "USD", "$": "USD", "HK$": "HKD", "A$": "AUD", "AU$": "AUD",
    "C$": "CAD", "CA$": "CAD", "S$": "SGD", "NZ$": "NZD", "R$": "BRL", "£": "GBP", "€": "EUR",
    "¥": "JPY", "CN¥": "CNY", "₹": "INR", "RMB": "CNY", "CNY": "CNY", "USD": "USD", "EUR": "EUR",
    "GBP": "GBP", "JPY": "JPY", "HKD": "HKD", "INR": "INR", "Rs": "INR",
}
CURRENCY_WORDS = {
    "yuan": "CNY", "renminbi": "CNY", "rmb": "CNY", "us dollars": "USD", "dollars": "USD",
    "dollar": "USD", "hong kong dollars": "HKD", "pounds sterling": "GBP", "pounds": "GBP",
    "sterling": "GBP", "euros": "EUR", "euro": "EUR", "yen": "JPY", "rupees": "INR",
}
PERCENT_WORDS = {"%": "percent", "percent": "percent", "per cent": "percent", "pc": "percent",
                 "percentage points": "percentage points", "percentage point": "percentage points"}
MEASUREMENT_UNITS = {
    "km": "km", "kg": "kg", "cm": "cm", "mm": "mm", "ft": "ft", "mph": "mph", "kmh": "km/h",
    "lb": "lb", "lbs": "lb", "kb": "KB", "mb": "MB", "gb": "GB", "tb": "TB", "kbps": "kbit/s",
    "mbps": "Mbit/s", "gbps": "Gbit/s", "mhz": "MHz", "ghz": "GHz", "kw": "kW", "mw": "MW",
    "gw": "GW", "kwh": "kWh",
}
SCALES = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6,
          "billion": 1e9, "bn": 1e9, "trillion": 1e12, "tn": 1e12, "trn": 1e12}
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dozen": 12,
}
APPROX_WORDS = [
    "more than", "less than", "fewer than", "up to", "at least", "at most", "as many as",
    "as much as", "close to", "just over", "just under", "nearly", "almost", "about", "around",
    "some", "roughly", "approximately", "over", "under", "an estimated", "estimated",
    "upwards of", "in excess of", "below", "above",
]
CHANGE_BEFORE = ("up", "down", "up by", "down by", "rose", "risen", "rises", "rising", "fell", "fallen", "falls",
                 "falling", "grew", "grown", "jumped", "dropped", "climbed", "declined",
                 "increased", "decreased", "gained", "slid", "slumped", "soared", "surged",
                 "increase of", "increases of", "rise of", "growth of", "drop of",
                 "fall of", "decline of", "cut of", "gain of", "loss of", "boost of",
                 "reduction of", "jump of", "hike of")
CHANGE_AFTER = ("increase", "rise", "jump", "drop", "fall", "decline", "growth", "cut",
                "reduction", "hike", "boost", "gain", "loss")
CHANGE_VERBS = {"increase", "raise", "rise", "grow", "fall", "drop", "cut", "reduce", "boost",
                "decrease", "decline", "jump", "climb", "slash", "lift", "lower", "expand",
                "shrink"}
# scales read as such only after a currency ("$3m") or before a plural noun ("3m viewers")
_CURRENCY_ONLY_SCALES = {"m", "k"}


def _alternation(words: list[str] | set[str] | dict[str, Any]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_TENS = [w for w, n in NUMBER_WORDS.items() if n >= 20 and n % 10 == 0]
_UNITS = [w for w, n in NUMBER_WORDS.items() if n < 10]
_NUM_WORD = rf"(?:(?:{_alternation(_TENS)})-(?:{_alternation(_UNITS)})|{_alternation(NUMBER_WORDS)})"
_SUFFIXES = [w for w in PERCENT_WORDS if w != "%"] + list(CURRENCY_WORDS) + list(MEASUREMENT_UNITS)
QUANTITY_RE = re.compile(
    rf"(?<![\w$£€¥₹.,/#&])(?P<cur>{_alternation(CURRENCY_PREFIXES)})?\s?"
    rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?i:{_NUM_WORD}))"
    rf"(?:[\s-]?(?P<scale>(?i:{_alternation(SCALES)}))(?![a-z]))?"
    rf"(?:\s?(?P<suffix>%|(?i:{_alternation(_SUFFIXES)})\b))?"
    rf"(?![\w/]|\.\d)"
)
HYPHEN_TAIL_RE = re.compile(r"[-–]([a-zA-Z]+(?:-[a-zA-Z]+)*)")
RANGE_DASH_RE = re.compile(r"\s?[-–]\s?|\s+or\s+")
RANGE_START_RE = re.compile(r"\s?[-–]\s?[$£€]?\d")
APPROX_RE = re.compile(rf"(?i:\b(?P<approx>{_alternation(APPROX_WORDS)}))\s*\(?\s*$")
CHANGE_BEFORE_RE = re.compile(rf"(?i:\b(?:{_alternation(CHANGE_BEFORE)}))\s*$")
CHANGE_AFTER_RE = re.compile(rf"^\s*(?i:(?:{_alternation(CHANGE_AFTER)}))\b")


def parse_number(text: str) -> float:
    """Value of a numeral as written: "3,000" -> 3000.0, "13.5" -> 13.5, "forty-three" -> 43.0."""
    text = text.strip().lower()
    if text and (text[0].isdigit() or text[0] == "."):
        return float(text.replace(",", ""))
    return float(sum(NUMBER_WORDS[part] for part in text.split("-")))


def normalise_quantity(cur: str, num: str, scale: str, suffix: str) -> tuple[float, str]:
    """(value, unit) of the parts of a quantity: ("US$", "13.5", "billion", "") -> (1.35e10, "USD").

    ``unit`` is "" when neither a currency nor a percent word is given (the caller may then
    use the counted noun).
    """
    value = parse_number(num) * SCALES.get(scale.lower(), 1.0)
    if cur:
        return value, CURRENCY_PREFIXES[cur]
    suffix_lower = suffix.lower()
    if suffix_lower in PERCENT_WORDS:
        return value, PERCENT_WORDS[suffix_lower]
    if suffix_lower in CURRENCY_WORDS:
        return value, CURRENCY_WORDS[suffix_lower]
    return value, MEASUREMENT_UNITS.get(suffix_lower, "")


def _token_at(doc: Doc, start: int, end: int) -> Token | None:
    """The syntactic head token of the characters [start, end) of ``doc``."""
    span = doc.char_span(start, end, alignment_mode="expand")
    return span.root if span is not None and len(span) else None


def _phrase(token: Token, stop: set[int], preps: tuple[str, ...] | None = None) -> str:
    """A short noun phrase for ``token``: its subtree without determiners, dates, the quantity
    itself (token indices in ``stop``), clauses, and prepositional phrases other than ``preps``
    (all kept when None); it ends at the first comma, bracket or dash after ``token``; "" for
    a pronoun ("it rose 5%" says nothing about what rose)."""
    if token.pos_ == "PRON":
        return ""
    dropped: set[int] = set()
    for tok in token.subtree:
        if tok.i in dropped or tok.i == token.i:
            continue
        if (tok.dep_ in ("relcl", "acl", "appos", "advcl") or tok.ent_type_ in ("DATE", "TIME")
                or tok.dep_ == "punct" and tok.text != "-"
                or tok.dep_ == "prep" and (preps is not None and tok.lower_ not in preps
                                           or not any(c.dep_ in ("pobj", "pcomp") and c.ent_type_ not in ("DATE", "TIME")
                                                      for c in tok.children))):
            dropped.update(t.i for t in tok.subtree)
        if tok.i in stop:  # the prepositional phrase holding a quantity ("by 13 per cent")
            prep = next((a for a in tok.ancestors if a.dep_ == "prep"), None)
            if prep is not None and prep.i > token.i:
                dropped.update(t.i for t in prep.subtree)
    words: list[Token] = []
    for tok in token.subtree:
        if tok.i > token.i and tok.is_punct and (tok.text not in ("’s", "'s", "-") or tok.whitespace_):
            break
        if tok.i != token.i and (tok.i in dropped or tok.i in stop or tok.i < token.i and (tok.dep_ in ("det", "predet", "cc") or tok.is_punct)):
            continue
        words.append(tok)
    return "".join(t.text_with_ws for t in words).strip()


def _measure_from(token: Token, stop: set[int], depth: int = 0) -> str:
    """What a money or percent quantity rooted at ``token`` measures (see module docstring)."""
    if depth > 4:
        return ""
    for child in token.rights:
        if child.dep_ == "prep" and child.lower_ in ("in", "for", "on", "of") and child.i not in stop:
            objs = [c for c in child.children if c.dep_ == "pobj" and c.i not in stop]
            if objs and objs[0].ent_type_ not in ("DATE", "TIME", "GPE"):
                return _phrase(objs[0], stop)
    head = token.head
    if token.dep_ in ("compound", "amod", "nummod", "nmod", "npadvmod", "quantmod") and head.pos_ in ("NOUN", "PROPN") and head.i != token.i:
        return _measure_from(head, stop, depth + 1)
    if token.dep_ == "pobj" and head.dep_ == "prep":
        verb = head.head
        if head.lower_ == "by":
            verb = next((a for a in head.ancestors if a.lemma_ in CHANGE_VERBS), verb)
        if head.lower_ in ("of",) and verb.pos_ == "NOUN":
            return _measure_from(verb, stop, depth + 1)
        if verb.dep_ == "acl" and verb.head.pos_ == "NOUN":
            return _measure_from(verb.head, stop, depth + 1)
        objs = [c for c in verb.children if c.dep_ == "dobj" and c.i not in stop]
        if objs:
            return _phrase(objs[0], stop)
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass") and c.i not in stop]
        if verb.lemma_ in CHANGE_VERBS and subjects:
            return _phrase(subjects[0], stop)
    if token.dep_ in ("dobj", "attr", "conj", "npadvmod", "ROOT", "appos"):
        verb = token.head if token.dep_ != "ROOT" else token
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
        if verb.lemma_ in CHANGE_VERBS and subjects:
            return _phrase(subjects[0], stop)
        for child in verb.rights:
            if child.dep_ == "prep" and child.lower_ in ("for", "on") and child.i > token.i:
                objs = [c for c in child.children if c.dep_ == "pobj"]
                if objs:
                    return _phrase(objs[0], stop)
        if token.dep_ == "attr" and subjects:
            return _phrase(subjects[0], stop)
    return ""


def _counted_phrase(noun: Token, stop: set[int]) -> str:
    """What a count measures: the counted noun with its modifiers ("key areas of the hi-tech
    sector"); for "55 times", the verb and its object ("mentioned innovation")."""
    if noun.lower_ == "times" and noun.head.pos_ == "VERB":
        verb = noun.head
        objs = [c for c in verb.children if c.dep_ == "dobj"]
        return f"{verb.text} {_phrase(objs[0], stop)}" if objs else verb.text
    return _phrase(noun, stop, preps=("of",))


def _in_name(text: str, start: int, end: int) -> bool:
    """A number word that is part of a name or a quoted label: "‘Two Sessions’", "“two meetings”"."""
    before = text[:start].rstrip()
    if before.endswith(("“", "‘", '"', "'")):
        return True
    word, rest = text[start:end], text[end:].lstrip()
    return bool(before) and word[:1].isupper() and rest[:1].isupper()


def _after_letter_dash(text: str, start: int) -> bool:
    """Whether ``start`` follows a letter and a dash ("Covid-19")."""
    return start >= 2 and text[start - 1] in "-–" and text[start - 2].isalpha()


def _in_title(doc: Doc, char: int) -> bool:
    """A numeral that is part of a name: after a proper noun ("Top 20", "Windows 95", "Channel
    4") or inside a named product, work, organisation, event or law."""
    token = next((t for t in doc if t.idx >= char), None)
    if token is None or token.ent_type_ in ("PRODUCT", "WORK_OF_ART", "ORG", "EVENT", "FAC", "LAW"):
        return token is not None
    before = doc[token.i - 1] if token.i else None
    return before is not None and before.pos_ == "PROPN" and not before.is_sent_start and before.text[:1].isupper()


def _approx_before(text: str, start: int) -> tuple[str, int]:
    """(qualifier, where it starts) just before ``start``: ("more than", 12), or ("", start)."""
    window_start = max(0, start - 30)
    m = APPROX_RE.search(text[window_start:start])
    if not m or "(" in m.group(0)[len(m.group("approx")):]:
        return "", start
    return m.group("approx").lower(), window_start + m.start("approx")


def _is_change(text: str, q: dict[str, Any], head: Token, change_verb: bool) -> bool:
    """A quantity that states a change: "up 13 per cent", "a 10% increase", "rose a seasonally
    adjusted 0.5%", "by (between) 5%" after a change verb, "an increase of US$1 billion"; not a
    level reached ("fell to 79,000 from 82,000")."""
    before = text[:q["char_start"]]
    if CHANGE_BEFORE_RE.search(before) or CHANGE_AFTER_RE.search(text[q["char_end"]:]):
        return True
    if head.dep_ in ("dobj", "npadvmod", "advmod") and head.head.lemma_ in CHANGE_VERBS:
        return True
    return change_verb and bool(re.search(r"(?i)\bby\s+(?:between\s+)?$", before))


def _has_change_verb(doc: Doc | Span) -> bool:
    """Whether the sentence has a verb of change ("increased", "went up")."""
    return any(t.lemma_ in CHANGE_VERBS or t.lemma_ == "go" and any(c.lower_ in ("up", "down") for c in t.children)
               for t in doc)


def _counts_after(doc: Doc, char: int) -> bool:
    """Whether the first token at or after ``char`` is a plural noun ("3m viewers")."""
    return next((t.tag_ == "NNS" for t in doc if t.idx >= char), False)


def _is_year(num: str) -> bool:
    """A bare four-digit numeral from 1800 to 2100 is a year (a date, not a quantity)."""
    return len(num) == 4 and num.isdigit() and 1800 <= int(num) <= 2100


def _is_money(q: dict[str, Any]) -> bool:
    return len(q["unit"]) == 3 and q["unit"].isupper()


def _mark_ranges(text: str, found: list[dict[str, Any]]) -> None:
    """A range ("30-40 enterprises", "£5-10m", "0-5%", "four or five shows") gives two
    quantities: the low end, "at least", and the high end, "up to", sharing the unit, and the
    scale written once."""
    for low, high in zip(found, found[1:]):
        if low["approx"] or high["approx"] or not RANGE_DASH_RE.fullmatch(text[low["char_end"]:high["char_start"]]):
            continue
        unit = low["unit"] or high["unit"]
        if high["unit"] and low["unit"] and high["unit"] != low["unit"]:
            continue
        low_scale, high_scale = (QUANTITY_RE.match(q["text"]).group("scale") for q in (low, high))
        if high_scale and not low_scale:
            low["value"] *= SCALES[high_scale.lower()]
        low["unit"] = high["unit"] = unit
        low["approx"], high["approx"] = "at least", "up to"


def extract_quantities(doc: Doc | Span, skip: list[tuple[int, int]] = ()) -> list[dict[str, Any]]:
    """Quantities of one sentence (``doc``), in text order; characters inside ``skip`` spans
    (dates and times, found first by the date extractor) are never read as quantities."""
    text = doc.text
    whole = doc.doc if isinstance(doc, Span) else doc
    offset = doc.start_char if isinstance(doc, Span) else 0
    found: list[dict[str, Any]] = []
    heads: list[tuple[Token, Token | None]] = []
    stop: set[int] = set()  # tokens of the numbers and their qualifiers, never part of a measure
    for m in QUANTITY_RE.finditer(text):
        start, end = m.start(), m.end()
        cur, num, scale, suffix = (m.group(g) or "" for g in ("cur", "num", "scale", "suffix"))
        if any(s < end and start < e for s, e in skip) or num[0].isdigit() and _after_letter_dash(text, start):
            continue  # "Covid-19", "G-7"
        head = _token_at(whole, start + offset, end + offset)
        money_range = bool(re.search(r"[$£€]\s?[\d.,]+\s?[-–]\s?$", text[:start]))
        if head is None or scale.lower() in _CURRENCY_ONLY_SCALES and not (cur or suffix or money_range or _counts_after(whole, end + offset)):
            continue  # "the 100m final" is a distance, "3m viewers" a count
        if not (cur or suffix or scale) and _in_title(whole, start + offset):
            continue
        value, unit = normalise_quantity(cur, num, scale, suffix)
        noun = None
        tail = HYPHEN_TAIL_RE.match(text, end) if not unit else None
        if tail and tail.group(1).lower() not in NUMBER_WORDS:  # "29-year-old", "two-time", "a 10-year low": the unit is the compound's tail
            unit, end = tail.group(1).lower(), tail.end()
        range_low = bool(RANGE_START_RE.match(text, end))
        if not unit and not range_low:
            if head.dep_ in ("nummod", "compound", "quantmod") and head.head.pos_ in ("NOUN", "PROPN") and head.head.i > head.i:
                noun = head.head
            elif _counts_after(whole, end + offset):  # the parser missed it: "3m viewers"
                noun = next(t for t in whole if t.idx >= end + offset)
            unit = noun.text.lower() if noun is not None else ""
            if not num[0].isdigit() and (noun is None or _in_name(text, start, end) or num.lower() == "one" and not scale):
                continue
            if noun is None and (len(doc) <= 2 or _is_year(num)):
                continue
        approx, text_start = _approx_before(text, start)
        stop.update(t.i for t in whole.char_span(text_start + offset, end + offset, alignment_mode="expand") or [])
        if noun is not None and 0 <= noun.idx - offset - end <= 20 and not QUANTITY_RE.search(text, end, noun.idx - offset):
            end = noun.idx - offset + len(noun.text)
        found.append({
            "text": text[text_start:end], "value": value, "unit": unit, "approx": approx,
            "measure": "", "is_change": False, "conversion_of": None,
            "char_start": text_start, "char_end": end,
        })
        heads.append((head, noun))
    _mark_ranges(text, found)
    change_verb = _has_change_verb(doc)
    for k, (q, (head, noun)) in enumerate(zip(found, heads)):
        q["is_change"] = _is_change(text, q, head, change_verb)
        gap = text[found[k - 1]["char_end"]:q["char_start"]] if k else ""
        if k and _is_money(q) and _is_money(found[k - 1]) and re.fullmatch(r"\s*\(\s*", gap):
            q["conversion_of"] = k - 1
            q["measure"] = found[k - 1]["measure"]
            continue
        earlier = [j for j, (h, _) in enumerate(heads[:k]) if h.i == head.head.i]
        if head.dep_ in ("appos", "conj") and earlier:
            q["measure"] = found[earlier[0]]["measure"]
            q["is_change"] = q["is_change"] or head.dep_ == "conj" and found[earlier[0]]["is_change"]
            continue
        q["measure"] = _counted_phrase(noun, stop) if noun is not None else _measure_from(head, stop)
        if not q["measure"] and q["is_change"]:
            q["measure"] = next((p["measure"] for p in reversed(found[:k]) if not p["is_change"]), "")
    return found
