"""Article-to-article similarity from sentence alignment.

For articles A and B, every sentence of A is matched to its most similar sentence of B (cosine
of the embeddings); the mean of those best-match cosines is the directed score A->B. The
article similarity is the mean of A->B and B->A, so it is symmetric, 1.0 for an article with
itself, and high only when most sentences of *both* articles find a counterpart (a short
article copied inside a long one scores high one way and lower the other; both directions are
kept in the table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from storydiff.embed import normalize_rows

TABLE_COLUMNS = [
    "article_a",
    "article_b",
    "similarity",
    "similarity_a_to_b",
    "similarity_b_to_a",
    "n_sentences_a",
    "n_sentences_b",
]


def compute_directed_similarity(
    vectors: np.ndarray, sentence_article_ids: list[str], article_ids: list[str]
) -> np.ndarray:
    """Matrix D (len(article_ids), len(article_ids)), float64: D[i, j] is the mean over article
    i's sentences of their best cosine with any sentence of article j; NaN when either article
    has no sentence. ``vectors`` (n, dim) holds one row per sentence, its article in
    ``sentence_article_ids``."""
    position = {article_id: i for i, article_id in enumerate(article_ids)}
    owners = np.array([position[a] for a in sentence_article_ids], dtype=np.int64)
    order = np.argsort(owners, kind="stable")
    owners, unit = owners[order], normalize_rows(np.asarray(vectors, dtype=np.float32)[order])
    present, starts = np.unique(owners, return_index=True)
    ends = np.append(starts[1:], len(owners))
    directed = np.full((len(article_ids), len(article_ids)), np.nan)
    for article, start, end in zip(present, starts, ends, strict=True):
        cosines = unit[start:end] @ unit.T  # (sentences of this article, all sentences)
        best = np.maximum.reduceat(cosines, starts, axis=1)  # best match in each present article
        directed[article, present] = best.astype(np.float64).mean(axis=0)
    return directed


def compute_article_similarity(
    vectors: np.ndarray, sentence_article_ids: list[str], article_ids: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentence-alignment similarity of every pair of articles.

    ``vectors``: sentence embeddings (n, dim); ``sentence_article_ids``: the article of each row;
    ``article_ids``: the articles to compare, in output order (default: those of the sentences,
    sorted); an article without sentences gets NaN.

    Returns (table, matrix). ``table``: one row per pair a < b (in ``article_ids`` order) with
    article_a, article_b, similarity (mean of both directions, cosine units), similarity_a_to_b,
    similarity_b_to_a, n_sentences_a, n_sentences_b. ``matrix``: square DataFrame of similarity
    indexed and columned by article_id, 1.0 on the diagonal for articles with sentences.
    """
    sentence_article_ids = list(sentence_article_ids)
    if len(sentence_article_ids) != len(vectors):
        raise ValueError(f"{len(vectors)} vectors but {len(sentence_article_ids)} article ids")
    article_ids = sorted(set(sentence_article_ids)) if article_ids is None else list(article_ids)
    directed = compute_directed_similarity(vectors, sentence_article_ids, article_ids)
    symmetric = (directed + directed.T) / 2
    counts = pd.Series(sentence_article_ids, dtype=object).value_counts()
    n_sentences = [int(counts.get(a, 0)) for a in article_ids]
    np.fill_diagonal(symmetric, [1.0 if n else np.nan for n in n_sentences])
    rows = [
        {
            "article_a": article_ids[i],
            "article_b": article_ids[j],
            "similarity": symmetric[i, j],
            "similarity_a_to_b": directed[i, j],
            "similarity_b_to_a": directed[j, i],
            "n_sentences_a": n_sentences[i],
            "n_sentences_b": n_sentences[j],
        }
        for i in range(len(article_ids))
        for j in range(i + 1, len(article_ids))
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    matrix = pd.DataFrame(symmetric, index=pd.Index(article_ids, name="article_id"), columns=article_ids)
    return table, matrix
