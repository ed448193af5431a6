"""An SME's financing needs."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import func, select

from api.auth import protected
from api.database import session
from api.v1.enterprises import fail, own_enterprise
from api.v1.links import links, to
from api.v1.schemas import ApiBlueprint, PageArgs, page_of
from enterprises.errors import EnterpriseError
from enterprises.models import FinancingNeed
from enterprises.schemas import NeedSchema
from enterprises.service import create_need, own_need, withdraw_need
from matchmaker.need_view import eligibility_advice, proposal_view, proposals_by_need

blp = ApiBlueprint("needs", __name__, description="SMEs: financing needs")


class OutcomeDecisionSchema(ma.Schema):
    decision = ma.fields.String()
    decided_at = ma.fields.DateTime()
    reason = ma.fields.String(allow_none=True, metadata={"description": "A rejection's reason code"})
    reason_text = ma.fields.Dict(allow_none=True, metadata={"description": "The reason in plain words (zh, en)"})
    note = ma.fields.String(metadata={"description": "The bank's note"})


class GrantedLoanSchema(ma.Schema):
    amount = ma.fields.Integer(metadata={"description": "Yuan; may be less than the need"})
    rate = ma.fields.Float()
    term_months = ma.fields.Integer()
    granted_on = ma.fields.Date()
    kind = ma.fields.String()


class ProposalSchema(ma.Schema):
    id = ma.fields.Integer()
    round_id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    product_id = ma.fields.Integer()
    product_name = ma.fields.String()
    product_type = ma.fields.String()
    bank_id = ma.fields.Integer()
    bank_name = ma.fields.String()
    rank = ma.fields.Integer()
    weight = ma.fields.Float()
    status = ma.fields.String()
    rate_min = ma.fields.Float(metadata={"description": "Expected annual rate range for this applicant (a guide)"})
    rate_max = ma.fields.Float()
    explanation = ma.fields.Dict(metadata={"description": "rules_passed, positive and negative factors (zh, en)"})
    score = ma.fields.Dict(allow_none=True, metadata={"description": "The enterprise's score and reasons then"})
    next_step = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    decision = ma.fields.Nested(OutcomeDecisionSchema, allow_none=True, metadata={"description": "The latest"})
    loan = ma.fields.Nested(GrantedLoanSchema, allow_none=True, metadata={"description": "The credit granted"})


class AdviceSchema(ma.Schema):
    eligible_products = ma.fields.Integer()
    suggestions = ma.fields.List(ma.fields.Dict(), metadata={"description": "What would make the need eligible"})


class NeedDetailSchema(NeedSchema):
    proposals = ma.fields.List(ma.fields.Nested(ProposalSchema), dump_only=True)
    advice = ma.fields.Nested(AdviceSchema, allow_none=True, dump_only=True)


NeedListSchema = page_of(NeedDetailSchema, "NeedList")


NEED_FIELDS = list(NeedSchema().fields)
NEED = "GET /api/v1/needs/{need_id}"
WITHDRAW = "POST /api/v1/needs/{need_id}/withdraw"


def with_proposals(needs: list[FinancingNeed]) -> list[dict[str, Any]]:
    grouped = proposals_by_need(session(), [need.id for need in needs])
    return [
        {
            **{name: getattr(need, name) for name in NEED_FIELDS},
            "proposals": [proposal_view(p) for p in grouped[need.id]],
            "advice": None,
        }
        for need in needs
    ]


def need_or_404(need_id: int) -> FinancingNeed:
    need = own_need(session(), own_enterprise().id, need_id)
    if need is None:
        abort(404, message="no such need")
    return need


@blp.route("")
class Needs(MethodView):
    @protected(blp, "sme")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, NeedListSchema)
    @links(blp, 200, ReadNewestNeed=to(NEED, "The newest need on the page", need_id="$response.body#/items/0/id"))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        """The caller's needs, newest first."""
        enterprise_id = own_enterprise().id
        query = select(FinancingNeed).where(FinancingNeed.enterprise_id == enterprise_id)
        total = session().scalar(select(func.count()).select_from(query.subquery())) or 0
        items = session().scalars(
            query.order_by(FinancingNeed.id.desc())
            .limit(args["per_page"])
            .offset((args["page"] - 1) * args["per_page"])
        )
        return {"items": with_proposals(list(items)), "total": total, **args}

    @protected(blp, "sme")
    @blp.arguments(NeedSchema)
    @blp.response(201, NeedSchema)
    @links(
        blp,
        201,
        ReadNeed=to(NEED, "The need with its proposals and advice", need_id="$response.body#/id"),
        WithdrawNeed=to(WITHDRAW, "Withdraw the need while it is open", need_id="$response.body#/id"),
    )
    def post(self, data: dict[str, Any]) -> FinancingNeed:
        """Submit a financing need (amount in integer yuan)."""
        need = create_need(session(), own_enterprise(), data)
        session().commit()
        return need


@blp.route("/<int(max=2147483647):need_id>")
class Need(MethodView):
    @protected(blp, "sme")
    @blp.response(200, NeedDetailSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not one of the caller's needs")
    @links(blp, 200, WithdrawNeed=to(WITHDRAW, "Withdraw the need while it is open", need_id="$response.body#/id"))
    def get(self, need_id: int) -> dict[str, Any]:
        """One of the caller's needs with its proposals; an open need also says how many products accept it
        now and, when none does, what would make it eligible."""
        need = need_or_404(need_id)
        [detail] = with_proposals([need])
        if need.status == "open":
            detail["advice"] = eligibility_advice(session(), need)
            session().commit()  # the score it may have computed
        return detail


@blp.route("/<int(max=2147483647):need_id>/withdraw")
class Withdraw(MethodView):
    @protected(blp, "sme")
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not one of the caller's needs")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="The need is no longer open")
    @links(blp, 200, ReadNeed=to(NEED, "The withdrawn need", need_id="$response.body#/id"))
    def post(self, need_id: int) -> FinancingNeed:
        """Withdraw an open need."""
        need = need_or_404(need_id)
        try:
            withdraw_need(session(), need)
        except EnterpriseError as error:
            fail(error)
        session().commit()
        return need
