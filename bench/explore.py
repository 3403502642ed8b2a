"""How long the exploring calls take on a finished run (default: the latest under outputs/).

Prints wall-clock milliseconds for importing ``storydiff.explore``, opening the run, the first search (model load, run vectors, query
embedding), a repeated search, a search with a new query, and one call each of fact, compare
and discrepancies. Usage: ``.venv/bin/python bench/explore.py [RUN_DIR]``.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import Any


def time_call(label: str, call: Callable[[], Any]) -> Any:
    """Run ``call`` once and print its wall-clock time in milliseconds."""
    started = time.perf_counter()
    result = call()
    print(f"{label:<44} {1000 * (time.perf_counter() - started):9.1f} ms")
    return result


def main(run_dir: str | None) -> None:
    """Time each exploring call on ``run_dir``."""
    explore = time_call("import storydiff.explore", lambda: importlib.import_module("storydiff.explore"))
    run = time_call("open_run", lambda: explore.open_run(run_dir))
    print(f"run: {run}")
    time_call("search, cold (model load + vectors + query)", lambda: run.search("13 per cent more for grain"))
    time_call("search, same query again", lambda: run.search("13 per cent more for grain"))
    time_call("search, new query (embedded once)", lambda: run.search(f"Treasury rules {time.time()}"))
    fact_id = run.facts.sort_values("n_articles")["fact_id"].iloc[-1]
    time_call(f"fact({fact_id}) + HTML", lambda: run.fact(fact_id)._repr_html_())
    first, second = run.articles["article_id"].iloc[:2]
    time_call("compare(first two articles) + HTML", lambda: run.compare(first, second)._repr_html_())
    time_call("discrepancies() + HTML", lambda: run.discrepancies()._repr_html_())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
