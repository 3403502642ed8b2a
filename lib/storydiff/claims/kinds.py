"""The kind of a claim and how worth checking it is.

Kinds, first match wins: ``quote`` (quoted words attributed to a speaker), ``quantity`` (states
at least one number), ``opinion`` (evaluative or hedged framing with nothing checkable in it:
"China is well positioned to stay ahead of the curve", author bios), ``event`` (someone did or
said something at a stated time, or in a named place), ``statement`` (anything else).
``checkworthiness`` in [0, 1]: a base per kind plus a little per named entity.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span

KIND_BASE = {"quantity": 0.9, "quote": 0.8, "event": 0.7, "statement": 0.4, "opinion": 0.1}
CLAIM_KINDS = list(KIND_BASE)  # every kind a claim can have
ENTITY_BONUS, MAX_ENTITY_BONUS = 0.025, 0.1
OPINION_RE = re.compile(
    r"(?i)\b(?:well[- ]positioned|ahead of the curve|it[’']s clear|it is clear|clearly|"
    r"undoubtedly|arguably|obviously|needless to say|in my (?:view|opinion)|I think|I believe|"
    r"we believe|remains to be seen|only time will tell|compelling|insightful|captivat\w*|"
    r"passion\w*|journey|talented|respected)\b")
PLACE_LABELS = {"GPE", "LOC", "FAC"}
ACTOR_LABELS = {"PERSON", "ORG", "GPE", "NORP"}


def _is_event(doc: Doc | Span, n_dates: int, speaker: str) -> bool:
    """Someone (a named actor or a speaker) did or said something at a time or a place."""
    actor = bool(speaker) or any(e.label_ in ACTOR_LABELS for e in doc.ents)
    if not actor:
        return False
    if n_dates:
        return True
    return any(e.label_ in PLACE_LABELS and e.root.dep_ == "pobj" and e.root.head.lower_ in ("in", "at")
               for e in doc.ents)


def classify_claim(doc: Doc | Span, n_quantities: int, n_dates: int, quote: str,
                   speaker: str) -> str:
    """Kind of one sentence's claim (see module docstring)."""
    if quote and speaker:
        return "quote"
    if n_quantities:
        return "quantity"
    if OPINION_RE.search(doc.text) or not doc.ents and not n_dates and any(t.lower_ in ("i", "my", "me") for t in doc):
        return "opinion"
    if _is_event(doc, n_dates, speaker):
        return "event"
    return "statement"


def score_checkworthiness(kind: str, n_entities: int) -> float:
    """Check-worthiness in [0, 1] of a claim of ``kind`` naming ``n_entities`` entities."""
    bonus = min(MAX_ENTITY_BONUS, ENTITY_BONUS * n_entities) if kind != "opinion" else 0.0
    return round(min(1.0, KIND_BASE[kind] + bonus), 3)
