"""Scoring a claims table against a labelled fixture (tests/fixtures/seeds_claims.yaml).

A fixture entry is matched to the claims of the same article whose sentence text equals the
entry's text, is part of it, or contains it (whitespace normalised), so the scores do not
depend on where the corpus stage puts sentence boundaries. Precision counts only what was
predicted for matched sentences.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def load_fixture(path: str | Path) -> list[dict[str, Any]]:
    """The ``sentences`` list of a labelled fixture file."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["sentences"]


def _norm(text: str) -> str:
    return " ".join(text.split())


def match_fixture(fixture: list[dict[str, Any]], claims: pd.DataFrame) -> list[pd.DataFrame]:
    """For each fixture entry, the claims (rows of ``claims``) of its sentence."""
    by_article = {a: g for a, g in claims.groupby("article_id")}
    matched = []
    for entry in fixture:
        group = by_article.get(entry["article"], claims.iloc[0:0])
        gold = _norm(entry["text"])
        texts = group["text"].map(_norm)
        keep = texts.map(lambda t: bool(t) and (t == gold or t in gold or gold in t))
        matched.append(group[keep])
    return matched


def _ratio(tp: int, n: int) -> float:
    return tp / n if n else 1.0


def _pr(tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> dict[str, float]:
    return {"precision": _ratio(tp_pred, n_pred), "recall": _ratio(tp_gold, n_gold),
            "predicted": n_pred, "labelled": n_gold}


def _same_quantity(p: dict[str, Any], g: dict[str, Any]) -> bool:
    return p["unit"].lower() == g["unit"].lower() and abs(p["value"] - g["value"]) <= 1e-9 * max(1.0, abs(g["value"]))


def _same_date(p: dict[str, Any], g: dict[str, Any]) -> bool:
    pt, gt = p["text"].lower(), g["text"].lower()
    return (pt in gt or gt in pt) and p["weekday"] == g["weekday"] and p["date"] == g["date"]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - {"the", "a", "an", "of", "for", "s"}


def measures_agree(predicted: str, labelled: str) -> bool:
    """A measure agrees when one phrase's words contain the other's, or they share half."""
    p, g = _words(predicted), _words(labelled)
    return bool(p and g) and (p <= g or g <= p or len(p & g) >= 0.5 * len(p | g))


def _pair(predicted: list[dict], labelled: list[dict], same) -> list[tuple[dict, dict]]:
    """Greedy one-to-one pairs of predicted and labelled items that ``same`` accepts."""
    free = list(labelled)
    pairs = []
    for p in predicted:
        g = next((g for g in free if same(p, g)), None)
        if g is not None:
            free.remove(g)
            pairs.append((p, g))
    return pairs


def speakers_agree(predicted: str, labelled: str) -> bool:
    """Same speaker, ignoring case, a leading "the" and word-boundary containment
    ("official state media" names "state media")."""
    p = re.sub(r"^the\s+", "", predicted.lower().strip())
    g = re.sub(r"^the\s+", "", labelled.lower().strip())
    return bool(p and g) and (p == g or re.search(rf"\b{re.escape(g)}\b", p) is not None
                              or re.search(rf"\b{re.escape(p)}\b", g) is not None)


def quotes_agree(predicted: str, labelled: str) -> bool:
    """Same quoted words, ignoring case and punctuation (similarity at least 0.9)."""
    p, g = " ".join(re.findall(r"\w+", predicted.lower())), " ".join(re.findall(r"\w+", labelled.lower()))
    return bool(p and g) and difflib.SequenceMatcher(None, p, g).ratio() >= 0.9


def score_claims(fixture: list[dict[str, Any]], claims: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Precision and recall per field (quantities, dates, speakers, quotes) of ``claims``
    against ``fixture``, plus agreement of approx/measure/is_change on matched quantities and
    the number of fixture sentences with no matching claim (``unmatched``)."""
    counts = {k: [0, 0, 0, 0] for k in ("quantities", "dates", "speakers", "quotes")}
    detail = {"approx": 0, "measure": 0, "is_change": 0, "conversion_of": 0}
    unmatched = 0
    for entry, rows in zip(fixture, match_fixture(fixture, claims)):
        unmatched += rows.empty
        for field, same in (("quantities", _same_quantity), ("dates", _same_date)):
            predicted = [x for cell in rows[field] for x in json.loads(cell)]
            pairs = _pair(predicted, entry[field], same)
            c = counts[field]
            c[0] += len(pairs); c[1] += len(predicted); c[2] += len(pairs); c[3] += len(entry[field])
            if field == "quantities":
                for p, g in pairs:
                    detail["approx"] += p["approx"] == g["approx"]
                    detail["measure"] += measures_agree(p["measure"], g["measure"])
                    detail["is_change"] += p["is_change"] == g["is_change"]
                    detail["conversion_of"] += (p["conversion_of"] is None) == (g["conversion_of"] is None)
        for field, column, agree in (("speakers", "speaker", speakers_agree), ("quotes", "quote", quotes_agree)):
            predicted = next((v for v in rows[column] if v), "")
            labelled = entry[column]
            ok = agree(predicted, labelled)
            c = counts[field]
            c[0] += ok; c[1] += bool(predicted); c[2] += ok; c[3] += bool(labelled)
    scores = {k: _pr(*v) for k, v in counts.items()}
    n_pairs = counts["quantities"][0]
    scores["quantity_fields"] = {k: _ratio(v, n_pairs) for k, v in detail.items()}
    scores["sentences"] = {"labelled": len(fixture), "unmatched": unmatched}
    return scores
