"""Reading and writing the run folder (the contract of DESIGN.md).

Every table is written as Parquet (types kept) and, up to ``CSV_MAX_ROWS`` rows, as CSV (for
spreadsheets), under ``<run>/tables/<name>.{parquet,csv}``. A table written in parts (the
``dask`` engine writes its per-article tables so, one part per partition) is a folder
``<run>/tables/<name>/part-NNNNN.parquet`` that ``read_table`` reads back in part order. Every
write is atomic (temporary file or folder, then rename), so a reader never sees half a table.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

TABLES_DIR = "tables"
MANIFEST = "manifest.json"
CSV_MAX_ROWS = 500_000  # a bigger table is Parquet only: spreadsheets stop near a million rows


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


def write_table(run_dir: str | Path, name: str, df: pd.DataFrame, parts: list[pd.DataFrame] | None = None) -> None:
    """Write ``df`` as ``tables/<name>.parquet`` (or, given ``parts`` whose rows in order are
    ``df``'s, as the folder ``tables/<name>/`` of one file per part) and, up to ``CSV_MAX_ROWS``
    rows, ``tables/<name>.csv``; atomically. A table of the other layout is removed."""
    df = df.reset_index(drop=True)
    tables = Path(run_dir) / TABLES_DIR
    tables.mkdir(parents=True, exist_ok=True)
    if parts is None:
        atomic_write(table_path(run_dir, name), lambda p: df.to_parquet(p, index=False))
        shutil.rmtree(tables / name, ignore_errors=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=tables))
        for number, part in enumerate(parts or [df]):
            part.reset_index(drop=True).to_parquet(tmp / f"part-{number:05d}.parquet", index=False)
        old = tables / f".{name}.old-{os.getpid()}"
        if (tables / name).exists():
            os.replace(tables / name, old)
        os.replace(tmp, tables / name)
        shutil.rmtree(old, ignore_errors=True)
        table_path(run_dir, name).unlink(missing_ok=True)
    if len(df) <= CSV_MAX_ROWS:
        atomic_write(table_path(run_dir, name, "csv"), lambda p: df.to_csv(p, index=False))
    else:
        table_path(run_dir, name, "csv").unlink(missing_ok=True)


def list_tables(run_dir: str | Path) -> list[str]:
    """Names of the tables in ``run_dir``, single-file and partitioned, sorted."""
    tables = Path(run_dir) / TABLES_DIR
    names = {p.stem for p in tables.glob("*.parquet")} | {p.name for p in tables.glob("[!.]*") if p.is_dir()}
    return sorted(names)


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame:
    """Read table ``name`` from ``run_dir`` (Parquet, one file or a folder of parts in order);
    a missing table is a clear error."""
    path, folder = table_path(run_dir, name), Path(run_dir) / TABLES_DIR / name
    if path.exists():
        return pd.read_parquet(path)
    if folder.is_dir():
        parts = sorted(folder.glob("part-*.parquet"))
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True) if parts else pd.DataFrame()
    raise FileNotFoundError(f"{path}: table '{name}' is missing; run the stage that writes it first")


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
