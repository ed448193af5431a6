"""The round's batched score snapshots, rule texts and weight factors say exactly what the per-pair functions say."""

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from enterprises.models import FinancingNeed
from matchmaker.credit_scores import active_model, applicant_record
from matchmaker.eligibility import Applicant, ProductTerms, check
from matchmaker.models import Proposal
from matchmaker.rounds import RoundParams, run_round
from matchmaker.weights import WeightPolicy, edge_factors, top_factors, weight_factors
from products.models import LoanProduct
from reference.china_time import china_today
from scoring.features import columns_from_records, feature_columns
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
        result = assess(model, applicant_record(need.enterprise, need, china_today()))
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


def test_each_proposal_explains_itself_as_check_and_weight_factors_do_for_its_pair(
    app: Flask, db_session: Session, market: Any, tmp_path: Path
) -> None:
    """The round shares rule texts between pairs and serialises them once; what is stored must still be every
    rule of that very pair, with its figures, and its top weight factors."""
    policy = WeightPolicy(bonus_micro=0.5)
    run_round(app.extensions["session_factory"], RoundParams(policy=policy.as_dict()), tmp_path)
    _row, model = active_model(db_session)
    proposals = db_session.scalars(select(Proposal)).all()
    assert len(proposals) > 5
    for proposal in proposals:
        need = db_session.get(FinancingNeed, proposal.need_id)
        enterprise = need.enterprise
        record = applicant_record(enterprise, need, china_today())
        pd = float(model.predict_pd(feature_columns(columns_from_records([record])))[0])
        applicant = Applicant.from_rows(enterprise, enterprise.profiles[-1], need, pd)
        terms = ProductTerms.from_product(db_session.get(LoanProduct, proposal.product_id))
        eligibility = check(terms, applicant, china_today())
        top = top_factors(weight_factors(terms, applicant, policy))
        assert eligibility.passed
        assert proposal.explanation == {
            "rules_passed": [{"rule": r.rule, "zh": r.zh, "en": r.en} for r in eligibility.results],
            **{
                sign: [
                    {"factor": f["factor"], "contribution": round(f["contribution"], 4), "zh": f["zh"], "en": f["en"]}
                    for f in top[sign]
                ]
                for sign in ("positive", "negative")
            },
        }
