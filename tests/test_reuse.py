"""Text reuse: order-insensitive sentence alignment, verbatim vs paraphrase, likely source, and\nthe alignment a block of article pairs at a time (same alignments, written a part per block)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from storydiff.compare.reuse import (
    UNDETERMINED, align_articles, align_blocks, count_alignments, find_similar_sentences,
    gather_alignments, iterate_reuse_blocks, likely_source, summarise_reuse,
)
from storydiff.compare.tables import compare_reuse, write_alignments
from storydiff import runfolder
from storydiff.runfolder import TABLES_DIR, read_table, write_table


def _unit(rows):
    """Row-normalised float32 copy of ``rows``."""
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def sentences_and_vectors():
    """Article b rewrites article a with its two sentences swapped (one reworded); c is unrelated."""
    sentences = pd.DataFrame({
        "sentence_id": ["a:0", "a:1", "b:0", "b:1", "c:0"],
        "article_id": ["a", "a", "b", "b", "c"],
        "position": [0, 1, 0, 1, 0],
        "text": [
            "The budget rose by 13 percent this year.",
            "Officials praised the plan on Monday.",
            "On Monday officials lauded the plan.",
            "The budget rose by 13 percent this year.",
            "A football match ended in a draw.",
        ],
    })
    vectors = _unit([[1, 0, 0], [0, 1, 0], [0, 0.95, 0.1], [1, 0, 0], [0, 0, 1]])
    return sentences, vectors


def test_alignment_ignores_order_and_separates_verbatim_from_paraphrase():
    sentences, vectors = sentences_and_vectors()
    aligned = align_articles(sentences, vectors, threshold=0.8)
    assert set(zip(aligned["sentence_id_a"], aligned["sentence_id_b"])) == {("a:0", "b:1"), ("a:1", "b:0")}
    kinds = dict(zip(aligned["sentence_id_a"], aligned["kind"]))
    assert kinds == {"a:0": "verbatim", "a:1": "paraphrase"}


def test_summary_scores_pairs_and_dates_the_source():
    sentences, vectors = sentences_and_vectors()
    aligned = align_articles(sentences, vectors, threshold=0.8)
    articles = pd.DataFrame({"article_id": ["a", "b", "c"], "published": ["2024-06-24", "2024-06-25", ""]})
    stories = pd.DataFrame({"story_id": ["S1", "S1", "S2"], "article_id": ["a", "b", "c"]})
    reuse = summarise_reuse(count_alignments(aligned), sentences, articles, stories)
    row = reuse.set_index(["article_a", "article_b"]).loc[("a", "b")]
    assert row["aligned_sentences"] == 2 and row["verbatim"] == 1 and row["paraphrase"] == 1
    assert row["score"] == 1.0 and row["likely_source"] == "a" and row["same_story"]
    assert len(reuse) == 1


def test_likely_source_is_undetermined_without_two_different_dates():
    assert likely_source("a", "b", {"a": "2024-06-25", "b": ""})[0] == UNDETERMINED
    assert likely_source("a", "b", {"a": "2024-06-25", "b": "2024-06-25"})[0] == UNDETERMINED
    assert likely_source("a", "b", {"a": "2024-06-26", "b": "2024-06-25"}) == ("b", "published 2024-06-25, the other 2024-06-26")



@pytest.fixture
def copied_articles():
    """Sentences and their similar pairs (threshold 0.8) of four articles: a says its second
    sentence twice; b has a's three sentences in another order, c two of them (its first reworded:
    cosine 0.9 to the original), d says a's second one twice, with one of its own between. Distinct
    sentences have orthogonal vectors. Similar pairs per article pair: a-b 4, a-c 3, a-d 4, b-c 2,
    b-d 2, c-d 2 (seventeen); a sentence is aligned once per article pair, so 3, 2, 2, 2, 1, 1
    pairs are aligned."""
    texts = ["The budget rose by 13 percent.", "Officials praised the plan.", "Critics called it late.",
             "A football match ended in a draw.", "The budget grew by 13 percent."]
    layout = [("a", [0, 1, 2, 1]), ("b", [2, 0, 1]), ("c", [4, 1]), ("d", [1, 3, 1])]
    rows = [(f"{article}:{i}", article, i, texts[s], s) for article, kept in layout for i, s in enumerate(kept)]
    sentences = pd.DataFrame(rows, columns=["sentence_id", "article_id", "position", "text", "source"])
    directions = np.vstack([np.eye(4), [0.9, 0, 0, np.sqrt(1 - 0.81)]]).astype(np.float32)
    vectors = directions[sentences["source"]]
    sentences = sentences.drop(columns="source")
    return sentences, find_similar_sentences(sentences, vectors, threshold=0.8)


def test_blocks_hold_whole_article_pairs_in_order_up_to_the_limit(copied_articles):
    sentences, pairs = copied_articles
    blocks = list(iterate_reuse_blocks(sentences, pairs, max_pairs=4))
    keys = [list(dict.fromkeys(zip(block["article_a"], block["article_b"]))) for block in blocks]
    assert keys == [[("a", "b")], [("a", "c")], [("a", "d")], [("b", "c"), ("b", "d")], [("c", "d")]]
    a_c = blocks[1]
    assert list(zip(a_c["sentence_id_a"], a_c["sentence_id_b"])) == [("a:1", "c:1"), ("a:3", "c:1"), ("a:0", "c:0")]
    assert a_c["similarity"].is_monotonic_decreasing  # strongest first: c:0 is the reworded copy
    assert [len(block) for block in iterate_reuse_blocks(sentences, pairs, max_pairs=1)] == [4, 3, 4, 2, 2, 2]
    assert [len(block) for block in iterate_reuse_blocks(sentences, pairs.iloc[:0])] == [0]


def test_alignment_is_the_same_for_every_block_size_and_arrival_order(copied_articles):
    sentences, pairs = copied_articles
    whole = gather_alignments(align_blocks(sentences, pairs))
    assert len(whole) == 3 + 2 + 2 + 2 + 1 + 1  # a repeated sentence is aligned once per article pair
    a_d = whole[(whole["article_a"] == "a") & (whole["article_b"] == "d")]
    assert set(zip(a_d["sentence_id_a"], a_d["sentence_id_b"])) == {("a:1", "d:0"), ("a:3", "d:2")}
    one_by_one = list(align_blocks(sentences, pairs, max_pairs=1))
    assert len(one_by_one) == 6
    pd.testing.assert_frame_equal(gather_alignments(reversed(one_by_one)), whole)
    kinds = dict(zip(zip(whole["sentence_id_a"], whole["sentence_id_b"]), whole["kind"]))
    assert kinds[("a:0", "c:0")] == "paraphrase" and kinds[("a:1", "c:1")] == "verbatim"


def test_alignments_are_written_a_part_per_block_and_counted(tmp_path, copied_articles):
    sentences, pairs = copied_articles
    whole = gather_alignments(align_blocks(sentences, pairs))
    counts = write_alignments(tmp_path, align_blocks(sentences, pairs, max_pairs=1))
    assert len(list((tmp_path / TABLES_DIR / "reuse_alignments").glob("part-*.parquet"))) == 6
    pd.testing.assert_frame_equal(read_table(tmp_path, "reuse_alignments"), whole)
    pd.testing.assert_frame_equal(counts, count_alignments(whole))
    assert dict(zip(zip(counts["article_a"], counts["article_b"]), counts["paraphrase"]))[("a", "c")] == 1


def test_a_failed_block_leaves_the_alignments_written_before(tmp_path, copied_articles):
    sentences, pairs = copied_articles
    write_alignments(tmp_path, align_blocks(sentences, pairs))
    before = read_table(tmp_path, "reuse_alignments")

    def failing():
        yield from itertools.islice(align_blocks(sentences, pairs, max_pairs=1), 2)
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        write_alignments(tmp_path, failing())
    pd.testing.assert_frame_equal(read_table(tmp_path, "reuse_alignments"), before)


@pytest.mark.parametrize("batch_bytes", [None, 1])
def test_texts_read_back_from_the_run_give_the_same_reuse(tmp_path, monkeypatch, batch_bytes):
    """The paired sentences' texts read back from the run's sentences table, in one record batch
    or one row at a time."""
    if batch_bytes:
        monkeypatch.setattr(runfolder, "BATCH_BYTES", batch_bytes)
    sentences, vectors = sentences_and_vectors()
    articles = pd.DataFrame({"article_id": ["a", "b", "c"], "published": ["2024-03-01", "2024-03-02", ""]})
    stories = pd.DataFrame({"article_id": ["a", "b", "c"], "story_id": ["S1", "S1", "S2"]})
    write_table(tmp_path, "sentences", sentences)
    in_memory = compare_reuse(articles, sentences, vectors, stories)
    read_back = compare_reuse(articles, sentences[["sentence_id", "article_id"]], vectors, stories, run_dir=tmp_path)
    pd.testing.assert_frame_equal(read_back["reuse"], in_memory["reuse"])
    pd.testing.assert_frame_equal(read_table(tmp_path, "reuse_alignments"), in_memory["reuse_alignments"])
    assert in_memory["reuse"]["verbatim"].sum() == 1 and in_memory["reuse"]["paraphrase"].sum() == 1
