"""Scoring benchmark on a seeded SYNTHETIC loan book: training time, batch and single scoring, CV AUC.

Targets (issue 5): training on 100,000 rows < 60 s; batch scoring of 100,000 profiles < 1 s; one profile
< 5 ms median. Run: ``.venv/bin/python -m bench.scoring [--rows 100000] [--cv-rows 20000]`` (as a module:
run as a script, this file would shadow the scoring package).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from scoring import scorecard, training
from scoring.features import MONOTONE_SPEC, feature_columns
from scoring.synthetic import generate


def _timed(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cv-rows", type=int, default=20_000, help="rows for the 5-fold CV comparison")
    args = parser.parse_args()
    spec = training.Spec(monotone=MONOTONE_SPEC)
    book = generate(args.rows, seed=42)
    columns = {**feature_columns(book.applicants), "default_12m": book.default_12m}
    print(f"synthetic book: {args.rows} rows, default rate {book.default_12m.mean():.2%}")

    with threadpool_limits(limits=1, user_api="openmp"):
        start = time.perf_counter()
        model = training.train(columns, "default_12m", 1, spec)
        print(f"training on {args.rows} rows: {time.perf_counter() - start:.1f} s (target < 60 s)")
        print(f"  trees {model.booster.n_iter_}, stack (booster, linear, intercept) {model.stack}")

        scoring_book = generate(100_000, seed=43)
        batch = _timed(lambda: scorecard.assess_batch(model, scoring_book.applicants), 5)
        print(
            f"batch scoring of 100,000 profiles (columns -> features -> PD, score, grade): {batch:.3f} s (target < 1 s)"
        )
        rows = scoring_book.rows()[:200]
        single = statistics.median(_timed(lambda row=row: scorecard.assess(model, row), 1) for row in rows)
        print(f"single profile with reasons, median of 200: {single * 1000:.2f} ms (target < 5 ms)")

        cv_book = generate(args.cv_rows, seed=44)
        cv_columns = {**feature_columns(cv_book.applicants), "default_12m": cv_book.default_12m}
        prepared = training.prepare(cv_columns, "default_12m", 1, spec, training.Settings())
        start = time.perf_counter()
        cv = training.cross_validated(prepared, training.Settings())
        print(f"5-fold CV on {args.cv_rows} rows ({time.perf_counter() - start:.0f} s):")
        for name, result in cv.items():
            mean = result["mean"]
            print(
                f"  {name:18} AUC {mean['auc']:.4f}  KS {mean['ks']:.3f}  Brier {mean['brier']:.4f}"
                f"  slope {mean['calibration_slope']:.3f}"
            )


if __name__ == "__main__":
    main()
