"""Scores in the service: an SME's own score with reasons, stored and recomputed; the model list."""

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.credit_scores import activate, register_model
from matchmaker.models import EnterpriseScore
from scoring.platform import train_synthetic_model
from tests.api.test_enterprises_api import PROFILE, register
from tests.conftest import auth

RISKY = PROFILE | {
    "total_liabilities": 11_500_000,  # debt ratio 96%
    "overdue_events_24m": 3,
    "net_profit": -800_000,
    "collateral_available": [],
    "patents": 0,
}


def score(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/enterprises/me/score", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_no_profile_means_no_score_yet(client: FlaskClient, active_model: str) -> None:
    _, headers = register(client)
    response = client.get("/api/v1/enterprises/me/score", headers=headers)
    assert response.status_code == 409
    assert "profile" in response.json["message"]


def test_without_an_active_model_scoring_is_unavailable(client: FlaskClient) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE, headers=headers)
    response = client.get("/api/v1/enterprises/me/score", headers=headers)
    assert response.status_code == 503
    assert "activate" in response.json["message"]


def test_an_sme_sees_its_score_grade_band_and_reasons(client: FlaskClient, active_model: str) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=RISKY, headers=headers)
    body = score(client, headers)
    assert body["model_version"] == active_model
    assert body["fiscal_year"] == 2025
    assert 300 <= body["score"] <= 900
    assert body["grade"] in "ABCDE"
    assert body["pd_band"]["low"] <= body["pd"]
    assert body["pd_band"]["high"] is None or body["pd"] < body["pd_band"]["high"]
    assert body["reasons"], "every score carries reasons"
    features = {reason["feature"] for reason in body["reasons"]}
    assert "debt_ratio" in features or "overdue_events_24m" in features
    for reason in body["reasons"]:
        assert reason["zh"] and reason["en"] and reason["points"] >= 0


def test_reasons_and_score_follow_the_figures_that_drive_them(client: FlaskClient, active_model: str) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=RISKY, headers=headers)
    risky = score(client, headers)
    debt = next(r for r in risky["reasons"] if r["feature"] == "debt_ratio")
    assert "96%" in debt["zh"] and "96%" in debt["en"]
    healthy = RISKY | {"total_liabilities": 3_000_000, "overdue_events_24m": 0, "net_profit": 1_500_000}
    client.put("/api/v1/enterprises/me/profiles/2025", json=healthy, headers=headers)
    better = score(client, headers)
    assert better["score"] > risky["score"]
    assert better["pd"] < risky["pd"]
    assert "96%" not in " ".join(r["zh"] for r in better["reasons"])
    assert not any(r["feature"] == "overdue_events_24m" for r in better["reasons"])


def test_scores_are_stored_with_model_and_profile_and_recomputed_only_on_change(
    client: FlaskClient, db_session: Session, active_model: str
) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE, headers=headers)
    first = score(client, headers)
    again = score(client, headers)
    assert again["computed_at"] == first["computed_at"]
    assert db_session.scalar(select(func.count()).select_from(EnterpriseScore)) == 1
    client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE | {"overdue_events_24m": 2}, headers=headers)
    changed = score(client, headers)
    assert changed["computed_at"] != first["computed_at"]
    rows = db_session.scalars(select(EnterpriseScore).order_by(EnterpriseScore.id)).all()
    assert [row.model_version for row in rows] == [active_model, active_model]
    assert rows[0].profile_id == rows[1].profile_id
    assert rows[1].pd > rows[0].pd


def test_a_risky_sme_is_told_what_would_improve_its_grade(client: FlaskClient, active_model: str) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=RISKY, headers=headers)
    body = score(client, headers)
    improve = body["improve"]
    assert improve is not None and improve["target_grade"] < body["grade"]
    if improve["reachable"]:
        assert improve["actions"] and improve["pd"] < improve["target_pd"]
    else:
        assert improve["actions"] == [] and improve["pd"] is None


@pytest.mark.parametrize("role", ["admin", "regulator"])
def test_operators_and_regulators_list_models_with_metrics(
    client: FlaskClient, make_token: Any, active_model: str, role: str
) -> None:
    response = client.get("/api/v1/scoring/models", headers=auth(make_token(role)))
    assert response.status_code == 200
    [model] = response.json["items"]
    assert model["version"] == active_model and model["active"] and model["platform"]
    assert 0.5 < model["metrics"]["auc"] < 1
    assert "calibration_slope" in model["metrics"]


@pytest.mark.parametrize("role", ["bank", "sme"])
def test_other_roles_cannot_list_models(client: FlaskClient, make_token: Any, role: str) -> None:
    assert client.get("/api/v1/scoring/models", headers=auth(make_token(role))).status_code == 403
    assert client.get("/api/v1/scoring/models").status_code == 401


@pytest.mark.parametrize("role", ["bank", "regulator", "admin"])
def test_only_the_sme_itself_reads_its_score(client: FlaskClient, make_token: Any, role: str) -> None:
    assert client.get("/api/v1/enterprises/me/score", headers=auth(make_token(role))).status_code == 403


def test_activating_another_model_recomputes_the_score(
    client: FlaskClient, db_session: Session, active_model: str, synthetic_model_dir: Path, tmp_path: Path
) -> None:
    _, headers = register(client)
    client.put("/api/v1/enterprises/me/profiles/2025", json=PROFILE, headers=headers)
    first = score(client, headers)
    second_dir = tmp_path / "second"
    train_synthetic_model(3_000, seed=99, out_dir=second_dir, folds=2)
    version = activate(db_session, register_model(db_session, second_dir).version).version
    db_session.commit()
    again = score(client, headers)
    assert again["model_version"] == version != first["model_version"]
    versions = db_session.scalars(select(EnterpriseScore.model_version).order_by(EnterpriseScore.id)).all()
    assert versions == [first["model_version"], version]
