"""Reading and writing the run folder (the contract of DESIGN.md).

Every table is written twice, as Parquet (types kept) and CSV (for spreadsheets), under
``<run>/tables/<name>.{parquet,csv}``; both writes are atomic (temporary file, then rename), so
a reader never sees half a table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

TABLES_DIR = "tables"
MANIFEST = "manifest.json"


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table_path(run_dir: str | Path, name: str, fmt: str = "parquet") -> Path:
    """Path of table ``name`` in ``run_dir`` (``fmt`` is ``parquet`` or ``csv``)."""
    return Path(run_dir) / TABLES_DIR / f"{name}.{fmt}"


def write_table(run_dir: str | Path, name: str, df: pd.DataFrame) -> None:
    """Write ``df`` as ``tables/<name>.parquet`` and ``tables/<name>.csv``, atomically."""
    df = df.reset_index(drop=True)
    atomic_write(table_path(run_dir, name), lambda p: df.to_parquet(p, index=False))
    atomic_write(table_path(run_dir, name, "csv"), lambda p: df.to_csv(p, index=False))


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame:
    """Read table ``name`` from ``run_dir`` (Parquet); a missing table is a clear error."""
    path = table_path(run_dir, name)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: table '{name}' is missing; run the stage that writes it first"
        )
    return pd.read_parquet(path)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    atomic_write(Path(path), lambda p: p.write_text(text + "\n", encoding="utf-8"))


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``manifest.json`` as a dict (empty when there is none yet)."""
    path = Path(run_dir) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def update_manifest(run_dir: str | Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the run's manifest (top-level keys replaced) and return it."""
    manifest = read_manifest(run_dir)
    manifest.update(fields)
    write_json(Path(run_dir) / MANIFEST, manifest)
    return manifest


def add_notices(run_dir: str | Path, lines: list[str]) -> None:
    """Append lines for the user to the manifest's ``notices``; the runner prints them."""
    update_manifest(run_dir, notices=read_manifest(run_dir).get("notices", []) + list(lines))


def select_content_sentences(articles: pd.DataFrame, sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentences later stages use: not boilerplate, in an article that is not a duplicate."""
    kept = set(articles.loc[articles["duplicate_of"].fillna("") == "", "article_id"])
    mask = ~sentences["boilerplate"].astype(bool) & sentences["article_id"].isin(kept)
    return sentences[mask].reset_index(drop=True)


def read_content_sentences(run_dir: str | Path) -> pd.DataFrame:
    """The run's content sentences (see ``select_content_sentences``), in table order."""
    return select_content_sentences(read_table(run_dir, "articles"), read_table(run_dir, "sentences"))
