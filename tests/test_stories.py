"""Stories: same-event grouping of articles (seeds, date window, singletons, duplicates)."""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storydiff.claims import load_nlp
from storydiff.compare.evaluate import load_fixture, prepare_corpus_inputs, score_stories
from storydiff.compare import stories as stories_module
from storydiff.compare.stories import (
    STOP_WORDS, choose_largest_stories, count_article_terms, count_entity_keys, count_words, describe_articles,
    estimate_article_dates, group_stories, join_article_texts, list_claim_entities, list_entity_keys, mention_dates,
    score_among, score_article_pairs, score_listed_pairs, summarise_article_claims,
)
from storydiff.compare.tables import describe_run_articles, read_article_claims, read_article_words
from storydiff.embed import load_model
from storydiff.runfolder import write_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed_inputs():
    """The comparison inputs of the seed corpus, built with the real corpus/claims/embed stages."""
    return prepare_corpus_inputs(ROOT / "data" / "corpora" / "seeds", load_model(), load_nlp())


def test_seeds_form_the_three_labelled_stories(seed_inputs):
    stories = group_stories(seed_inputs["articles"], seed_inputs["sentences"], seed_inputs["claims"])
    assert score_stories(stories, load_fixture(ROOT / "tests" / "fixtures" / "seeds_compare.yaml"))
    assert stories["story_id"].tolist() == ["S001", "S001", "S002", "S003", "S003"]
    assert (stories["label"] != "").all()


def test_grouping_is_deterministic_and_order_free(seed_inputs):
    articles, sentences, claims = seed_inputs["articles"], seed_inputs["sentences"], seed_inputs["claims"]
    first = group_stories(articles, sentences, claims)
    shuffled = group_stories(articles.iloc[::-1], sentences.sample(frac=1, random_state=0), claims.iloc[::-1])
    pd.testing.assert_frame_equal(first, shuffled)


def test_words_and_claims_read_a_part_at_a_time_give_the_stories_of_the_whole_tables(seed_inputs, tmp_path):
    """The sentences and claims tables in three parts, the first article's sentences and claims
    cut across the first two, plus a sentence (and its claim) of an article marked a duplicate and
    a boilerplate one: neither is counted."""
    articles, sentences, claims = seed_inputs["articles"], seed_inputs["sentences"], seed_inputs["claims"]
    first_id = articles["article_id"].iloc[0]
    copy = articles.iloc[:1].assign(article_id="copy", duplicate_of=first_id)
    write_table(tmp_path, "articles", pd.concat([articles, copy], ignore_index=True))
    extra = sentences.iloc[:2].assign(article_id=["copy", first_id], boilerplate=[False, True], text="Subscribe now",
                                      sentence_id=["copy-s0", "boiler-s0"])
    extra_claims = claims.iloc[:2].assign(article_id=["copy", first_id], sentence_id=["copy-s0", "boiler-s0"],
                                          entities='[{"text": "Subscribe Corp", "label": "ORG"}]')
    for name, table, new_rows in (("sentences", sentences, extra), ("claims", claims, extra_claims)):
        table = pd.concat([table, new_rows], ignore_index=True)
        rows = np.flatnonzero(table["article_id"] == first_id)
        cut = rows[len(rows) // 2]
        write_table(tmp_path, name, table, parts=[table.iloc[:cut], table.iloc[cut : cut + 3], table.iloc[cut + 3 :]])
    content_ids = sentences["sentence_id"]  # as the notebook reads them: no duplicate's, no boilerplate
    words = read_article_words(tmp_path)
    texts = join_article_texts(sentences)
    counts, terms = count_words(texts.to_list())
    assert words.ids.tolist() == texts.index.tolist() and words.terms.tolist() == terms.tolist()
    assert (words.counts != counts).nnz == 0 and "subscribe" not in set(terms)
    read_claims = read_article_claims(tmp_path, content_ids)
    whole = summarise_article_claims([claims], words.ids)
    assert "subscribe corp" not in set(read_claims.entities.terms) and read_claims.dates == whole.dates
    assert read_claims.entities.terms.tolist() == whole.entities.terms.tolist()
    assert (read_claims.entities.counts != whole.entities.counts).nnz == 0
    described = describe_run_articles(tmp_path, articles, content_ids)
    pd.testing.assert_frame_equal(group_stories(articles, described), group_stories(articles, sentences, claims))
    with pytest.raises(ValueError, match="not the articles given"):
        group_stories(articles.iloc[1:], described)


def test_counts_weighed_in_place_are_the_tfidf_of_a_copy():
    """The run folder's path weighs the counts it read where they lie: the same float32 values as
    weighing a copy, in the counts' own arrays."""
    texts = ["Floods hit the valley town", "The bank raised rates", "Floods again in the valley"]
    words, entities = count_words(texts)[0], count_entity_keys([["Leeds"], [], ["Leeds", "York"]])[0]
    copied = describe_articles(words, entities, [None] * 3)
    weighed = describe_articles(words.copy(), entities.copy(), [None] * 3, copy=False)
    for before, after in zip(copied[:2], weighed[:2]):
        assert after.dtype == np.float32 and (before != after).nnz == 0
    spent = words.copy()
    assert np.shares_memory(describe_articles(spent, entities.copy(), [None] * 3, copy=False)[0].data, spent.data)


def test_terms_counted_batch_by_batch_weigh_as_tfidf_of_the_whole_documents():
    """Texts in batches of every size, an article cut across two batches (its halves add up), one
    empty batch, one batch of stop words only, an id no batch names (a zero row), and a batch of an
    article not asked for (its words left out): the same sorted terms and, once weighed, the same float32
    matrix as scikit-learn's TfidfVectorizer on the whole texts; the same for entity key lists."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = pd.Series({
        "a": "Floods hit the northern valley town; 300 homes were lost.",
        "b": "The central bank raised interest rates by 0.25 points.",
        "c": "Floods again: the valley town counts 300 lost homes and a closed bank.",
        "d": "the and of",
    })
    ids = pd.Index(["a", "b", "c", "d", "e"])
    whole = TfidfVectorizer(sublinear_tf=True, stop_words=STOP_WORDS, dtype=np.float32)
    expected = whole.fit_transform(texts.reindex(ids, fill_value="").to_list())
    halves = pd.Series({"c": "Floods again: the valley town", "b": texts["b"]})
    rest = pd.Series({"c": "counts 300 lost homes and a closed bank.", "z": "zebra crossing"})
    for batches in ([texts], [texts.iloc[:1], texts.iloc[1:]], [texts[["a"]], texts.iloc[:0], halves, texts[["d"]], rest]):
        words = count_article_terms(batches, ids)
        assert words.terms.tolist() == whole.get_feature_names_out().tolist()
        weighed = describe_articles(words.counts, count_entity_keys([[]] * 5)[0], [None] * 5)[0]
        assert weighed.dtype == np.float32 and (weighed != expected).nnz == 0
    assert count_article_terms([texts[["d"]]], ids).counts.shape == (5, 0)
    assert count_article_terms([], ids).counts.shape == (5, 0)

    keys = pd.Series([["leeds", "ann smith"], ["leeds"], [], ["bank of england", "leeds"]], index=["a", "a", "b", "c"])
    by_article = [["leeds", "ann smith", "leeds"], [], ["bank of england", "leeds"], [], []]
    entity_tfidf = TfidfVectorizer(analyzer=list_entity_keys, sublinear_tf=True, dtype=np.float32)
    expected = entity_tfidf.fit_transform(by_article)
    entities = count_article_terms([keys.iloc[:1], keys.iloc[1:]], ids, count_entity_keys)
    assert entities.terms.tolist() == entity_tfidf.get_feature_names_out().tolist()
    _, names, named, _ = describe_articles(entities.counts, entities.counts, [None] * 5)
    assert (names != expected).nnz == 0 and named.tolist() == [True, False, True, False, False]


def test_claims_give_each_article_its_entity_keys_and_full_dates():
    """Entities of the story labels only, keys normalised; relative and partial dates left out."""
    claims = pd.DataFrame({
        "article_id": ["a", "a", "b"],
        "entities": [
            json.dumps([{"text": "The Bank of England's", "label": "ORG"}, {"text": "Tuesday", "label": "DATE"}]),
            "", json.dumps([{"text": "Leeds", "label": "GPE"}]),
        ],
        "dates": [
            json.dumps([{"date": "2024-06-24", "relative": ""}, {"date": "2024-W25", "relative": "last week"}]),
            json.dumps([{"date": "2024-06-24", "relative": ""}, {"date": "2024-06-23", "relative": "yesterday"}]),
            "",
        ],
    })
    assert list_claim_entities(claims).tolist() == [["bank of england"], [], ["leeds"]]
    assert mention_dates(claims) == {"a": [dt.date(2024, 6, 24), dt.date(2024, 6, 24)]}


def test_one_article_is_its_own_story(seed_inputs):
    one = seed_inputs["articles"].iloc[[2]]
    stories = group_stories(one, seed_inputs["sentences"], seed_inputs["claims"])
    assert stories[["story_id", "article_id", "n_articles"]].values.tolist() == [["S001", one["article_id"].iloc[0], 1]]


def test_articles_far_apart_in_time_never_share_a_story():
    texts = ["the minister resigned over the budget scandal"] * 2
    same_day = score_article_pairs(texts, [[], []], [dt.date(2024, 1, 1), dt.date(2024, 1, 3)])
    a_year_apart = score_article_pairs(texts, [[], []], [dt.date(2024, 1, 1), dt.date(2025, 1, 1)])
    unknown = score_article_pairs(texts, [[], []], [dt.date(2024, 1, 1), None])
    assert same_day[0, 1] > 0.5 and unknown[0, 1] > 0.5 and a_year_apart[0, 1] == 0


def test_duplicates_join_the_story_of_their_original():
    articles = pd.DataFrame({
        "article_id": ["a", "b", "c"], "published": ["", "", ""], "title": ["", "", ""],
        "duplicate_of": ["", "a", ""],
    })
    sentences = pd.DataFrame({
        "article_id": ["a", "c"], "position": [0, 0],
        "text": ["Floods hit the northern valley town.", "The central bank raised interest rates."],
    })
    stories = group_stories(articles, sentences)
    story_of = dict(zip(stories["article_id"], stories["story_id"]))
    assert story_of["b"] == story_of["a"] != story_of["c"]
    chained = group_stories(pd.concat([articles, articles.iloc[:1].assign(article_id="d", duplicate_of="b")]), sentences)
    assert dict(zip(chained["article_id"], chained["story_id"])) == {**story_of, "d": story_of["a"]}  # d repeats b, which repeats a
    cycle = articles.assign(duplicate_of=["b", "a", ""])
    with pytest.raises(ValueError, match="articles a, b are each marked a duplicate of the next"):
        group_stories(cycle, sentences)


def test_article_date_falls_back_to_mentioned_days():
    articles = pd.DataFrame({"article_id": ["a", "b"], "published": ["2024-06-25", ""]})
    claims = pd.DataFrame({
        "article_id": ["b", "b"],
        "dates": [
            json.dumps([{"date": "2024-06-24", "relative": ""}, {"date": "1953-12-15", "relative": ""}]),
            json.dumps([{"date": "2024-06-24", "relative": ""}, {"date": "2024-W25", "relative": "last week"}]),
        ],
    })
    dates = estimate_article_dates(articles, mention_dates(claims))
    assert dates["a"] == dt.date(2024, 6, 25) and dates["b"] == dt.date(2024, 6, 24)
    assert np.isnan(score_article_pairs(["x", "y"], [[], []], [None, None])).sum() == 0


def test_blocked_grouping_finds_same_week_pairs_of_a_recurring_theme():
    """A theme reported every fortnight for two years with near-identical wording: each article's
    nearest neighbours in content are dozens of other fortnights, and the one same-week partner
    must still be found by the candidate search (not only by the all-pairs path)."""
    start = dt.date(2022, 1, 3)
    dates = [start + dt.timedelta(days=14 * i) for i in range(50)] + [start, start + dt.timedelta(days=1)]
    body = "The city council approved the annual budget for schools, roads and parks after a long debate."
    texts = [f"{body} Councillors met again this week." for _ in range(50)]
    texts += [f"{body} Councillors met again this week. The mayor resigned over the plan."] * 2
    ids = [f"a{i:03d}" for i in range(52)]
    articles = pd.DataFrame({"article_id": ids, "published": [d.isoformat() for d in dates], "duplicate_of": "",
                             "title": ""})
    sentences = pd.DataFrame({"article_id": ids, "position": 0, "text": texts})
    exact = group_stories(articles, sentences)
    blocked = group_stories(articles, sentences, exact_limit=10)
    story_of = dict(zip(exact["article_id"], exact["story_id"]))
    assert story_of["a000"] == story_of["a050"] == story_of["a051"]
    pd.testing.assert_frame_equal(blocked, exact)


def test_candidate_pairs_are_scored_a_block_at_a_time_as_every_pair_is(monkeypatch):
    """Twelve short articles, three dated a month later, some naming entities: the scores of 40
    listed pairs, 7 at a time, are those of the all-pairs matrix."""
    texts = [f"the council approved the {topic} budget" for topic in ("school", "road", "park", "water")] * 3
    entities = [["Leeds"], [], ["Leeds", "Ann Smith"], []] * 3
    dates = [dt.date(2024, 1, 1)] * 9 + [dt.date(2024, 2, 1)] * 3
    described = describe_articles(count_words(texts)[0], count_entity_keys(entities)[0], dates)
    pairs = np.random.default_rng(0).integers(0, 12, size=(40, 2))
    monkeypatch.setattr(stories_module, "PAIR_BLOCK", 7)
    listed = score_listed_pairs(*described, pairs)
    every = score_among(*described, np.arange(12))
    off_diagonal = pairs[:, 0] != pairs[:, 1]
    np.testing.assert_allclose(listed[off_diagonal], every[pairs[off_diagonal, 0], pairs[off_diagonal, 1]], atol=1e-6)
    assert (listed[~off_diagonal] > 0.99).all() and listed.shape == (40,)


def test_largest_stories_are_chosen_whole_within_the_limit():
    """The story ids a large corpus's tables show: most articles first, whole stories only."""
    stories = pd.DataFrame({"story_id": ["S1", "S2", "S2", "S2", "S3", "S3", "S4"], "article_id": list("abcdefg")})
    assert choose_largest_stories(stories, 5) == ["S2", "S3"]
    assert choose_largest_stories(stories, 4) == ["S2"]  # S3 would not fit whole
    assert choose_largest_stories(stories, 2) == ["S2"]  # the largest story even past the limit
    assert choose_largest_stories(stories, 10) == ["S2", "S3", "S1", "S4"]
