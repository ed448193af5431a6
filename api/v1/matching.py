"""Matching rounds: an operator runs one; operators and regulators read what it found."""

from dataclasses import Field, fields
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import func, select

from api.auth import protected, require_roles
from api.database import session
from api.v1.links import links, to
from api.v1.schemas import ApiBlueprint, PageArgs, page_of
from matchmaker.credit_scores import ScoringUnavailable
from matchmaker.models import MatchingRound
from matchmaker.rounds import RoundInProgress, RoundParams, run_round
from matchmaker.weights import BONUSES, MAX_POLICY_WEIGHT, SCORES, PolicyError, WeightPolicy

blp = ApiBlueprint("matching", __name__, description="Matching rounds (operators run them; regulators read them)")

ROUND = "GET /api/v1/matching/rounds/{round_id}"


def _policy_weight(item: Field[Any]) -> ma.fields.Float:
    """A WeightPolicy field with its range, so that the OpenAPI document states each key and its bounds:
    score exponents and bonuses in [0, MAX_POLICY_WEIGHT], the shape parameters above 0."""
    if item.name in SCORES or item.name.removeprefix("bonus_") in BONUSES:
        return ma.fields.Float(
            validate=ma.validate.Range(min=0, max=MAX_POLICY_WEIGHT), metadata={"default": item.default}
        )
    return ma.fields.Float(
        validate=ma.validate.Range(min=0, min_inclusive=False),
        metadata={"default": item.default, "exclusiveMinimum": True},  # OpenAPI 3.0 spells "> 0" this way
    )


PolicySchema = ma.Schema.from_dict(
    {item.name: _policy_weight(item) for item in fields(WeightPolicy)}, name="WeightPolicy"
)


class RoundRequestSchema(ma.Schema):
    k = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=1, max=10))
    overbooking = ma.fields.Float(load_default=1.0, validate=ma.validate.Range(min=1.0, max=5.0))
    policy = ma.fields.Nested(
        PolicySchema,
        load_default=dict,
        metadata={"description": 'Weight-policy overrides, e.g. {"bonus_micro": 0.5}; see matchmaker/weights.py'},
    )
    dry_run = ma.fields.Boolean(load_default=False)


class RoundSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    params = ma.fields.Dict()
    stats = ma.fields.Dict(
        metadata={"description": "needs, products, edges, proposals, objective, upper_bound, gap, solver, seconds"}
    )
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


@blp.route("/rounds")
class Rounds(MethodView):
    @protected(blp, "admin")
    @blp.arguments(RoundRequestSchema)
    @blp.response(201, RoundSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Another round is running")
    @blp.alt_response(503, response="DEFAULT_ERROR", description="No active scoring model")
    @links(
        blp,
        201,
        ReadRound=to(ROUND, "The round's parameters and figures", round_id="$response.body#/id"),
        ReadPendingProposals=to(
            "GET /api/v1/proposals", "What each bank now finds among its pending proposals", status="pending"
        ),
    )
    def post(self, body: dict[str, Any]) -> MatchingRound:
        """Run a round over all open needs and active products (or only compute it, with dry_run)."""
        account = require_roles("admin")
        try:
            params = RoundParams(**body)
            return run_round(
                current_app.extensions["session_factory"],
                params,
                Path(current_app.config["ROUND_DIR"]),
                account_id=account.id,
            )
        except PolicyError as error:
            abort(422, message="invalid weight policy", errors={"json": {"policy": error.errors}})
        except RoundInProgress as error:
            abort(409, message=str(error))
        except ScoringUnavailable as error:
            abort(503, message=f"Scoring is not available: {error}")

    @protected(blp, "admin", "regulator")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(RoundSchema, "RoundList"))
    @links(blp, 200, ReadNewestRound=to(ROUND, "The newest round on the page", round_id="$response.body#/items/0/id"))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        """Rounds, newest first."""
        query = select(MatchingRound).order_by(MatchingRound.id.desc())
        rows = session().scalars(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).all()
        total = session().scalar(select(func.count()).select_from(MatchingRound)) or 0
        return {"items": rows, "total": total, **args}


@blp.route("/rounds/<int(max=2147483647):round_id>")
class Round(MethodView):
    @protected(blp, "admin", "regulator")
    @blp.response(200, RoundSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No such round")
    def get(self, round_id: int) -> MatchingRound:
        """A round's parameters and figures."""
        row = session().get(MatchingRound, round_id)
        if row is None:
            abort(404, message="no such round")
        return row
