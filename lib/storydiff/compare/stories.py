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
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer, TfidfVectorizer

from storydiff.compare.candidates import find_candidate_pairs
from storydiff.embed import normalize_rows

STORY_THRESHOLD = 0.30
LEXICAL_WEIGHT = 0.7
WINDOW_DAYS = 7
EXACT_LIMIT = 1000  # articles: up to this many, every pair is scored
STORY_NEIGHBOURS = 20
SEARCH_DIMS = 128
PAIR_BLOCK = 2_048  # candidate pairs scored at a time: both sides' TF-IDF rows, some 3 KiB each
SCORE_SLACK = 1e-6  # a pair score summed in another order may differ in its last bits
ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "EVENT", "LAW", "PRODUCT",
                 "WORK_OF_ART"}
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | {"said", "says", "according"})
STORY_COLUMNS = ["story_id", "article_id", "label", "n_articles", "first_date", "last_date"]


class WordCounts(NamedTuple):
    """How often each article uses each word: ``counts`` (len(ids), len(terms)) float32, a row per
    article id of ``ids``; ``terms`` (terms,) sorted, stop words left out."""

    ids: pd.Index
    counts: sparse.csr_matrix
    terms: np.ndarray


def normalise_entity(text: str) -> str:
    """Entity key: lower case, no leading "the", no possessive, no bracketed tail."""
    key = re.sub(r"[’']s\b", "", text.lower())
    key = re.sub(r"\s*\(.*$", "", key)
    return re.sub(r"^the\s+", "", key).strip()


def article_entities(claims: pd.DataFrame, article_ids: list[str]) -> list[list[str]]:
    """Named-entity keys each article's claims mention (with repeats), in ``article_ids`` order."""
    found: dict[str, list[str]] = {a: [] for a in article_ids}
    for article_id, entities in zip(claims["article_id"], claims["entities"]):
        if article_id in found:
            found[article_id] += [
                normalise_entity(e["text"]) for e in json.loads(entities or "[]")
                if e.get("label") in ENTITY_LABELS
            ]
    return [found[a] for a in article_ids]


def estimate_article_dates(
    articles: pd.DataFrame, claims: pd.DataFrame | None = None
) -> pd.Series:
    """Each article's date (``datetime.date`` or None): published, else the full date its claims
    mention most often, if at least twice (a date named once is as likely history as news)."""
    mentioned: dict[str, list[dt.date]] = {}
    if claims is not None:
        for article_id, dates in zip(claims["article_id"], claims["dates"]):
            for d in json.loads(dates or "[]"):
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.get("date") or "") and not d.get("relative"):
                    mentioned.setdefault(article_id, []).append(dt.date.fromisoformat(d["date"]))
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
    vectorizer = CountVectorizer(stop_words=STOP_WORDS, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts), vectorizer.get_feature_names_out()
    except ValueError:  # no text has a usable term
        return sparse.csr_matrix((len(texts), 0), dtype=np.float32), np.array([], dtype=object)


def sum_rows_by_id(row_ids: Sequence[str], counts: sparse.csr_matrix, ids: pd.Index) -> sparse.csr_matrix:
    """(len(ids), terms) sums of the rows of ``counts`` (len(row_ids), terms) that each of the
    unique ``ids`` labels; a zero row for an id no row has, rows of other ids dropped."""
    rows = ids.get_indexer(row_ids)
    given = np.flatnonzero(rows >= 0)
    membership = sparse.csr_matrix(
        (np.ones(len(given), dtype=counts.dtype), (rows[given], given)), shape=(len(ids), counts.shape[0])
    )
    summed = (membership @ counts).tocsr()
    summed.sort_indices()  # as CountVectorizer leaves them: sums over a row then run in the same order
    return summed


def count_article_words(batches: Iterable[pd.Series], ids: pd.Index) -> WordCounts:
    """``WordCounts`` of the articles ``ids`` (unique) from ``batches`` of their texts (each indexed
    by article id; an article's text may be cut across batches, whose counts add up): the counts
    ``count_words`` gives on every article's whole text at once, but holding one batch of texts
    at a time. An article no batch names has a zero row."""
    vocabulary: dict[str, int] = {}  # term -> column, in the order the batches bring them
    row_ids, blocks = [], []
    for texts in batches:
        counts, terms = count_words(texts.to_list())
        columns = np.array([vocabulary.setdefault(term, len(vocabulary)) for term in terms], dtype=np.int64)
        row_ids.append(texts.index.to_numpy())
        blocks.append((counts.data, columns[counts.indices], counts.indptr, counts.shape[0]))
    terms = sorted(vocabulary)
    column_of = np.empty(len(terms), dtype=np.int64)
    column_of[[vocabulary[term] for term in terms]] = np.arange(len(terms))
    stacked = sparse.vstack(
        [sparse.csr_matrix((data, column_of[indices], indptr), shape=(n, len(terms))) for data, indices, indptr, n in blocks]
        or [sparse.csr_matrix((0, 0), dtype=np.float32)], format="csr", dtype=np.float32,
    )
    row_ids = np.concatenate(row_ids) if row_ids else np.array([], dtype=object)
    return WordCounts(ids, sum_rows_by_id(row_ids, stacked, ids), np.array(terms, dtype=object))


def weigh_words(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """(n, terms) float32 sublinear TF-IDF of word ``counts`` (``count_words``'s), rows
    L2-normalised: what ``TfidfVectorizer`` gives on the texts."""
    if counts.shape[1] == 0:
        return counts
    return TfidfTransformer(sublinear_tf=True).fit(counts).transform(counts)


def weigh_entities(entities: list[list[str]]) -> sparse.csr_matrix:
    """(n, entities) float32 sublinear TF-IDF of each article's entity keys, rows L2-normalised;
    (n, 0) when no article names one."""
    try:
        return TfidfVectorizer(analyzer=list_entity_keys, sublinear_tf=True, dtype=np.float32).fit_transform(entities)
    except ValueError:  # no article names an entity
        return sparse.csr_matrix((len(entities), 0), dtype=np.float32)


def list_entity_keys(keys: list[str]) -> list[str]:
    """The analyzer of entity "documents": the keys as they are."""
    return keys


def describe_articles(
    counts: sparse.csr_matrix, entities: list[list[str]], dates: list[dt.date | None]
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray]:
    """What pair scores are made of, from each article's word ``counts`` (n, terms), entities and
    date: word TF-IDF (n, terms), entity TF-IDF (n, entities), whether each article names an
    entity (n,) bool, and its date as a day number (n,), NaN when unknown."""
    ordinal = np.array([d.toordinal() if d else np.nan for d in dates], dtype=float)
    return weigh_words(counts), weigh_entities(entities), np.array([bool(e) for e in entities], dtype=bool), ordinal


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
    described = describe_articles(count_words(texts)[0], entities, dates)
    return score_among(*described, np.arange(len(texts)), lexical_weight, window_days)


def reduce_articles(
    words: sparse.csr_matrix, names: sparse.csr_matrix, lexical_weight: float = LEXICAL_WEIGHT,
    dims: int = SEARCH_DIMS,
) -> np.ndarray:
    """(n, <= dims) float32 L2-normalised article vectors whose cosines approximate the pair score:
    word and entity TF-IDF side by side, weighted so that their dot product is the blended score,
    reduced by truncated SVD (fixed seed), in single precision (as the TF-IDF vectors are)."""
    weights = np.sqrt([lexical_weight, 1 - lexical_weight]).astype(np.float32)  # a float64 weight doubles both
    both = sparse.hstack([weights[0] * words, weights[1] * names], format="csr", dtype=np.float32)
    dims = min(dims, both.shape[0] - 1, both.shape[1] - 1)
    reduced = TruncatedSVD(dims, n_iter=2, random_state=0).fit_transform(both) if dims >= 1 else both.toarray()
    return normalize_rows(reduced)


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
    found = [find_candidate_pairs(vectors, neighbours, exact_limit=exact_limit)]
    dated = np.flatnonzero(~np.isnan(ordinal))
    block = np.floor(ordinal[dated] / (window_days + 1)).astype(np.int64)
    order = np.argsort(block, kind="stable")
    dated, block = dated[order], block[order]
    for first in np.unique(block):
        rows = np.sort(dated[np.searchsorted(block, first) : np.searchsorted(block, first + 2)])
        if len(rows) > 1:
            found.append(rows[find_candidate_pairs(vectors[rows], neighbours, exact_limit=exact_limit)])
    return np.unique(np.concatenate(found), axis=0) if len(found) > 1 else found[0]


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
    sentences: pd.DataFrame | pd.Series | WordCounts,
    claims: pd.DataFrame | None = None,
    threshold: float = STORY_THRESHOLD,
    window_days: int = WINDOW_DAYS,
    lexical_weight: float = LEXICAL_WEIGHT,
    exact_limit: int = EXACT_LIMIT,
) -> pd.DataFrame:
    """Stories of ``articles`` from their content ``sentences`` (or the texts
    ``join_article_texts`` makes of them, or the ``WordCounts`` of those) and ``claims``
    (entities, dates).

    Duplicates (``duplicate_of`` set) join the story of the article they duplicate. Returns
    STORY_COLUMNS, one row per article; story ids ``S001``... in the order of each story's
    first article_id. Up to ``exact_limit`` articles every pair is scored; above it only
    candidate pairs (``cluster_candidate_pairs``).
    """
    given = articles.get("duplicate_of", pd.Series("", index=articles.index)).fillna("")
    known = set(articles["article_id"])
    duplicate_of = {a: d for a, d in zip(articles["article_id"], given) if d in known and d != a}
    ids = sorted(a for a in articles["article_id"] if a not in duplicate_of)
    if not isinstance(sentences, WordCounts):
        texts = sentences if isinstance(sentences, pd.Series) else join_article_texts(sentences)
        sentences = count_article_words([texts], pd.Index(ids))
    words, terms = sentences.counts, sentences.terms
    if not sentences.ids.equals(pd.Index(ids)):
        words = sum_rows_by_id(sentences.ids, words, pd.Index(ids))
    del sentences
    entities = article_entities(claims, ids) if claims is not None else [[] for _ in ids]
    dates = estimate_article_dates(articles, claims)
    described = describe_articles(words, entities, [dates[a] for a in ids])
    del words, entities  # the weighted words are what is used from here on
    if len(ids) <= exact_limit:
        clusters = cluster_articles(score_among(*described, np.arange(len(ids)), lexical_weight, window_days), threshold)
    else:
        clusters = cluster_candidate_pairs(*described, threshold, window_days, lexical_weight, exact_limit=exact_limit)
    titles = dict(zip(articles["article_id"], articles.get("title", pd.Series("", index=articles.index)).fillna("")))
    labels = label_stories(ids, titles, described[0], terms, clusters)
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
