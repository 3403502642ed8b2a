"""Reading and writing the run folder (the contract of DESIGN.md).

Every table is written as Parquet (types kept) and, up to ``CSV_MAX_ROWS`` rows, as CSV (for
spreadsheets), under ``<run>/tables/<name>.{parquet,csv}``. A table written in parts (the
``dask`` engine writes its per-article tables so, one part per partition) is a folder
``<run>/tables/<name>/part-NNNNN.parquet`` that ``read_table`` reads back in part order. Every
write is atomic (temporary file or folder, then rename), so a reader never sees half a table.
A table too large to hold is written a part at a time with ``open_table_parts``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow.fs import LocalFileSystem

from storydiff.arrays import distinct_values
from storydiff.memory import release_unused_memory

TABLES_DIR = "tables"
MANIFEST = "manifest.json"
CSV_MAX_ROWS = 500_000  # a bigger table is Parquet only: spreadsheets stop near a million rows
BATCH_ROWS = 65_536  # rows a record batch of iterate_table_batches holds at most
BATCH_BYTES = 2 * 2**20  # and uncompressed bytes, about: pyarrow takes some 7x a batch's size to decode it
JSON_LINES = 65_536  # lines of a JSON list read_json_strings parses at a time
ROW_GROUP_ROWS = 1_048_576  # rows a Parquet row group holds at most,
ROW_GROUP_BYTES = 16 * 2**20  # and uncompressed bytes, about: 35,600 articles' texts are 80 MB
SCRATCH_SUFFIX = ".tmp"  # every temporary file and folder in a run folder: a dot name ending so


def open_scratch_dir(run_dir: str | Path, purpose: str) -> tempfile.TemporaryDirectory:
    """A temporary folder ``.<purpose>-*.tmp`` in ``run_dir`` for rows spilled while a stage
    works, removed when its block ends; one a killed kernel leaves is ``remove_scratch``'s."""
    return tempfile.TemporaryDirectory(prefix=f".{purpose}-", suffix=SCRATCH_SUFFIX, dir=run_dir)


def remove_scratch(run_dir: str | Path) -> list[Path]:
    """Remove the temporary files and folders a stage left in ``run_dir`` (a dot name ending in
    ``SCRATCH_SUFFIX``: half-written tables, spilled rows), as a kernel killed mid-stage leaves
    them; returns what was removed. Everything else is kept."""
    removed = []
    for folder, subfolders, files in os.walk(run_dir):
        for name in [*subfolders, *files]:
            if name.startswith(".") and name.endswith(SCRATCH_SUFFIX):
                path = Path(folder) / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
        subfolders[:] = [name for name in subfolders if (Path(folder) / name).exists()]  # not into removed ones
    return removed


@contextlib.contextmanager
def open_atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write in the block; renamed onto ``path`` when the
    block ends, removed on an error (``path`` then stays as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=SCRATCH_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    with open_atomic_path(path) as tmp:
        write(tmp)


def table_path(run_dir: str | Path, name: str, fmt: str = "parquet") -> Path:
    """Path of table ``name`` in ``run_dir`` (``fmt`` is ``parquet`` or ``csv``)."""
    return Path(run_dir) / TABLES_DIR / f"{name}.{fmt}"


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` (its index left out) as the Parquet file ``path`` in row groups of about
    ``ROW_GROUP_BYTES`` uncompressed at most: a reader holds a column's compressed bytes a row
    group at a time, so a table of long texts written as one group (pyarrow's default is a
    million rows) costs a reader all its texts at once however small its batches."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    rows = max(1, min(ROW_GROUP_ROWS, ROW_GROUP_BYTES * table.num_rows // max(table.nbytes, 1)))
    pq.write_table(table, path, row_group_size=rows)


def write_table(run_dir: str | Path, name: str, df: pd.DataFrame, parts: list[pd.DataFrame] | None = None) -> None:
    """Write ``df`` as ``tables/<name>.parquet`` (or, given ``parts`` whose rows in order are
    ``df``'s, as the folder ``tables/<name>/`` of one file per part) and, up to ``CSV_MAX_ROWS``
    rows, ``tables/<name>.csv``; atomically. A table of the other layout is removed."""
    df = df.reset_index(drop=True)
    if parts is None:
        tables = Path(run_dir) / TABLES_DIR
        tables.mkdir(parents=True, exist_ok=True)
        atomic_write(table_path(run_dir, name), lambda p: write_parquet(df, p))
        shutil.rmtree(tables / name, ignore_errors=True)
        write_csv_copy(run_dir, name, [df])
        return
    with open_table_parts(run_dir, name) as writer:
        for number, part in enumerate(parts or [df]):
            writer.write(number, part)


class TableParts:
    """Table ``name`` of ``run_dir`` being written a part at a time (``open_table_parts``); with
    ``partitioned`` False the parts become one file when committed."""

    def __init__(self, run_dir: str | Path, name: str, partitioned: bool = True) -> None:
        self.run_dir, self.name, self.partitioned = Path(run_dir), name, partitioned
        tables = self.run_dir / TABLES_DIR
        tables.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=SCRATCH_SUFFIX, dir=tables))
        self.empty: pd.DataFrame | None = None

    def write(self, number: int, part: pd.DataFrame) -> None:
        """Write part ``number`` (parts are read back in number order, whatever order they are
        written in). An empty part is not written; its columns are kept for a table with no rows."""
        if len(part):
            write_parquet(part, self.part_path(number))
        elif self.empty is None:
            self.empty = part

    def part_path(self, number: int) -> Path:
        """The file of part ``number`` in the temporary folder."""
        return self.folder / f"part-{number:05d}.parquet"

    def numbers(self) -> list[int]:
        """Numbers of the parts written, ascending."""
        return sorted(int(p.stem.removeprefix("part-")) for p in self.folder.glob("part-*.parquet"))

    def rewrite(self, change: Callable[[int, pd.DataFrame], pd.DataFrame]) -> None:
        """Replace each written part by ``change(number, part)``, one part in memory at a time."""
        for number in self.numbers():
            path = self.part_path(number)
            write_parquet(change(number, pd.read_parquet(path)), path)

    def commit(self) -> None:
        """Put the parts in place of any earlier table ``name`` (either layout) and write the
        CSV copy, part by part; when not ``partitioned``, write them as one file instead (read
        back whole: for the in-process engine, whose tables are held whole anyway)."""
        empty = self.empty if self.empty is not None else pd.DataFrame()
        if not self.partitioned:
            parts = [pd.read_parquet(self.part_path(number)) for number in self.numbers()]
            write_table(self.run_dir, self.name, concat_parts(parts) if parts else empty)
            return
        if not self.numbers():
            write_parquet(empty, self.part_path(0))
        tables = self.run_dir / TABLES_DIR
        old = tables / f".{self.name}.old-{os.getpid()}"
        if (tables / self.name).exists():
            os.replace(tables / self.name, old)
        os.replace(self.folder, tables / self.name)
        shutil.rmtree(old, ignore_errors=True)
        table_path(self.run_dir, self.name).unlink(missing_ok=True)
        write_csv_copy(self.run_dir, self.name, iterate_table_parts(self.run_dir, self.name),
                       count_table_rows(self.run_dir, self.name))


@contextlib.contextmanager
def open_table_parts(run_dir: str | Path, name: str, partitioned: bool = True) -> Iterator[TableParts]:
    """A ``TableParts`` writer of table ``name``: its parts go to a temporary folder and become
    the table ``tables/<name>/`` (``tables/<name>.parquet`` when not ``partitioned``) when the
    block ends; on an error they are removed and the table written before stays as it was."""
    writer = TableParts(run_dir, name, partitioned)
    try:
        yield writer
        writer.commit()
    finally:
        shutil.rmtree(writer.folder, ignore_errors=True)


def write_csv_copy(run_dir: str | Path, name: str, parts: Iterable[pd.DataFrame], n_rows: int | None = None) -> None:
    """Write the rows of ``parts`` (in order) as ``tables/<name>.csv``, atomically, unless they
    number more than ``CSV_MAX_ROWS`` (then any old copy is removed); ``n_rows``, when the caller
    knows it, says so before any part is made."""
    path = table_path(run_dir, name, "csv")
    if n_rows is not None and n_rows > CSV_MAX_ROWS:
        path.unlink(missing_ok=True)
        return
    rows = 0
    try:
        with open_atomic_path(path) as tmp:
            for part in parts:
                if rows + len(part) > CSV_MAX_ROWS:
                    raise TooManyRows
                part.to_csv(tmp, index=False, mode="w" if rows == 0 else "a", header=rows == 0)
                rows += len(part)
    except TooManyRows:
        path.unlink(missing_ok=True)


class TooManyRows(Exception):
    """A CSV copy stopped past ``CSV_MAX_ROWS``: its temporary file is dropped, not renamed."""


def map_table_column(run_dir: str | Path, name: str, column: str, key: str, values: pd.Series) -> None:
    """Set the string column ``column`` of table ``name`` to ``values`` (strings indexed by the
    table's ``key`` column; a key missing there gives ""), replacing the column or adding it last,
    a record batch at a time, so the table is never read whole. Atomic file by file, in the
    table's own layout; the CSV copy follows (``write_table``'s rules). Every other column keeps
    its values, types and order."""
    files = list_table_files(run_dir, name)
    with contextlib.ExitStack() as stack:
        for file in files:
            source = open_parquet_file(file)
            names = list(dict.fromkeys([*source.schema_arrow.names, column]))
            schema = pa.schema([source.schema_arrow.field(n) if n != column else pa.field(column, pa.large_string())
                                for n in names], metadata=source.schema_arrow.metadata)
            writer = stack.enter_context(pq.ParquetWriter(stack.enter_context(open_atomic_path(file)), schema))
            for batch in source.iter_batches(batch_size=count_batch_rows(source)):
                mapped = pa.array(batch.column(key).to_pandas().map(values).fillna("").astype(str), pa.large_string())
                writer.write_batch(pa.record_batch([mapped if n == column else batch.column(n) for n in names], schema=schema))
            if not source.metadata.num_rows:
                writer.write_table(schema.empty_table())
    write_csv_copy(run_dir, name, (batch.to_pandas() for batch in iterate_table_batches(run_dir, name)),
                   count_table_rows(run_dir, name))


def open_parquet_file(path: str | Path) -> pq.ParquetFile:
    """``path`` opened to be read a record batch at a time, memory-mapped: read through a file
    handle, pyarrow's reader holds up to the whole file in its memory pool until it is closed
    (all 93 MiB of the articles table of 71,200 articles by the last batch), where mapped pages
    are the operating system's file cache."""
    return pq.ParquetFile(path, memory_map=True)


def count_table_rows(run_dir: str | Path, name: str) -> int:
    """Rows of table ``name``, from its files' Parquet footers (nothing else is read)."""
    return sum(pq.ParquetFile(file).metadata.num_rows for file in list_table_files(run_dir, name))


def count_batch_rows(source: pq.ParquetFile, columns: list[str] | None = None) -> int:
    """Rows of ``source`` (only ``columns`` when given) a record batch holds: ``BATCH_ROWS``, fewer
    when that would pass ``BATCH_BYTES`` uncompressed (from the file's footer: a table of long
    texts is read and rewritten some MB at a time, not a row group at a time)."""
    meta = source.metadata
    wanted = set(columns) if columns is not None else None
    size = sum(meta.row_group(g).column(c).total_uncompressed_size
               for g in range(meta.num_row_groups) for c in range(meta.num_columns)
               if wanted is None or meta.row_group(g).column(c).path_in_schema in wanted)
    return max(1, min(BATCH_ROWS, BATCH_BYTES * meta.num_rows // max(size, 1)))


def list_tables(run_dir: str | Path) -> list[str]:
    """Names of the tables in ``run_dir``, single-file and partitioned, sorted."""
    tables = Path(run_dir) / TABLES_DIR
    names = {p.stem for p in tables.glob("*.parquet")} | {p.name for p in tables.glob("[!.]*") if p.is_dir()}
    return sorted(names)


def list_table_files(run_dir: str | Path, name: str) -> list[Path]:
    """The Parquet files of table ``name``: its one file, or its folder's parts in part order; a
    missing table is a clear error."""
    path, folder = table_path(run_dir, name), Path(run_dir) / TABLES_DIR / name
    if path.exists():
        return [path]
    if folder.is_dir():
        return sorted(folder.glob("part-*.parquet"))
    raise FileNotFoundError(f"{path}: table '{name}' is missing; run the stage that writes it first")


def read_table(
    run_dir: str | Path, name: str, columns: list[str] | None = None, filters: list[tuple] | None = None
) -> pd.DataFrame:
    """Read table ``name`` from ``run_dir`` (``list_table_files``), only ``columns`` and the rows
    that pass ``filters`` (``pandas.read_parquet``'s) when given; an empty list of filters (no
    alternative to pass) gives no rows, with the columns."""
    parts = list(iterate_table_parts(run_dir, name, columns, filters))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def iterate_table_parts(
    run_dir: str | Path, name: str, columns: list[str] | None = None, filters: list[tuple] | None = None
) -> Iterator[pd.DataFrame]:
    """The parts of table ``name`` (``list_table_files``), one at a time, in part order, read as
    ``read_table`` reads them (an empty list of filters: one part of no rows)."""
    files = list_table_files(run_dir, name)
    if filters is not None and not filters and files:
        empty = pq.read_schema(files[0]).empty_table().to_pandas()
        yield empty[columns] if columns is not None else empty
        return
    for file in files:
        part = read_filtered_file(file, columns, filters) if filters else pd.read_parquet(file, columns=columns, memory_map=True)
        release_unused_memory()  # mimalloc, pyarrow's default pool, keeps the decoding buffers
        yield part


def read_filtered_file(file: str | Path, columns: list[str] | None, filters: list) -> pd.DataFrame:
    """The rows of the Parquet ``file`` that pass ``filters`` (``read_table``'s), only ``columns``
    when given, filtered a record batch at a time: pyarrow's filtered read decoded whole row groups
    ahead of the filter (+262 MiB to pick 13,728 articles' sentences of 71,200 articles'). Row
    groups whose statistics rule every row out are skipped, as pyarrow's read skips them."""
    source = open_parquet_file(file)
    expression = pq.filters_to_expression(filters)
    conditions = [c for alternative in filters for c in (alternative if isinstance(alternative, list) else [alternative])]
    read = None if columns is None else list(dict.fromkeys([*columns, *(c[0] for c in conditions)]))
    pieces = ds.ParquetFileFormat().make_fragment(str(file), LocalFileSystem()).split_by_row_group(filter=expression)
    groups = [group.id for piece in pieces for group in piece.row_groups]
    batches = [batch.filter(expression) for batch in
               source.iter_batches(batch_size=count_batch_rows(source, read), row_groups=groups, columns=read)] if groups else []
    table = pa.Table.from_batches(batches) if batches else source.schema_arrow.empty_table()
    return table.to_pandas() if columns is None else table.select(columns).to_pandas()


def is_column_unique(run_dir: str | Path, name: str, column: str) -> bool:
    """Whether no value repeats in ``column`` of table ``name``, checked on its ``hash_column``
    (8 bytes a row, not the values): as many distinct hashes as rows prove distinct values, and
    only when two collide are the values themselves read and compared."""
    if len(hash_column(run_dir, name, column)) == count_table_rows(run_dir, name):
        return True
    return bool(read_table(run_dir, name, [column])[column].is_unique)


def hash_column(run_dir: str | Path, name: str, column: str) -> np.ndarray:
    """``hash_distinct`` of ``column`` of table ``name``, read a record batch at a time."""
    return hash_distinct(batch.column(0) for batch in iterate_table_batches(run_dir, name, [column]))


def hash_values(values: Any) -> np.ndarray:
    """(n,) uint64 hashes of ``values`` (n,) (an array, Series or Arrow array; pandas' hash)."""
    return pd.util.hash_array(values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else np.asarray(values))


def hash_distinct(batches: Iterable[Any]) -> np.ndarray:
    """Sorted distinct ``hash_values`` of the values of ``batches``, taken one at a time: 8 bytes a
    distinct value, not the values. Equal sets of values give equal arrays; unequal sets give
    unequal arrays unless two 64-bit hashes collide (odds near values^2 / 2^65)."""
    hashes = [distinct_values(hash_values(batch)) for batch in batches]
    return distinct_values(np.concatenate(hashes)) if hashes else np.empty(0, dtype=np.uint64)


def iterate_table_batches(
    run_dir: str | Path, name: str, columns: list[str] | None = None, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of table ``name`` (only ``columns`` when given) in table order, ``batch_rows`` at
    most at a time (default ``count_batch_rows``), as Arrow record batches without pandas
    metadata: a single-file table too is never read whole."""
    for file in list_table_files(run_dir, name):
        source = open_parquet_file(file)
        for batch in source.iter_batches(batch_size=batch_rows or count_batch_rows(source, columns), columns=columns):
            yield batch.replace_schema_metadata(None)


def split_table_by_chunk(
    run_dir: str | Path, name: str, columns: list[str] | None,
    number_rows: Callable[[pa.RecordBatch, int], np.ndarray], folder: Path,
) -> pd.DataFrame:
    """Write the rows of table ``name`` (only ``columns`` when given) to
    ``folder/<name>-<chunk>.parquet``, in table order, reading a record batch at a time; a
    row's chunk is given by ``number_rows(batch, number of the batch's first row in the table)``,
    a float per row of the batch (NaN: the row is left out). Returns the table's columns with no
    rows, for a chunk that got none. One file is open per chunk: keep the chunks few."""
    files = list_table_files(run_dir, name)
    schema = pa.unify_schemas([pq.read_schema(file).remove_metadata() for file in files])  # a part may type an all-empty column as null
    schema = pa.schema([schema.field(c) for c in columns]) if columns is not None else schema
    writers: dict[int, pq.ParquetWriter] = {}
    start = 0
    try:
        for batch in iterate_table_batches(run_dir, name, columns):
            numbers = np.asarray(number_rows(batch, start), dtype=float)
            start += batch.num_rows
            rows = np.flatnonzero(~np.isnan(numbers))
            order = rows[np.argsort(numbers[rows], kind="stable")]
            grouped = batch.take(pa.array(order)).cast(schema)
            chunk_numbers, starts = np.unique(numbers[order].astype(int), return_index=True)
            for number, begin, stop in zip(chunk_numbers, starts, [*starts[1:], len(order)]):
                if number not in writers:
                    writers[number] = pq.ParquetWriter(folder / f"{name}-{number}.parquet", schema)
                writers[number].write_batch(grouped.slice(begin, stop - begin))
    finally:
        for writer in writers.values():
            writer.close()
    return schema.empty_table().to_pandas()


def concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``parts`` in order. Empty parts are left out (a part built with no rows has
    columns of dtype object, which would turn the other parts' strings and numbers to objects);
    when every part is empty, the first is the result (no parts: an empty frame)."""
    if not parts:
        return pd.DataFrame()
    return pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)


def sum_part_counts(counts: Iterable[pd.Series]) -> pd.Series:
    """Counts made a part at a time (Series of counts, one index level or several), summed key
    by key; empty parts are left out, and no counts at all give an empty Series."""
    counts = [c for c in counts if len(c)]
    if not counts:
        return pd.Series(dtype=int)
    return pd.concat(counts).groupby(level=list(range(counts[0].index.nlevels))).sum()


def filter_in(column: str, values: Iterable[Any]) -> list[tuple[str, str, list[Any]]]:
    """``read_table`` filters for the rows whose ``column`` is one of ``values``; none pass when
    ``values`` is empty (pyarrow refuses an empty ``in``)."""
    values = list(values)
    return [(column, "in", values)] if values else []


def read_head(
    run_dir: str | Path,
    name: str,
    n: int,
    columns: list[str] | None = None,
    filters: list[tuple] | None = None,
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, int]:
    """(the first ``n`` rows of table ``name`` that pass ``filters``, how many pass in all),
    reading one part at a time: what a notebook shows of a table too large to hold. With
    ``transform``, the rows are those of ``transform(part)`` for each part read (e.g. one row per
    item of a list column: ``claims.explode_items``)."""
    head, total = [], 0
    for part in iterate_table_parts(run_dir, name, columns, filters):
        part = part if transform is None else transform(part)
        if total < n or not head:
            head.append(part.head(max(n - total, 0)))
        total += len(part)
    return concat_parts(head), total


def read_smallest(run_dir: str | Path, name: str, n: int, by: list[str], columns: list[str] | None = None) -> pd.DataFrame:
    """The first ``n`` rows of table ``name`` sorted by ``by`` (ascending; ties in table order),
    index 0..n-1, reading one part at a time and keeping only ``n`` rows between parts."""
    smallest = None
    for part in iterate_table_parts(run_dir, name, columns):
        candidates = part if smallest is None else concat_parts([smallest, part])
        smallest = candidates.sort_values(by, kind="stable").head(n)
    return pd.DataFrame(columns=columns) if smallest is None else smallest.reset_index(drop=True)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    atomic_write(Path(path), lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_json_list(path: str | Path, batches: Iterable[Iterable[Any]], n_items: int) -> None:
    """Write the items of ``batches`` as one JSON list, indented as ``write_json`` writes it,
    atomically and a batch at a time (the items are never all held); ValueError, and nothing
    written, unless they are ``n_items``."""
    def write(tmp: Path) -> None:
        written = 0
        with open(tmp, "w", encoding="utf-8") as out:
            out.write("[")
            for batch in batches:
                for item in batch:
                    out.write((",\n  " if written else "\n  ") + json.dumps(item, ensure_ascii=False, default=str))
                    written += 1
            out.write("\n]\n" if written else "]\n")
        if written != n_items:
            raise ValueError(f"{Path(path).name}: {written} items where {n_items} were expected")

    atomic_write(Path(path), write)


def read_json_strings(path: str | Path) -> pa.Array:
    """The strings of a JSON list of strings as one Arrow ``large_string`` array: a list laid out
    one item a line (as ``write_json_list`` and ``write_json`` write it) is parsed ``JSON_LINES``
    lines at a time, so its items are never all Python strings at once; any other layout whole."""
    chunks, lines = [], []
    with open(path, encoding="utf-8") as source:
        if source.readline().strip() != "[":
            source.seek(0)
            return as_large_strings(json.load(source))
        for line in source:
            if line.strip() == "]":
                break
            lines.append(line.strip().removesuffix(","))  # an item's JSON ends in a quote: a comma after it separates
            if len(lines) == JSON_LINES:
                chunks.append(as_large_strings(json.loads("[" + ",".join(lines) + "]")))
                lines = []
    chunks.append(as_large_strings(json.loads("[" + ",".join(lines) + "]")))
    return pa.concat_arrays(chunks)


def as_large_strings(values: Any) -> pa.Array:
    """``values`` (a sequence of strings, a Series, an Arrow array) as one Arrow ``large_string``
    array; an Arrow-backed string column is not made into Python strings on the way."""
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, pa.large_string())  # a column read in parts comes back chunked
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())


def locate_strings(values: Any, value_set: Any) -> np.ndarray:
    """The position (len(values),) in ``value_set`` of each of ``values`` (each as for
    ``as_large_strings``), -1 where absent: an Arrow hash set, no Python string of either (a pandas
    index of 582,768 claim ids held 93 bytes each)."""
    found = pc.index_in(as_large_strings(values), value_set=as_large_strings(value_set))
    return pc.fill_null(found, -1).to_numpy()


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


def index_kept_articles(articles: pd.DataFrame) -> pd.Index:
    """Ids of the ``articles`` that are not duplicates; the index builds its lookup table once,
    on its first use, so each part of the sentences is then selected in time of its own size."""
    return pd.Index(articles.loc[articles["duplicate_of"].fillna("") == "", "article_id"]).unique()


def select_kept_sentences(kept: pd.Index, sentences: pd.DataFrame) -> pd.DataFrame:
    """The ``sentences`` that are not boilerplate and whose article is in ``kept``
    (``index_kept_articles``), index 0..n-1."""
    mask = ~sentences["boilerplate"].astype(bool) & (kept.get_indexer(sentences["article_id"]) >= 0)
    return sentences[mask].reset_index(drop=True)


def select_content_sentences(articles: pd.DataFrame, sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentences later stages use: not boilerplate, in an article that is not a duplicate."""
    return select_kept_sentences(index_kept_articles(articles), sentences)


def iterate_content_sentences(
    run_dir: str | Path, filters: list[tuple] | None = None, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The run's content sentences (see ``select_content_sentences``) a part of the sentences
    table at a time, in table order; only those that pass ``filters`` (``read_table``'s, e.g.
    ``filter_in("article_id", ids)``) and only ``columns`` (all when None) when given."""
    read = None if columns is None else list(dict.fromkeys([*columns, "article_id", "boilerplate"]))
    kept = index_kept_articles(read_table(run_dir, "articles", ["article_id", "duplicate_of"]))
    for part in iterate_table_parts(run_dir, "sentences", read, filters):
        sentences = select_kept_sentences(kept, part)
        yield sentences if columns is None else sentences[columns]


def iterate_content_batches(
    run_dir: str | Path, columns: list[str], kept: pd.Index | None = None
) -> Iterator[pd.DataFrame]:
    """The run's content sentences (``select_content_sentences``), only ``columns``, in table order,
    a record batch of the sentences table at a time (``iterate_table_batches``): a table written
    as one file is not read whole either, but an article's sentences may come in two batches.
    ``kept``: the articles whose sentences count (``index_kept_articles``), read from the run when None."""
    if kept is None:
        kept = index_kept_articles(read_table(run_dir, "articles", ["article_id", "duplicate_of"]))
    read = list(dict.fromkeys([*columns, "article_id", "boilerplate"]))
    for batch in iterate_table_batches(run_dir, "sentences", read):
        yield select_kept_sentences(kept, batch.to_pandas())[columns]


def read_sentence_articles(run_dir: str | Path, kept: pd.Index) -> pd.Categorical:
    """The article of each content sentence (``iterate_content_batches``), in table order, as a
    Categorical over ``kept`` (``index_kept_articles``): 4 bytes a sentence, not a Python string."""
    codes = [kept.get_indexer(batch["article_id"]).astype(np.int32)
             for batch in iterate_content_batches(run_dir, ["article_id"], kept)]
    return pd.Categorical.from_codes(np.concatenate(codes) if codes else np.empty(0, dtype=np.int32), categories=kept)


def read_content_sentences(
    run_dir: str | Path, filters: list[tuple] | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """All of ``iterate_content_sentences`` in one frame, index 0..n-1."""
    parts = list(iterate_content_sentences(run_dir, filters, columns))
    return parts[0] if len(parts) == 1 else concat_parts(parts)
