"""Setting one column of a stored table from a key mapping (``runfolder.map_table_column``), a record
batch at a time, as the comparison stage writes ``story_id`` into ``articles`` without reading the
articles' texts."""

from __future__ import annotations

import pandas as pd
import pytest

from storydiff import runfolder
from storydiff.runfolder import TABLES_DIR, map_table_column, read_table


@pytest.fixture
def articles() -> pd.DataFrame:
    """Four articles with an empty story_id between other columns (as the reading stage writes it),
    a number column and a float column with a missing value, whose types must survive."""
    return pd.DataFrame({
        "article_id": ["a", "b", "c", "d"], "story_id": ["", "", "", ""], "n_sentences": [3, 1, 4, 1],
        "duplicate_similarity": [None, 0.5, None, None], "text": ["one", "two", "three", "four"],
    })


STORY_OF = pd.Series({"a": "S1", "b": "S1", "c": "S2"})  # d has no story: it gets ""


def test_column_set_in_place_and_the_rest_kept(tmp_path, articles, monkeypatch):
    monkeypatch.setattr(runfolder, "BATCH_ROWS", 3)  # two batches of the one file
    runfolder.write_table(tmp_path, "articles", articles)
    map_table_column(tmp_path, "articles", "story_id", "article_id", STORY_OF)
    expected = articles.assign(story_id=["S1", "S1", "S2", ""])
    pd.testing.assert_frame_equal(read_table(tmp_path, "articles"), expected)
    csv = pd.read_csv(runfolder.table_path(tmp_path, "articles", "csv"), keep_default_na=False)
    assert csv["story_id"].tolist() == ["S1", "S1", "S2", ""] and list(csv.columns) == list(articles.columns)
    assert (tmp_path / TABLES_DIR / "articles.parquet").exists() and not (tmp_path / TABLES_DIR / "articles").exists()


def test_a_table_of_long_texts_is_rewritten_a_few_rows_at_a_time(tmp_path, articles, monkeypatch):
    """The batches (and so the rewritten file's row groups) are cut by size: the articles' texts
    of a large corpus are not all held at once."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(runfolder, "BATCH_BYTES", 60)
    runfolder.write_table(tmp_path, "articles", articles.assign(text=[c * 50 for c in "wxyz"]))
    map_table_column(tmp_path, "articles", "story_id", "article_id", STORY_OF)
    assert pq.ParquetFile(runfolder.table_path(tmp_path, "articles")).metadata.num_row_groups > 1
    assert read_table(tmp_path, "articles")["story_id"].tolist() == ["S1", "S1", "S2", ""]


def test_partitioned_table_keeps_its_parts(tmp_path, articles):
    runfolder.write_table(tmp_path, "articles", articles, parts=[articles.iloc[:1], articles.iloc[1:]])
    map_table_column(tmp_path, "articles", "story_id", "article_id", STORY_OF)
    assert len(runfolder.list_table_files(tmp_path, "articles")) == 2
    assert read_table(tmp_path, "articles")["story_id"].tolist() == ["S1", "S1", "S2", ""]


def test_a_new_column_goes_last(tmp_path, articles):
    runfolder.write_table(tmp_path, "articles", articles.drop(columns="story_id"))
    map_table_column(tmp_path, "articles", "story_id", "article_id", STORY_OF)
    read = read_table(tmp_path, "articles")
    assert list(read.columns)[-1] == "story_id" and read["story_id"].tolist() == ["S1", "S1", "S2", ""]


def test_an_error_leaves_the_table_as_it_was(tmp_path, articles):
    runfolder.write_table(tmp_path, "articles", articles)
    with pytest.raises(KeyError):
        map_table_column(tmp_path, "articles", "story_id", "no_such_key", STORY_OF)
    pd.testing.assert_frame_equal(read_table(tmp_path, "articles"), articles)
    assert sorted(p.name for p in (tmp_path / TABLES_DIR).iterdir()) == ["articles.csv", "articles.parquet"]
