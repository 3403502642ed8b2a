"""storydiff: compare how several news outlets cover the same story.

The public functions are imported on first use, so ``import storydiff`` stays cheap for the
command line and the notebooks (the model, spaCy and pandas load only when asked for).
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "read_corpus": "storydiff.corpus.readers",
    "build_corpus_tables": "storydiff.corpus.tables",
    "embed_texts": "storydiff.embed",
    "load_model": "storydiff.embed",
    "load_sentence_embeddings": "storydiff.embed",
    "extract_claims": "storydiff.claims",
    "load_nlp": "storydiff.claims",
    "explode_items": "storydiff.claims",
    "same_claim": "storydiff.compare",
    "compare_corpus": "storydiff.compare",
    "open_run": "storydiff.explore",
    "Run": "storydiff.explore",
    "run_pipeline": "storydiff.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'storydiff' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
