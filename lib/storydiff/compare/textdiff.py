"""Word-level differences between two renderings of one text (quotes, aligned sentences).

Words are compared case-insensitively and without punctuation, so "Innovation," and "innovation"
are the same word; the spans returned keep the original spelling for display.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import NamedTuple

_WORD = re.compile(r"[\w$€£¥%]+(?:[’'.,-][\w]+)*")


class WordChange(NamedTuple):
    """One stretch of a word diff: ``op`` is equal/replace/delete/insert; words as written."""

    op: str
    words_a: str
    words_b: str


def word_spans(text: str) -> list[tuple[int, int]]:
    """(char_start, char_end) of each word of ``text``, in order (see ``split_words``)."""
    return [m.span() for m in _WORD.finditer(text)]


def split_words(text: str) -> list[str]:
    """The words of ``text`` in order (numbers such as 13.5 and 3,000 stay whole)."""
    return _WORD.findall(text)


def normalise_word(word: str) -> str:
    """Compare key of a word: lower case, curly apostrophes straightened."""
    return word.lower().replace("’", "'")


def match_words(words_a: list[str], words_b: list[str]) -> SequenceMatcher:
    """A matcher aligning two word lists by their compare keys (``normalise_word``)."""
    return SequenceMatcher(
        a=[normalise_word(w) for w in words_a],
        b=[normalise_word(w) for w in words_b],
        autojunk=False,
    )


def diff_words(text_a: str, text_b: str) -> list[WordChange]:
    """Align the words of two texts; consecutive changes are merged into one ``WordChange``."""
    words_a, words_b = split_words(text_a), split_words(text_b)
    matcher = match_words(words_a, words_b)
    return [
        WordChange(op, " ".join(words_a[i1:i2]), " ".join(words_b[j1:j2]))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def word_overlap(text_a: str, text_b: str) -> float:
    """Share of words the two texts have in common, in order (0-1, SequenceMatcher ratio)."""
    return match_words(split_words(text_a), split_words(text_b)).ratio()


def contains_words(text_long: str, text_short: str) -> bool:
    """True when the words of ``text_short`` appear, in order and contiguous, in ``text_long``."""
    long_words = [normalise_word(w) for w in split_words(text_long)]
    short_words = [normalise_word(w) for w in split_words(text_short)]
    n = len(short_words)
    if n == 0:
        return True
    return any(long_words[i : i + n] == short_words for i in range(len(long_words) - n + 1))


def describe_word_changes(text_a: str, text_b: str, max_changes: int = 6) -> str:
    """Readable list of the differing words, e.g. '"fields" vs "areas"; "promote" vs "foster"'.

    Returns "" when the texts have the same words. At most ``max_changes`` stretches are listed,
    then "and N more".
    """
    parts = []
    for change in diff_words(text_a, text_b):
        if change.op == "equal":
            continue
        if change.op == "delete":
            parts.append(f'"{change.words_a}" only in A')
        elif change.op == "insert":
            parts.append(f'"{change.words_b}" only in B')
        else:
            parts.append(f'"{change.words_a}" vs "{change.words_b}"')
    shown = "; ".join(parts[:max_changes])
    if len(parts) > max_changes:
        shown += f"; and {len(parts) - max_changes} more"
    return shown
