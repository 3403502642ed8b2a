"""Tables written a part at a time (``runfolder.open_table_parts``): read back in part order, put
in place only when complete, with a CSV copy up to the size limit, as one file when not
partitioned; and tables read a part at a time (first rows, smallest rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storydiff import runfolder
from storydiff.runfolder import TABLES_DIR, open_table_parts, read_table


@pytest.fixture
def frame() -> pd.DataFrame:
    """Five rows of two articles; parts of it are written out of order in the tests."""
    return pd.DataFrame({"article_id": ["a", "a", "b", "b", "b"], "n": [1, 2, 3, 4, 5]})


def test_parts_written_in_any_order_read_back_in_part_order(tmp_path, frame):
    with open_table_parts(tmp_path, "facts") as writer:
        writer.write(2, frame.iloc[3:])
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[2:3])
        assert not (tmp_path / TABLES_DIR / "facts").exists()  # nothing in place before the end
    pd.testing.assert_frame_equal(read_table(tmp_path, "facts"), frame)
    pd.testing.assert_frame_equal(pd.read_csv(runfolder.table_path(tmp_path, "facts", "csv")), frame)
    assert runfolder.list_tables(tmp_path) == ["facts"]


def test_rewrite_changes_each_part_before_the_table_is_in_place(tmp_path, frame):
    with open_table_parts(tmp_path, "facts") as writer:
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[2:])
        writer.rewrite(lambda number, part: part.assign(n=part["n"] * 10 + number))
    assert read_table(tmp_path, "facts")["n"].tolist() == [10, 20, 31, 41, 51]


def test_columns_and_filters_are_read_part_by_part(tmp_path, frame):
    with open_table_parts(tmp_path, "facts") as writer:
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[2:])
    read = read_table(tmp_path, "facts", columns=["n"], filters=[("n", ">", 1)])
    assert list(read.columns) == ["n"] and read["n"].tolist() == [2, 3, 4, 5]


def test_filters_read_a_batch_at_a_time_give_what_pyarrow_s_filtered_read_gives(tmp_path, monkeypatch):
    """A one-file table of 40 rows read 10 rows a batch: a filter on a column not read, either of
    two conditions, a filter no row passes; the same frames as ``pandas.read_parquet``'s."""
    texts = pd.DataFrame({"article_id": [f"a{i:02d}" for i in range(40)], "n": range(40), "kept": [i % 3 == 0 for i in range(40)],
                          "text": [f"word{i} " * 150 for i in range(40)]})
    runfolder.write_table(tmp_path, "articles", texts)
    monkeypatch.setattr(runfolder, "BATCH_BYTES", 10_000)
    file = runfolder.list_table_files(tmp_path, "articles")[0]
    for columns, filters in ((["text"], [("kept", "==", True)]), (None, [[("n", "<", 3)], [("article_id", "in", ["a30", "a39"])]]),
                             (["article_id", "n"], [("n", ">", 99)])):
        read = read_table(tmp_path, "articles", columns, filters)
        pd.testing.assert_frame_equal(read, pd.read_parquet(file, columns=columns, filters=filters))
    assert read.empty and list(read.columns) == ["article_id", "n"]


def test_filtered_reads_skip_the_row_groups_whose_statistics_rule_every_row_out(tmp_path, monkeypatch):
    """40 rows in ascending ids, a few a row group: a filter on three ids reads only the groups
    that hold them."""
    texts = pd.DataFrame({"article_id": [f"a{i:02d}" for i in range(40)], "text": [f"word{i} " * 150 for i in range(40)]})
    monkeypatch.setattr(runfolder, "ROW_GROUP_BYTES", 10_000)
    runfolder.write_table(tmp_path, "articles", texts)
    read_groups = []
    original = pq.ParquetFile.iter_batches

    def record(self, *args, **kwargs):
        read_groups.append(kwargs.get("row_groups"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", record)
    read = read_table(tmp_path, "articles", ["article_id"], runfolder.filter_in("article_id", ["a21", "a22", "a27"]))
    meta = pq.ParquetFile(runfolder.list_table_files(tmp_path, "articles")[0]).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    holding = sorted({int(np.searchsorted(np.cumsum(sizes), row, side="right")) for row in (21, 22, 27)})
    assert len(sizes) >= 4 and read["article_id"].tolist() == ["a21", "a22", "a27"] and read_groups == [holding]


def test_an_error_leaves_the_table_written_before(tmp_path, frame):
    runfolder.write_table(tmp_path, "facts", frame)
    with pytest.raises(RuntimeError), open_table_parts(tmp_path, "facts") as writer:
        writer.write(0, frame.iloc[:1])
        raise RuntimeError("block 1 failed")
    pd.testing.assert_frame_equal(read_table(tmp_path, "facts"), frame)
    assert len(pd.read_csv(runfolder.table_path(tmp_path, "facts", "csv"))) == len(frame)
    assert sorted(p.name for p in (tmp_path / TABLES_DIR).iterdir()) == ["facts.csv", "facts.parquet"]


def test_no_rows_keep_the_columns_of_an_empty_part(tmp_path, frame):
    with open_table_parts(tmp_path, "facts") as writer:
        writer.write(0, frame.iloc[:0])
    read = read_table(tmp_path, "facts")
    assert read.empty and list(read.columns) == ["article_id", "n"]


def test_a_table_over_the_csv_limit_has_no_csv_copy(tmp_path, frame, monkeypatch):
    runfolder.write_table(tmp_path, "facts", frame)
    monkeypatch.setattr(runfolder, "CSV_MAX_ROWS", 3)
    with open_table_parts(tmp_path, "facts") as writer:
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[2:])
    assert not runfolder.table_path(tmp_path, "facts", "csv").exists()
    assert not runfolder.table_path(tmp_path, "facts").exists() and len(read_table(tmp_path, "facts")) == 5


def test_head_reads_the_first_rows_that_pass_and_counts_them_all(tmp_path, frame):
    with open_table_parts(tmp_path, "facts") as writer:
        for number, start in enumerate(range(0, 5, 2)):
            writer.write(number, frame.iloc[start : start + 2])
    head, total = runfolder.read_head(tmp_path, "facts", 3)
    pd.testing.assert_frame_equal(head, frame.head(3))
    assert total == 5
    head, total = runfolder.read_head(tmp_path, "facts", 1, columns=["n"], filters=[("article_id", "==", "b")])
    assert head["n"].tolist() == [3] and total == 3
    head, total = runfolder.read_head(tmp_path, "facts", 0)
    assert head.empty and list(head.columns) == ["article_id", "n"] and total == 5


def test_filter_in_passes_the_listed_values_and_none_for_an_empty_list(tmp_path, frame):
    runfolder.write_table(tmp_path, "facts", frame, parts=[frame.iloc[:2], frame.iloc[2:]])
    assert read_table(tmp_path, "facts", filters=runfolder.filter_in("article_id", ["b"]))["n"].tolist() == [3, 4, 5]
    none = read_table(tmp_path, "facts", filters=runfolder.filter_in("article_id", []))
    assert none.empty and list(none.columns) == ["article_id", "n"]
    head, total = runfolder.read_head(tmp_path, "facts", 5, filters=runfolder.filter_in("article_id", []))
    assert head.empty and total == 0


def test_batches_read_a_table_a_few_rows_at_a_time_in_order(tmp_path, frame):
    runfolder.write_table(tmp_path, "one", frame)
    runfolder.write_table(tmp_path, "parted", frame, parts=[frame.iloc[:3], frame.iloc[3:]])
    for name, sizes in (("one", [2, 2, 1]), ("parted", [2, 1, 2])):
        batches = list(runfolder.iterate_table_batches(tmp_path, name, ["n"], batch_rows=2))
        assert [b.num_rows for b in batches] == sizes and all(b.schema.names == ["n"] for b in batches)
        assert [n for b in batches for n in b.column("n").to_pylist()] == [1, 2, 3, 4, 5]


def test_batches_of_long_texts_are_cut_by_size_not_only_by_rows(tmp_path, monkeypatch):
    texts = pd.DataFrame({"article_id": [f"a{i:02d}" for i in range(40)], "text": [f"word{i} " * 150 for i in range(40)]})  # 1 KB a row, distinct
    runfolder.write_table(tmp_path, "articles", texts)
    monkeypatch.setattr(runfolder, "BATCH_BYTES", 10_000)
    batches = list(runfolder.iterate_table_batches(tmp_path, "articles"))
    assert len(batches) >= 4 and max(b.num_rows for b in batches) <= 10
    assert [a for b in batches for a in b.column("article_id").to_pylist()] == texts["article_id"].tolist()
    ids_only = list(runfolder.iterate_table_batches(tmp_path, "articles", ["article_id"]))
    assert [b.num_rows for b in ids_only] == [40]  # the short column alone fits one batch


def test_batches_do_not_hold_the_bytes_already_read(tmp_path, monkeypatch):
    """16 MB of incompressible texts in 1 MiB row groups, read 256 KiB at a time: Arrow's memory
    pool holds about a batch, not the file (read through a file handle, it held more than the
    file from the first batch on)."""
    rng = np.random.default_rng(0)
    texts = pd.DataFrame({"article_id": [f"a{i:04d}" for i in range(4000)], "text": [rng.bytes(2000).hex() for _ in range(4000)]})
    monkeypatch.setattr(runfolder, "ROW_GROUP_BYTES", 2**20)
    monkeypatch.setattr(runfolder, "BATCH_BYTES", 2**18)
    runfolder.write_table(tmp_path, "articles", texts)
    del texts
    size = runfolder.list_table_files(tmp_path, "articles")[0].stat().st_size
    before = pa.total_allocated_bytes()
    held = [pa.total_allocated_bytes() - before for _ in runfolder.iterate_table_batches(tmp_path, "articles")]
    assert len(held) >= 20 and max(held) < size / 4


def test_tables_of_long_texts_are_written_in_row_groups_of_bounded_size(tmp_path, monkeypatch):
    """A reader decompresses a row group's column whole: one table and one part of 40 texts of
    1 KB, written with 10 KB row groups, hold 10 rows or fewer per group and read back the same."""
    texts = pd.DataFrame({"article_id": [f"a{i:02d}" for i in range(40)], "text": [f"word{i} " * 150 for i in range(40)]})
    monkeypatch.setattr(runfolder, "ROW_GROUP_BYTES", 10_000)
    runfolder.write_table(tmp_path, "whole", texts)
    runfolder.write_table(tmp_path, "parted", texts, parts=[texts.iloc[:5], texts.iloc[5:]])
    for name in ("whole", "parted"):
        files = runfolder.list_table_files(tmp_path, name)
        groups = [meta.row_group(g).num_rows for meta in (pq.ParquetFile(f).metadata for f in files)
                  for g in range(meta.num_row_groups)]
        assert len(groups) >= 5 and max(groups) <= 10 and sum(groups) == 40
        pd.testing.assert_frame_equal(runfolder.read_table(tmp_path, name), texts)


def test_no_csv_copy_is_made_past_the_limit_when_the_rows_are_known(tmp_path, monkeypatch):
    path = runfolder.table_path(tmp_path, "facts", "csv")
    path.parent.mkdir(parents=True)
    path.write_text("old copy")

    def parts():
        raise AssertionError("the parts were read")
        yield  # a generator

    monkeypatch.setattr(runfolder, "CSV_MAX_ROWS", 10)
    runfolder.write_csv_copy(tmp_path, "facts", parts(), n_rows=11)
    assert not path.exists()


def test_parts_not_partitioned_become_one_file(tmp_path, frame):
    runfolder.write_table(tmp_path, "facts", frame, parts=[frame.iloc[:2], frame.iloc[2:]])
    with open_table_parts(tmp_path, "facts", partitioned=False) as writer:
        writer.write(1, frame.iloc[3:])
        writer.write(0, frame.iloc[:3])
    assert runfolder.list_table_files(tmp_path, "facts") == [runfolder.table_path(tmp_path, "facts")]
    assert not (tmp_path / TABLES_DIR / "facts").exists()  # the partitioned table written before is gone
    pd.testing.assert_frame_equal(read_table(tmp_path, "facts"), frame)
    pd.testing.assert_frame_equal(pd.read_csv(runfolder.table_path(tmp_path, "facts", "csv")), frame)
    with open_table_parts(tmp_path, "empty", partitioned=False) as writer:
        writer.write(0, frame.iloc[:0])
    assert list(read_table(tmp_path, "empty").columns) == ["article_id", "n"]


def test_head_of_transformed_parts_counts_the_transformed_rows(tmp_path, frame):
    runfolder.write_table(tmp_path, "facts", frame, parts=[frame.iloc[:2], frame.iloc[2:]])
    def doubled(part: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([part, part], ignore_index=True)

    head, total = runfolder.read_head(tmp_path, "facts", 5, transform=doubled)
    assert head["n"].tolist() == [1, 2, 1, 2, 3] and total == 10


def test_smallest_rows_are_found_a_part_at_a_time(tmp_path):
    scores = pd.DataFrame({"id": list("abcdef"), "score": [0.5, 0.1, 0.9, 0.1, 0.0, 0.7]})
    runfolder.write_table(tmp_path, "scores", scores, parts=[scores.iloc[:3], scores.iloc[3:5], scores.iloc[5:]])
    smallest = runfolder.read_smallest(tmp_path, "scores", 3, ["score", "id"], ["id", "score"])
    assert smallest["id"].tolist() == ["e", "b", "d"] and smallest.index.tolist() == [0, 1, 2]
    assert runfolder.read_smallest(tmp_path, "scores", 10, ["score"])["id"].tolist() == list("ebdafc")


@pytest.fixture
def content_run(tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(articles, sentences) written to the run folder ``tmp_path``, the sentences in two parts:
    a (one boilerplate sentence), b a duplicate of a, c (duplicate_of None); content sentences
    a-0, c-0, c-1."""
    articles = pd.DataFrame({"article_id": ["a", "b", "c"], "duplicate_of": ["", "a", None]})
    sentences = pd.DataFrame({
        "sentence_id": ["a-0", "a-1", "b-0", "c-0", "c-1"],
        "article_id": ["a", "a", "b", "c", "c"],
        "boilerplate": [False, True, False, False, False],
    })
    runfolder.write_table(tmp_path, "articles", articles)
    runfolder.write_table(tmp_path, "sentences", sentences, parts=[sentences.iloc[:3], sentences.iloc[3:]])
    return articles, sentences


def test_content_sentences_are_read_a_part_at_a_time(tmp_path, content_run):
    articles, sentences = content_run
    parts = list(runfolder.iterate_content_sentences(tmp_path, columns=["sentence_id"]))
    assert [part["sentence_id"].tolist() for part in parts] == [["a-0"], ["c-0", "c-1"]]
    content = runfolder.read_content_sentences(tmp_path)
    assert content["sentence_id"].tolist() == ["a-0", "c-0", "c-1"] and content.index.tolist() == [0, 1, 2]
    pd.testing.assert_frame_equal(content, runfolder.select_content_sentences(articles, sentences))


def test_content_sentences_of_a_single_file_table_are_read_a_batch_at_a_time(tmp_path, monkeypatch):
    """A sentences table written as one file (the local engine's) gives its content sentences'
    texts in table order over several batches, boilerplate and duplicates left out, an article
    cut between batches kept whole in sum."""
    articles = pd.DataFrame({"article_id": ["a", "b", "c"], "duplicate_of": ["", "a", ""]})
    sentences = pd.DataFrame({
        "sentence_id": [f"s{i}" for i in range(8)],
        "article_id": ["a", "a", "a", "b", "c", "c", "c", "c"],
        "boilerplate": [False, True, False, False, False, False, True, False],
        "text": [f"sentence {i} " + "x" * 2_000 for i in range(8)],
    })
    runfolder.write_table(tmp_path, "articles", articles)
    runfolder.write_table(tmp_path, "sentences", sentences)
    monkeypatch.setattr(runfolder, "BATCH_BYTES", 5_000)
    batches = [batch["text"].tolist() for batch in runfolder.iterate_content_batches(tmp_path, ["text"])]
    assert len(batches) > 1
    assert [text.split()[1] for batch in batches for text in batch] == ["0", "2", "4", "5", "7"]
    assert sum(batches, []) == runfolder.read_content_sentences(tmp_path)["text"].tolist()


def test_a_column_is_unique_only_when_no_value_repeats_across_parts(tmp_path, frame, monkeypatch):
    """Checked on hashes a batch at a time; when hashes collide (all of them, forced here) the
    values themselves decide."""
    with open_table_parts(tmp_path, "sentences") as writer:
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[2:])
    assert runfolder.is_column_unique(tmp_path, "sentences", "n")
    assert not runfolder.is_column_unique(tmp_path, "sentences", "article_id")
    monkeypatch.setattr(pd.util, "hash_array", lambda values: pd.Series([0] * len(values), dtype="uint64").to_numpy())
    assert runfolder.is_column_unique(tmp_path, "sentences", "n")
    assert not runfolder.is_column_unique(tmp_path, "sentences", "article_id")


def test_the_article_of_each_content_sentence_is_read_as_a_number(tmp_path, content_run):
    """Codes into the kept articles, in table order, boilerplate and duplicates' sentences left out."""
    kept = runfolder.index_kept_articles(content_run[0])
    owners = runfolder.read_sentence_articles(tmp_path, kept)
    assert list(owners.categories) == ["a", "c"]
    assert list(owners) == runfolder.read_content_sentences(tmp_path)["article_id"].tolist() == ["a", "c", "c"]


def test_distinct_hashes_are_equal_only_for_equal_sets_of_values():
    """Hashes of batches, repeats and order aside: the claims' sentences against the content sentences."""
    given = runfolder.hash_distinct([pd.Series(["s1", "s2"]), pd.Series(["s2", "s3", "s1"])])
    assert given.dtype == "uint64" and len(given) == 3 and (given[:-1] < given[1:]).all()
    assert np.array_equal(given, runfolder.hash_distinct([pa.array(["s3", "s2", "s1"])]))
    assert not np.array_equal(given, runfolder.hash_distinct([pd.Series(["s1", "s2"])]))
    assert len(runfolder.hash_distinct([])) == 0


def test_a_column_is_hashed_across_its_table_parts(tmp_path, frame):
    """The distinct hashes of a partitioned table's column are those of all its values at once."""
    with open_table_parts(tmp_path, "sentences") as writer:
        writer.write(0, frame.iloc[:2])
        writer.write(1, frame.iloc[1:])
    assert np.array_equal(runfolder.hash_column(tmp_path, "sentences", "article_id"),
                          runfolder.hash_distinct([frame["article_id"]]))
    assert len(runfolder.hash_column(tmp_path, "sentences", "n")) == len(frame)


@pytest.mark.parametrize("lines", [2, 65_536])
def test_a_json_list_of_strings_is_read_a_chunk_of_lines_at_a_time(tmp_path, monkeypatch, lines):
    """Ids with commas, quotes, backslashes and non-ASCII letters, one a line as the run writes
    them, read in chunks of two lines or at once; an empty list, and a list on one line."""
    monkeypatch.setattr(runfolder, "JSON_LINES", lines)
    items = ["a,b", 'say "x",', "back\\slash", "Zürich ü", "", "last"]
    runfolder.write_json_list(tmp_path / "ids.json", [items[:2], items[2:]], len(items))
    read = runfolder.read_json_strings(tmp_path / "ids.json")
    assert read.type == pa.large_string() and read.to_pylist() == items
    runfolder.write_json_list(tmp_path / "none.json", [], 0)
    assert runfolder.read_json_strings(tmp_path / "none.json").to_pylist() == []
    (tmp_path / "flat.json").write_text('["a", "b,c"]', encoding="utf-8")
    assert runfolder.read_json_strings(tmp_path / "flat.json").to_pylist() == ["a", "b,c"]


def test_strings_are_located_in_a_value_set_of_any_form():
    """Positions in the value set, -1 for a value not in it (or missing), whether the values come
    as a list, an Arrow-backed Series, a chunked Arrow array (a column read in parts) or a
    ``string`` (not ``large_string``) array."""
    value_set = pd.Series(["b", "a", "c"], dtype="str")
    expected = [1, -1, 2, 0, -1]
    values = ["a", "z", "c", "b", None]
    for form in (values, pd.Series(values, dtype="str"), pa.chunked_array([values[:2], values[2:]]), pa.array(values, pa.string())):
        assert runfolder.locate_strings(form, value_set).tolist() == expected
