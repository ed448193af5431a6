"""``matchmaker scoring monitor``: drift and fairness of the active model on the current applicants.

The current applicants are the enterprises with at least one financial profile, each scored on its latest
profile (``credit_scores.applicant_record``). Their features and PDs are compared with the training population
recorded in the model's ``reference.json`` (population stability index per feature and for the PD), and their
approval rates are compared across size classes and regions (four-fifths rule); see ``scoring.monitoring`` for
the bins, the thresholds and the small-group rule.

Until banks' decisions are recorded, "approved" means a PD within grades A–C (``scoring.scorecard.GRADE_BANDS``),
the platform's own view of who is creditworthy; the report says so.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from enterprises.models import Enterprise
from matchmaker.credit_scores import applicant_record
from matchmaker.models import ScoringModel
from scoring.features import columns_from_records, feature_columns
from scoring.model import TrainedModel
from scoring.monitoring import (
    FOUR_FIFTHS,
    MIN_GROUP,
    REFERENCE_FILE,
    SHIFTED_ABOVE,
    STABLE_BELOW,
    approval_ratios,
    stability_report,
)
from scoring.scorecard import GRADE_BANDS, grade_from_pd

APPROVED_GRADES: tuple[str, ...] = tuple(letter for letter, _ in GRADE_BANDS[:3])
APPROVAL_DEFINITION = (
    f"approved = PD below {GRADE_BANDS[2][1]:.0%} (grades {APPROVED_GRADES[0]}–{APPROVED_GRADES[-1]}): "
    "the platform's proxy until banks' decisions are recorded"
)


def current_applicants(session: Session) -> list[Enterprise]:
    """Enterprises with at least one financial profile, profiles loaded."""
    query = (
        select(Enterprise)
        .where(Enterprise.profiles.any())
        .options(selectinload(Enterprise.profiles))
        .order_by(Enterprise.id)
    )
    return list(session.scalars(query))


def load_reference(model_row: ScoringModel) -> tuple[dict[str, Any] | None, str | None]:
    """(the model's reference distribution, None) or (None, why it is not available)."""
    path = Path(model_row.directory) / REFERENCE_FILE
    if not path.exists():
        return None, (
            f"model {model_row.version} has no {REFERENCE_FILE} (trained before monitoring existed): "
            "retrain it to monitor population stability"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError) as error:
        return None, f"cannot read {path} ({error})"


def monitor(session: Session, model_row: ScoringModel, model: TrainedModel) -> dict[str, Any]:
    """Stability of the current applicants against the model's training population, and approval-rate ratios
    by size class and by region. ``stability`` is None when it cannot be computed; ``stability_note`` says why."""
    enterprises = current_applicants(session)
    reference, note = load_reference(model_row)
    report: dict[str, Any] = {
        "model_version": model_row.version,
        "applicants": len(enterprises),
        "reference_rows": reference["rows"] if reference else None,
        "stability": None,
        "stability_note": note,
        "approval_definition": APPROVAL_DEFINITION,
        "approval_by_size_class": [],
        "approval_by_region": [],
    }
    if not enterprises:
        report["stability_note"] = note or "no current applicants: no enterprise has a financial profile yet"
        return report
    features = feature_columns(columns_from_records(applicant_record(e) for e in enterprises))
    pd = model.predict_pd(features)
    approved = np.isin(grade_from_pd(pd), APPROVED_GRADES)
    if reference is not None:
        report["stability"] = stability_report(reference, features, pd)
    report["approval_by_size_class"] = approval_ratios([e.size_class for e in enterprises], approved)
    report["approval_by_region"] = approval_ratios([e.region for e in enterprises], approved)
    return report


def _stability_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"population stability index, training population -> current applicants"
        f" (< {STABLE_BELOW} stable, {STABLE_BELOW}–{SHIFTED_ABOVE} watch, > {SHIFTED_ABOVE} shifted)"
    ]
    if report["stability"] is None:
        return [*lines, f"  not available: {report['stability_note']}"]
    lines.append(f"  {'column':<24} {'PSI':>7}  {'missing (training -> now)':>25}  flag")
    for row in report["stability"]:
        name = "score (PD)" if row["kind"] == "score" else row["name"]
        missing = f"{row['reference_missing']:.0%} -> {row['current_missing']:.0%}"
        lines.append(f"  {name:<24} {row['psi']:7.3f}  {missing:>25}  {row['flag']}")
    return lines


def _approval_lines(title: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"  {title:<16} {'applicants':>10} {'approved':>8} {'rate':>6} {'ratio':>6}  flag"]
    for row in rows:
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"  {row['group']:<16} {row['applicants']:>10} {row['approved']:>8} {row['rate']:>6.0%} {ratio:>6}"
            f"  {row['flag']}"
        )
    return lines


def format_report(report: dict[str, Any]) -> list[str]:
    """The lines ``matchmaker scoring monitor`` prints: the PSI table, then the approval-rate ratios."""
    reference = f"{report['reference_rows']} training rows" if report["reference_rows"] else "no training reference"
    lines = [
        f"model {report['model_version']}: {report['applicants']} current applicants"
        f" (enterprises with a financial profile), {reference}",
        *_stability_lines(report),
        f"approval-rate ratios to the highest group (four-fifths rule: flagged below {FOUR_FIFTHS};"
        f" groups under {MIN_GROUP} applicants are too small to judge)",
        f"  {report['approval_definition']}",
    ]
    if not report["applicants"]:
        return [*lines, "  no applicants to compare"]
    return [
        *lines,
        *_approval_lines("size class", report["approval_by_size_class"]),
        *_approval_lines("region", report["approval_by_region"]),
    ]
