"""Shared fixtures: the seed corpus, and one real pipeline run on it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from storydiff.runner import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The demo corpus: five articles on Xi Jinping and tech self-reliance (read-only)."""
    return SEEDS


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete `storydiff run` of the seeds with default parameters, made once per session."""
    out = tmp_path_factory.mktemp("runs") / "seeds"
    return run_pipeline(SEEDS, out, echo=lambda line: None)
