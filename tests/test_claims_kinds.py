"""Claim kinds and check-worthiness, the named entities a claim carries, and claims counted by
article and kind."""

from __future__ import annotations

import pandas as pd
import pytest

from storydiff.claims import count_claim_kinds, load_nlp
from storydiff.claims.entities import extract_entities
from storydiff.claims.kinds import KIND_BASE, classify_claim, score_checkworthiness


@pytest.fixture(scope="module")
def nlp():
    """spaCy's small English pipeline, loaded once for the module."""
    return load_nlp()


@pytest.mark.parametrize("text, n_quantities, n_dates, quote, speaker, kind", [
    ("“We must act,” he said.", 0, 0, "We must act", "Xi Jinping", "quote"),
    ("Beijing has earmarked some 98 billion yuan for basic research.", 1, 0, "", "", "quantity"),
    ("With these efforts in place, China is well positioned to stay ahead of the curve.", 0, 0, "", "", "opinion"),
    ("As a content writer, I delve into the realms of storytelling.", 0, 0, "", "", "opinion"),
    ("The annual session of China’s parliament began on Sunday.", 0, 1, "", "", "event"),
    ("Xi sought practical advice from top scientists at a panel in Beijing.", 0, 0, "", "", "event"),
    ("Advanced chips are essential for the development of artificial intelligence.", 0, 0, "", "", "statement"),
])
def test_classify_claim(nlp, text, n_quantities, n_dates, quote, speaker, kind):
    assert classify_claim(nlp(text), n_quantities, n_dates, quote, speaker) == kind


def test_checkworthiness_orders_kinds():
    scores = {kind: score_checkworthiness(kind, 2) for kind in KIND_BASE}
    assert scores["opinion"] < scores["statement"] < scores["event"] < scores["quote"] < scores["quantity"]
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert score_checkworthiness("quantity", 50) == 1.0


def test_entities_are_names_only(nlp):
    entities = extract_entities(nlp("Xi Jinping told the Chinese Communist Party in Beijing on Monday "
                                    "that 13 per cent of the US’s budget went to Huawei."))
    labels = {e["label"] for e in entities}
    assert {"text": "Xi Jinping", "label": "PERSON"} in entities
    assert {"text": "Beijing", "label": "GPE"} in entities
    assert not labels & {"DATE", "PERCENT", "MONEY", "CARDINAL"}
    assert len(entities) == len({(e["text"], e["label"]) for e in entities})


def test_claims_are_counted_by_article_and_kind_over_parts():
    parts = [
        pd.DataFrame({"article_id": ["b", "a", "a"], "kind": ["quote", "quote", "event"]}),
        pd.DataFrame({"article_id": [], "kind": []}),
        pd.DataFrame({"article_id": ["b"], "kind": ["quote"]}),
    ]
    counts = count_claim_kinds(parts)
    assert list(counts.columns) == ["article_id", *KIND_BASE]
    assert counts.set_index("article_id")[["quote", "event", "opinion"]].to_dict("index") == {
        "a": {"quote": 1, "event": 1, "opinion": 0}, "b": {"quote": 2, "event": 0, "opinion": 0}}
    assert count_claim_kinds([]).empty and list(count_claim_kinds([]).columns) == ["article_id", *KIND_BASE]
