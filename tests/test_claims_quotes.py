"""Quotes and speakers: quote marks vs apostrophes, quotes running over sentences, and
speakers resolved from pronouns, role nouns and short names with the article's context."""

from __future__ import annotations

import pytest

from storydiff.claims import load_nlp
from storydiff.claims.quotes import attribute_quotes, canonical_name, find_article_quotes, is_name


@pytest.fixture(scope="module")
def nlp():
    """spaCy's small English pipeline, loaded once for the module."""
    return load_nlp()


def attribute(nlp, sentences: list[str]) -> list[tuple[str, str]]:
    return attribute_quotes([nlp(s) for s in sentences])


def test_apostrophes_are_not_quote_marks():
    [(spans, continues)] = find_article_quotes(["China’s companies’ interests don't matter, ‘he’s’ fine"])
    assert spans == [(len("China’s companies’ interests don't matter, ‘"), len("China’s companies’ interests don't matter, ‘he’s"))]
    assert not continues


def test_quote_over_two_sentences():
    texts = ["“As the environment is getting more complex, we should open our doors.",
             "We should achieve self-reliance,” the Chinese leader said.", "Nothing here."]
    result = find_article_quotes(texts)
    assert result[0] == ([(1, len(texts[0]))], True)
    assert result[1] == ([(0, texts[1].index("”"))], False)
    assert result[2] == ([], False)


def test_unclosed_single_quote_does_not_run_on():
    texts = ["The department said it was aimed to prevent 'sensitive technologies being acquired.",
             "In the aftermath, Beijing lashed out."]
    assert [c for _, c in find_article_quotes(texts)] == [False, False]


def test_pronoun_and_continuation_keep_the_speaker(nlp):
    result = attribute(nlp, [
        "Addressing a conference in Beijing on Monday, Xi Jinping said the focus should be on chips.",
        "“We must have a greater sense of urgency,” he said.",
        "“We must step up innovation.”",
    ])
    assert result == [("", "Xi Jinping"), ("We must have a greater sense of urgency", "Xi Jinping"),
                      ("We must step up innovation.", "Xi Jinping")]


def test_inverted_attribution_and_she(nlp):
    result = attribute(nlp, [
        "“The US abuses export control measures,” said Foreign Ministry spokeswoman Mao Ning.",
        "“It will damage American companies’ interests,” she added.",
    ])
    assert [s for _, s in result] == ["Mao Ning", "Mao Ning"]


def test_role_noun_and_short_name_resolve_to_the_full_name(nlp):
    result = attribute(nlp, [
        "Chinese President Xi Jinping has urged his countrymen to speed up development.",
        "“China should rely on innovation,” said Jinping, according to a readout.",
        "“We should open our hearts,” the Chinese leader said.",
    ])
    assert [s for _, s in result] == ["Xi Jinping", "Xi Jinping", "Xi Jinping"]


def test_partial_quote_in_running_text(nlp):
    [(quote, speaker)] = attribute(nlp, [
        "President Xi Jinping has called on researchers to step up innovation in the hi-tech sector – "
        "which he called a “main battlefield” in superpower rivalry."])
    assert (quote, speaker) == ("main battlefield", "Xi Jinping")


def test_according_to_and_organisations(nlp):
    result = attribute(nlp, [
        "The volta-face by Xi is an attempt to arrest the slide, according to experts.",
        "The US Treasury Department last week said it was proposing new rules.",
        "The draft budget notes a 13 percent increase.",
    ])
    assert [s for _, s in result] == ["experts", "US Treasury Department", ""]


def test_names_in_quote_marks_are_not_quotes():
    assert is_name("Two Sessions") and not is_name("main battlefield") and not is_name("We must act")


def test_canonical_name():
    people = ["Xi Jinping", "Mao Ning", "Jack Ma"]
    assert canonical_name("Xi", people) == "Xi Jinping"
    assert canonical_name("Jinping", people) == "Xi Jinping"
    assert canonical_name("Li Deren", people) == "Li Deren"


def test_passive_and_clauseless_verbs_name_no_speaker(nlp):
    result = attribute(nlp, [
        "Sideways is written and directed by Alexander Payne.",
        "Police found the trio in a warehouse, the hearing was told.",
        "SMFG shares climbed by 2.7%, and Daiwa added 5.3% to 740 yen.",
        "James Goodman said old phones pile up.",
        "But, he added, those keen to use a mobile will not accept any old handset.",
        "When John Smith arrived at the office, he said the plan had failed.",
    ])
    assert [s for _, s in result] == ["", "", "", "James Goodman", "James Goodman", "John Smith"]


def test_short_name_prefers_the_person_in_context(nlp):
    result = attribute(nlp, [
        "Jarek Kujda, one of the founding members, has been into electronic music for a while.",
        "“I first used a GameBoy in my band,” said Kujda.",
        "Malgorzata Kujda, Jarek's younger sister, describes a concert as a lot of noise.",
        "“I make music with more hard beats,” she said.",
    ])
    assert [s for _, s in result] == ["", "Jarek Kujda", "Malgorzata Kujda", "Malgorzata Kujda"]
