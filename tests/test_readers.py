"""Each input format is read into articles with its metadata."""

from __future__ import annotations

import json
from pathlib import Path

from storydiff.corpus.readers import list_input_files, read_corpus
from storydiff.corpus.tables import build_corpus_tables

HTML_PAGE = """<!doctype html><html><head><title>Council approves budget | Town Times</title>
<meta property="og:site_name" content="Town Times">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-05-02T09:00:00Z"></head>
<body><nav>Home | News | Sport | Subscribe</nav>
<article><h1>Council approves budget</h1>
<p>The town council approved a budget of 12 million euros on Tuesday after a long debate about
school repairs and road maintenance in the northern districts.</p>
<p>"We listened to every resident," the mayor said after the vote, which passed by seven to two.</p>
<p>Opposition members said the plan leaves too little for public transport and promised to
propose changes at the next session in June.</p></article>
<footer>Copyright Town Times. All rights reserved.</footer></body></html>"""


def test_read_txt_and_md(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("One sentence here. Another one follows.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Heading of the note\n\nBody text of the note.", encoding="utf-8")
    articles, skipped = read_corpus(tmp_path)
    assert [a.article_id for a in articles] == ["a", "b"]
    assert not skipped


def test_read_html_extracts_main_text_and_metadata(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    articles, skipped = read_corpus(tmp_path)
    table, sentences = build_corpus_tables(articles)
    row = table.iloc[0]
    assert not skipped
    assert "12 million euros" in row["text"]
    assert "Subscribe" not in row["text"] and "All rights reserved" not in row["text"]
    assert row["published"] == "2024-05-02" and row["published_from"] == "meta"
    assert row["author"] == "Jane Doe"
    assert row["title"].startswith("Council approves budget")


def test_read_jsonl_records_with_metadata(tmp_path: Path) -> None:
    lines = [
        {"text": "First article text.", "title": "One", "outlet": "Daily", "published": "5 March 2023"},
        {"text": "Second article text.", "url": "https://example.org/2"},
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    articles, _ = read_corpus(tmp_path / "feed.jsonl")
    table, _ = build_corpus_tables(articles)
    assert table["article_id"].tolist() == ["feed-1", "feed-2"]
    assert table.loc[0, "published"] == "2023-03-05" and table.loc[0, "published_from"] == "meta"
    assert table.loc[0, "outlet"] == "Daily" and table.loc[1, "url"] == "https://example.org/2"
    assert table["line"].tolist() == [1, 2]


def test_read_csv_with_multiline_text(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        'title,text,outlet\nA,"Line one.\nLine two.",X\nB,Plain text here.,Y\n', encoding="utf-8"
    )
    articles, skipped = read_corpus(tmp_path)
    assert [a.meta["outlet"] for a in articles] == ["X", "Y"]
    assert [a.line for a in articles] == [2, 4]
    assert not skipped


def test_sidecar_yaml_wins_over_inferred(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("date 2023-03-06 Body of the article goes here.", encoding="utf-8")
    (tmp_path / "metadata.yaml").write_text("a.txt:\n  published: 2023-03-07\n  outlet: Sidecar News\n")
    articles, skipped = read_corpus(tmp_path)
    table, _ = build_corpus_tables(articles)
    assert len(articles) == 1 and not skipped  # the sidecar is not read as an article
    assert table.loc[0, "published"] == "2023-03-07" and table.loc[0, "published_from"] == "meta"
    assert table.loc[0, "outlet"] == "Sidecar News"


def test_sidecar_csv_keyed_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Body of the article goes here.", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("file,outlet,author\na.txt,CSV Times,Ann Lee\n")
    articles, _ = read_corpus(tmp_path)
    assert articles[0].meta == {"outlet": "CSV Times", "author": "Ann Lee"}


def test_input_files_are_listed_in_sorted_path_order_folder_by_folder(tmp_path: Path) -> None:
    """Names that sort differently as paths and as strings ("a/x" before "a b", "a-b/"), hidden
    files and folders, sidecars at any depth, a link to a folder (not followed) and a dangling
    link (listed: reading it says it cannot be read)."""
    for rel in ["a.txt", "a b.txt", "a/x.txt", "a-b/y.txt", "a/.hidden.txt", ".git/c.txt", "sub/metadata.csv",
                "sub/deep/z.md", "Z.txt", "a/b c/d.txt", "é.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    (tmp_path / "linked").symlink_to(tmp_path / "a")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing")
    listed = list(list_input_files(tmp_path))
    assert listed == sorted(listed)
    assert [str(p.relative_to(tmp_path)) for p in listed] == [
        "Z.txt", "a/b c/d.txt", "a/x.txt", "a b.txt", "a-b/y.txt", "a.txt", "dangling.txt", "sub/deep/z.md", "é.txt"]
