"""storydiff.same_claim: the public same-claim decision, with the real model and thresholds."""

from pathlib import Path

import numpy as np
import pytest

import storydiff.compare as compare
from storydiff.compare.sameclaim import (
    SAME_CLAIM_THRESHOLD,
    choose_threshold,
    f1_at,
    read_sts_news,
    score_pairs,
)
from storydiff.embed import embed_texts, load_model

STSB_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb" / "sts-dev.csv"


@pytest.fixture(scope="module")
def model():
    """The default embedding model, loaded once for the module."""
    return load_model()


def test_same_claim_links_translations_and_paraphrases_but_not_other_claims(model):
    texts_a = [
        "In order to open up new fields and new areas of development, China will ultimately have to rely on scientific and technological innovation.",
        "The US Treasury Department last week said it was proposing new rules to restrict outbound investment in tech.",
        "The draft budget notes a more than 13 percent increase in funding for the nation's storage of grain.",
    ]
    texts_b = [
        "To open up new areas and new arenas in development, China should ultimately rely on scientific and technological innovation.",
        "Last week, the US Treasury Department proposed new rules to limit international investment in tech.",
        "Two scientists received the State Pre-eminent Science and Technology Award.",
    ]
    result = compare.same_claim(texts_a, texts_b, model=model)
    assert list(result.columns) == ["text_a", "text_b", "score", "same"]
    assert result["same"].tolist() == [True, True, False]
    assert result["score"].between(-1, 1).all()


def test_same_claim_rejects_unpaired_input(model):
    with pytest.raises(ValueError, match="pairs"):
        compare.same_claim(["one"], ["one", "two"], model=model)


def test_threshold_is_near_f1_best_on_stsb_dev_news(model):
    """The library threshold (chosen on train+dev) scores close to the best possible on dev."""
    dev = read_sts_news(STSB_DEV)
    cosine = score_pairs(embed_texts(dev["text_a"].tolist(), model=model), embed_texts(dev["text_b"].tolist(), model=model))
    labels = dev["score"].to_numpy() >= 3
    best_threshold, best_f1 = choose_threshold(cosine, labels)
    f1, precision, recall = f1_at(cosine, labels, SAME_CLAIM_THRESHOLD)
    assert len(dev) == 500
    assert f1 >= 0.75 and f1 >= best_f1 - 0.03
    assert abs(best_threshold - SAME_CLAIM_THRESHOLD) <= 0.1


def test_choose_threshold_picks_the_separating_cut():
    scores = np.array([0.1, 0.2, 0.7, 0.9])
    labels = np.array([False, False, True, True])
    threshold, f1 = choose_threshold(scores, labels, step=0.1)
    assert f1 == 1.0 and 0.2 < threshold <= 0.7
