"""``matchmaker.monitoring.monitor`` on the database: current applicants, their PSI against the active model's
training population, approval-rate ratios by size class and region, and a model without reference.json."""

import json
import shutil
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from enterprises.models import Enterprise, FinancialProfile
from matchmaker import credit_scores
from matchmaker.models import ScoringModel
from matchmaker.monitoring import format_report, monitor
from scoring.monitoring import REFERENCE_FILE
from tests.conftest import valid_uscc

HEALTHY = {
    "annual_revenue": 30_000_000,
    "net_profit": 3_000_000,
    "total_assets": 20_000_000,
    "total_liabilities": 5_000_000,
    "taxes_paid": 1_200_000,
    "monthly_settlement_flow": 2_500_000,
    "outstanding_loans": 2_000_000,
    "overdue_events_24m": 0,
    "patents": 4,
    "trademarks": 2,
    "receivables": 3_000_000,
    "collateral_available": ["real_estate", "ip_pledge"],
    "social_insurance_headcount": 60,
    "audited": True,
}
RISKY = {
    "annual_revenue": 1_000_000,
    "net_profit": -300_000,
    "total_assets": 2_000_000,
    "total_liabilities": 2_600_000,
    "taxes_paid": None,
    "monthly_settlement_flow": None,
    "outstanding_loans": 2_000_000,
    "overdue_events_24m": 6,
    "patents": 0,
    "trademarks": 0,
    "receivables": 2_500_000,
    "collateral_available": [],
    "social_insurance_headcount": 5,
    "audited": False,
}


def _enterprise(session: Session, region: str, size_class: str, profile: dict | None, founded: int) -> Enterprise:
    enterprise = Enterprise(
        uscc=valid_uscc(),
        name=f"{region}-{size_class}-{founded}",
        industry="C39",
        region=region,
        founded_on=date(founded, 3, 1),
        employees=60,
        registered_capital=5_000_000,
        contact_person="李四",
        phone="13800138000",
        email="finance@example.cn",
        size_class=size_class,
    )
    session.add(enterprise)
    session.flush()
    if profile is not None:
        session.add(FinancialProfile(enterprise_id=enterprise.id, fiscal_year=2024, **profile))
    return enterprise


def _population(session: Session) -> None:
    """10 healthy medium firms in 110105, 30 risky micro firms in 310115, 2 healthy large firms in 440305, and
    one firm with no profile (not an applicant)."""
    for i in range(10):
        _enterprise(session, "110105", "medium", HEALTHY, 2005 + i)
    for i in range(30):
        _enterprise(session, "310115", "micro", RISKY, 2021 + i % 3)
    for i in range(2):
        _enterprise(session, "440305", "large", HEALTHY, 2000 + i)
    _enterprise(session, "110105", "small", None, 2020)
    session.commit()


def test_training_writes_a_reference_for_every_model_column(synthetic_model_dir: Path) -> None:
    reference = json.loads((synthetic_model_dir / REFERENCE_FILE).read_text(encoding="utf-8"))
    metadata = json.loads((synthetic_model_dir / "metadata.json").read_text(encoding="utf-8"))
    assert list(reference["columns"]) == metadata["features"]
    assert reference["columns"]["industry"]["kind"] == "categorical"
    assert "C" in reference["columns"]["industry"]["levels"]
    assert reference["rows"] == 4_000 and reference["pd"]["kind"] == "numeric"


def test_a_riskier_population_shows_a_shifted_score_and_unequal_approvals(
    app: Flask, db_session: Session, active_model: str
) -> None:
    _population(db_session)
    row, model = credit_scores.active_model(db_session)  # the ``active_model`` fixture activated it
    report = monitor(db_session, row, model)

    assert report["model_version"] == active_model and report["applicants"] == 42
    assert report["reference_rows"] == 4_000 and report["stability_note"] is None
    assert "grades A–C" in report["approval_definition"]
    stability = {entry["name"]: entry for entry in report["stability"]}
    assert list(stability) == ["pd", *model.columns]
    assert stability["pd"]["kind"] == "score" and stability["pd"]["flag"] == "shifted"
    assert stability["overdue_events_24m"]["flag"] == "shifted"
    assert stability["tax_to_revenue"]["current_missing"] > 0.7 > stability["tax_to_revenue"]["reference_missing"]
    assert stability["guarantor_available"]["current_missing"] == 0.0  # collateral list known for everyone

    by_size = {entry["group"]: entry for entry in report["approval_by_size_class"]}
    assert set(by_size) == {"large", "medium", "micro"}  # the firm without a profile is not an applicant
    assert (by_size["medium"]["applicants"], by_size["medium"]["approved"], by_size["medium"]["ratio"]) == (10, 10, 1.0)
    assert by_size["micro"]["approved"] == 0 and by_size["micro"]["flag"] == "below_four_fifths"
    assert by_size["large"]["flag"] == "too_small"
    by_region = {entry["group"]: entry["flag"] for entry in report["approval_by_region"]}
    assert by_region == {"110105": "ok", "310115": "below_four_fifths", "440305": "too_small"}

    lines = format_report(report)
    assert any(line.split()[:3] == ["score", "(PD)", f"{stability['pd']['psi']:.3f}"] for line in lines)
    assert any(line.split()[0] == "310115" and line.endswith("below_four_fifths") for line in lines)
    assert any("grades A–C" in line for line in lines)


def test_a_model_without_reference_is_reported_not_failed(
    app: Flask, db_session: Session, active_model: str, synthetic_model_dir: Path, tmp_path: Path
) -> None:
    _population(db_session)
    row, model = credit_scores.active_model(db_session)
    old = tmp_path / "old-model"
    shutil.copytree(synthetic_model_dir, old, ignore=shutil.ignore_patterns(REFERENCE_FILE))
    old_row = ScoringModel(version=row.version, directory=str(old), meta=row.meta, platform=True)

    report = monitor(db_session, old_row, model)
    assert report["stability"] is None and report["reference_rows"] is None
    assert f"has no {REFERENCE_FILE}" in report["stability_note"] and "retrain" in report["stability_note"]
    assert report["applicants"] == 42 and len(report["approval_by_region"]) == 3  # approvals still computed
    lines = format_report(report)
    assert any(line.strip().startswith("not available:") and "retrain" in line for line in lines)


def test_no_applicants_yet(app: Flask, db_session: Session, active_model: str) -> None:
    _enterprise(db_session, "110105", "small", None, 2020)
    db_session.commit()
    report = monitor(db_session, *credit_scores.active_model(db_session))
    assert report["applicants"] == 0 and report["stability"] is None
    assert "no current applicants" in report["stability_note"]
    assert report["approval_by_size_class"] == [] and report["approval_by_region"] == []
    assert format_report(report)[-1].strip() == "no applicants to compare"


def test_the_monitor_command_prints_stability_and_ratios(app: Flask, active_model: str) -> None:
    result = app.test_cli_runner().invoke(args=["scoring", "monitor"])
    assert result.exit_code == 0, result.output
    assert active_model in result.output


def test_the_monitor_command_needs_an_active_model(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scoring", "monitor"])
    assert result.exit_code != 0
    assert "activate" in result.output
