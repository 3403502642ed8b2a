"""Benchmark of the claims stage (issue 4); prints figures, asserts nothing.

1. Precision and recall of quantities, dates, speakers (and quotes) on the seeds against the
   labelled fixture tests/fixtures/seeds_claims.yaml, with the seeds split by the corpus stage;
   plus how often the approximation word, measure, change flag and conversion flag of a found
   quantity agree with the label.
2. Claims per second on the BBC corpus (2,225 articles, split by the corpus stage; the split is
   not timed): ``extract_claims`` end to end, spaCy's parse included, with the model loaded
   beforehand.

    .venv/bin/python bench/claims.py              # seeds, then all of BBC (a few minutes on 2 cores)
    .venv/bin/python bench/claims.py --limit 200  # seeds, then the first 200 BBC articles
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from storydiff.claims import extract_claims, load_nlp
from storydiff.claims.evaluate import load_fixture, score_claims
from storydiff.corpus.readers import read_corpus
from storydiff.corpus.tables import build_corpus_tables
from storydiff.runfolder import select_content_sentences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "corpora" / "seeds"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
FIXTURE = ROOT / "tests" / "fixtures" / "seeds_claims.yaml"


def read_content(corpus: Path, limit: int | None = None):
    """(articles, content sentences) of a corpus, as the corpus stage makes them."""
    raws = read_corpus(corpus)[0]
    articles, sentences = build_corpus_tables(raws[:limit] if limit else raws)
    return articles, select_content_sentences(articles, sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="BBC articles to use (default: all)")
    args = parser.parse_args()
    nlp = load_nlp()

    articles, sentences = read_content(SEEDS)
    scores = score_claims(load_fixture(FIXTURE), extract_claims(sentences, articles, nlp))
    print(f"seeds: {scores['sentences']['labelled']} labelled sentences, "
          f"{scores['sentences']['unmatched']} not found in the pipeline's sentences")
    for field in ("quantities", "dates", "speakers", "quotes"):
        s = scores[field]
        print(f"  {field:<10} precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
              f"(predicted {s['predicted']}, labelled {s['labelled']})")
    agreement = ", ".join(f"{k} {v:.3f}" for k, v in scores["quantity_fields"].items())
    print(f"  found quantities agreeing with the label on: {agreement}")

    start = time.perf_counter()
    articles, sentences = read_content(BBC, args.limit)
    split_s = time.perf_counter() - start
    start = time.perf_counter()
    claims = extract_claims(sentences, articles, nlp)
    seconds = time.perf_counter() - start
    print(f"BBC: {len(articles)} articles, {len(sentences)} content sentences (read and split in {split_s:.1f} s)")
    print(f"  {len(claims)} claims in {seconds:.1f} s: {len(claims) / seconds:.0f} claims/s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")
    kinds = claims["kind"].value_counts()
    print("  kinds: " + ", ".join(f"{k} {kinds.get(k, 0)}" for k in ("quantity", "quote", "event", "statement", "opinion")))


if __name__ == "__main__":
    main()
