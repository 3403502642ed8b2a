"""Split text into sentences with character offsets.

Rule-based and deterministic: a sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing
quotes or brackets after it) when the next word starts a sentence, except after an abbreviation
("Dr.", "U.S.", "Sat.") or an initial, and never inside a double quotation that closes later in the
same paragraph, so a quote of several sentences stays with its attribution. Headlines and subheads
without final punctuation are paragraphs of their own, hence sentences of their own.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st sen rep gov gen col lt maj capt sgt cmdr adm rev hon pres
    mt ft vs etc inc ltd co corp plc dept univ est approx fig al jan feb mar apr jun jul aug sep
    sept oct nov dec mon tue tues wed thu thur thurs fri sat sun""".split()
)
SENTENCE_STARTERS = frozenset(
    "the a an he she it they we i but and in on at this that these those its his her their"
    " there as after before while when if however meanwhile".split()
)
_END = re.compile(r"[.!?…]+[\"”’')\]]*")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$")
_NEXT_WORD = re.compile(r"\s+([\"“‘'(\[–—-]*)(\S+)")
_STRIP = " \t\n•·–—-|*"


def _closed_quote_spans(text: str) -> list[tuple[int, int]]:
    """Spans ``(open, close)`` of double quotations that open and close within ``text``."""
    spans, opening, straight = [], [], None
    for i, ch in enumerate(text):
        if ch == "“":
            opening.append(i)
        elif ch == "”" and opening:
            spans.append((opening.pop(), i))
        elif ch == '"':
            if straight is None:
                straight = i
            else:
                spans.append((straight, i))
                straight = None
    return spans


def _word_before(block: str, end: int) -> str:
    """The word of ASCII letters and dots (starting with a letter) that ends just before the dot at
    ``end - 1`` of ``block`` ("" when none); read backwards, so its cost is the word's length, not
    the paragraph's."""
    if block[end - 1] != ".":
        return ""
    start = end - 1
    while start > 0 and (block[start - 1] == "." or (block[start - 1].isascii() and block[start - 1].isalpha())):
        start -= 1
    while start < end - 1 and block[start] == ".":
        start += 1
    return block[start : end - 1]


def _is_abbreviation(word: str, next_word: str) -> bool:
    if not word:
        return False
    if word.lower() in ABBREVIATIONS:
        return not (word.lower() in {"etc"} and next_word[:1].isupper())
    if word.lower() == "no":
        return next_word[:1].isdigit()
    if len(word) == 1 and word.isupper():
        return True
    if _DOTTED.match(word):
        return next_word.lower().strip("\"“‘'(") not in SENTENCE_STARTERS
    return False


def split_sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans ``(char_start, char_end)`` of ``text[start:end]``, offsets into ``text``.

    Spans are trimmed of surrounding whitespace and leading bullets or dashes.
    """
    end = len(text) if end is None else end
    block = text[start:end]
    quotes = _closed_quote_spans(block)
    cuts = [0]
    for match in _END.finditer(block):
        stop = match.end()
        following = _NEXT_WORD.match(block, stop)
        if following is None:
            continue
        next_word = following.group(2)
        opener = following.group(1)
        if not (opener or next_word[:1].isupper() or next_word[:1].isdigit()):
            continue
        if any(a < match.start() < b for a, b in quotes):
            continue
        if _is_abbreviation(_word_before(block, match.start() + 1), next_word):
            continue
        cuts.append(stop)
    cuts.append(len(block))
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        piece = block[a:b]
        lead = len(piece) - len(piece.lstrip(_STRIP))
        trail = len(piece) - len(piece.rstrip())
        if b - trail > a + lead:
            spans.append((start + a + lead, start + b - trail))
    return spans
