"""Turn raw articles into the ``articles``, ``sentences`` and ``skipped`` tables."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from storydiff.corpus.clean import normalize_text, split_blocks
from storydiff.corpus.duplicates import find_duplicates
from storydiff.corpus.metadata import infer_metadata, infer_title, parse_date
from storydiff.corpus.readers import RawArticle, SkippedInput
from storydiff.corpus.sentences import split_sentence_spans
from storydiff.runfolder import sum_part_counts

ARTICLE_COLUMNS = [
    "article_id", "path", "line", "title", "title_from", "outlet", "outlet_from", "author",
    "author_from", "url", "published", "published_from", "sources", "encoding", "story_id",
    "n_sentences", "n_boilerplate", "sha256", "duplicate_of", "duplicate_similarity", "text",
]
SENTENCE_COLUMNS = [
    "sentence_id", "article_id", "position", "text", "char_start", "char_end", "boilerplate",
    "boilerplate_reason", "is_heading",
]


def split_article(article_id: str, text: str) -> tuple[str, list[dict], list]:
    """Normalise ``text`` and split it: ``(clean_text, sentence rows, paragraph blocks)``."""
    clean = normalize_text(text)
    blocks = split_blocks(clean)
    rows = []
    for block in blocks:
        for start, end in split_sentence_spans(clean, block.start, block.end):
            rows.append(
                {
                    "sentence_id": f"{article_id}:{len(rows):04d}",
                    "article_id": article_id,
                    "position": len(rows),
                    "text": clean[start:end],
                    "char_start": start,
                    "char_end": end,
                    "boilerplate": bool(block.reason),
                    "boilerplate_reason": block.reason,
                    "is_heading": block.is_heading and not block.reason,
                }
            )
    return clean, rows, blocks


def _pick(meta: dict[str, str], inferred: str, key: str) -> tuple[str, str]:
    value = meta.get(key, "")
    if key == "published" and value:
        value = parse_date(value)
    if value:
        return value, "meta"
    return (inferred, "text") if inferred else ("", "")


def build_corpus_tables(raws: list[RawArticle], duplicate_threshold: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``articles`` and ``sentences`` tables of raw articles (see DESIGN.md for columns):
    ``tabulate_articles`` then ``mark_duplicates``."""
    return mark_duplicates(*tabulate_articles(raws), duplicate_threshold)


def tabulate_articles(raws: list[RawArticle]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``articles`` (without the duplicate columns) and ``sentences`` of raw articles, each article
    on its own (so any split of ``raws`` gives the same rows).

    Metadata given by the input (HTML metadata, JSONL/CSV fields, the sidecar file) wins over what
    is inferred from the text; ``*_from`` columns say which (``meta``, ``text`` or ``""``).
    """
    articles, sentences = [], []
    for raw in raws:
        clean, rows, blocks = split_article(raw.article_id, raw.text)
        inferred = infer_metadata(clean, blocks)
        inferred["title"] = infer_title(clean, blocks)
        row = {"article_id": raw.article_id, "path": raw.path, "line": raw.line}
        for key in ("title", "outlet", "author", "published"):
            row[key], row[f"{key}_from"] = _pick(raw.meta, inferred.get(key, ""), key)
        n_boiler = sum(r["boilerplate"] for r in rows)
        row.update(
            url=raw.meta.get("url", ""),
            sources=inferred["sources"],
            encoding=raw.encoding,
            story_id="",
            n_sentences=len(rows) - n_boiler,
            n_boilerplate=n_boiler,
            sha256=raw.sha256,
            text=clean,
        )
        articles.append(row)
        sentences.extend(rows)
    columns = [c for c in ARTICLE_COLUMNS if c not in ("duplicate_of", "duplicate_similarity")]
    articles_df = pd.DataFrame(articles, columns=columns)
    articles_df["line"] = articles_df["line"].astype("Int64")
    return articles_df, pd.DataFrame(sentences, columns=SENTENCE_COLUMNS)


def mark_duplicates(
    articles: pd.DataFrame, sentences: pd.DataFrame, duplicate_threshold: float = 0.8
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``articles`` with ``duplicate_of`` and ``duplicate_similarity`` filled from the content
    sentences (exact and MinHash near-duplicates, across the whole corpus), and ``sentences``."""
    articles_df, sentences_df = articles.reset_index(drop=True), sentences.reset_index(drop=True)
    marks = find_duplicates(join_contents(articles_df, sentences_df), duplicate_threshold)
    return add_duplicate_marks(articles_df, marks), sentences_df


def join_contents(articles: pd.DataFrame, sentences: pd.DataFrame) -> pd.Series:
    """Each article's content sentences joined by spaces (what duplicate detection compares),
    indexed by ``article_id`` in the order of ``articles``; ``""`` for an article without any."""
    return (
        sentences[~sentences["boilerplate"]]
        .groupby("article_id", sort=False)["text"]
        .agg(" ".join)
        .reindex(articles["article_id"], fill_value="")
    )


def add_duplicate_marks(articles: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """``articles`` (rows in the order of ``marks``, ``DuplicateFinder.mark``'s frame of them) with
    its duplicate columns set, in ``ARTICLE_COLUMNS`` order."""
    return articles.assign(
        duplicate_of=marks["duplicate_of"].to_numpy(), duplicate_similarity=marks["duplicate_similarity"].to_numpy()
    )[ARTICLE_COLUMNS]


def count_articles(parts: Iterable[pd.DataFrame]) -> dict[str, int]:
    """``articles read``, ``content sentences``, ``boilerplate sentences`` and ``duplicates`` of
    the articles table's parts (each with ``n_sentences``, ``n_boilerplate`` and ``duplicate_of``)."""
    counts = dict.fromkeys(["articles read", "content sentences", "boilerplate sentences", "duplicates"], 0)
    for part in parts:
        counts["articles read"] += len(part)
        counts["content sentences"] += int(part["n_sentences"].sum())
        counts["boilerplate sentences"] += int(part["n_boilerplate"].sum())
        counts["duplicates"] += int((part["duplicate_of"] != "").sum())
    return counts


def count_boilerplate(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Boilerplate sentences by rule: ``boilerplate_reason``, ``sentences`` (how many) and
    ``example`` (the first in table order), most frequent first. ``parts``: the boilerplate
    sentences' ``boilerplate_reason`` and ``text``, a part at a time in table order."""
    counts: list[pd.Series] = []
    examples: dict[str, str] = {}
    for part in parts:
        by_reason = part.groupby("boilerplate_reason")["text"]
        counts.append(by_reason.size())
        for reason, text in by_reason.first().items():
            examples.setdefault(reason, text)
    totals = sum_part_counts(counts)
    frame = pd.DataFrame({
        "boilerplate_reason": totals.index.astype(str),
        "sentences": totals.to_numpy(dtype=int),
        "example": [examples[reason] for reason in totals.index],
    })
    return frame.sort_values(["sentences", "boilerplate_reason"], ascending=[False, True], ignore_index=True)


def count_misplaced_sentences(articles: pd.DataFrame, sentences: pd.DataFrame) -> int:
    """How many of ``sentences`` do not read back out of their article's ``text`` at their
    ``char_start``/``char_end`` (0 for well-formed tables; ``articles`` holds their articles)."""
    texts = articles.set_index("article_id")["text"]
    return sum(texts[row.article_id][row.char_start : row.char_end] != row.text for row in sentences.itertuples())


def list_skipped_notices(skipped: list[SkippedInput], max_lines: int) -> list[str]:
    """A notice line for each of the first ``max_lines`` inputs skipped, then one that counts the
    rest (an archive may have thousands of bad records; table ``skipped`` lists them all)."""
    lines = [f"skipped {s.message()}" for s in skipped[:max_lines]]
    more = len(skipped) - max_lines
    return lines + ([f"skipped {more:,} more inputs: every one is in table 'skipped' of the run folder"] if more > 0 else [])


def build_skipped_table(skipped: list[SkippedInput]) -> pd.DataFrame:
    """One row per input that was not read: ``path``, ``line`` (nullable), ``problem``."""
    frame = pd.DataFrame(
        [{"path": s.path, "line": s.line, "problem": s.problem} for s in skipped],
        columns=["path", "line", "problem"],
    )
    frame["line"] = frame["line"].astype("Int64")
    return frame
