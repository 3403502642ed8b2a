"""Benchmark of the comparison stage: quality on the labelled seeds, speed and memory on BBC.

1. Seeds (data/corpora/seeds, labels in tests/fixtures/seeds_compare.yaml): whether the stories
   come out as labelled, fact-link precision and recall, discrepancies found (of the labelled ones)
   and false (flagged but not labelled), listing the misses and false ones; and the ceiling: the
   best fact-link recall any cosine threshold reaches at precision >= 0.9 with the model's
   embeddings (``--model`` takes another sentence-transformers folder to compare judges; the
   pipeline's figures then still use the threshold calibrated for the default model).
2. BBC (../shared/corpora/bbc, 2,225 articles, no multi-outlet stories, so a speed and scale
   figure only): wall time and peak traced memory (tracemalloc, numpy arrays included) of
   ``compare_corpus`` alone, plus what it found (stories of 2+ articles, the largest story, facts,
   discrepancies, reused article pairs). Corpus, embedding and claims stages run first, untimed
   (embeddings come from the persistent cache when present).

Run: .venv/bin/python bench/compare.py [--model FOLDER] [--skip-bbc] [--bbc PATH] [--inputs-cache FILE.pkl]
     [--bbc-backend torch|onnx|onnx-int8]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from storydiff.claims import load_nlp
from storydiff.compare import compare_corpus
from storydiff.compare.evaluate import (
    add_embeddings,
    find_link_ceiling,
    load_fixture,
    prepare_corpus_inputs,
    prepare_corpus_tables,
    score_discrepancies,
    score_fact_links,
    score_stories,
)
from storydiff.embed import load_model

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
FIXTURE = ROOT / "tests" / "fixtures" / "seeds_compare.yaml"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"


def run_timed(inputs: dict) -> tuple[dict[str, pd.DataFrame], float, float]:
    """(tables, seconds, peak MiB traced) of one ``compare_corpus`` call."""
    tracemalloc.start()
    started = time.perf_counter()
    tables = compare_corpus(**inputs)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return tables, seconds, peak


def report_seeds(model, nlp) -> None:
    """Print the seed figures against the labelled fixture."""
    inputs = prepare_corpus_inputs(SEEDS, model, nlp)
    tables, seconds, peak = run_timed(inputs)
    fixture = load_fixture(FIXTURE)
    links = score_fact_links(tables["facts"], inputs["claims"], fixture)
    found = score_discrepancies(tables["discrepancies"], inputs["claims"], fixture)
    print(f"seeds: stories as labelled: {score_stories(tables['stories'], fixture)}")
    print(f"seeds: fact links {links['links']} ({links['true']} labelled same fact, {links['neutral']} optional, "
          f"{len(links['false_links'])} false): precision {links['precision']:.3f}, recall {links['recall']:.3f} "
          f"({len(fixture['same_fact']) - len(links['missed'])} of {len(fixture['same_fact'])} labelled pairs)")
    ceiling = find_link_ceiling(inputs["claims"], inputs["claim_embeddings"], tables["stories"], fixture)
    print(f"seeds: {model.name}: best recall at precision >= 0.9 over all cosine thresholds {ceiling['recall']:.3f} "
          f"(threshold {ceiling['threshold']:.3f}, precision {ceiling['precision']:.3f}; pairs linked before grouping)")
    for label in links["missed"]:
        print(f"  missed link: {label['note']}")
    for id_a, id_b in links["false_links"]:
        print(f"  false link: {id_a} ~ {id_b}")
    print(f"seeds: discrepancies flagged {found['flagged']}, found {found['found']} of {found['expected']} labelled, "
          f"false {len(found['false'])}")
    for label in found["missed"]:
        print(f"  missed {label['kind']}: {label['note']}")
    for kind, id_a, id_b in found["false"]:
        print(f"  false {kind}: {id_a} ~ {id_b}")
    print(f"seeds: compare_corpus {seconds:.2f} s, peak traced memory {peak:.1f} MiB")


def prepare_bbc(corpus: Path, backend: str, nlp, inputs_cache: Path | None) -> dict:
    """The BBC inputs; with ``inputs_cache`` (a pickle) each finished step is kept and reused."""
    parts = pd.read_pickle(inputs_cache) if inputs_cache and inputs_cache.exists() else {}
    if "claims" not in parts:
        parts = prepare_corpus_tables(corpus, nlp)
        if inputs_cache:
            pd.to_pickle(parts, inputs_cache)
    if "sentence_embeddings" not in parts:
        parts = add_embeddings(parts, load_model(backend=backend))
        if inputs_cache:
            pd.to_pickle(parts, inputs_cache)
    return parts


def report_bbc(corpus: Path, backend: str, nlp, inputs_cache: Path | None) -> None:
    """Print speed, memory and what was found on the BBC corpus (embedded with ``backend``)."""
    started = time.perf_counter()
    inputs = prepare_bbc(corpus, backend, nlp, inputs_cache)
    print(f"bbc: {len(inputs['articles'])} articles, {len(inputs['sentences'])} content sentences, "
          f"{len(inputs['claims'])} claims prepared in {time.perf_counter() - started:.0f} s (untimed; "
          f"embeddings: {backend} backend)")
    tables, seconds, peak = run_timed(inputs)
    sizes = tables["stories"].groupby("story_id").size()
    print(f"bbc: compare_corpus {seconds:.1f} s, peak traced memory {peak:.0f} MiB")
    print(f"bbc: {len(sizes)} stories, {int((sizes > 1).sum())} with 2+ articles, largest {int(sizes.max())}; "
          f"{tables['facts']['fact_id'].nunique()} facts, {int((tables['facts'].drop_duplicates('fact_id')['n_articles'] > 1).sum())} "
          f"shared; {len(tables['discrepancies'])} discrepancies "
          f"({tables['discrepancies']['kind'].value_counts().to_dict()}); "
          f"{int((tables['reuse']['aligned_sentences'] > 0).sum())} article pairs with reuse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc", type=Path, default=BBC, help="BBC corpus folder")
    parser.add_argument("--model", default=None, help="embedding model for the seed figures (default: the pipeline's)")
    parser.add_argument("--skip-bbc", action="store_true", help="seed figures only")
    parser.add_argument("--inputs-cache", type=Path, help="pickle keeping the prepared BBC inputs")
    parser.add_argument("--bbc-backend", default="torch", choices=["torch", "onnx", "onnx-int8"],
                        help="embedding backend for the BBC inputs (the timed comparison does not embed)")
    args = parser.parse_args()
    nlp = load_nlp()
    report_seeds(load_model(args.model), nlp)
    if not args.skip_bbc:
        report_bbc(args.bbc, args.bbc_backend, nlp, args.inputs_cache)


if __name__ == "__main__":
    main()
