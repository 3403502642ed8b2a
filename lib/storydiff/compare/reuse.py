"""Text reuse between articles: sentences of one found verbatim or paraphrased in another.

Sentences are aligned one to one, strongest pair first, regardless of where they sit in either
article, so a rewrite that moves paragraphs around still counts. A pair is aligned when its
embedding cosine reaches ``REUSE_THRESHOLD`` (STS-B "mostly equivalent", see
``storydiff.compare.sameclaim``); it is ``verbatim`` when the two sentences share at least
``VERBATIM_OVERLAP`` of their words in order, else ``paraphrase``. The likely source of a pair is
the article published first; when either date is missing or both are the same day the direction
is "undetermined" (the text alone does not say who copied whom).

The similar sentences are found over the whole corpus at once (``find_similar_sentences``), but
aligned a block of whole article pairs at a time (``align_blocks``, on an engine's workers), so
only one block's texts and alignments are held at once: the alignments of every article pair
are independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from storydiff.compare.candidates import EXACT_LIMIT, find_candidate_pairs, score_candidate_pairs
from storydiff.compare.sameclaim import REUSE_THRESHOLD
from storydiff.compare.textdiff import word_overlap
from storydiff.engine import LocalEngine
from storydiff.runfolder import concat_parts

VERBATIM_OVERLAP = 0.9
REUSE_BLOCK_PAIRS = 20_000  # similar sentence pairs aligned per block
SENTENCE_NEIGHBOURS = 10
UNDETERMINED = "undetermined"
PAIR_COLUMNS = ["article_a", "article_b", "sentence_id_a", "sentence_id_b", "text_a", "text_b", "similarity"]
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

    ``embeddings`` (n_sentences, dim) L2-normalised, row-aligned with ``sentences``. The pairs
    come from ``find_candidate_pairs`` with ``threshold`` as its floor: exactly every such pair up
    to ``exact_limit`` distinct sentences, above it those of sentences that share a k-means cell
    (``search_cells``). Returns columns row_a, row_b (row_a < row_b), similarity, sorted by row_a,
    row_b.
    """
    articles = pd.factorize(sentences["article_id"])[0]  # numbers: a Python string a sentence outweighed the search
    pairs = find_candidate_pairs(embeddings, SENTENCE_NEIGHBOURS, threshold, exact_limit)
    similarity = score_candidate_pairs(embeddings, pairs)
    keep = (articles[pairs[:, 0]] != articles[pairs[:, 1]]) & (similarity >= threshold)
    return pd.DataFrame({"row_a": pairs[keep, 0], "row_b": pairs[keep, 1], "similarity": similarity[keep]})


def iterate_reuse_blocks(
    sentences: pd.DataFrame, pairs: pd.DataFrame, max_pairs: int = REUSE_BLOCK_PAIRS
) -> Iterator[pd.DataFrame]:
    """The similar sentence ``pairs`` (``find_similar_sentences``'s, rows of ``sentences``) a block
    of whole article pairs at a time, up to ``max_pairs`` pairs a block (a larger article pair is a
    block of its own), as PAIR_COLUMNS: article_a sorts before article_b, and the pairs are in
    article pair order, then strongest first, then by row. One empty block when there are none.

    Only a block's sentence ids and texts are made into Python strings, so the corpus's similar
    pairs stay three numbers each here.
    """
    # the columns as they are: to_numpy() of an Arrow string column makes a Python string of every row
    ids, articles, texts = (sentences[c].array for c in ("sentence_id", "article_id", "text"))
    rank = pd.factorize(articles, sort=True)[0]  # article order as integers
    row_a, row_b = pairs["row_a"].to_numpy(), pairs["row_b"].to_numpy()
    swap = rank[row_a] > rank[row_b]
    first, second = np.where(swap, row_b, row_a), np.where(swap, row_a, row_b)
    similarity = pairs["similarity"].to_numpy()
    order = np.lexsort((second, first, -similarity, rank[second], rank[first]))
    first, second, similarity = first[order], second[order], similarity[order]
    starts = np.flatnonzero(np.diff(rank[first]) | np.diff(rank[second])) + 1
    bounds = np.concatenate([[0], starts, [len(first)]]) if len(first) else np.array([0, 0])
    begin = 0
    for index, end in enumerate(bounds[1:]):
        if index + 2 < len(bounds) and bounds[index + 2] - begin <= max_pairs:
            continue  # the next article pair fits in this block too
        rows = slice(begin, end)
        yield pd.DataFrame({
            "article_a": articles.take(first[rows]), "article_b": articles.take(second[rows]),
            "sentence_id_a": ids.take(first[rows]), "sentence_id_b": ids.take(second[rows]),
            "text_a": texts.take(first[rows]), "text_b": texts.take(second[rows]), "similarity": similarity[rows],
        }, columns=PAIR_COLUMNS)
        begin = end


def align_sentence_pairs(block: pd.DataFrame) -> pd.DataFrame:
    """One-to-one alignment of the similar sentence pairs of ``block`` (PAIR_COLUMNS, each article
    pair's pairs together and in order of preference, as ``iterate_reuse_blocks`` gives them): a
    pair is kept unless either sentence is already aligned within its article pair.

    Returns ALIGNMENT_COLUMNS in the block's order.
    """
    rows = []
    pair, used_a, used_b = None, set(), set()
    for article_a, article_b, id_a, id_b, text_a, text_b, similarity in zip(*(block[c].to_numpy() for c in PAIR_COLUMNS)):
        if (article_a, article_b) != pair:
            pair, used_a, used_b = (article_a, article_b), set(), set()
        if id_a in used_a or id_b in used_b:
            continue
        used_a.add(id_a)
        used_b.add(id_b)
        kind = "verbatim" if word_overlap(text_a, text_b) >= VERBATIM_OVERLAP else "paraphrase"
        rows.append((article_a, article_b, id_a, id_b, float(similarity), kind))
    return pd.DataFrame(rows, columns=ALIGNMENT_COLUMNS)


def align_blocks(
    sentences: pd.DataFrame, pairs: pd.DataFrame, engine: Any = None, max_pairs: int = REUSE_BLOCK_PAIRS
) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(block number, align_sentence_pairs's alignments)`` for each block of
    ``iterate_reuse_blocks`` as the blocks finish, on ``engine`` (``storydiff.engine``; in this
    process when None), on its workers in parallel for ``dask``."""
    yield from (engine or LocalEngine()).imap(align_sentence_pairs, iterate_reuse_blocks(sentences, pairs, max_pairs))


def gather_alignments(results: Iterable[tuple[int, pd.DataFrame]]) -> pd.DataFrame:
    """The alignments of every block of ``align_blocks`` (``results``), in block order."""
    done = dict(results)
    return concat_parts([done[number] for number in sorted(done)])


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
    return gather_alignments(align_blocks(sentences, pairs))


def count_alignments(alignments: pd.DataFrame) -> pd.DataFrame:
    """Aligned sentences per article pair of ``alignments`` (ALIGNMENT_COLUMNS): columns
    article_a, article_b, verbatim, paraphrase (counts)."""
    kinds = alignments.assign(
        verbatim=alignments["kind"].eq("verbatim").astype(int),
        paraphrase=alignments["kind"].eq("paraphrase").astype(int),
    )
    return kinds.groupby(["article_a", "article_b"], as_index=False, sort=True)[["verbatim", "paraphrase"]].sum()


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
    counts: pd.DataFrame, sentences: pd.DataFrame, articles: pd.DataFrame, stories: pd.DataFrame
) -> pd.DataFrame:
    """REUSE_COLUMNS for every article pair with an aligned sentence (``counts``, as
    ``count_alignments`` gives them) and every pair of one story.

    ``score`` is the share of the shorter article's content sentences that are aligned (0-1);
    ``share_a``/``share_b`` the share of each article's sentences found in the other.
    """
    n_sentences = sentences.groupby("article_id").size()
    published = dict(zip(articles["article_id"], articles["published"].fillna("")))
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    keys = list(zip(counts["article_a"], counts["article_b"]))
    verbatim_of = dict(zip(keys, counts["verbatim"].astype(int)))
    paraphrase_of = dict(zip(keys, counts["paraphrase"].astype(int)))
    pairs = set(keys)
    for _, group in stories.groupby("story_id"):
        pairs |= set(combinations(sorted(group["article_id"]), 2))
    rows = []
    for article_a, article_b in sorted(pairs):
        verbatim = verbatim_of.get((article_a, article_b), 0)
        paraphrase = paraphrase_of.get((article_a, article_b), 0)
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
