"""The round's batched score snapshots and weight factors say exactly what the per-pair functions say."""

from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from enterprises.models import FinancingNeed
from matchmaker.credit_scores import active_model, applicant_record
from matchmaker.eligibility import Applicant, ProductTerms
from matchmaker.models import Proposal
from matchmaker.rounds import RoundParams, run_round
from matchmaker.weights import WeightPolicy, edge_factors, weight_factors
from products.models import LoanProduct
from scoring.scorecard import assess


def test_each_proposal_carries_the_score_and_reasons_assess_gives(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    run_round(app.extensions["session_factory"], RoundParams(), tmp_path)
    model_row, model = active_model(db_session)
    proposals = db_session.scalars(select(Proposal)).all()
    assert proposals
    for proposal in proposals:
        need = db_session.get(FinancingNeed, proposal.need_id)
        result = assess(model, applicant_record(need.enterprise, need, date.today()))
        assert proposal.score == {
            "model_version": model_row.version,
            "pd": result.pd,
            "score": result.score,
            "grade": result.grade,
            "reasons": [{"feature": r.feature, "points": r.points, "zh": r.zh, "en": r.en} for r in result.reasons],
        }


def test_edge_factors_equal_weight_factors_pair_by_pair(db_session: Session, market: Any) -> None:
    products = [ProductTerms.from_product(db_session.get(LoanProduct, p.id)) for p in market["products"]]
    applicants = [
        Applicant.from_rows(n.enterprise, n.enterprise.profiles[-1], n, pd)
        for n, pd in zip(market["needs"][:4], (0.004, 0.02, 0.09, None), strict=True)
    ]
    pairs = [(p, a) for p in products for a in applicants]
    policy = WeightPolicy(bonus_micro=0.5)
    batched = edge_factors([p for p, _ in pairs], [a for _, a in pairs], policy)
    assert batched == [weight_factors(p, a, policy) for p, a in pairs]
