"""Named entities of a claim, from spaCy's NER, for the comparison stage.

Each entity is a dict ``{"text", "label"}`` with spaCy's label (PERSON, ORG, GPE, NORP, LOC,
FAC, EVENT, PRODUCT, LAW, WORK_OF_ART, LANGUAGE); numeric labels (DATE, MONEY, PERCENT, ...)
are left out because quantities and dates carry them, normalised.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

NAME_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT", "LAW",
               "WORK_OF_ART", "LANGUAGE"}


def extract_entities(doc: Doc | Span) -> list[dict[str, str]]:
    """Named entities of one sentence, in text order, each (text, label) once; a leading
    "the" and a trailing possessive are removed ("the US’s" -> "US")."""
    seen: dict[tuple[str, str], None] = {}
    for ent in doc.ents:
        if ent.label_ not in NAME_LABELS:
            continue
        text = ent.text.removeprefix("the ").removeprefix("The ")
        for suffix in ("’s", "'s", "’", "'"):
            text = text.removesuffix(suffix)
        if text.strip():
            seen[(text.strip(), ent.label_)] = None
    return [{"text": text, "label": label} for text, label in seen]
