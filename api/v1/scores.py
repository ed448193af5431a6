"""An SME's score as the API and the pages show it: PD, band, score, grade, reasons, what would improve it."""

from typing import Any

import marshmallow as ma
from flask_smorest import abort

from api.database import session
from enterprises.models import Enterprise
from matchmaker.credit_scores import ScoringUnavailable, current_score, improvement, pd_band
from scoring.scorecard import GRADE_BANDS


class ReasonSchema(ma.Schema):
    feature = ma.fields.String()
    value = ma.fields.Raw(allow_none=True)
    points = ma.fields.Integer(metadata={"description": "Score points lost to this factor"})
    zh = ma.fields.String()
    en = ma.fields.String()


class ActionSchema(ma.Schema):
    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class ImprovementSchema(ma.Schema):
    target_grade = ma.fields.String()
    target_pd = ma.fields.Float()
    reachable = ma.fields.Boolean()
    actions = ma.fields.List(ma.fields.Nested(ActionSchema))
    pd = ma.fields.Float(allow_none=True)
    score = ma.fields.Integer(allow_none=True)
    grade = ma.fields.String(allow_none=True)


class PdBandSchema(ma.Schema):
    low = ma.fields.Float()
    high = ma.fields.Float(allow_none=True)


class ScoreSchema(ma.Schema):
    model_version = ma.fields.String()
    fiscal_year = ma.fields.Integer()
    pd = ma.fields.Float(metadata={"description": "12-month probability of default"})
    pd_band = ma.fields.Nested(PdBandSchema)
    score = ma.fields.Integer(metadata={"description": "300–900, higher is safer"})
    grade = ma.fields.String(metadata={"description": "A (safest) to E"})
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    improve = ma.fields.Nested(ImprovementSchema, allow_none=True)
    computed_at = ma.fields.DateTime()


def score_payload(enterprise: Enterprise) -> dict[str, Any]:
    """The enterprise's score with reasons and what would improve it; aborts with 409 (no profile) or 503 (no
    active model)."""
    try:
        score = current_score(session(), enterprise)
        if score is None:
            abort(409, message="Fill in a financial profile first: the score is computed from it.")
        better = improvement(session(), enterprise, score)
    except ScoringUnavailable as error:
        abort(503, message=f"Scoring is not available: {error}")
    session().commit()
    band = pd_band(score.grade)
    improve = None
    if better is not None:
        target_pd, change = better
        improve = {
            "target_grade": GRADE_BANDS[[g for g, _ in GRADE_BANDS].index(score.grade) - 1][0],
            "target_pd": target_pd,
            "reachable": change is not None,
            "actions": [{"code": a.code, "zh": a.zh, "en": a.en} for a in change.actions] if change else [],
            "pd": change.pd if change else None,
            "score": change.score if change else None,
            "grade": change.grade if change else None,
        }
    return {
        "model_version": score.model_version,
        "fiscal_year": enterprise.profiles[-1].fiscal_year,
        "pd": score.pd,
        "pd_band": {"low": band.low, "high": band.high},
        "score": score.score,
        "grade": score.grade,
        "reasons": score.reasons,
        "improve": improve,
        "computed_at": score.computed_at,
    }
