"""The claims stage: which sentences carry checkable claims, with their quantities, dates,
quotes, speakers and entities (see ``extract`` for why a claim is a sentence)."""

from storydiff.claims.extract import (
    CLAIM_COLUMNS,
    count_claim_kinds,
    describe_nlp,
    explode_items,
    extract_claims,
    load_nlp,
)

__all__ = ["CLAIM_COLUMNS", "count_claim_kinds", "describe_nlp", "explode_items", "extract_claims", "load_nlp"]
