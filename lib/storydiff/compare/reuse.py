"""Text reuse between articles: sentences of one found verbatim or paraphrased in another.

Sentences are aligned one to one, strongest pair first, regardless of where they sit in either
article, so a rewrite that moves paragraphs around still counts. A pair is aligned when its
embedding cosine reaches ``REUSE_THRESHOLD`` (STS-B "mostly equivalent", see
``storydiff.compare.sameclaim``); it is ``verbatim`` when the two sentences share at least
``VERBATIM_OVERLAP`` of their words in order, else ``paraphrase``. The likely source of a pair is
the article published first; when either date is missing or both are the same day the direction
is "undetermined" (the text alone does not say who copied whom).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd

from storydiff.compare.candidates import EXACT_LIMIT, find_candidate_pairs, score_candidate_pairs
from storydiff.compare.sameclaim import REUSE_THRESHOLD
from storydiff.compare.textdiff import word_overlap

VERBATIM_OVERLAP = 0.9
SENTENCE_NEIGHBOURS = 10
UNDETERMINED = "undetermined"
ALIGNMENT_COLUMNS = ["article_a", "article_b", "sentence_id_a", "sentence_id_b", "similarity", "kind"]
REUSE_COLUMNS = [
    "article_a", "article_b", "score", "aligned_sentences", "verbatim", "paraphrase",
    "share_a", "share_b", "likely_source", "direction_basis", "same_story",
]


def find_similar_sentences(
    sentences: pd.DataFrame,
    embeddings: np.ndarray,
    threshold: float = REUSE_THRESHOLD,
    exact_limit: int = EXACT_LIMIT,
) -> pd.DataFrame:
    """Pairs of sentences from different articles with cosine >= ``threshold``.

    ``embeddings`` (n_sentences, dim) L2-normalised, row-aligned with ``sentences``. Each sentence
    is compared with its nearest neighbours only (``find_candidate_pairs``, widened until every
    neighbour reaching ``threshold`` is in): exactly every such pair up to ``exact_limit``
    sentences, an approximate nearest-neighbour search above. Returns columns row_a, row_b
    (row_a < row_b), similarity, sorted by row_a, row_b.
    """
    articles = sentences["article_id"].to_numpy()
    pairs = find_candidate_pairs(embeddings, SENTENCE_NEIGHBOURS, threshold, exact_limit)
    similarity = score_candidate_pairs(embeddings, pairs)
    keep = (articles[pairs[:, 0]] != articles[pairs[:, 1]]) & (similarity >= threshold)
    return pd.DataFrame({"row_a": pairs[keep, 0], "row_b": pairs[keep, 1], "similarity": similarity[keep]})


def align_articles(
    sentences: pd.DataFrame, embeddings: np.ndarray, threshold: float = REUSE_THRESHOLD,
    exact_limit: int = EXACT_LIMIT,
) -> pd.DataFrame:
    """One-to-one sentence alignment of every article pair that shares a similar sentence
    (``find_similar_sentences``: approximate above ``exact_limit`` sentences).

    Returns ALIGNMENT_COLUMNS (article_a sorts before article_b), sorted by article pair and
    descending similarity.
    """
    sentences = sentences.reset_index(drop=True)
    pairs = find_similar_sentences(sentences, embeddings, threshold, exact_limit)
    ids, articles, texts = (sentences[c].to_numpy() for c in ("sentence_id", "article_id", "text"))
    pairs = pairs.assign(
        first=lambda p: np.where(articles[p["row_a"]] < articles[p["row_b"]], p["row_a"], p["row_b"]),
        second=lambda p: np.where(articles[p["row_a"]] < articles[p["row_b"]], p["row_b"], p["row_a"]),
    )
    pairs["article_a"], pairs["article_b"] = articles[pairs["first"]], articles[pairs["second"]]
    pairs = pairs.sort_values(
        ["article_a", "article_b", "similarity", "first", "second"],
        ascending=[True, True, False, True, True],
    )
    rows = []
    for (article_a, article_b), group in pairs.groupby(["article_a", "article_b"], sort=False):
        used_a, used_b = set(), set()
        for first, second, similarity in zip(group["first"], group["second"], group["similarity"]):
            if first in used_a or second in used_b:
                continue
            used_a.add(first)
            used_b.add(second)
            kind = "verbatim" if word_overlap(texts[first], texts[second]) >= VERBATIM_OVERLAP else "paraphrase"
            rows.append((article_a, article_b, ids[first], ids[second], float(similarity), kind))
    return pd.DataFrame(rows, columns=ALIGNMENT_COLUMNS)


def likely_source(article_a: str, article_b: str, published: dict[str, str]) -> tuple[str, str]:
    """(likely source article or "undetermined", the reason in words)."""
    date_a, date_b = published.get(article_a, ""), published.get(article_b, "")
    missing = [a for a, d in ((article_a, date_a), (article_b, date_b)) if not d]
    if missing:
        return UNDETERMINED, f"no publication date for {', '.join(missing)}"
    if date_a == date_b:
        return UNDETERMINED, f"both published {date_a}"
    source = article_a if date_a < date_b else article_b
    return source, f"published {min(date_a, date_b)}, the other {max(date_a, date_b)}"


def summarise_reuse(
    alignments: pd.DataFrame, sentences: pd.DataFrame, articles: pd.DataFrame, stories: pd.DataFrame
) -> pd.DataFrame:
    """REUSE_COLUMNS for every article pair with an aligned sentence and every pair of one story.

    ``score`` is the share of the shorter article's content sentences that are aligned (0-1);
    ``share_a``/``share_b`` the share of each article's sentences found in the other.
    """
    n_sentences = sentences.groupby("article_id").size()
    published = dict(zip(articles["article_id"], articles["published"].fillna("")))
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    pairs = set(zip(alignments["article_a"], alignments["article_b"]))
    for _, group in stories.groupby("story_id"):
        pairs |= set(combinations(sorted(group["article_id"]), 2))
    counts = Counter(zip(alignments["article_a"], alignments["article_b"], alignments["kind"]))
    rows = []
    for article_a, article_b in sorted(pairs):
        verbatim = counts[(article_a, article_b, "verbatim")]
        paraphrase = counts[(article_a, article_b, "paraphrase")]
        aligned = verbatim + paraphrase
        n_a, n_b = int(n_sentences.get(article_a, 0)), int(n_sentences.get(article_b, 0))
        source, basis = likely_source(article_a, article_b, published) if aligned else (
            UNDETERMINED, "no reuse found")
        rows.append((
            article_a, article_b, aligned / max(min(n_a, n_b), 1), aligned, verbatim, paraphrase,
            aligned / max(n_a, 1), aligned / max(n_b, 1), source, basis,
            story_of.get(article_a) == story_of.get(article_b),
        ))
    return pd.DataFrame(rows, columns=REUSE_COLUMNS)
