"""Exact and near-duplicate articles are flagged; the first is kept; a corpus with a duplicate
runs through every stage, the duplicate in the story of the article it duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasketch.hashfunc import sha1_hash32

from storydiff.corpus.duplicates import hash_shingles, jaccard
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.runfolder import read_manifest, read_table
from storydiff.runner import run_pipeline


def test_exact_and_near_duplicates(seeds_dir: Path, tmp_path: Path) -> None:
    original = (seeds_dir / "003_e726dfa3e51d9b8c.txt").read_text(encoding="utf-8")
    (tmp_path / "a_original.txt").write_text(original, encoding="utf-8")
    (tmp_path / "b_copy.txt").write_text("Advertisement\n" + original + "\nShare.", encoding="utf-8")
    (tmp_path / "c_edited.txt").write_text(original.replace("Monday", "Tuesday", 1).replace("98 billion", "99 billion"), encoding="utf-8")
    (tmp_path / "d_other.txt").write_text((seeds_dir / "004_a276edb3dc268999.txt").read_text(encoding="utf-8"), encoding="utf-8")
    articles, _ = read_corpus(tmp_path)
    table, _ = build_corpus_tables(articles)
    dup = dict(zip(table["article_id"], table["duplicate_of"]))
    score = dict(zip(table["article_id"], table["duplicate_similarity"]))
    assert dup == {"a_original": "", "b_copy": "a_original", "c_edited": "a_original", "d_other": ""}
    assert score["b_copy"] == 1.0 and 0.8 <= score["c_edited"] < 1.0


def test_shingle_hashes_stand_for_the_shingles(seeds_dir: Path) -> None:
    """The 64-bit hashes held instead of the shingle texts: one per distinct word 5-gram, their
    low 32 bits what datasketch's MinHash hashes, their Jaccard the shingles' own."""
    text = (seeds_dir / "003_e726dfa3e51d9b8c.txt").read_text(encoding="utf-8")
    edited = text.replace("Monday", "Tuesday", 1).replace("98 billion", "99 billion")

    def shingles(t: str) -> set[str]:
        words = "".join(c if c.isalnum() or c == "_" else " " for c in t.lower()).split()
        return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}

    mine, theirs = shingles(text), shingles(edited)
    hashes = hash_shingles(text)
    assert len(hashes) == len(mine) and np.all(hashes[1:] > hashes[:-1])
    assert set((hashes & 0xFFFFFFFF).tolist()) == {sha1_hash32(s.encode()) for s in mine}
    assert jaccard(hashes, hash_shingles(edited)) == len(mine & theirs) / len(mine | theirs)
    assert hash_shingles("Three short words").tolist() == hash_shingles("three SHORT words!").tolist()
    assert len(hash_shingles("")) == 1


def test_seeds_have_no_duplicates(seeds_dir: Path) -> None:
    table, _ = build_corpus_tables(read_corpus(seeds_dir)[0])
    assert (table["duplicate_of"] == "").all()


def test_a_corpus_with_a_duplicate_runs_through_the_report(seeds_dir: Path, tmp_path: Path) -> None:
    """Three seed articles and a republished copy of one (a line added before and after): the
    report stage checked that the stories held only the articles that are not duplicates, while
    the comparison puts a duplicate in its original's story, so such a corpus failed there."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_5d18fac3f20709e1.txt", "003_e726dfa3e51d9b8c.txt", "004_a276edb3dc268999.txt"):
        (corpus / name).write_text((seeds_dir / name).read_text(encoding="utf-8"), encoding="utf-8")
    original = (seeds_dir / "003_e726dfa3e51d9b8c.txt").read_text(encoding="utf-8")
    (corpus / "005_republished.txt").write_text("Advertisement\n" + original + "\nShare.", encoding="utf-8")
    run = run_pipeline(corpus, tmp_path / "run", echo=lambda line: None)
    assert read_manifest(run)["status"] == "ok"
    articles = read_table(run, "articles")
    assert dict(zip(articles["article_id"], articles["duplicate_of"]))["005_republished"] == "003_e726dfa3e51d9b8c"
    stories = read_table(run, "stories")
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    assert story_of["005_republished"] == story_of["003_e726dfa3e51d9b8c"]
    assert (run / "report.html").is_file()
