"""Facts, matches, coverage and discrepancies computed a block of whole stories at a time give the
tables of the whole corpus at once, for any block size and on the dask engine, returned or
written to a run folder a part per block, and with the claims read from a run folder a few blocks
at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storydiff.claims import load_nlp
from storydiff.compare import compare_facts, compare_run_facts
from storydiff.compare.blocks import (
    TABLE_ORDER, compare_blocks, compare_each_block, gather_block_tables, iterate_run_blocks, key_facts, name_facts,
    number_facts, split_story_blocks, write_block_tables,
)
from storydiff.compare.evaluate import prepare_corpus_inputs
from storydiff.compare.stories import group_stories
from storydiff.embed import load_model
from storydiff.engine import open_engine
from storydiff.runfolder import TABLES_DIR, read_table, write_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seeds():
    """(claims, claim embeddings, stories) of the seed corpus, from the real stages and model."""
    inputs = prepare_corpus_inputs(ROOT / "data" / "corpora" / "seeds", load_model(), load_nlp())
    stories = group_stories(inputs["articles"], inputs["sentences"], inputs["claims"])
    return inputs["claims"], inputs["claim_embeddings"], stories


def assert_same(tables: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert tables.keys() == expected.keys()
    for name in expected:
        pd.testing.assert_frame_equal(tables[name], expected[name], obj=name)


@pytest.fixture
def claims_run(seeds, tmp_path):
    """A run folder whose claims table is the seeds' claims in 3 parts, reversed, plus a claim of
    a sentence that is not a content sentence (left out); returns (run_dir, content sentence ids)."""
    claims = seeds[0]
    stray = claims.iloc[:1].assign(claim_id="stray", sentence_id="not-content")
    table = pd.concat([claims.iloc[::-1], stray], ignore_index=True)
    write_table(tmp_path, "claims", table, parts=[table.iloc[:30], table.iloc[30:31], table.iloc[31:]])
    return tmp_path, claims["sentence_id"]


def read_written(run_dir: Path) -> dict[str, pd.DataFrame]:
    """The tables ``write_block_tables`` wrote to ``run_dir``, each sorted as returned ones are."""
    return {
        name: read_table(run_dir, name).sort_values(order, kind="stable").reset_index(drop=True)
        for name, order in TABLE_ORDER.items()
    }


def test_blocks_hold_whole_stories_in_story_order_up_to_the_size_asked():
    """Stories S1 (3 claims), S2 (1), S3 (5, more than a block), S4 (2); claims listed shuffled."""
    stories = pd.DataFrame({"story_id": ["S1", "S2", "S3", "S4"], "article_id": ["a", "b", "c", "d"]})
    articles = ["c", "a", "d", "c", "b", "a", "c", "c", "d", "a", "c"]
    claims = pd.DataFrame({"article_id": articles, "claim_id": [f"x{i}" for i in range(len(articles))]})
    blocks = split_story_blocks(claims, stories, max_claims=4)
    assert [sorted(set(claims["article_id"].iloc[rows])) for rows in blocks] == [["a", "b"], ["c"], ["d"]]
    assert all((np.diff(rows) > 0).all() for rows in blocks)
    assert sorted(np.concatenate(blocks)) == list(range(len(claims)))
    assert len(split_story_blocks(claims, stories, max_claims=100)) == 1
    assert split_story_blocks(claims.iloc[:0], stories) == []


def test_facts_are_numbered_by_their_first_claim_across_blocks():
    """Block 1's facts start at claims (a, 2) and (a, 1); block 2's at (a, 0): numbered 3, 2, 1."""
    block_1 = pd.DataFrame({"fact_id": ["F001", "F001", "F002"], "article_id": ["a", "b", "a"],
                            "claim_id": ["a:2", "b:0", "a:1"]})
    block_2 = pd.DataFrame({"fact_id": ["F001"], "article_id": ["a"], "claim_id": ["a:0"]})
    keys = [key_facts(block_1), key_facts(block_2)]
    numbers = number_facts(keys)
    assert [name_facts(k, n, 3) for k, n in zip(keys, numbers)] == [{"F001": "F003", "F002": "F002"}, {"F001": "F001"}]


def test_fact_numbers_follow_the_lists_of_claim_pairs_as_python_orders_them():
    """The order of the facts' (article_id, claim_id) lists compared as Python lists of tuples,
    with the cases a joined string key could get wrong: an article id that is a prefix of another
    ("a" / "ab"), a claim id that is a prefix of another, facts sharing their first claim (a
    compound sentence in two facts), one fact's list a prefix of another's, equal lists in two
    blocks (then by block), a non-ASCII id, and a block without facts."""
    blocks = [
        pd.DataFrame({"fact_id": ["F1", "F1", "F2", "F2", "F3"], "article_id": ["ab", "b", "a", "ab", "a"],
                      "claim_id": ["ab:1", "b:0", "a:1", "ab:0", "a:1"]}),
        pd.DataFrame({"fact_id": ["F1", "F2", "F2", "F3"], "article_id": ["a", "a", "a", "é"],
                      "claim_id": ["a:1", "a:1", "a:10", "é:0"]}),
        pd.DataFrame({"fact_id": pd.Series([], dtype=object), "article_id": pd.Series([], dtype=object),
                      "claim_id": pd.Series([], dtype=object)}),
        pd.DataFrame({"fact_id": ["F1", "F2"], "article_id": ["a", "a"], "claim_id": ["a:1", "a:"]}),
    ]
    keyed = sorted(
        (list(zip(group["article_id"], group["claim_id"])), block, fact_id)
        for block, facts in enumerate(blocks) for fact_id, group in facts.groupby("fact_id", sort=False)
    )
    expected = [{} for _ in blocks]
    for number, (_, block, fact_id) in enumerate(keyed, start=1):
        expected[block][fact_id] = number
    keys = [key_facts(facts) for facts in blocks]
    numbers = number_facts(keys)
    assert [dict(zip(k.column("fact_id").to_pylist(), n.tolist())) for k, n in zip(keys, numbers)] == expected
    assert number_facts([]) == []


@pytest.mark.parametrize("max_claims", [1, 7, 40])
def test_any_block_size_gives_the_tables_of_one_block(seeds, max_claims):
    claims, embeddings, stories = seeds
    whole = gather_block_tables(compare_blocks(claims, embeddings, stories, max_claims=len(claims)))
    assert_same(gather_block_tables(compare_blocks(claims, embeddings, stories, max_claims=max_claims)), whole)
    assert whole["discrepancies"]["fact_id"].str.len().gt(0).any() and len(whole["matches"]) > 0


def test_written_parts_hold_the_rows_of_the_returned_tables(seeds, tmp_path):
    """Block size 20: several parts; each part is one block's rows, sorted, with final fact ids."""
    claims, embeddings, stories = seeds
    write_block_tables(tmp_path, compare_blocks(claims, embeddings, stories, max_claims=20))
    whole = gather_block_tables(compare_blocks(claims, embeddings, stories))
    assert_same(read_written(tmp_path), whole)
    parts = sorted((tmp_path / TABLES_DIR / "facts").glob("part-*.parquet"))
    assert len(parts) > 2
    for path in parts:
        part = pd.read_parquet(path)
        assert part["fact_id"].is_monotonic_increasing and set(part["fact_id"]) <= set(whole["facts"]["fact_id"])


def test_blocks_on_a_dask_cluster_give_the_local_tables(seeds, claims_run):
    """Blocks of claims in memory, returned and written, and blocks of claims read from a run."""
    claims, embeddings, stories = seeds
    run_dir, sentence_ids = claims_run
    local = gather_block_tables(compare_blocks(claims, embeddings, stories, max_claims=20))
    with open_engine("dask", workers=2) as engine:
        assert_same(gather_block_tables(compare_blocks(claims, embeddings, stories, max_claims=20, engine=engine)), local)
        write_block_tables(run_dir, compare_blocks(claims, embeddings, stories, max_claims=20, engine=engine))
        assert_same(read_written(run_dir), local)
        blocks = iterate_run_blocks(run_dir, sentence_ids, embeddings, stories, max_claims=20, bucket_claims=45)
        write_block_tables(run_dir, compare_each_block(blocks, engine=engine))
    assert_same(read_written(run_dir), local)


def test_no_claims_give_empty_tables_with_their_columns(seeds, tmp_path):
    claims, embeddings, stories = seeds
    tables = gather_block_tables(compare_blocks(claims.iloc[:0], embeddings[:0], stories))
    assert all(table.empty for table in tables.values())
    assert {"fact_id", "claim_id"} <= set(tables["facts"].columns)
    assert {"kind", "explanation"} <= set(tables["discrepancies"].columns)
    write_block_tables(tmp_path, compare_blocks(claims.iloc[:0], embeddings[:0], stories))
    written = read_written(tmp_path)
    assert all(written[name].empty and list(written[name].columns) == list(tables[name].columns) for name in tables)


@pytest.mark.parametrize(("max_claims", "bucket_claims"), [(7, 1), (20, 45), (5_000, 100_000)])
def test_blocks_read_from_a_run_give_the_tables_of_the_claims_in_memory(seeds, claims_run, max_claims, bucket_claims):
    """Blocks of 7 claims one per temporary file, of 20 two or more a file, and all in one block:
    the claims never all read give the same tables, and the temporary files are gone after."""
    claims, embeddings, stories = seeds
    run_dir, sentence_ids = claims_run
    blocks = list(iterate_run_blocks(run_dir, sentence_ids, embeddings, stories, max_claims, bucket_claims))
    read = pd.concat([block[0] for block in blocks])
    assert len(read) == len(claims) and "stray" not in read["claim_id"].tolist()
    assert not list(run_dir.glob(".claim-blocks-*.tmp"))
    assert_same(gather_block_tables(compare_each_block(blocks)), compare_facts(claims, embeddings, stories))


def test_facts_of_a_run_are_written_as_those_of_the_claims_in_memory(seeds, claims_run):
    claims, embeddings, stories = seeds
    run_dir, sentence_ids = claims_run
    compare_run_facts(run_dir, sentence_ids, embeddings, stories)
    assert_same(read_written(run_dir), compare_facts(claims, embeddings, stories))


def test_a_content_sentence_without_a_claim_is_an_error_naming_it(seeds, claims_run):
    claims, embeddings, stories = seeds
    run_dir, sentence_ids = claims_run
    with pytest.raises(KeyError, match="1 content sentences have no claim .first: extra.; re-run 03_claims"):
        next(iterate_run_blocks(run_dir, pd.concat([sentence_ids, pd.Series(["extra"])]), embeddings, stories))
