"""Facts: linking claims of one story that state the same thing."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storydiff.claims import load_nlp
from storydiff.compare.evaluate import (
    find_link_ceiling,
    load_fixture,
    prepare_corpus_inputs,
    resolve_claim,
    score_fact_links,
)
from storydiff.compare.facts import link_facts
from storydiff.compare.stories import group_stories
from storydiff.embed import load_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed_facts():
    """(claims, facts, matches) of the seed corpus, built with the real stages and model."""
    inputs = prepare_corpus_inputs(ROOT / "data" / "corpora" / "seeds", load_model(), load_nlp())
    stories = group_stories(inputs["articles"], inputs["sentences"], inputs["claims"])
    facts, matches = link_facts(inputs["claims"], inputs["claim_embeddings"], stories)
    return inputs["claims"], facts, matches


def test_the_two_translations_of_xis_quote_are_one_fact(seed_facts):
    claims, facts, _ = seed_facts
    (quote_000,) = resolve_claim({"article": "000", "text": "In order to open up new fields"}, claims)
    (quote_001,) = resolve_claim({"article": "001", "text": "To open up new areas and new arenas"}, claims)
    fact_of = facts.groupby("claim_id")["fact_id"].agg(set)
    assert fact_of[quote_000] & fact_of[quote_001]


def test_fact_links_are_precise_on_the_labelled_seeds(seed_facts):
    """Precision is the priority; recall is reported by bench/compare.py (it is far lower)."""
    claims, facts, _ = seed_facts
    score = score_fact_links(facts, claims, load_fixture(ROOT / "tests" / "fixtures" / "seeds_compare.yaml"))
    assert score["precision"] >= 0.85
    assert score["recall"] >= 0.35


def test_facts_cover_every_claim_once_per_article_and_stay_in_one_story(seed_facts):
    claims, facts, matches = seed_facts
    assert set(facts["claim_id"]) == set(claims["claim_id"])
    assert not facts.duplicated(["fact_id", "article_id"]).any()
    assert (facts.groupby("fact_id")["story_id"].nunique() == 1).all()
    assert (matches["article_a"] < matches["article_b"]).all()
    assert facts["fact_id"].str.fullmatch(r"F\d{3,}").all()


def _toy_claims():
    """Article a has one compound claim; article b splits it in two; article c repeats one half."""
    claims = pd.DataFrame({
        "claim_id": ["a:0", "b:0", "b:1", "c:0", "c:1"],
        "article_id": ["a", "b", "b", "c", "c"],
        "text": ["budget up and minister resigned", "budget up", "minister resigned", "budget up", "weather"],
    })
    vectors = np.array([[1, 1, 0], [1, 0.1, 0], [0.1, 1, 0], [1, 0.05, 0], [0, 0, 1]], dtype=np.float32)
    return claims, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_compound_claim_belongs_to_two_facts_and_ids_are_stable():
    claims, vectors = _toy_claims()
    stories = pd.DataFrame({"story_id": ["S1"] * 3, "article_id": ["a", "b", "c"]})
    facts, matches = link_facts(claims, vectors, stories, threshold=0.65)
    groups = {frozenset(g["claim_id"]) for _, g in facts.groupby("fact_id")}
    assert frozenset({"a:0", "b:0", "c:0"}) in groups and frozenset({"a:0", "b:1"}) in groups
    assert frozenset({"c:1"}) in groups
    assert matches["linked"].all()
    again, _ = link_facts(claims.iloc[::-1], vectors[::-1], stories, threshold=0.65)
    pd.testing.assert_frame_equal(facts, again)


def test_link_ceiling_is_the_best_recall_any_threshold_reaches_at_the_precision_asked():
    """Two labelled pairs at cosine 1.0 and 0.5, an unlabelled look-alike at 0.7, all else 0."""
    claims = pd.DataFrame({
        "claim_id": ["a:0", "a:1", "a:2", "b:0", "b:1", "b:2"],
        "article_id": ["a", "a", "a", "b", "b", "b"],
        "text": ["same one", "same two", "look-alike", "same one", "same two", "look-alike"],
    })
    axes = np.eye(5)
    vectors = np.array([
        axes[0], axes[1], axes[3],
        axes[0], 0.5 * axes[1] + np.sqrt(0.75) * axes[2], 0.7 * axes[3] + np.sqrt(0.51) * axes[4],
    ])
    stories = pd.DataFrame({"story_id": ["S1", "S1"], "article_id": ["a", "b"]})
    fixture = {"same_fact": [
        {"a": {"article": "a", "text": "same one"}, "b": {"article": "b", "text": "same one"}},
        {"a": {"article": "a", "text": "same two"}, "b": {"article": "b", "text": "same two"}},
    ]}
    strict = find_link_ceiling(claims, vectors, stories, fixture, min_precision=0.9)
    assert strict["recall"] == 0.5 and strict["precision"] == 1.0 and np.isclose(strict["threshold"], 1.0)
    loose = find_link_ceiling(claims, vectors, stories, fixture, min_precision=0.6)
    assert loose["recall"] == 1.0 and np.isclose(loose["precision"], 2 / 3) and np.isclose(loose["threshold"], 0.5)
    optional = fixture | {"optional_fact": [{"a": {"article": "a", "text": "look-alike"}, "b": {"article": "b", "text": "look-alike"}}]}
    assert find_link_ceiling(claims, vectors, stories, optional, min_precision=0.9)["recall"] == 1.0
