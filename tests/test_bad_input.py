"""Bad inputs are skipped with one clear line each, or decoded when they are merely encoded oddly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storydiff.corpus.readers import CorpusError, read_corpus

GOOD = "A good article. It has two sentences."


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with one good article, to which each test adds one bad input."""
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    return tmp_path


def only_problem(corpus: Path) -> str:
    articles, skipped = read_corpus(corpus)
    assert [a.article_id for a in articles] == ["good"]
    assert len(skipped) == 1
    return skipped[0].message()


def test_empty_file(corpus: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"  \n")
    assert only_problem(corpus) == f"{corpus / 'empty.txt'}: empty file"


def test_binary_file(corpus: Path) -> None:
    (corpus / "image.txt").write_bytes(bytes(range(256)) * 20)
    message = only_problem(corpus)
    assert message.startswith(str(corpus / "image.txt")) and "binary" in message


def test_cp1252_and_latin1_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "cp.txt").write_bytes("The minister said \u201cno\u201d \u2013 twice in Z\u00fcrich.".encode("cp1252"))
    (tmp_path / "latin.txt").write_bytes("Caf\u00e9 owners in S\u00e3o Paulo protested na\u00efvely.".encode("latin-1"))
    articles, skipped = read_corpus(tmp_path)
    texts = {a.article_id: a.text for a in articles}
    assert not skipped
    assert texts["cp"] == "The minister said \u201cno\u201d \u2013 twice in Z\u00fcrich."
    assert texts["latin"] == "Caf\u00e9 owners in S\u00e3o Paulo protested na\u00efvely."


def test_utf8_bom_is_removed(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    articles, _ = read_corpus(tmp_path)
    assert articles[0].text == GOOD and articles[0].encoding == "utf-8-sig"


def test_jsonl_bad_line_names_the_line(corpus: Path) -> None:
    (corpus / "feed.jsonl").write_text('{"text": "Fine record here."}\n{not json}\n{"title": "no text"}\n')
    articles, skipped = read_corpus(corpus)
    assert [a.article_id for a in articles] == ["feed-1", "good"]
    messages = [s.message() for s in skipped]
    assert messages[0].startswith(f"{corpus / 'feed.jsonl'}:2: not valid JSON")
    assert messages[1] == f"{corpus / 'feed.jsonl'}:3: no 'text' field, or it is empty"


def test_csv_without_text_column(corpus: Path) -> None:
    (corpus / "table.csv").write_text("title,body\nA,B\n")
    assert only_problem(corpus) == f"{corpus / 'table.csv'}: no 'text' column (columns: title, body)"


def test_file_over_size_limit(corpus: Path) -> None:
    (corpus / "huge.txt").write_text("word " * 300_000)
    articles, skipped = read_corpus(corpus, max_file_mb=1)
    assert [a.article_id for a in articles] == ["good"]
    assert skipped[0].message() == f"{corpus / 'huge.txt'}: 1.5 MB is over the 1 MB limit (parameter max_file_mb)"


def test_unreadable_file(corpus: Path) -> None:
    os.symlink(corpus / "missing-target.txt", corpus / "dangling.txt")
    message = only_problem(corpus)
    assert message.startswith(f"{corpus / 'dangling.txt'}: cannot be read")


def test_unsupported_type_is_listed(corpus: Path) -> None:
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4")
    assert only_problem(corpus) == f"{corpus / 'scan.pdf'}: unsupported file type '.pdf'"


def test_readme_is_not_an_article(corpus: Path) -> None:
    (corpus / "README.TXT").write_text("This folder holds articles collected in May.")
    assert only_problem(corpus) == f"{corpus / 'README.TXT'}: documentation file (README, LICENSE), not an article"


def test_missing_corpus_path(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus path does not exist"):
        read_corpus(tmp_path / "nowhere")


def test_folder_without_articles(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CorpusError, match="no readable articles .*empty file"):
        read_corpus(tmp_path)
