"""Stories: articles that report the same event, grouped by content, named entities and dates.

Pair score = ``LEXICAL_WEIGHT`` x cosine of the articles' TF-IDF word vectors + the rest x cosine
of their TF-IDF named-entity vectors (entities from the claims table; words alone when either
article names none). Word and entity TF-IDF,
not sentence embeddings, because embeddings place every article on one theme close together
(all five seeds are "Xi and tech self-reliance") while the rarer words and names an event
brings ("conference", "Treasury", "CPPCC") are what set two events apart; this is the classic
topic-detection-and-tracking measure. Two articles whose dates lie more than ``window_days``
apart score 0: they cannot be one event. An article's date is its publication date, else the
full date its claims mention most often (at least twice), else unknown (no constraint).

Articles are grouped by average-linkage agglomerative clustering cut at ``threshold``: no number
of stories to choose, deterministic. Up to ``EXACT_LIMIT`` articles every pair is scored (an n x n
matrix); above it only candidate pairs, each article's nearest neighbours (``compare.candidates``),
and the clustering runs inside each group of articles that candidates scoring at least
``threshold`` link (same result whenever the candidates hold every such pair). An article with no
partner is a story of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

from storydiff.arrays import distinct_values, join_arrays
from storydiff.compare.candidates import find_candidate_pairs, key_pairs, unkey_pairs
from storydiff.embed import normalize_rows

STORY_THRESHOLD = 0.30
LEXICAL_WEIGHT = 0.7
WINDOW_DAYS = 7
EXACT_LIMIT = 1000  # articles: up to this many, every pair is scored
STORY_NEIGHBOURS = 20
SEARCH_DIMS = 128
SVD_SAMPLE = 20_000  # articles the search directions are fitted on
REDUCE_BLOCK = 4_096  # articles projected at a time
PAIR_BLOCK = 2_048  # candidate pairs scored at a time: both sides' TF-IDF rows, some 3 KiB each
SCORE_SLACK = 1e-6  # a pair score summed in another order may differ in its last bits
ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "EVENT", "LAW", "PRODUCT",
                 "WORK_OF_ART"}
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | {"said", "says", "according"})
STORY_COLUMNS = ["story_id", "article_id", "label", "n_articles", "first_date", "last_date"]


class TermCounts(NamedTuple):
    """How often each article uses each term (a word, or a named entity's key): ``counts``
    (len(ids), len(terms)) float32, a row per article id of ``ids``; ``terms`` (terms,) sorted,
    each used by some article."""

    ids: pd.Index
    counts: sparse.csr_matrix
    terms: np.ndarray


class DescribedArticles(NamedTuple):
    """What stories are grouped on, for the articles ``ids`` (those not duplicates, sorted):
    ``describe_articles``'s arrays (``scored``: word TF-IDF, entity TF-IDF, whether each names an
    entity, its day number), the word TF-IDF's ``terms``, and every article's date (``dates``:
    article id -> ``datetime.date`` or None, duplicates included)."""

    ids: pd.Index
    scored: tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray]
    terms: np.ndarray
    dates: pd.Series


class ArticleClaims(NamedTuple):
    """What the stories take from the claims: how often each article's claims name each entity
    (``TermCounts`` of entity keys) and the full dates they mention (article id -> dates, repeats kept)."""

    entities: TermCounts
    dates: dict[str, list[dt.date]]


@lru_cache(maxsize=16_384)  # names repeat across claims: the frequent ones normalised once, not at every mention
def normalise_entity(text: str) -> str:
    """Entity key: lower case, no leading "the", no possessive, no bracketed tail."""
    key = re.sub(r"[’']s\b", "", text.lower())
    key = re.sub(r"\s*\(.*$", "", key)
    return re.sub(r"^the\s+", "", key).strip()


def list_claim_entities(claims: pd.DataFrame) -> pd.Series:
    """The keys of the named entities each of ``claims`` (article_id, entities JSON) names, a list
    per claim (with repeats), indexed by article id."""
    return pd.Series(
        [[normalise_entity(e["text"]) for e in json.loads(entities or "[]") if e.get("label") in ENTITY_LABELS]
         for entities in claims["entities"].tolist()],
        index=claims["article_id"].to_numpy(), dtype=object,
    )


def mention_dates(claims: pd.DataFrame) -> dict[str, list[dt.date]]:
    """The full dates (not relative ones: "last week") that ``claims`` (article_id, dates JSON)
    mention, by article id, with repeats."""
    mentioned: dict[str, list[dt.date]] = {}
    for article_id, dates in zip(claims["article_id"].tolist(), claims["dates"].tolist()):
        for d in json.loads(dates or "[]"):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.get("date") or "") and not d.get("relative"):
                mentioned.setdefault(article_id, []).append(dt.date.fromisoformat(d["date"]))
    return mentioned


def summarise_article_claims(batches: Iterable[pd.DataFrame], ids: pd.Index) -> ArticleClaims:
    """``ArticleClaims`` of the articles ``ids`` (unique) from ``batches`` of their claims
    (article_id, entities, dates), holding one batch at a time."""
    dates: dict[str, list[dt.date]] = {}

    def entity_batches() -> Iterator[pd.Series]:
        for claims in batches:
            for article_id, mentioned in mention_dates(claims).items():
                dates.setdefault(article_id, []).extend(mentioned)
            yield list_claim_entities(claims)

    return ArticleClaims(count_article_terms(entity_batches(), ids, count_entity_keys), dates)


def estimate_article_dates(articles: pd.DataFrame, mentioned: dict[str, list[dt.date]] | None = None) -> pd.Series:
    """Each article's date (``datetime.date`` or None): published, else the full date its claims
    mention most often (``mentioned``, ``mention_dates``'s), if at least twice (a date named once
    is as likely history as news)."""
    mentioned = mentioned or {}
    result = {}
    for article_id, published in zip(articles["article_id"], articles["published"].fillna("")):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", published):
            result[article_id] = dt.date.fromisoformat(published)
        else:
            counts = Counter(mentioned.get(article_id, []))
            top = max(counts.values(), default=0)
            result[article_id] = max(d for d, n in counts.items() if n == top) if top >= 2 else None
    return pd.Series(result, dtype=object)


def count_words(texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """(n, terms) float32 word counts of ``texts`` and the terms (terms,), sorted, as the word
    TF-IDF counts them; (n, 0) when no text has a term."""
    return fit_counts(CountVectorizer(stop_words=STOP_WORDS, dtype=np.float32), texts)


def count_entity_keys(keys: Sequence[list[str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """(n, entities) float32 counts of each list of entity ``keys`` and the keys (entities,), sorted;
    (n, 0) when no list has one."""
    return fit_counts(CountVectorizer(analyzer=list_entity_keys, dtype=np.float32), keys)


def fit_counts(vectorizer: CountVectorizer, documents: Sequence) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``vectorizer``'s counts of ``documents`` and its terms; (n, 0) and none when no document has one."""
    try:
        return vectorizer.fit_transform(documents), vectorizer.get_feature_names_out()
    except ValueError:  # no document has a term
        return sparse.csr_matrix((len(documents), 0), dtype=np.float32), np.array([], dtype=object)


def list_entity_keys(keys: list[str]) -> list[str]:
    """The analyzer of entity "documents": the keys as they are."""
    return keys


def sum_rows_by_id(row_ids: Sequence[str], counts: sparse.csr_matrix, ids: pd.Index) -> sparse.csr_matrix:
    """(len(ids), terms) sums of the rows of ``counts`` (len(row_ids), terms) that each of the
    unique ``ids`` labels; a zero row for an id no row has, rows of other ids dropped."""
    return sum_rows(ids.get_indexer(row_ids), counts, len(ids))


def sum_rows(rows: np.ndarray, counts: sparse.csr_matrix, n_rows: int) -> sparse.csr_matrix:
    """(n_rows, terms) sums of the rows of ``counts`` (len(rows), terms) into the rows ``rows``
    names (-1: dropped)."""
    given = np.flatnonzero(rows >= 0)
    membership = sparse.csr_matrix(
        (np.ones(len(given), dtype=counts.dtype), (rows[given], given)), shape=(n_rows, counts.shape[0])
    )
    return (membership @ counts).tocsr()


def count_article_terms(
    batches: Iterable[pd.Series], ids: pd.Index,
    count: Callable[[Sequence], tuple[sparse.csr_matrix, np.ndarray]] = count_words,
) -> TermCounts:
    """``TermCounts`` of the articles ``ids`` (unique) from ``batches`` of their documents (texts
    for ``count_words``, entity key lists for ``count_entity_keys``; each batch indexed by article
    id, an article's documents possibly in several rows and batches, whose counts add up): what
    ``count`` gives on each article's documents all at once, holding one batch at a time. An
    article no batch names has a zero row; terms of other articles only are left out."""
    vocabulary: dict[str, int] = {}  # term -> column, in the order the batches bring them
    rows, data, columns, row_ends, n_counted = [], [], [], [np.zeros(1, dtype=np.int64)], 0
    for documents in batches:
        counts, terms = count(documents.to_list())
        column_of = np.array([vocabulary.setdefault(term, len(vocabulary)) for term in terms], dtype=np.int32)
        rows.append(ids.get_indexer(documents.index))  # numbers, not the batch's ids as Python strings
        data.append(counts.data)
        columns.append(column_of[counts.indices])
        row_ends.append(counts.indptr[1:].astype(np.int64) + n_counted)
        n_counted += counts.nnz
    # one copy of the batches' counts at a time: each list is let go as soon as it is joined
    stacked = sparse.csr_matrix((join_arrays(data, np.float32), join_arrays(columns, np.int32), join_arrays(row_ends, np.int64)),
                                shape=(sum(map(len, rows)), len(vocabulary)))
    summed = sum_rows(join_arrays(rows, np.int64), stacked, len(ids))
    del stacked
    return keep_used_terms(ids, summed, np.array(list(vocabulary), dtype=object))


def select_articles(counts: TermCounts, ids: pd.Index) -> TermCounts:
    """``counts`` of the articles ``ids`` (unique) in that order: a zero row for one ``counts``
    has not, and only the terms those articles use."""
    if counts.ids.equals(ids):
        return counts
    return keep_used_terms(ids, sum_rows_by_id(counts.ids, counts.counts, ids), counts.terms)


def keep_used_terms(ids: pd.Index, counts: sparse.csr_matrix, terms: np.ndarray) -> TermCounts:
    """``TermCounts`` of ``counts`` (len(ids), len(terms)) with only the columns some row uses,
    in sorted term order (a term no article uses would shift every later column, and with it the
    truncated SVD's random projection)."""
    used = distinct_values(counts.indices)
    order = used[np.argsort(terms[used].astype(str), kind="stable")]
    column_of = np.full(len(terms), -1, dtype=np.int32)
    column_of[order] = np.arange(len(order))
    kept = sparse.csr_matrix((counts.data, column_of[counts.indices], counts.indptr), shape=(len(ids), len(order)),
                             dtype=np.float32)
    kept.sort_indices()  # as CountVectorizer leaves them: a row's sums then run in the same order
    return TermCounts(ids, kept, terms[order])


def weigh_terms(counts: sparse.csr_matrix, copy: bool = True) -> sparse.csr_matrix:
    """(n, terms) float32 sublinear TF-IDF of term ``counts`` (``count_words``'s or
    ``count_entity_keys``'s), rows L2-normalised: what ``TfidfVectorizer`` gives on the documents.
    Without ``copy``, float32 CSR ``counts`` are weighed where they are and returned."""
    if counts.shape[1] == 0:
        return counts.astype(np.float32, copy=copy)
    return TfidfTransformer(sublinear_tf=True).fit(counts).transform(counts, copy=copy)


def describe_articles(
    words: sparse.csr_matrix, entities: sparse.csr_matrix, dates: list[dt.date | None], copy: bool = True,
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray]:
    """What pair scores are made of, from each article's word counts (n, terms), entity counts
    (n, entities) and date: word TF-IDF (n, terms), entity TF-IDF (n, entities), whether each
    article names an entity (n,) bool, and its date as a day number (n,), NaN when unknown.
    Without ``copy`` the counts are weighed in place (``weigh_terms``)."""
    ordinal = np.array([d.toordinal() if d else np.nan for d in dates], dtype=float)
    return weigh_terms(words, copy), weigh_terms(entities, copy), np.diff(entities.indptr) > 0, ordinal


def describe_story_articles(
    articles: pd.DataFrame, words: TermCounts, claims: ArticleClaims, copy: bool = True
) -> DescribedArticles:
    """``DescribedArticles`` of ``articles`` (article_id, published, duplicate_of) from their word
    ``TermCounts`` and ``ArticleClaims`` (rows of other articles left out, missing ones zero).
    Without ``copy`` the counts of ``words`` and ``claims`` are weighed in place and so spent: a
    corpus's counts are never held beside their TF-IDF."""
    ids = list_story_articles(articles)[0]
    words, entities = select_articles(words, ids), select_articles(claims.entities, ids)
    dates = estimate_article_dates(articles, claims.dates)
    scored = describe_articles(words.counts, entities.counts, [dates[a] for a in ids], copy)
    return DescribedArticles(ids, scored, words.terms, dates)


def list_story_articles(articles: pd.DataFrame) -> tuple[pd.Index, dict[str, str]]:
    """The ids of the ``articles`` stories are grouped on (sorted), and each duplicate's article
    kept (``follow_duplicates``; a ``duplicate_of`` naming no article of the table is ignored)."""
    given = articles.get("duplicate_of", pd.Series("", index=articles.index)).fillna("")
    known = set(articles["article_id"])
    duplicate_of = follow_duplicates({a: d for a, d in zip(articles["article_id"], given) if d in known and d != a})
    return pd.Index(sorted(a for a in articles["article_id"] if a not in duplicate_of)), duplicate_of


def blend_scores(
    lexical: np.ndarray, named: np.ndarray, both_named: np.ndarray, days_apart: np.ndarray,
    lexical_weight: float, window_days: int,
) -> np.ndarray:
    """Same-event scores in 0-1 from word and entity cosines of one shape (module docstring): words
    alone unless ``both_named``, 0 when more than ``window_days`` apart (NaN days: no constraint)."""
    scores = np.where(both_named, lexical_weight * lexical + (1 - lexical_weight) * named, lexical)
    scores[days_apart > window_days] = 0.0
    return np.clip(scores, 0.0, 1.0)


def score_among(
    words: sparse.csr_matrix, names: sparse.csr_matrix, named: np.ndarray, ordinal: np.ndarray,
    rows: np.ndarray, lexical_weight: float = LEXICAL_WEIGHT, window_days: int = WINDOW_DAYS,
) -> np.ndarray:
    """(len(rows), len(rows)) same-event scores of every pair among the articles ``rows`` (row
    numbers of the ``describe_articles`` arrays); diagonal 1."""
    words, names = words[rows], names[rows]
    scores = blend_scores(
        (words @ words.T).toarray(), (names @ names.T).toarray(), np.outer(named[rows], named[rows]),
        np.abs(ordinal[rows, None] - ordinal[None, rows]), lexical_weight, window_days,
    )
    np.fill_diagonal(scores, 1.0)
    return scores


def score_listed_pairs(
    words: sparse.csr_matrix, names: sparse.csr_matrix, named: np.ndarray, ordinal: np.ndarray,
    pairs: np.ndarray, lexical_weight: float = LEXICAL_WEIGHT, window_days: int = WINDOW_DAYS,
) -> np.ndarray:
    """(m,) same-event scores of the article ``pairs`` (m, 2), as ``score_among`` scores them,
    ``PAIR_BLOCK`` pairs at a time: copying both sides' TF-IDF rows for every pair at once took
    some 50 KiB per article (each has 20-40 candidates) on 2,240 articles."""
    def cosines(vectors: sparse.csr_matrix, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return np.asarray(vectors[first].multiply(vectors[second]).sum(axis=1), dtype=np.float32).ravel()

    scores = [
        blend_scores(cosines(words, first, second), cosines(names, first, second), named[first] & named[second],
                     np.abs(ordinal[first] - ordinal[second]), lexical_weight, window_days)
        for first, second in (pairs[start : start + PAIR_BLOCK].T for start in range(0, len(pairs), PAIR_BLOCK))
    ]
    return np.concatenate(scores) if scores else np.empty(0, dtype=np.float32)


def score_article_pairs(
    texts: Sequence[str],
    entities: list[list[str]],
    dates: list[dt.date | None],
    lexical_weight: float = LEXICAL_WEIGHT,
    window_days: int = WINDOW_DAYS,
) -> np.ndarray:
    """(n, n) same-event score in 0-1 of n articles (module docstring); diagonal 1.

    A pair where either article names no entity is scored on its words alone.
    """
    described = describe_articles(count_words(texts)[0], count_entity_keys(entities)[0], dates)
    return score_among(*described, np.arange(len(texts)), lexical_weight, window_days)


def reduce_articles(
    words: sparse.csr_matrix, names: sparse.csr_matrix, lexical_weight: float = LEXICAL_WEIGHT,
    dims: int = SEARCH_DIMS,
) -> np.ndarray:
    """(n, <= dims) float32 L2-normalised article vectors whose cosines approximate the pair score:
    word and entity TF-IDF side by side, weighted so that their dot product is the blended score,
    projected on the ``dims`` first directions of a truncated SVD (fixed seed) fitted on at most
    ``SVD_SAMPLE`` articles (drawn with a fixed seed), ``REDUCE_BLOCK`` articles at a time: the
    search vectors alone grow with the corpus, not the SVD's work arrays or a joined copy of the
    TF-IDF. Single precision, as the TF-IDF vectors are."""
    n = words.shape[0]
    dims = min(dims, min(n, SVD_SAMPLE) - 1, words.shape[1] + names.shape[1] - 1)
    if dims < 1:
        return normalize_rows(join_weighted_terms(words, names, lexical_weight, slice(None)).toarray())
    sample = slice(None) if n <= SVD_SAMPLE else np.sort(np.random.default_rng(0).choice(n, SVD_SAMPLE, replace=False))
    svd = TruncatedSVD(dims, n_iter=2, random_state=0).fit(join_weighted_terms(words, names, lexical_weight, sample))
    reduced = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, REDUCE_BLOCK):
        block = slice(start, start + REDUCE_BLOCK)
        reduced[block] = svd.transform(join_weighted_terms(words, names, lexical_weight, block))
    return normalize_rows(reduced, in_place=True)


def join_weighted_terms(
    words: sparse.csr_matrix, names: sparse.csr_matrix, lexical_weight: float, rows: slice | np.ndarray
) -> sparse.csr_matrix:
    """(len(rows), terms + entities) float32: the ``rows`` of the word and entity TF-IDF side by
    side, scaled by the square roots of their weights, so a dot product is the blended score."""
    weights = np.sqrt([lexical_weight, 1 - lexical_weight]).astype(np.float32)  # a float64 weight doubles both
    both = sparse.hstack([words[rows], names[rows]], format="csr", dtype=np.float32)
    both.data *= np.where(both.indices < words.shape[1], weights[0], weights[1])  # not a weighted copy of each
    return both


def cluster_articles(scores: np.ndarray, threshold: float = STORY_THRESHOLD) -> np.ndarray:
    """Cluster number of each article: average linkage on 1 - score, cut at 1 - threshold."""
    if len(scores) < 2:
        return np.zeros(len(scores), dtype=int)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average",
        distance_threshold=1.0 - threshold,
    )
    return model.fit_predict(1.0 - scores)


def find_story_candidates(
    vectors: np.ndarray, ordinal: np.ndarray, window_days: int, neighbours: int, exact_limit: int
) -> np.ndarray:
    """Candidate article pairs (m, 2), i < j, sorted: each article's ``neighbours`` nearest of all
    ``vectors`` (n, dim), and of the dated articles in its own and the next block of
    ``window_days + 1`` days (day numbers ``ordinal``, NaN when undated). Every pair less than a
    window apart shares a block pair, so an event reported in many weeks of a long corpus (whose
    nearest neighbours overall are the other weeks) still finds its same-week partners."""
    n = len(vectors)
    found = [key_pairs(find_candidate_pairs(vectors, neighbours, exact_limit=exact_limit), n)]  # 8 bytes a pair
    dated = np.flatnonzero(~np.isnan(ordinal))
    block = np.floor(ordinal[dated] / (window_days + 1)).astype(np.int64)
    order = np.argsort(block, kind="stable")
    dated, block = dated[order], block[order]
    for first in distinct_values(block):
        rows = np.sort(dated[np.searchsorted(block, first) : np.searchsorted(block, first + 2)])
        if len(rows) > 1:
            found.append(key_pairs(rows[find_candidate_pairs(vectors[rows], neighbours, exact_limit=exact_limit)], n))
    return unkey_pairs(distinct_values(np.concatenate(found)), n)


def cluster_candidate_pairs(
    words: sparse.csr_matrix, names: sparse.csr_matrix, named: np.ndarray, ordinal: np.ndarray,
    threshold: float = STORY_THRESHOLD, window_days: int = WINDOW_DAYS, lexical_weight: float = LEXICAL_WEIGHT,
    neighbours: int = STORY_NEIGHBOURS, exact_limit: int = EXACT_LIMIT,
) -> np.ndarray:
    """Cluster number of each article of the ``describe_articles`` arrays (as ``cluster_articles``
    on ``score_among`` of them all) without scoring every pair.

    Candidate pairs are each article's ``neighbours`` nearest in ``reduce_articles`` space,
    overall and among the articles of its date window (``find_story_candidates``); the candidates scoring
    at least ``threshold`` link articles into groups, and average linkage runs on every pair
    inside each group only. An average-linkage cluster at ``threshold`` never spans two such
    groups, so the result is the all-pairs one whenever the candidates hold every pair scoring at
    least ``threshold``; the cost is that of the largest group squared.
    """
    n = words.shape[0]
    vectors = reduce_articles(words, names, lexical_weight)
    pairs = find_story_candidates(vectors, ordinal, window_days, neighbours, exact_limit)
    scores = score_listed_pairs(words, names, named, ordinal, pairs, lexical_weight, window_days)
    linked = pairs[scores >= threshold - SCORE_SLACK]
    graph = sparse.coo_matrix((np.ones(len(linked)), (linked[:, 0], linked[:, 1])), shape=(n, n))
    _, groups = connected_components(graph, directed=False)
    clusters = groups.astype(np.int64) * n  # group x n + cluster within the group: unique
    order = np.argsort(groups, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(groups[order])) + 1):
        if len(rows) > 1:
            scores = score_among(words, names, named, ordinal, rows, lexical_weight, window_days)
            clusters[rows] += cluster_articles(scores, threshold)
    return clusters


def label_stories(
    ids: list[str], titles: dict[str, str], words: sparse.csr_matrix, terms: np.ndarray, clusters: np.ndarray,
    n_terms: int = 4,
) -> dict[int, str]:
    """A label per cluster: the first title among its articles, else its top ``terms`` by the word
    TF-IDF ``words`` (len(ids), terms) summed over its articles (ties alphabetical)."""
    first_title: dict[int, str] = {}
    for article_id, cluster in zip(ids, clusters):
        if titles.get(article_id) and cluster not in first_title:
            first_title[cluster] = titles[article_id]
    labels = {cluster: first_title.get(cluster, "") for cluster in dict.fromkeys(clusters)}
    untitled = [cluster for cluster, label in labels.items() if not label]
    row_of = {cluster: row for row, cluster in enumerate(untitled)}
    rows = np.array([row_of.get(c, -1) for c in clusters])
    kept = np.flatnonzero(rows >= 0)
    membership = sparse.csr_matrix((np.ones(len(kept)), (rows[kept], kept)), shape=(len(untitled), len(ids)))
    summed = (membership @ words).tocsr()  # (untitled clusters, terms): summed TF-IDF, sparse
    for cluster, row in row_of.items():
        start, end = summed.indptr[row], summed.indptr[row + 1]
        top, weights = terms[summed.indices[start:end]], summed.data[start:end]
        labels[cluster] = ", ".join(top[np.lexsort((top, -weights))[:n_terms]])
    return labels


def join_article_texts(sentences: pd.DataFrame) -> pd.Series:
    """Each article's text as the stories see it: its ``sentences``' (article_id, position, text)
    texts in position order, joined by spaces; indexed by article_id, sorted."""
    ordered = sentences[["article_id", "position", "text"]].sort_values(["article_id", "position"])
    return ordered.groupby("article_id")["text"].agg(" ".join)


def group_stories(
    articles: pd.DataFrame,
    sentences: pd.DataFrame | pd.Series | DescribedArticles,
    claims: pd.DataFrame | None = None,
    threshold: float = STORY_THRESHOLD,
    window_days: int = WINDOW_DAYS,
    lexical_weight: float = LEXICAL_WEIGHT,
    exact_limit: int = EXACT_LIMIT,
) -> pd.DataFrame:
    """Stories of ``articles`` from their content ``sentences`` (or the texts
    ``join_article_texts`` makes of them) and ``claims`` (article_id, entities, dates), or from
    their ``DescribedArticles`` (then ``claims`` is not used).

    Duplicates (``duplicate_of`` set) join the story of the article they duplicate. Returns
    STORY_COLUMNS, one row per article; story ids ``S001``... in the order of each story's
    first article_id. Up to ``exact_limit`` articles every pair is scored; above it only
    candidate pairs (``cluster_candidate_pairs``).
    """
    ids, duplicate_of = list_story_articles(articles)
    if isinstance(sentences, DescribedArticles):
        if not sentences.ids.equals(ids):
            raise ValueError("the described articles are not the articles given (another run's, or another selection)")
        described = sentences
    else:
        texts = sentences if isinstance(sentences, pd.Series) else join_article_texts(sentences)
        described = describe_story_articles(articles, count_article_terms([texts], ids),
                                            summarise_article_claims([] if claims is None else [claims], ids), copy=False)
    scored, dates = described.scored, described.dates
    if len(ids) <= exact_limit:
        clusters = cluster_articles(score_among(*scored, np.arange(len(ids)), lexical_weight, window_days), threshold)
    else:
        clusters = cluster_candidate_pairs(*scored, threshold, window_days, lexical_weight, exact_limit=exact_limit)
    titles = dict(zip(articles["article_id"], articles.get("title", pd.Series("", index=articles.index)).fillna("")))
    labels = label_stories(ids, titles, scored[0], described.terms, clusters)
    ranked = list(dict.fromkeys(clusters))  # clusters in the order of their first article
    width = max(3, len(str(len(ranked))))
    story_ids = {c: f"S{rank:0{width}d}" for rank, c in enumerate(ranked, start=1)}
    story_of = {a: story_ids[c] for a, c in zip(ids, clusters)}
    story_of |= {a: story_of[d] for a, d in duplicate_of.items()}
    table = pd.DataFrame({"article_id": list(story_of), "story_id": list(story_of.values())})
    table["label"] = table["story_id"].map({story_ids[c]: labels[c] for c in ranked})
    table["date"] = table["article_id"].map(lambda a: dates.get(a))
    summary = table.groupby("story_id")["date"].agg(
        n_articles="size",
        first_date=lambda s: min((d for d in s if d), default=None),
        last_date=lambda s: max((d for d in s if d), default=None),
    )
    table = table.join(summary, on="story_id")
    for column in ("first_date", "last_date"):
        table[column] = table[column].map(lambda d: d.isoformat() if d else "")
    return table[STORY_COLUMNS].sort_values(["story_id", "article_id"]).reset_index(drop=True)


def follow_duplicates(duplicate_of: dict[str, str]) -> dict[str, str]:
    """Each duplicate's article kept: ``duplicate_of`` (article id -> the one it repeats) followed
    until an article that repeats none (a table written by hand may chain them); ValueError names
    the articles of a cycle, which leaves none of them to keep."""
    kept = {}
    for article_id, target in duplicate_of.items():
        chain = [article_id]
        while target in duplicate_of:
            if target in chain:
                raise ValueError(f"articles {', '.join(chain)} are each marked a duplicate of the next, in a cycle")
            chain.append(target)
            target = duplicate_of[target]
        kept[article_id] = target
    return kept


def choose_largest_stories(stories: pd.DataFrame, max_articles: int) -> list[str]:
    """Ids of the largest stories of ``stories`` (columns article_id, story_id), most articles
    first then story id, whole stories only, at most ``max_articles`` articles in all (but at
    least the largest story): what a figure or table of a large corpus can show."""
    sizes = stories.groupby("story_id").size().reset_index(name="n").sort_values(["n", "story_id"], ascending=[False, True])
    kept, total = [], 0
    for story_id, n in zip(sizes["story_id"], sizes["n"]):
        if kept and total + n > max_articles:
            break
        kept.append(story_id)
        total += n
    return kept
