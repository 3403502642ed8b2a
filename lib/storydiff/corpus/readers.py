"""Read a folder or a file of articles into raw records, listing what could not be read and why.

Supported inputs: ``.txt``/``.md`` (plain text), ``.html``/``.htm`` (main text and metadata
extracted by trafilatura), ``.jsonl`` (one JSON object a line) and ``.csv`` (one article a row),
each with a ``text`` field and optional ``title``, ``outlet``, ``url``, ``published``, ``author``.
A sidecar file ``metadata.csv``/``metadata.yaml``/``metadata.yml`` in the corpus folder (or given
explicitly) maps file names (or article ids) to metadata that wins over anything inferred.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import yaml

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
TABLE_SUFFIXES = {".jsonl", ".csv"}
DOCUMENTATION_STEMS = {"readme", "license", "licence", "copying", "changelog"}
SIDECAR_NAMES = ("metadata.csv", "metadata.yaml", "metadata.yml")
META_FIELDS = ("title", "outlet", "url", "published", "author")
DEFAULT_MAX_FILE_MB = 20.0


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
        if sum(ord(c) > 127 for c in text) < 0.3 * len(text):
            return text, "cp1252"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ValueError("binary file (no text encoding fits), not text")
    return str(best), best.encoding


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


def _read_jsonl(path: Path, text: str) -> tuple[list[RawArticle], list[SkippedInput]]:
    articles, skipped = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
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


def _read_csv(path: Path, text: str) -> tuple[list[RawArticle], list[SkippedInput]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        columns = ", ".join(reader.fieldnames or []) or "none"
        return [], [SkippedInput(str(path), f"no 'text' column (columns: {columns})")]
    articles, skipped = [], []
    start = 2
    for record in reader:
        body = record.get("text") or ""
        if body.strip():
            articles.append(_table_article(path, start, body, record))
        else:
            skipped.append(SkippedInput(str(path), "empty 'text'", start))
        start = reader.line_num + 1
    return articles, skipped


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
        return [], [SkippedInput(str(path), "binary file (control characters), not text")]
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


def list_input_files(corpus: Path) -> list[Path]:
    """Input files of a corpus folder, recursively, sorted; hidden files and sidecars left out."""
    files = [
        p
        for p in corpus.rglob("*")
        if not p.is_dir()
        and not any(part.startswith(".") for part in p.relative_to(corpus).parts)
        and p.name not in SIDECAR_NAMES
    ]
    return sorted(files)


def read_files(paths: list[Path], max_file_mb: float = DEFAULT_MAX_FILE_MB) -> tuple[list[RawArticle], list[SkippedInput]]:
    """The articles and skipped inputs of ``paths``, file by file, in the order given."""
    articles: list[RawArticle] = []
    skipped: list[SkippedInput] = []
    for path in paths:
        found, problems = read_file(Path(path), int(max_file_mb * 1e6))
        articles.extend(found)
        skipped.extend(problems)
    return articles, skipped


def list_corpus_files(corpus: str | Path) -> list[Path]:
    """The input files of a corpus folder (or the file itself); ``CorpusError`` when missing."""
    corpus = Path(corpus)
    if not corpus.exists():
        raise CorpusError(f"{corpus}: corpus path does not exist")
    return list_input_files(corpus) if corpus.is_dir() else [corpus]


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
) -> tuple[list[RawArticle], list[SkippedInput]]:
    """Read every article of a folder (recursively) or of one file.

    Returns the articles, in path order, with sidecar metadata merged into ``meta``, and the
    skipped inputs. Raises ``CorpusError`` when the path does not exist or yields no article.
    """
    articles, skipped = read_files(list_corpus_files(corpus), max_file_mb)
    return finish_corpus(corpus, articles, skipped, metadata), skipped
