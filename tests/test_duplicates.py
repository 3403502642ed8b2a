"""Exact and near-duplicate articles are flagged; the first is kept; a corpus with a duplicate
runs through every stage, the duplicate in the story of the article it duplicates."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

from storydiff.corpus.duplicates import NUM_PERM, DuplicateFinder, hash_shingles, jaccard, key_contents
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


def test_an_exact_copy_of_a_near_duplicate_points_to_the_article_kept(seeds_dir: Path, tmp_path: Path) -> None:
    """a, then b (a with two figures changed: a near-duplicate of a), then c (b again, exact): c is
    marked as b is, a duplicate of a with b's similarity, never of b, a duplicate itself (the
    story grouping looks each duplicate's article up among the articles kept)."""
    original = (seeds_dir / "003_e726dfa3e51d9b8c.txt").read_text(encoding="utf-8")
    edited = original.replace("Monday", "Tuesday", 1).replace("98 billion", "99 billion")
    for name, text in {"a_original": original, "b_edited": edited, "c_edited_again": edited.upper()}.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    table, _ = build_corpus_tables(read_corpus(tmp_path)[0])
    marks = table.set_index("article_id")[["duplicate_of", "duplicate_similarity"]]
    assert marks.loc["b_edited", "duplicate_of"] == marks.loc["c_edited_again", "duplicate_of"] == "a_original"
    assert 0.8 <= marks.loc["c_edited_again", "duplicate_similarity"] == marks.loc["b_edited", "duplicate_similarity"] < 1.0


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


@pytest.fixture(scope="module")
def edited_bbc(bbc_dir: Path) -> pd.Series:
    """300 BBC business and sport articles, then three edited copies of each, in that order,
    indexed by a new id: an upper-cased copy (one in ten: an exact duplicate, the same words) or
    one with a random share of up to 40% of its sentences dropped, which puts its Jaccard
    similarity to the original on both sides of 0.8 and some copies near each other too."""
    rng = random.Random(7)
    files = sorted(bbc_dir.glob("business/*.txt"))[:150] + sorted(bbc_dir.glob("sport/*.txt"))[:150]
    texts = {f"{f.parent.name}/{f.stem}": f.read_text(encoding="latin-1") for f in files}
    contents = dict(texts)
    for copy in range(3):
        for article_id, text in texts.items():
            if rng.random() < 0.1:
                contents[f"c{copy}/{article_id}"] = text.upper()
            else:
                drop = rng.random() * 0.4
                contents[f"c{copy}/{article_id}"] = ". ".join(s for s in text.split(". ") if rng.random() > drop)
    return pd.Series(contents)


def mark_in_memory(keys: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The reference ``DuplicateFinder`` replaced: digests in a dict, datasketch's MinHashLSH in
    memory, every kept text's shingle hashes in a dict, marking the texts one by one."""
    first, shingles, lsh, marks = {}, {}, MinHashLSH(threshold=threshold * 0.9, num_perm=NUM_PERM), []
    for article_id, digest, mine in zip(keys.index, keys["digest"], keys["shingles"]):
        if digest in first:
            marks.append(first[digest])
            continue
        signature = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int)
        signature.update_batch((mine & 0xFFFFFFFF).tolist())
        scores = [(other, jaccard(mine, shingles[other])) for other in sorted(lsh.query(signature))]
        best = max((s for s in scores if s[1] >= threshold), key=lambda s: s[1], default=None)  # first: smallest id
        if best:
            marks.append(first.setdefault(digest, (best[0], round(best[1], 4))))
            continue
        first[digest] = (article_id, 1.0)
        marks.append(("", 0.0))
        shingles[article_id] = mine
        lsh.insert(article_id, signature)
    return pd.DataFrame(marks, columns=["duplicate_of", "duplicate_similarity"], index=keys.index)


def test_marks_on_disk_equal_marks_in_memory(edited_bbc: pd.Series) -> None:
    """The finder keeps what it remembers in SQLite, a batch of 100 texts at a time: it marks
    every text as the in-memory reference does, scores and ties included."""
    keys = key_contents(edited_bbc)
    finder = DuplicateFinder(0.8)
    marks = pd.concat([finder.mark(keys.iloc[i : i + 100]) for i in range(0, len(keys), 100)])
    finder.close()
    expected = mark_in_memory(keys, 0.8)
    assert marks.index.equals(expected.index)
    assert marks["duplicate_of"].tolist() == expected["duplicate_of"].tolist()
    assert marks["duplicate_similarity"].tolist() == expected["duplicate_similarity"].tolist()
    near = marks["duplicate_similarity"].between(0.8, 0.999)
    assert near.sum() > 100 and (marks["duplicate_similarity"] == 1.0).sum() > 50
    assert (marks["duplicate_of"] == "").sum() > 300  # copies that dropped too much are kept
    assert not marks["duplicate_of"].isin(marks.index[marks["duplicate_of"] != ""]).any()


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
