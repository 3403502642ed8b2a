"""Reading a corpus a partition at a time (``stages.CorpusReading``, what the corpus stage runs)
gives the tables of reading it whole: ids repeated in a later partition made unique, sidecar
metadata, duplicates of articles in earlier partitions, inputs skipped in any partition."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from storydiff.corpus.readers import CorpusError, read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.engine import LocalEngine
from storydiff.stages import CorpusReading


@pytest.fixture
def mixed_corpus(seeds_dir: Path, tmp_path: Path) -> Path:
    """Eight files in four folders, read two files a partition: ``a/`` two seed articles;
    ``b/`` a third seed article under a file name already used in ``a/`` (so a repeated article
    id), and a republished copy of ``a/00_original.txt`` (an exact duplicate: the same words with
    an advertisement line before and a share line after); ``c/`` that article with a date and a
    figure changed (a near duplicate of it) and a fourth seed article, whose outlet only the
    sidecar ``metadata.csv`` gives; ``d/`` an empty file and a binary one (both skipped, in the
    last partition, which therefore gives no article)."""
    corpus = tmp_path / "corpus"
    for folder in "abcd":
        (corpus / folder).mkdir(parents=True)
    seed = {name: (seeds_dir / f"{name}.txt").read_text(encoding="utf-8") for name in (
        "000_5d18fac3f20709e1", "001_f143fa2de294bd11", "003_e726dfa3e51d9b8c", "004_a276edb3dc268999")}
    original = seed["003_e726dfa3e51d9b8c"]
    (corpus / "a" / "00_original.txt").write_text(original, encoding="utf-8")
    (corpus / "a" / "01_other.txt").write_text(seed["004_a276edb3dc268999"], encoding="utf-8")
    (corpus / "b" / "00_original.txt").write_text(seed["000_5d18fac3f20709e1"], encoding="utf-8")
    (corpus / "b" / "02_copy.txt").write_text("Advertisement\n" + original + "\nShare.", encoding="utf-8")
    edited = original.replace("Monday", "Tuesday", 1).replace("98 billion", "99 billion")
    (corpus / "c" / "03_edited.txt").write_text(edited, encoding="utf-8")
    (corpus / "c" / "04_sidecar.txt").write_text(seed["001_f143fa2de294bd11"], encoding="utf-8")
    (corpus / "d" / "05_empty.txt").write_text("", encoding="utf-8")
    (corpus / "d" / "06_binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "metadata.csv").write_text("file,outlet\n04_sidecar.txt,Sidecar Times\n", encoding="utf-8")
    return corpus


def test_reading_by_partition_gives_the_tables_of_reading_whole(mixed_corpus: Path, partitioned_engine: LocalEngine) -> None:
    reading = CorpusReading(partitioned_engine, mixed_corpus, partition_size=2)
    parts = list(reading)
    raws, skipped = read_corpus(mixed_corpus)
    articles, sentences = build_corpus_tables(raws)
    assert [number for number, _, _ in parts] == [0, 1, 2]  # 6 articles, 2 a partition
    assert all(len(part) == 2 for _, part, _ in parts)
    pd.testing.assert_frame_equal(pd.concat([a for _, a, _ in parts], ignore_index=True), articles)
    pd.testing.assert_frame_equal(pd.concat([s for _, _, s in parts], ignore_index=True), sentences)
    assert reading.skipped == skipped and [Path(s.path).name for s in skipped] == ["05_empty.txt", "06_binary.txt"]
    by_id = articles.set_index("article_id")
    assert list(by_id.index) == ["00_original", "01_other", "00_original~2", "02_copy", "03_edited", "04_sidecar"]
    assert tuple(by_id.loc["02_copy", ["duplicate_of", "duplicate_similarity"]]) == ("00_original", 1.0)
    assert by_id.loc["03_edited", "duplicate_of"] == "00_original" and 0.8 <= by_id.loc["03_edited", "duplicate_similarity"] < 1
    assert by_id.loc["00_original~2", "duplicate_of"] == ""
    assert tuple(by_id.loc["04_sidecar", ["outlet", "outlet_from"]]) == ("Sidecar Times", "meta")


def test_any_split_gives_the_same_rows(mixed_corpus: Path, partitioned_engine: LocalEngine) -> None:
    whole = [pd.concat(frames, ignore_index=True) for frames in zip(*[(a, s) for _, a, s in CorpusReading(LocalEngine(), mixed_corpus)])]
    for size in (1, 3, 5):
        parts = list(CorpusReading(partitioned_engine, mixed_corpus, partition_size=size))
        pd.testing.assert_frame_equal(pd.concat([a for _, a, _ in parts], ignore_index=True), whole[0])
        pd.testing.assert_frame_equal(pd.concat([s for _, _, s in parts], ignore_index=True), whole[1])


def test_a_corpus_without_any_article_fails_once_every_input_was_tried(tmp_path: Path, partitioned_engine: LocalEngine) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "notes.jsonl").write_text('{"title": "no text"}\n', encoding="utf-8")
    reading = CorpusReading(partitioned_engine, tmp_path, partition_size=1)
    with pytest.raises(CorpusError, match=r"no readable articles \(.*empty\.txt: .*; .*notes\.jsonl:1: no 'text' field"):
        list(reading)
    assert len(reading.skipped) == 2
