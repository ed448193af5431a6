"""An SME's financing needs."""

from typing import Any

from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import func, select

from api.auth import protected
from api.database import session
from api.v1.enterprises import fail, own_enterprise
from api.v1.schemas import ApiBlueprint, PageArgs, page_of
from enterprises.errors import EnterpriseError
from enterprises.models import FinancingNeed
from enterprises.schemas import NeedSchema
from enterprises.service import create_need, own_need, withdraw_need

blp = ApiBlueprint("needs", __name__, description="SMEs: financing needs")


NeedListSchema = page_of(NeedSchema, "NeedList")


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
        return {"items": list(items), "total": total, **args}

    @protected(blp, "sme")
    @blp.arguments(NeedSchema)
    @blp.response(201, NeedSchema)
    def post(self, data: dict[str, Any]) -> FinancingNeed:
        """Submit a financing need (amount in integer yuan)."""
        need = create_need(session(), own_enterprise(), data)
        session().commit()
        return need


@blp.route("/<int:need_id>")
class Need(MethodView):
    @protected(blp, "sme")
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not one of the caller's needs")
    def get(self, need_id: int) -> FinancingNeed:
        """One of the caller's needs."""
        return need_or_404(need_id)


@blp.route("/<int:need_id>/withdraw")
class Withdraw(MethodView):
    @protected(blp, "sme")
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not one of the caller's needs")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="The need is no longer open")
    def post(self, need_id: int) -> FinancingNeed:
        """Withdraw an open need."""
        need = need_or_404(need_id)
        try:
            withdraw_need(session(), need)
        except EnterpriseError as error:
            fail(error)
        session().commit()
        return need
