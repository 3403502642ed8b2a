"""A JSONL or CSV file too large to read at once is cut at record ends into ranges read apart
(``readers.split_large_tables``), which give the articles, line numbers, ids and problems of
reading it whole; the size limit then applies to each record, not to the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from storydiff.corpus.readers import FileRange, read_corpus, split_table_file
from storydiff.corpus.tables import build_corpus_tables
from storydiff.engine import LocalEngine
from storydiff.stages import CorpusReading, group_inputs

WHOLE = 10**9  # range_bytes that never cuts a test file
SMALL = 700  # range_bytes that cuts one into several ranges


@pytest.fixture
def seed_texts(seeds_dir: Path) -> list[str]:
    """The five seed articles' texts, each some 1,500-3,000 characters."""
    return [path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*.txt"))]


@pytest.fixture
def feed(seed_texts: list[str], tmp_path: Path) -> Path:
    """``feed.jsonl``, 15 lines, some ending in CRLF: the seeds three times with a title and an
    outlet, one seed's text holding U+2028 and U+0085 (line breaks to ``str.splitlines``, not to
    JSON Lines), a blank line (no problem), line 7 broken JSON, line 11 a record without text."""
    lines = [json.dumps({"text": text, "title": f"Seed {n}", "outlet": "Wire"}) for n, text in enumerate(seed_texts * 3)]
    lines[2] = json.dumps({"text": seed_texts[2].replace(". ", ".\u2028 ", 1).replace(", ", ",\u0085 ", 1)}, ensure_ascii=False)
    lines[4] = ""
    lines[6] = '{"text": "cut off'
    lines[10] = json.dumps({"title": "no body"})
    path = tmp_path / "feed.jsonl"
    path.write_bytes("".join(line + ("\r\n" if n % 3 else "\n") for n, line in enumerate(lines)).encode("utf-8"))
    return path


@pytest.fixture
def sheet(seed_texts: list[str], tmp_path: Path) -> Path:
    """``sheet.csv`` with a UTF-8 BOM: a header, then the seeds twice as quoted multi-line texts
    (their paragraphs keep their line breaks, one has a doubled quote), a row with an empty text
    between them (row 6, skipped), and a last row whose text is 200,000 characters (over the csv
    module's default field limit)."""
    path = tmp_path / "sheet.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["title", "text", "published"])
        for n, text in enumerate(seed_texts * 2):
            writer.writerow([f"Seed {n}", text.replace("said", 'said "quote"', 1), "2024-03-0%d" % (n % 9 + 1)])
            if n == 4:
                writer.writerow(["Empty", "", ""])
        writer.writerow(["Long", "Word. " * 33_334, ""])
    return path


def test_jsonl_ranges_give_the_articles_of_reading_whole(feed: Path) -> None:
    ranges = split_table_file(feed, SMALL)
    assert isinstance(ranges, list) and len(ranges) > 4
    assert [r.first_line for r in ranges] == sorted({r.first_line for r in ranges}) and ranges[0].start == 0
    assert ranges[-1].end == feed.stat().st_size and all(a.end == b.start for a, b in zip(ranges, ranges[1:]))
    whole = read_corpus(feed, range_bytes=WHOLE)
    assert read_corpus(feed, range_bytes=SMALL) == whole
    articles, skipped = whole
    assert [a.line for a in articles] == [1, 2, 3, 4, 6, 8, 9, 10, 12, 13, 14, 15]
    assert [a.article_id for a in articles][:3] == ["feed-1", "feed-2", "feed-3"]
    assert "\u2028" in articles[2].text and "\u0085" in articles[2].text
    assert [s.message() for s in skipped] == [
        f"{feed}:7: not valid JSON (Unterminated string starting at)", f"{feed}:11: no 'text' field, or it is empty"]


def test_csv_ranges_cut_between_records_of_several_lines(sheet: Path) -> None:
    ranges = split_table_file(sheet, SMALL)
    assert isinstance(ranges, list) and len(ranges) > 4
    assert all(r.header.startswith(b"\xef\xbb\xbftitle,text,published") and r.encoding == "utf-8-sig" for r in ranges)
    whole = read_corpus(sheet, range_bytes=WHOLE)
    assert read_corpus(sheet, range_bytes=SMALL) == whole
    articles, skipped = whole
    assert len(articles) == 11 and articles[-1].text.startswith("Word. Word.") and len(articles[-1].text) > 200_000
    assert 'said "quote"' in articles[0].text and articles[0].meta["published"] == "2024-03-01"
    starts = [a.line for a in articles]
    assert starts[0] == 2 and all(b - a > 1 for a, b in zip(starts, starts[1:]))  # every text spans lines
    assert [s.message() for s in skipped] == [f"{sheet}:{starts[5] - 1}: empty 'text'"]


def test_malformed_csv_is_read_up_to_its_bad_record(seed_texts: list[str], tmp_path: Path) -> None:
    """A bare carriage return in an unquoted field (row 7) stops the csv module: the rows before
    it are read, in ranges as whole, and the problem names its line."""
    rows = [f'Seed {n},"{text}"' for n, text in enumerate(seed_texts)]
    path = tmp_path / "broken.csv"
    path.write_text("title,text\n" + "\n".join([*rows, "Bad,one\rtwo", *rows]) + "\n", encoding="utf-8", newline="")
    whole = read_corpus(path, range_bytes=WHOLE)
    assert read_corpus(path, range_bytes=SMALL) == whole and len(split_table_file(path, SMALL)) > 2
    bad_line = 2 + sum(text.count("\n") + 1 for text in seed_texts)
    assert len(whole[0]) == 5 and [(s.line, s.problem[:30]) for s in whole[1]] == [(bad_line, "malformed CSV from here on, no")]


def test_cp1252_file_in_ranges(seed_texts: list[str], tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    records = [json.dumps({"text": text.replace("the", "thé", 2) + " \u20ac5 \u2019"}, ensure_ascii=False) for text in seed_texts * 2]
    path.write_bytes("\n".join(records).encode("cp1252"))
    ranges = split_table_file(path, SMALL)
    assert isinstance(ranges, list) and {r.encoding for r in ranges} == {"cp1252"}
    whole = read_corpus(path, range_bytes=WHOLE)
    assert read_corpus(path, range_bytes=SMALL) == whole and "thé" in whole[0][0].text and "\u20ac5 \u2019" in whole[0][0].text


def test_other_encodings_are_read_whole(seed_texts: list[str], tmp_path: Path) -> None:
    """Neither UTF-8 nor cp1252 (0x81 is in neither): charset-normalizer decides, on the whole file."""
    path = tmp_path / "other.jsonl"
    path.write_bytes(b"\n".join(json.dumps({"text": text}).encode("ascii") for text in seed_texts) + b'\n{"text": "\x81\xe9"}\n')
    assert split_table_file(path, SMALL) is None


def test_csv_without_text_column_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("title,body\n" + "A,B\n" * 400, encoding="utf-8")
    (tmp_path / "other.txt").write_text("An article beside it.", encoding="utf-8")
    assert [s.message() for s in read_corpus(tmp_path, range_bytes=SMALL)[1]] == [
        f"{path}: no 'text' column (columns: title, body)"]


def test_size_limit_applies_to_each_record(seed_texts: list[str], tmp_path: Path) -> None:
    """A 2.5 MB JSONL file with a 1.5 MB record under ``max_file_mb=1``: read in ranges (it is over
    the limit), its other records kept, the large one skipped, named by its line."""
    path = tmp_path / "big.jsonl"
    records = [{"text": seed_texts[0]}, {"text": "word " * 300_000}, *({"text": text} for text in seed_texts[1:] * 60)]
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    articles, skipped = read_corpus(path, max_file_mb=1)
    assert len(articles) == len(records) - 1 and [a.line for a in articles[:2]] == [1, 3]
    assert [s.message() for s in skipped] == [f"{path}:2: a 1.5 MB text is over the 1 MB limit (parameter max_file_mb)"]


def test_partitions_read_a_range_each_and_give_the_tables_of_reading_whole(
    feed: Path, sheet: Path, seeds_dir: Path, partitioned_engine: LocalEngine
) -> None:
    """A folder of both tables and two seed files, read two inputs a partition with small ranges."""
    corpus = feed.parent
    for path in sorted(seeds_dir.glob("*.txt"))[:2]:
        (corpus / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    reading = CorpusReading(partitioned_engine, corpus, partition_size=2, range_bytes=SMALL)
    parts = list(reading)
    raws, skipped = read_corpus(corpus)
    articles, sentences = build_corpus_tables(raws)
    pd.testing.assert_frame_equal(pd.concat([a for _, a, _ in parts], ignore_index=True), articles)
    pd.testing.assert_frame_equal(pd.concat([s for _, _, s in parts], ignore_index=True), sentences)
    assert reading.skipped == skipped and len(skipped) == 3


def test_a_range_is_a_partition_of_its_own(tmp_path: Path) -> None:
    ranges = [FileRange("f.jsonl", n, n + 1, n + 1, "utf-8") for n in range(2)]
    files = [tmp_path / f"{n}.txt" for n in range(3)]
    assert list(group_inputs([files[0], *ranges, *files[1:]], 2)) == [[files[0]], [ranges[0]], [ranges[1]], files[1:]]
    assert list(group_inputs([files[0], *ranges], None)) == [[files[0], *ranges]]
