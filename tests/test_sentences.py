"""The splitter: offsets slice back to the text, and quotes, abbreviations and headings are handled."""

from __future__ import annotations

import pytest

from storydiff.corpus.sentences import split_sentence_spans
from storydiff.corpus.tables import split_article


def split(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“We must act,” he said. “We must act now.”", ["“We must act,” he said.", "“We must act now.”"]),
        (
            "“We should open. We should coordinate,” the leader said. Then he left.",
            ["“We should open. We should coordinate,” the leader said.", "Then he left."],
        ),
        ('He said "Go. Now." and left. Fine.', ['He said "Go. Now." and left.', "Fine."]),
        ("Dr. Ilaria Karotsa spoke. She left.", ["Dr. Ilaria Karotsa spoke.", "She left."]),
        ("Sanctions by the U.S. Treasury hit. Markets fell.", ["Sanctions by the U.S. Treasury hit.", "Markets fell."]),
        ("Chips made in the U.S. The rest came from Asia.", ["Chips made in the U.S.", "The rest came from Asia."]),
        ("It rose 3.5 percent. J. Smith agreed.", ["It rose 3.5 percent.", "J. Smith agreed."]),
        ("Is it over? Yes! It is.", ["Is it over?", "Yes!", "It is."]),
        ("He cited the ‘two sessions’. Then left.", ["He cited the ‘two sessions’.", "Then left."]),
        ("Seen at the ..U.S. Embassy. Then left.", ["Seen at the ..U.S. Embassy.", "Then left."]),
        ("Its price was 4 dollars ..A. Smith left.", ["Its price was 4 dollars ..A. Smith left."]),
        ("He met Mé. Dupont. Then left.", ["He met Mé.", "Dupont.", "Then left."]),
        ("Overwhelming. Etc. The end.", ["Overwhelming.", "Etc.", "The end."]),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    assert split(text) == expected


def test_abbreviation_after_thousands_of_sentences_in_one_paragraph() -> None:
    """The word before each full stop is read back from the stop (the paragraph before it was
    searched at every stop: 30 s for this paragraph), with the same result."""
    assert split("Word. " * 20_000 + "Dr. Smith left.")[-2:] == ["Word.", "Dr. Smith left."]


def test_headings_are_their_own_sentences_and_offsets_slice_back() -> None:
    raw = "  Core technologies are out of reach, Xi says\n\nXi spoke on Tuesday. He said more.\n– A strapline without a stop\n"
    clean, rows, _ = split_article("a", raw)
    assert [r["text"] for r in rows] == [
        "Core technologies are out of reach, Xi says",
        "Xi spoke on Tuesday.",
        "He said more.",
        "A strapline without a stop",
    ]
    assert [r["is_heading"] for r in rows] == [True, False, False, True]
    assert all(clean[r["char_start"] : r["char_end"]] == r["text"] for r in rows)


def test_seed_offsets_slice_back(seeds_dir) -> None:
    for path in sorted(seeds_dir.iterdir()):
        clean, rows, _ = split_article(path.stem, path.read_text(encoding="utf-8"))
        assert rows and all(clean[r["char_start"] : r["char_end"]] == r["text"] for r in rows)
