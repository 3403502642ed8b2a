"""Read a folder or a file of articles into raw records, listing what could not be read and why.

Supported inputs: ``.txt``/``.md`` (plain text), ``.html``/``.htm`` (main text and metadata
extracted by trafilatura), ``.jsonl`` (one JSON object a line) and ``.csv`` (one article a row),
each with a ``text`` field and optional ``title``, ``outlet``, ``url``, ``published``, ``author``.
A JSONL or CSV file over ``TABLE_RANGE_BYTES`` is cut at record ends into ranges read apart
(``split_table_file``), so an archive of any size is never read whole by one process.
A sidecar file ``metadata.csv``/``metadata.yaml``/``metadata.yml`` in the corpus folder (or given
explicitly) maps file names (or article ids) to metadata that wins over anything inferred.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
import yaml

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
TABLE_SUFFIXES = {".jsonl", ".csv"}
DOCUMENTATION_STEMS = {"readme", "license", "licence", "copying", "changelog"}
SIDECAR_NAMES = ("metadata.csv", "metadata.yaml", "metadata.yml")
META_FIELDS = ("title", "outlet", "url", "published", "author")
DEFAULT_MAX_FILE_MB = 20.0
TABLE_RANGE_BYTES = 8 * 2**20
CP1252_MAX_NON_ASCII = 0.3  # share of characters over 127 past which cp1252 is not trusted
ASCII_BYTES = bytes(range(128))
BINARY_CONTROLS = "binary file (control characters), not text"

csv.field_size_limit(2**31 - 1)  # default 131,072 characters stops at a long article; sys.maxsize overflows a C long on Windows


class CorpusError(Exception):
    """The corpus as a whole cannot be read (missing path, no articles)."""


@dataclass
class RawArticle:
    """One article as read from disk, before cleaning. ``meta`` holds values given by the input."""

    article_id: str
    path: str
    text: str
    sha256: str
    encoding: str = "utf-8"
    meta: dict[str, str] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True)
class FileRange:
    """The records of a JSONL or CSV file between byte offsets ``start`` and ``end``, read apart
    from the rest of it: ``first_line`` is the line number at ``start``, ``encoding`` the one of
    the whole file, ``header`` the CSV file's column line (empty for JSONL)."""

    path: str
    start: int
    end: int
    first_line: int
    encoding: str
    header: bytes = b""


@dataclass
class SkippedInput:
    """An input that was not read (``line`` is set for JSONL/CSV records)."""

    path: str
    problem: str
    line: int | None = None

    def message(self) -> str:
        """One line naming the file, the line when known, and the problem."""
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.problem}"


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; return ``(text, encoding)``.

    UTF-8 (with or without BOM) first; then cp1252 (a superset of Latin-1's printable range that
    also maps curly quotes and dashes) when it decodes and the text is mostly ASCII, as Western
    text is; otherwise the encoding charset-normalizer finds. Raises ``ValueError`` for binary data.
    """
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        if len(data.translate(None, ASCII_BYTES)) < CP1252_MAX_NON_ASCII * len(data):
            return text, "cp1252"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ValueError("binary file (no text encoding fits), not text")
    return str(best), best.encoding


def find_binary_problem(head: bytes) -> str | None:
    """Why a file that starts with ``head`` (some kilobytes) is not text, as ``read_file`` says
    it; ``None`` when it looks like text."""
    try:
        text, _ = decode_bytes(head)
    except ValueError as err:
        return str(err)
    return BINARY_CONTROLS if _looks_binary(text) else None


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\n\r\t\f")
    return controls > 0.05 * min(len(text), 4096)


def _clean_meta(record: dict) -> dict[str, str]:
    return {k: str(record[k]).strip() for k in META_FIELDS if record.get(k) not in (None, "")}


def read_sidecar(path: Path) -> dict[str, dict[str, str]]:
    """Read a sidecar metadata file: ``{file name or article id: {field: value}}``.

    CSV needs a ``file`` column; YAML is a mapping of file name to a mapping of fields.
    """
    text, _ = decode_bytes(path.read_bytes())
    if path.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and "file" not in rows[0]:
            raise CorpusError(f"{path}: sidecar metadata CSV needs a 'file' column")
        return {row["file"]: _clean_meta(row) for row in rows}
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CorpusError(f"{path}: sidecar metadata YAML must map file names to fields")
    return {str(k): _clean_meta(v) for k, v in data.items()}


def _read_jsonl(path: Path, text: str, first_line: int = 1) -> tuple[list[RawArticle], list[SkippedInput]]:
    articles, skipped = [], []
    for lineno, line in enumerate(text.split("\n"), start=first_line):  # JSON strings may hold U+2028, which splitlines() cuts at
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            skipped.append(SkippedInput(str(path), f"not valid JSON ({err.msg})", lineno))
            continue
        if not isinstance(record, dict):
            skipped.append(SkippedInput(str(path), "not a JSON object", lineno))
            continue
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            skipped.append(SkippedInput(str(path), "no 'text' field, or it is empty", lineno))
            continue
        articles.append(_table_article(path, lineno, body, record))
    return articles, skipped


def _read_csv(path: Path, text: str, line_shift: int = 0) -> tuple[list[RawArticle], list[SkippedInput]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        return [], [describe_missing_text(path, reader.fieldnames)]
    articles, skipped = [], []
    start = reader.line_num + 1 + line_shift
    try:
        for record in reader:
            body = record.get("text") or ""
            if body.strip():
                articles.append(_table_article(path, start, body, record))
            else:
                skipped.append(SkippedInput(str(path), "empty 'text'", start))
            start = reader.line_num + 1 + line_shift
    except csv.Error as err:
        skipped.append(SkippedInput(str(path), f"malformed CSV from here on, not read ({err})", start))
    return articles, skipped


def describe_missing_text(path: Path, columns: Iterable[str] | None) -> SkippedInput:
    """The problem of a CSV file without a ``text`` column."""
    return SkippedInput(str(path), f"no 'text' column (columns: {', '.join(columns or []) or 'none'})")


def _table_article(path: Path, line: int, body: str, record: dict) -> RawArticle:
    return RawArticle(
        article_id=f"{path.stem}-{line}",
        path=str(path),
        text=body,
        sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        meta=_clean_meta(record),
        line=line,
    )


def _read_html(path: Path, text: str, digest: str, encoding: str) -> RawArticle:
    import trafilatura

    document = trafilatura.bare_extraction(
        text, with_metadata=True, include_comments=False, include_tables=False
    )
    doc = document.as_dict() if document is not None else None
    if not doc or not (doc.get("text") or "").strip():
        raise ValueError("no main text found in the HTML")
    meta = {
        "title": doc.get("title") or "",
        "outlet": doc.get("sitename") or "",
        "url": doc.get("url") or "",
        "published": doc.get("date") or "",
        "author": doc.get("author") or "",
    }
    body = doc["text"]
    if meta["title"] and not body.startswith(meta["title"]):
        body = f"{meta['title']}\n\n{body}"
    return RawArticle(path.stem, str(path), body, digest, encoding, _clean_meta(meta))


def read_file(path: Path, max_bytes: int) -> tuple[list[RawArticle], list[SkippedInput]]:
    """Read one input file into articles; every problem becomes a ``SkippedInput``."""
    suffix = path.suffix.lower()
    if path.stem.lower() in DOCUMENTATION_STEMS:
        return [], [SkippedInput(str(path), "documentation file (README, LICENSE), not an article")]
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES | TABLE_SUFFIXES:
        return [], [SkippedInput(str(path), f"unsupported file type '{suffix or path.name}'")]
    try:
        size = path.stat().st_size
        if size > max_bytes:
            limit = max_bytes / 1e6
            return [], [SkippedInput(str(path), f"{size / 1e6:.1f} MB is over the {limit:g} MB limit (parameter max_file_mb)")]
        data = path.read_bytes()
    except OSError as err:
        return [], [SkippedInput(str(path), f"cannot be read ({err.strerror or err})")]
    if not data.strip():
        return [], [SkippedInput(str(path), "empty file")]
    try:
        text, encoding = decode_bytes(data)
    except ValueError as err:
        return [], [SkippedInput(str(path), str(err))]
    if _looks_binary(text):
        return [], [SkippedInput(str(path), BINARY_CONTROLS)]
    if suffix == ".jsonl":
        return _read_jsonl(path, text)
    if suffix == ".csv":
        return _read_csv(path, text)
    digest = hashlib.sha256(data).hexdigest()
    if suffix in HTML_SUFFIXES:
        try:
            return [_read_html(path, text, digest, encoding)], []
        except ValueError as err:
            return [], [SkippedInput(str(path), str(err))]
    return [RawArticle(path.stem, str(path), text, digest, encoding)], []


def list_input_files(corpus: Path) -> Iterator[Path]:
    """Input files of a corpus folder, recursively, in sorted path order, each folder listed as
    the walk reaches it (not every path of the corpus held at once); hidden files and folders and
    sidecars left out, a link to a folder not followed, a folder that cannot be listed passed over."""
    try:
        names = sorted(os.listdir(corpus))
    except OSError:
        return
    for name in names:
        path = corpus / name
        if name.startswith("."):
            continue
        if path.is_dir():
            if not path.is_symlink():
                yield from list_input_files(path)
        elif name not in SIDECAR_NAMES:
            yield path


def split_table_file(path: Path, range_bytes: int = TABLE_RANGE_BYTES) -> list[FileRange] | SkippedInput | None:
    """A JSONL or CSV file over ``range_bytes`` cut at record ends (a CSV record may span lines)
    into ranges of about ``range_bytes``, in one pass over the file. ``SkippedInput`` when it is
    not text or a CSV without ``text``; ``None`` when it is read whole (``read_file``): another
    kind of file, not over ``range_bytes``, unreadable, or in neither UTF-8 nor cp1252 (the
    encodings it is checked against as it is read, with the rules of ``decode_bytes``)."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES or path.stem.lower() in DOCUMENTATION_STEMS:
        return None
    try:
        if path.stat().st_size <= range_bytes:
            return None
        with open(path, "rb") as file:
            problem = find_binary_problem(file.read(16384))
            if problem:
                return SkippedInput(str(path), problem)
            file.seek(0)
            scan = TableScan(file, is_csv=suffix == ".csv")
            ends = list(scan.find_range_ends(range_bytes))
    except OSError:  # read whole, which says what is wrong
        return None
    if scan.is_csv and scan.columns is None:  # no header: read whole, which says so
        return None
    if scan.is_csv and "text" not in scan.columns:
        return describe_missing_text(path, scan.columns)
    encoding = scan.choose_encoding()
    if encoding is None:
        return None
    plain = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM opens the file only
    starts = [(len(scan.header), scan.header.count(b"\n") + 1), *ends[:-1]]
    return [
        FileRange(str(path), start, end, line, encoding if scan.header or start == 0 else plain, scan.header)
        for (start, line), (end, _) in zip(starts, ends)
    ]


class TableScan:
    """One pass over a JSONL or CSV file's lines, noting where its records end and whether its
    bytes are UTF-8 or cp1252 text (``decode_bytes``'s rules, on the whole file). A CSV the csv
    module cannot parse further is not cut past that record: its last range holds the rest, whose
    reading reports it (and the encoding is chosen from the lines before it)."""

    def __init__(self, file: BinaryIO, is_csv: bool) -> None:
        self.file, self.is_csv = file, is_csv
        self.offset, self.line = 0, 1  # where the next line starts
        self.header, self.columns = b"", None
        self.bom, self.utf8, self.cp1252, self.non_ascii = False, True, True, 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def find_range_ends(self, range_bytes: int) -> Iterator[tuple[int, int]]:
        """``(byte offset, line number)`` after each range of whole records of at least
        ``range_bytes`` (the last one: the file's end); the CSV header (its first record, kept in
        ``header``, its fields in ``columns``) is not in any range."""
        start = None
        for end, line in self._record_ends():
            if start is None and self.is_csv:
                self.file.seek(0)
                self.header = self.file.read(end)
                self.file.seek(end)
                self.columns = next(csv.reader([self.header.decode("utf-8", errors="replace").lstrip("\ufeff")]), [])
                start = end
                continue
            start = start or 0
            if end - start >= range_bytes:
                yield end, line
                start = end
        size = os.fstat(self.file.fileno()).st_size
        if start is None or size > start:
            yield size, self.line

    def _record_ends(self) -> Iterator[tuple[int, int]]:
        lines = self._read_lines()
        if self.is_csv:
            records = csv.reader(line.decode("utf-8", errors="replace") for line in lines)
            with contextlib.suppress(csv.Error):
                for _ in records:
                    yield self.offset, self.line
        else:
            for _ in lines:
                yield self.offset, self.line

    def _read_lines(self) -> Iterator[bytes]:
        for raw in self.file:
            if self.offset == 0:
                self.bom = raw.startswith(codecs.BOM_UTF8)
            if self.utf8:
                try:
                    self._decoder.decode(raw)
                except UnicodeDecodeError:
                    self.utf8 = False
            if self.cp1252:
                try:
                    raw.decode("cp1252")
                except UnicodeDecodeError:
                    self.cp1252 = False
                self.non_ascii += len(raw.translate(None, ASCII_BYTES))
            self.offset += len(raw)
            self.line += 1
            yield raw

    def choose_encoding(self) -> str | None:
        """``utf-8-sig``, ``utf-8`` or ``cp1252`` as ``decode_bytes`` would choose it for the
        whole file; ``None`` when it would ask charset-normalizer."""
        if self.bom:
            return "utf-8-sig"
        if self.utf8:
            try:
                self._decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
        return "cp1252" if self.cp1252 and self.non_ascii < CP1252_MAX_NON_ASCII * self.offset else None


def read_file_range(part: FileRange, max_bytes: int) -> tuple[list[RawArticle], list[SkippedInput]]:
    """The articles of one range of a JSONL or CSV file (``split_table_file``), with the line
    numbers and ids of the file read whole; a record of over ``max_bytes`` is skipped."""
    path = Path(part.path)
    try:
        with open(path, "rb") as file:
            file.seek(part.start)
            data = file.read(part.end - part.start)
    except OSError as err:
        return [], [SkippedInput(str(path), f"cannot be read ({err.strerror or err})", part.first_line)]
    text = (part.header + data).decode(part.encoding, errors="replace")
    if part.header:
        found, skipped = _read_csv(path, text, part.first_line - part.header.count(b"\n") - 1)
    else:
        found, skipped = _read_jsonl(path, text, part.first_line)
    articles = []
    for article in found:
        size = len(article.text.encode("utf-8"))
        if size > max_bytes:
            skipped.append(SkippedInput(str(path), f"a {size / 1e6:.1f} MB text is over the {max_bytes / 1e6:g} MB limit (parameter max_file_mb)", article.line))
        else:
            articles.append(article)
    return articles, sorted(skipped, key=lambda s: s.line or 0)


def split_large_tables(
    paths: Iterable[Path], max_file_mb: float = DEFAULT_MAX_FILE_MB, range_bytes: int = TABLE_RANGE_BYTES
) -> Iterator[Path | FileRange | SkippedInput]:
    """``paths`` in order, each JSONL or CSV file over ``range_bytes`` or ``max_file_mb`` replaced
    by its ranges of that size (or by why it cannot be read), as its turn comes
    (``split_table_file``): such a file is limited by record, not skipped whole."""
    for path in paths:
        ranges = split_table_file(Path(path), min(range_bytes, int(max_file_mb * 1e6)))
        if ranges is None:
            yield path
        elif isinstance(ranges, SkippedInput):
            yield ranges
        else:
            yield from ranges


def read_files(inputs: Iterable[Path | FileRange | SkippedInput], max_file_mb: float = DEFAULT_MAX_FILE_MB) -> tuple[list[RawArticle], list[SkippedInput]]:
    """The articles and skipped inputs of ``inputs`` (files, ranges of files from
    ``split_large_tables``, inputs already found unreadable), one by one, in the order given.
    ``max_file_mb`` limits a file read whole, and each record of a file read in ranges."""
    articles: list[RawArticle] = []
    skipped: list[SkippedInput] = []
    max_bytes = int(max_file_mb * 1e6)
    for item in inputs:
        if isinstance(item, SkippedInput):
            skipped.append(item)
            continue
        found, problems = read_file_range(item, max_bytes) if isinstance(item, FileRange) else read_file(Path(item), max_bytes)
        articles.extend(found)
        skipped.extend(problems)
    return articles, skipped


def list_corpus_files(corpus: str | Path) -> Iterator[Path]:
    """The input files of a corpus folder (``list_input_files``) or the file itself;
    ``CorpusError`` at once when the path is missing."""
    corpus = Path(corpus)
    if not corpus.exists():
        raise CorpusError(f"{corpus}: corpus path does not exist")
    return list_input_files(corpus) if corpus.is_dir() else iter([corpus])


def find_sidecar(corpus: str | Path, metadata: str | Path | None = None) -> dict[str, dict[str, str]]:
    """The sidecar metadata of a corpus (``read_sidecar``): the file ``metadata`` when given, else
    the corpus folder's ``metadata.csv``/``.yaml``/``.yml``; ``{}`` when there is none."""
    corpus = Path(corpus)
    path = Path(metadata) if metadata else next(
        (corpus / n for n in SIDECAR_NAMES if corpus.is_dir() and (corpus / n).exists()), None
    )
    return read_sidecar(path) if path is not None else {}


def finish_articles(articles: list[RawArticle], sidecar: dict[str, dict[str, str]], seen: dict[str, int]) -> list[RawArticle]:
    """``articles`` with ``sidecar`` metadata merged into ``meta`` (by file name, then by article
    id) and each id seen before, in ``seen`` or earlier in ``articles``, made unique (``id~2``...);
    ``seen`` (id: times read) is updated, so a corpus can be finished a part at a time, in order."""
    for article in articles:
        article.meta.update(sidecar.get(Path(article.path).name, {}))
        article.meta.update(sidecar.get(article.article_id, {}))
        count = seen.get(article.article_id, 0)
        seen[article.article_id] = count + 1
        if count:
            article.article_id = f"{article.article_id}~{count + 1}"
    return articles


def describe_no_articles(corpus: str | Path, skipped: list[SkippedInput]) -> CorpusError:
    """The error of a corpus that gave no article, naming the first inputs skipped."""
    detail = "; ".join(s.message() for s in skipped[:5])
    return CorpusError(f"{corpus}: no readable articles" + (f" ({detail})" if detail else ""))


def finish_corpus(
    corpus: str | Path, articles: list[RawArticle], skipped: list[SkippedInput], metadata: str | Path | None = None
) -> list[RawArticle]:
    """``articles`` with sidecar metadata merged into ``meta`` and repeated ids made unique
    (``finish_articles``); ``CorpusError`` when there is no article at all."""
    if not articles:
        raise describe_no_articles(corpus, skipped)
    return finish_articles(articles, find_sidecar(corpus, metadata), {})


def read_corpus(
    corpus: str | Path,
    *,
    metadata: str | Path | None = None,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    range_bytes: int = TABLE_RANGE_BYTES,
) -> tuple[list[RawArticle], list[SkippedInput]]:
    """Read every article of a folder (recursively) or of one file.

    Returns the articles, in path order, with sidecar metadata merged into ``meta``, and the
    skipped inputs. A JSONL or CSV file over ``range_bytes`` or ``max_file_mb`` is read a range of
    records at a time (the same articles) and ``max_file_mb`` limits each of its records. Raises
    ``CorpusError`` when the path does not exist or yields no article.
    """
    articles, skipped = read_files(split_large_tables(list_corpus_files(corpus), max_file_mb, range_bytes), max_file_mb)
    return finish_corpus(corpus, articles, skipped, metadata), skipped
