"""Text reuse: order-insensitive sentence alignment, verbatim vs paraphrase, likely source."""

import numpy as np
import pandas as pd

from storydiff.compare.reuse import UNDETERMINED, align_articles, likely_source, summarise_reuse


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
    reuse = summarise_reuse(aligned, sentences, articles, stories)
    row = reuse.set_index(["article_a", "article_b"]).loc[("a", "b")]
    assert row["aligned_sentences"] == 2 and row["verbatim"] == 1 and row["paraphrase"] == 1
    assert row["score"] == 1.0 and row["likely_source"] == "a" and row["same_story"]
    assert len(reuse) == 1


def test_likely_source_is_undetermined_without_two_different_dates():
    assert likely_source("a", "b", {"a": "2024-06-25", "b": ""})[0] == UNDETERMINED
    assert likely_source("a", "b", {"a": "2024-06-25", "b": "2024-06-25"})[0] == UNDETERMINED
    assert likely_source("a", "b", {"a": "2024-06-26", "b": "2024-06-25"}) == ("b", "published 2024-06-25, the other 2024-06-26")
