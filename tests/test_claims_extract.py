"""The claims table on the seed corpus: the run-folder contract, determinism, and precision
and recall against the labelled fixture (tests/fixtures/seeds_claims.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from storydiff.claims import CLAIM_COLUMNS, describe_nlp, extract_claims, load_nlp
from storydiff.claims.evaluate import load_fixture, score_claims
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.runfolder import read_table, select_content_sentences

FIXTURE = Path(__file__).parent / "fixtures" / "seeds_claims.yaml"
KINDS = {"quote", "quantity", "event", "statement", "opinion"}


@pytest.fixture(scope="module")
def seed_tables(seeds_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(articles, content sentences) of the seeds, made by the corpus stage's functions."""
    articles, sentences = build_corpus_tables(read_corpus(seeds_dir)[0])
    return articles, select_content_sentences(articles, sentences)


@pytest.fixture(scope="module")
def seed_claims(seed_tables) -> pd.DataFrame:
    """The claims table of the seeds, extracted with the real spaCy model."""
    articles, sentences = seed_tables
    return extract_claims(sentences, articles, load_nlp())


def test_contract(seed_claims: pd.DataFrame, seed_tables):
    _, sentences = seed_tables
    assert list(seed_claims.columns) == CLAIM_COLUMNS
    assert seed_claims["claim_id"].is_unique
    assert set(seed_claims["sentence_id"]) == set(sentences["sentence_id"])
    assert set(seed_claims["kind"]) <= KINDS
    assert seed_claims["checkworthiness"].between(0, 1).all()
    assert (seed_claims.loc[seed_claims["kind"] != "quote", "quote"] == "").all()
    assert (seed_claims.loc[seed_claims["kind"] == "quote", "speaker"] != "").all()
    for row in seed_claims.itertuples():
        for item in json.loads(row.quantities) + json.loads(row.dates):
            assert row.text[item["char_start"]:item["char_end"]] == item["text"]
        for q in json.loads(row.quantities):
            assert isinstance(q["value"], float) and isinstance(q["is_change"], bool)
        assert all({"text", "label"} == set(e) for e in json.loads(row.entities))


def test_deterministic(seed_claims: pd.DataFrame, seed_tables):
    articles, sentences = seed_tables
    again = extract_claims(sentences.sample(frac=1, random_state=0), articles, load_nlp())
    pd.testing.assert_frame_equal(seed_claims, again)


def test_the_pipeline_is_described_without_loading_it():
    nlp = load_nlp()
    assert describe_nlp() == f"spacy {nlp.meta['lang']}_{nlp.meta['name']} {nlp.meta['version']}"


def test_against_fixture(seed_claims: pd.DataFrame):
    scores = score_claims(load_fixture(FIXTURE), seed_claims)
    assert scores["sentences"]["unmatched"] == 0
    for field in ("quantities", "dates", "speakers", "quotes"):
        assert scores[field]["precision"] >= 0.9, (field, scores[field])
        assert scores[field]["recall"] >= 0.9, (field, scores[field])
    assert min(scores["quantity_fields"].values()) >= 0.9, scores["quantity_fields"]


def test_seed_difficulties(seed_claims: pd.DataFrame):
    """The cases DESIGN.md names: 13 % vs 10 % measure different things; Monday vs Tuesday."""
    by_text = {q["text"]: q for cell in seed_claims["quantities"] for q in json.loads(cell)}
    assert by_text["10%"]["measure"] == "spending on science and technology"
    assert by_text["13 per cent"]["measure"] == "basic research"
    weekdays = {(r.article_id[:3], d["weekday"]) for r in seed_claims.itertuples() for d in json.loads(r.dates)}
    assert ("003", "Monday") in weekdays and ("004", "Tuesday") in weekdays


def test_run_writes_claims(seeds_run: Path):
    claims = read_table(seeds_run, "claims")
    assert list(claims.columns) == CLAIM_COLUMNS and len(claims) > 0
