"""Normalise article text and classify its paragraphs as content or boilerplate.

Rules are patterns of page furniture, not lists of known strings: ad and widget lines, author
bios, bylines, "Source:" lines, photo captions, date-only lines, and short non-sentence lines.
Boilerplate stays in the text (and in the ``sentences`` table, flagged) so a reader can audit it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
WEEKDAY = r"(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)[a-z]*\.?,?"
DATE = (
    rf"(?:{WEEKDAY}\s+)?(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH},?\s+\d{{4}}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{4}})"
)
DATE_ONLY = re.compile(rf"^[•·|\-–—\s]*(?P<date>{DATE})(?:\s*[,|]?\s*\d{{1,2}}:\d{{2}}\s*(?:[ap]\.?m\.?)?)?\s*$", re.I)
LABELLED_DATE = re.compile(
    rf"^(?:date|published(?:\s+on)?|posted(?:\s+on)?|updated(?:\s+on)?|first\s+published)\s*:?\s*(?P<date>{DATE})\b\s*",
    re.I,
)
BYLINE = re.compile(r"^[Bb][Yy]:?\s*(?P<name>[A-Z][\w'’.-]+(?:\s+(?:[A-Z][\w'’.-]+|de|van|von|der|la)){0,3})\s*(?:[,|–-].{0,40})?$")
SOURCE_LINE = re.compile(r"^sources?\s*:\s*(?P<sources>.+?)\.?$", re.I)
CAPTION = re.compile(r"(?:^|[.)]\s*)\(?(?:photo|photograph|image|picture|video|credit|illustration)s?\s*(?:credit)?\s*:\s*[^.]{1,60}\)?\.?$", re.I)
BIO_ROLE = r"(?:journalist|reporter|writer|editor|correspondent|contributor|columnist|author|analyst|blogger)"
BIO = re.compile(
    rf"^(?:As an?\s+(?:[\w-]+\s+){{0,3}}{BIO_ROLE}\b.{{0,60}}?\b(?:at|for|with)\b"
    rf"|(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){{1,3}})\s+is\s+an?\s+(?:[\w-]+\s+){{0,3}}{BIO_ROLE}\b)"
)
WIDGET = re.compile(
    r"^(?:advertisement|sponsored|share(?:\s+this)?(?:\s+(?:article|story))?|leave a (?:reply|comment)|"
    r"comments?|related(?:\s+(?:articles|stories|posts))?|read more|learn more|see also|"
    r"exit mobile version|skip to (?:main )?content|subscribe|sign up|log ?in|print|email|"
    r"follow us.*|click here.*|download (?:the|our) app.*|get more with .*|"
    r"(?:a\s+)?personali[sz]ed news feed.*|(?:sign up|subscribe) (?:for|to) .*newsletter.*|"
    r"(?:this|the) article (?:first|originally) appeared .*|all rights reserved.*|copyright\b.*|©.*)[.!:]?$",
    re.I,
)
FINAL_PUNCTUATION = re.compile(r"[.!?…:;][\"”’')\]]*$")


@dataclass(frozen=True)
class Block:
    """A paragraph (non-empty line) of the normalised text: ``text[start:end]``."""

    start: int
    end: int
    reason: str  # boilerplate reason, "" for content
    is_heading: bool


def normalize_text(text: str) -> str:
    """NFC, ``\\n`` line ends, no non-breaking spaces, lines stripped, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _words(line: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", line))


def classify_line(line: str) -> str:
    """Boilerplate reason for one paragraph taken alone, or ``""`` when it looks like content."""
    if WIDGET.match(line):
        return "ad or widget"
    if SOURCE_LINE.match(line):
        return "source line"
    if BYLINE.match(line):
        return "byline"
    if DATE_ONLY.match(line) or LABELLED_DATE.fullmatch(line):
        return "date line"
    if CAPTION.search(line):
        return "photo caption"
    if BIO.match(line):
        return "author bio"
    if re.fullmatch(r"[\W\d_]+", line):
        return "stray number or symbol"
    if _words(line) <= 3:
        return "short non-sentence line"
    return ""


def is_heading_line(line: str) -> bool:
    """A headline or subhead: several words and no final punctuation."""
    return _words(line) >= 4 and not FINAL_PUNCTUATION.search(line)


def split_blocks(text: str) -> list[Block]:
    """Paragraphs of normalised ``text`` with their boilerplate reason.

    A labelled date at the start of a paragraph ("date 2023-03-06 Chinese President ...") becomes
    a block of its own, so the date is boilerplate and the rest stays content. A promotional line
    between two widget lines is part of the widget.
    """
    blocks: list[Block] = []
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.start(), match.end()
        label = LABELLED_DATE.match(match.group())
        if label and label.end() < len(match.group()):
            blocks.append(Block(start, start + label.end(), "date line", False))
            start += label.end()
        line = text[start:end]
        blocks.append(Block(start, end, classify_line(line), is_heading_line(line)))
    return _mark_widget_runs(blocks)


def _mark_widget_runs(blocks: list[Block]) -> list[Block]:
    marked = list(blocks)
    for i in range(1, len(blocks) - 1):
        before, here, after = blocks[i - 1], blocks[i], blocks[i + 1]
        if (
            not here.reason
            and here.is_heading
            and before.reason == "ad or widget"
            and after.reason in {"ad or widget", "short non-sentence line"}
        ):
            marked[i] = Block(here.start, here.end, "ad or widget", False)
    return marked

