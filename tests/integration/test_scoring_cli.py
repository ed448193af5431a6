"""The scoring commands end to end on small files: train, evaluate, activate, list."""

import csv
import json
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.models import ScoringModel
from scoring.synthetic import generate


def write_loan_book(path: Path, rows: int, seed: int) -> None:
    """A bank's own loan history: a few numeric columns, a categorical one, missing cells, a 'bad' flag."""
    book = generate(rows, seed=seed)
    rng = np.random.default_rng(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["loan_id", "revenue", "liabilities", "assets", "overdue", "branch", "status"])
        for i in range(rows):
            revenue = book.applicants["annual_revenue"][i]
            writer.writerow(
                [
                    f"L{i:05d}",
                    "" if rng.random() < 0.1 else revenue,
                    book.applicants["total_liabilities"][i],
                    book.applicants["total_assets"][i],
                    book.applicants["overdue_events_24m"][i],
                    rng.choice(["东区支行", "西区支行", "高新支行"]),
                    "default" if book.default_12m[i] else "repaid",
                ]
            )


def test_train_evaluate_and_refuse_to_activate_a_bank_specific_model(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    train_csv, holdout_csv = tmp_path / "book.csv", tmp_path / "holdout.csv"
    write_loan_book(train_csv, 3_000, seed=11)
    write_loan_book(holdout_csv, 1_000, seed=12)
    out = tmp_path / "bank-model"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "scoring",
            "train",
            "--csv",
            str(train_csv),
            "--target",
            "status",
            "--bad",
            "default",
            "--out",
            str(out),
            "--folds",
            "3",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "logistic baseline" in result.output and "scoring evaluate" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "loan_id" in report["columns"]["excluded"]
    assert "branch" in report["columns"]["categorical"]
    assert {"auc", "ks", "brier", "calibration_slope"} <= set(report["cv"]["model"]["mean"])
    assert (out / "calibration.png").read_bytes().startswith(b"\x89PNG")
    row = db_session.scalar(select(ScoringModel))
    assert row.version == report["model_version"] and not row.platform

    evaluated = runner.invoke(
        args=[
            "scoring",
            "evaluate",
            "--model",
            str(out),
            "--csv",
            str(holdout_csv),
            "--target",
            "status",
            "--bad",
            "default",
        ]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "auc" in evaluated.output and "calibration_slope" in evaluated.output

    refused = runner.invoke(args=["scoring", "activate", row.version])
    assert refused.exit_code != 0
    assert "platform features" in refused.output
    assert runner.invoke(args=["scoring", "activate", "no-such-version"]).exit_code != 0
    again = runner.invoke(
        args=["scoring", "train", "--csv", str(train_csv), "--target", "status", "--bad", "default", "--out", str(out)]
    )
    assert again.exit_code != 0  # a model version is written once


def test_a_missing_target_column_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    write_loan_book(path, 200, seed=3)
    result = app.test_cli_runner().invoke(
        args=["scoring", "train", "--csv", str(path), "--target", "nope", "--bad", "1", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "Traceback" not in result.output


def test_synthetic_platform_model_is_trained_activated_and_listed(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["scoring", "train-synthetic", "--rows", "3000", "--folds", "2", "--out", str(tmp_path / "platform")]
    )
    assert result.exit_code == 0, result.output
    row = db_session.scalar(select(ScoringModel))
    assert row.active and row.platform
    assert row.meta["training_data_sha256"]
    report = json.loads((tmp_path / "platform" / "report.json").read_text(encoding="utf-8"))
    assert report["data"]["synthetic"] is True
    listing = runner.invoke(args=["scoring", "list"])
    assert row.version in listing.output and "active" in listing.output
