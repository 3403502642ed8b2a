"""Calibrate "same claim" (and "reused sentence") on the STS Benchmark news rows.

A pair counts as the same claim when annotators scored it >= 3 ("roughly equivalent, some
important information differs or is missing": two outlets' versions of one claim, details such
as a figure or a day may differ, which is what the discrepancy checks then look at), and as a
reused sentence when scored >= 4 ("mostly equivalent"). For each cut the cosine threshold that
maximises F1 on train+dev is chosen and reported on test, next to the thresholds the library
uses (storydiff.compare.sameclaim.SAME_CLAIM_THRESHOLD / REUSE_THRESHOLD).

Run: .venv/bin/python bench/calibrate_same_claim.py [--stsb ../shared/data/stsb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from storydiff.compare.sameclaim import (
    REUSE_THRESHOLD,
    SAME_CLAIM_THRESHOLD,
    choose_threshold,
    f1_at,
    read_sts_news,
    score_pairs,
)
from storydiff.embed import embed_texts, load_model

DEFAULT_STSB = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stsb", type=Path, default=DEFAULT_STSB, help="folder of sts-*.csv")
    args = parser.parse_args()
    model = load_model()
    splits = {name: read_sts_news(args.stsb / f"sts-{name}.csv") for name in ("train", "dev", "test")}
    for frame in splits.values():
        frame["cosine"] = score_pairs(
            embed_texts(frame["text_a"].tolist(), model=model),
            embed_texts(frame["text_b"].tolist(), model=model),
        )
    fit = pd.concat([splits["train"], splits["dev"]], ignore_index=True)
    test = splits["test"]
    print(f"STS-B main-news rows: train+dev {len(fit)}, test {len(test)}; model {model.name}")
    for cut, used, name in ((3.0, SAME_CLAIM_THRESHOLD, "same claim"), (4.0, REUSE_THRESHOLD, "reuse")):
        labels_fit, labels_test = fit["score"].to_numpy() >= cut, test["score"].to_numpy() >= cut
        threshold, fit_f1 = choose_threshold(fit["cosine"].to_numpy(), labels_fit)
        f1, precision, recall = f1_at(test["cosine"].to_numpy(), labels_test, threshold)
        used_f1, used_p, used_r = f1_at(test["cosine"].to_numpy(), labels_test, used)
        print(
            f"{name}: score >= {cut:g} ({labels_fit.mean():.0%} of train+dev pairs); "
            f"F1-best cosine on train+dev {threshold:.3f} (F1 {fit_f1:.3f}); "
            f"test F1 {f1:.3f} P {precision:.3f} R {recall:.3f}; "
            f"library threshold {used:.2f}: test F1 {used_f1:.3f} P {used_p:.3f} R {used_r:.3f}"
        )
    rho = spearmanr(test["cosine"], test["score"]).statistic
    print(f"test Spearman correlation of cosine with the 0-5 score: {rho:.3f}")


if __name__ == "__main__":
    main()
