"""On the seeds: which sentences are boilerplate, which metadata is inferred, and from where."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from storydiff.corpus.clean import classify_line
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables


@pytest.fixture(scope="module")
def seeds_tables(seeds_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The articles and sentences tables of the five seed articles."""
    articles, _ = read_corpus(seeds_dir)
    return build_corpus_tables(articles)


def reasons(sentences: pd.DataFrame, prefix: str) -> dict[str, str]:
    rows = sentences[sentences["article_id"].str.startswith(prefix) & sentences["boilerplate"]]
    return dict(zip(rows["text"], rows["boilerplate_reason"]))


@pytest.mark.parametrize(
    ("prefix", "text", "reason"),
    [
        ("000", "Source: Guardian, Reuters.", "source line"),
        ("000", "Source: Kathimerini", "source line"),
        ("000", "She is known for her insightful analysis and compelling storytelling.", "author bio"),
        ("001", "date 2023-03-06", "date line"),
        ("002", "Sat. Apr 20th, 2024", "date line"),
        ("002", "BySamantha Johnson", "byline"),
        ("002", "By Samantha Johnson", "byline"),
        ("002", "Leave a Reply", "ad or widget"),
        ("003", "Advertisement", "ad or widget"),
        ("003", "Get more with myNEWS", "ad or widget"),
        ("003", "A personalised news feed of stories that matter to you", "ad or widget"),
        ("003", "Photo: Xinhua", "photo caption"),
        ("003", "40", "stray number or symbol"),
        ("004", "Share.", "ad or widget"),
        ("004", "Exit mobile version", "ad or widget"),
    ],
)
def test_seed_boilerplate(seeds_tables, prefix: str, text: str, reason: str) -> None:
    assert reasons(seeds_tables[1], prefix)[text] == reason


def test_bio_and_caption_sentences_are_all_boilerplate(seeds_tables) -> None:
    sentences = seeds_tables[1]
    bio = sentences[sentences["text"].str.startswith("As a content writer at newszkz.com")]
    caption = sentences[sentences["text"].str.startswith("Xi Jinping with Xue Qikun (left)")]
    assert bio["boilerplate"].all() and caption["boilerplate"].all()
    assert not sentences["text"].str.contains("Join me on this journey").loc[~sentences["boilerplate"]].any()


def test_news_sentences_are_content(seeds_tables) -> None:
    sentences = seeds_tables[1]
    content = set(sentences.loc[~sentences["boilerplate"], "text"])
    assert "“We must have a greater sense of urgency,” he said." in content
    assert "Core technologies are out of China’s hands, Xi says" in content
    assert any(t.startswith("Chinese President Xi Jinping has urged") for t in content)


def test_seed_metadata_and_provenance(seeds_tables) -> None:
    articles = seeds_tables[0].set_index(seeds_tables[0]["article_id"].str[:3])
    assert articles.loc["001", ["published", "published_from"]].tolist() == ["2023-03-06", "text"]
    assert articles.loc["002", ["published", "published_from"]].tolist() == ["2024-03-06", "text"]
    assert articles.loc["000", "outlet"] == "247 News Reel" and articles.loc["000", "author"] == "Anna White"
    assert articles.loc["002", "outlet"] == "newszkz.com" and articles.loc["002", "author"] == "Samantha Johnson"
    assert articles.loc["004", "outlet"] == "Business Insider"
    assert articles.loc["000", "sources"] == "Guardian, Reuters; Kathimerini"
    for unknown in ("000", "003", "004"):  # no date is stated: nothing is invented
        assert articles.loc[unknown, ["published", "published_from"]].tolist() == ["", ""]
    assert articles.loc["003", "title"].startswith("Xi Jinping calls for Chinese scientists")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Subscribe to our newsletter", "ad or widget"),
        ("Follow us on Twitter", "ad or widget"),
        ("John Smith is a senior reporter at The Daily Planet covering politics.", "author bio"),
        ("Firefighters at the scene on Friday. Photograph: Reuters", "photo caption"),
        ("By Maria de la Cruz", "byline"),
        ("Posted 12 March 2021", "date line"),
        ("17", "stray number or symbol"),
        ("The minister resigned on Friday after weeks of pressure.", ""),
        ("Byelections are due in May in three constituencies.", ""),
    ],
)
def test_general_rules(line: str, reason: str) -> None:
    assert classify_line(line) == reason
