"""Matching rounds from the database to stored proposals."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.tallies import TALLIES, discrepancies, summed
from enterprises.models import Enterprise, FinancingNeed
from enterprises.service import withdraw_need
from matchmaker.classification_copies import classification_discrepancies
from matchmaker.edges_csv import read_edges_csv
from matchmaker.instance import violations
from matchmaker.models import MatchingRound, Proposal
from matchmaker.need_figures import need_figure_discrepancies
from matchmaker.previous_proposals import proposal_discrepancies
from matchmaker.rounds import RoundInProgress, RoundParams, component_stats, run_round, start_round
from matchmaker.solver import solve
from products.models import LoanProduct
from tests.conftest import enterprise_with_need

WAN = 10_000


def run(app: Flask, tmp_path: Path, **params: Any) -> MatchingRound:
    return run_round(app.extensions["session_factory"], RoundParams(**params), tmp_path)


def test_a_round_proposes_within_every_constraint(app: Flask, db_session: Session, market: Any, tmp_path: Path) -> None:
    row = run(app, tmp_path)
    assert row.status == "completed"
    stats = row.stats
    assert stats["needs"] == 12 and stats["products"] == 3 and stats["edges"] == 36
    proposals = db_session.scalars(select(Proposal)).all()
    assert len(proposals) == stats["proposals"] > 0
    per_need: dict[int, list[Proposal]] = {}
    for p in proposals:
        per_need.setdefault(p.need_id, []).append(p)
    for rows in per_need.values():
        assert len(rows) <= 3
        assert len({p.bank_id for p in rows}) == len(rows)  # at most one per bank
        assert sorted(p.rank for p in rows) == list(range(1, len(rows) + 1))
    by_product = {p.id: [q for q in proposals if q.product_id == p.id] for p in market["products"]}
    assert len(by_product[market["products"][0].id]) <= 5  # review capacity
    assert (
        sum(db_session.get(FinancingNeed, q.need_id).amount for q in by_product[market["products"][2].id]) <= 400 * WAN
    )
    matched = db_session.scalars(select(FinancingNeed.status).where(FinancingNeed.id.in_(per_need))).all()
    assert set(matched) == {"matched"}
    assert stats["gap"] <= 0.005 and stats["objective"] <= stats["upper_bound"] + 1e-9


def test_the_exported_graph_re_solves_to_the_same_objective(app: Flask, market: Any, tmp_path: Path) -> None:
    row = run(app, tmp_path)
    instance = read_edges_csv(tmp_path / f"round-{row.id}.csv")
    result = solve(instance)
    assert violations(instance, result.chosen) == []
    assert result.objective == pytest.approx(row.stats["objective"], rel=1e-9)


def test_proposals_explain_themselves_with_real_rules_figures_and_score(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    run(app, tmp_path)
    proposal = db_session.scalars(select(Proposal).order_by(Proposal.id)).first()
    rules = {r["rule"]: r for r in proposal.explanation["rules_passed"]}
    assert {"amount_in_range", "collateral_compatible", "pd_within_appetite", "quota_available"} <= set(rules)
    assert "100" in rules["amount_in_range"]["zh"]  # the need's 100 万元
    assert proposal.explanation["positive"] and all(f["zh"] and f["en"] for f in proposal.explanation["positive"])
    assert proposal.score["grade"] in "ABCDE" and proposal.score["reasons"] is not None
    assert 3.5 <= proposal.rate_min <= proposal.rate_max <= 6.0


def test_running_again_does_not_duplicate_pending_proposals(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    first = run(app, tmp_path)
    second = run(app, tmp_path)
    assert second.stats["needs"] == 12 - first.stats["needs_matched"]
    pairs = db_session.execute(select(Proposal.need_id, Proposal.product_id).where(Proposal.status == "pending")).all()
    assert len(pairs) == len(set(pairs))
    # Each need counts the proposals of both rounds (the funnel reads the count, matchmaker.need_figures).
    counts = db_session.execute(select(FinancingNeed.proposal_count, FinancingNeed.id)).all()
    assert sum(count for count, _ in counts) == first.stats["proposals"] + second.stats["proposals"] > 0
    assert need_figure_discrepancies(db_session) == []
    # Each round relinks its enterprises' proposals (the second proposes for needs the first left).
    assert proposal_discrepancies(db_session) == [] and classification_discrepancies(db_session) == []


def test_withdrawn_needs_and_paused_products_drop_out(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    withdraw_need(db_session, db_session.get(FinancingNeed, market["needs"][0].id))
    db_session.get(LoanProduct, market["products"][1].id).status = "paused"
    db_session.commit()
    row = run(app, tmp_path)
    assert row.stats["needs"] == 11 and row.stats["products"] == 2
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where((Proposal.need_id == market["needs"][0].id) | (Proposal.product_id == market["products"][1].id))
        )
        == 0
    )


def test_a_dry_run_writes_no_proposals(app: Flask, db_session: Session, market: Any, tmp_path: Path) -> None:
    row = run(app, tmp_path, dry_run=True)
    assert row.status == "dry_run" and row.stats["proposals"] > 0
    assert db_session.scalar(select(func.count()).select_from(Proposal)) == 0
    assert set(db_session.scalars(select(FinancingNeed.status)).all()) == {"open"}


def test_nothing_to_match_is_a_completed_empty_round(app: Flask, active_model: str, tmp_path: Path) -> None:
    row = run(app, tmp_path)
    assert row.status == "completed"
    assert row.stats["needs"] == 0 and row.stats["proposals"] == 0 and row.stats["objective"] == 0


def test_a_product_with_its_quota_granted_and_a_need_no_product_accepts(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    full = db_session.get(LoanProduct, market["products"][2].id)
    full.granted_total = full.quota
    huge = enterprise_with_need(db_session, 99, amount_wan=50_000)  # 5 亿元: above every product
    db_session.commit()
    row = run(app, tmp_path)
    assert row.stats["products"] == 2
    assert row.stats["needs_without_eligible_product"] == 1
    assert db_session.get(FinancingNeed, huge.id).status == "open"


def test_only_one_round_runs_at_a_time(app: Flask, market: Any, tmp_path: Path) -> None:
    start_round(app.extensions["session_factory"], RoundParams(), None)
    with pytest.raises(RoundInProgress):
        run(app, tmp_path)


def test_bad_parameters_are_refused(active_model: str) -> None:
    with pytest.raises(ValueError, match="k"):
        RoundParams(k=0)
    with pytest.raises(ValueError, match="overbooking"):
        RoundParams(overbooking=0.5)
    with pytest.raises(ValueError):
        RoundParams(policy={"micro": -1.0})


def test_enterprises_keep_their_scores_consistent(db_session: Session, market: Any, app: Flask, tmp_path: Path) -> None:
    run(app, tmp_path)
    grades = db_session.scalars(select(Proposal.score)).all()
    assert all(np.isfinite(g["pd"]) for g in grades)
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == 12


def test_the_cli_runs_a_round_and_exports_its_graph(app: Flask, market: Any, tmp_path: Path) -> None:
    app.config["ROUND_DIR"] = str(tmp_path / "rounds")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["match", "run", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "round 1 completed" in result.output and "gap" in result.output
    with app.extensions["session_factory"]() as session:  # the round compacted the tallies it appended to
        for tally in TALLIES:
            keys = session.execute(text(summed(tally))).all()
            assert session.scalar(text(f"SELECT count(*) FROM {tally.table}")) == len(keys), tally.table
        assert session.execute(text(summed(TALLIES[0]))).all()  # the proposals' tally has the round's
        assert all(discrepancies(session.connection(), tally) == [] for tally in TALLIES)
    out = tmp_path / "graph.csv"
    exported = runner.invoke(args=["match", "export-graph", "1", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert read_edges_csv(out).k == 2
    assert runner.invoke(args=["match", "export-graph", "7", "--out", str(out)]).exit_code != 0


def test_component_statistics_describe_independent_markets() -> None:
    # needs 0-1 share product 0; need 2 alone with product 2; need 3 has no edge; product 1 has none.
    stats = component_stats(np.array([0, 1, 2]), np.array([0, 0, 2]), needs=4, products=3)
    assert stats == {"components": 2, "largest_component_needs": 2, "largest_component_products": 1}
    assert component_stats(np.array([], dtype=int), np.array([], dtype=int), 3, 3)["components"] == 0
