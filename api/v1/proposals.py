"""Banks: the proposals made to their products, and their decisions on them (accept, reject, grant).

A proposal of another bank answers 404 as if it did not exist, and nothing is written. A refused decision
(``matchmaker.decisions.DecisionError``) answers its status — 409 when the proposal, the need or the quota
forbids it now, 422 for bad input — with the fields named; nothing is written either."""

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from accounts.models import Account
from api.auth import protected, require_roles
from api.database import session
from api.idempotency import idempotent
from api.v1.links import links, to
from api.v1.loans import loan_links
from api.v1.schemas import ApiBlueprint, PageArgs, page_of
from matchmaker.bank_view import bank_proposal_view, bank_proposals, own_proposal
from matchmaker.decision_schemas import GrantSchema, RejectSchema
from matchmaker.decisions import DecisionError, accept, grant, reject
from matchmaker.models import Proposal
from reference.codes import PROPOSAL_STATUSES, codes

blp = ApiBlueprint("proposals", __name__, description="Banks: proposals made to their products, and decisions")

PROPOSAL_ID = "<int(min=1, max=2147483647):proposal_id>"
PROPOSAL = "/api/v1/proposals/{proposal_id}"


def decisions(proposal_id: str, *, accepted: bool = False) -> dict[str, dict[str, Any]]:
    """Links to the decisions a bank may take on the proposal whose id is at ``proposal_id`` (an expression);
    an accepted proposal can still be rejected or granted."""
    taken = {
        "Accept": to(f"POST {PROPOSAL}/accept", "Take the proposal up", proposal_id=proposal_id),
        "Reject": to(f"POST {PROPOSAL}/reject", "Decline it with a reason", proposal_id=proposal_id),
        "Grant": to(f"POST {PROPOSAL}/grant", "Grant credit on it", proposal_id=proposal_id),
    }
    if accepted:
        del taken["Accept"]
    return taken


class ProposalQueryArgs(PageArgs):
    status = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(codes(PROPOSAL_STATUSES))),
        metadata={"description": "Only proposals in these statuses (repeat the parameter for several)"},
    )


class ProposalEnterpriseSchema(ma.Schema):
    name = ma.fields.String()
    size_class = ma.fields.String()
    industry = ma.fields.String()
    region = ma.fields.String()
    first_time_borrower = ma.fields.Boolean(metadata={"description": "No loan on the platform yet (首贷户)"})


class ProposalNeedSchema(ma.Schema):
    id = ma.fields.Integer()
    amount = ma.fields.Integer(metadata={"description": "Yuan"})
    term_months = ma.fields.Integer()
    purpose = ma.fields.String()
    collateral_offered = ma.fields.List(ma.fields.String())
    needed_by = ma.fields.Date()
    status = ma.fields.String()


class DecisionSchema(ma.Schema):
    decision = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    note = ma.fields.String()
    decided_at = ma.fields.DateTime()


class BankProposalSchema(ma.Schema):
    id = ma.fields.Integer()
    round_id = ma.fields.Integer()
    status = ma.fields.String()
    rank = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    days_waiting = ma.fields.Integer(metadata={"description": "Whole days since the proposal was made"})
    product_id = ma.fields.Integer()
    product_name = ma.fields.String()
    rate_min = ma.fields.Float()
    rate_max = ma.fields.Float()
    score = ma.fields.Dict(allow_none=True, metadata={"description": "pd, score, grade and reasons at proposal time"})
    explanation = ma.fields.Dict(metadata={"description": "rules_passed, positive and negative factors (zh, en)"})
    enterprise = ma.fields.Nested(ProposalEnterpriseSchema)
    need = ma.fields.Nested(ProposalNeedSchema)
    decision = ma.fields.Nested(DecisionSchema, allow_none=True, metadata={"description": "The latest decision"})
    loan_id = ma.fields.Integer(allow_none=True, metadata={"description": "The loan, once granted"})


def own_or_404(account: Account, proposal_id: int) -> Proposal:
    proposal = own_proposal(session(), account.bank_id, proposal_id)
    if proposal is None:
        abort(404, message="No such proposal.")
    return proposal


def decide(proposal_id: int, act: Callable[[Proposal, Account], object]) -> dict[str, Any]:
    """Apply a decision to one of the caller's proposals and answer the proposal as it is now. Nothing is
    committed here: ``@idempotent`` commits once the answer is built."""
    account = require_roles("bank")
    proposal = own_or_404(account, proposal_id)
    try:
        act(proposal, account)
    except DecisionError as error:
        session().rollback()
        abort(error.status, message=error.message, errors={"json": error.errors})
    return bank_proposal_view(session(), proposal)


def refusals(func: Callable[..., Any]) -> Callable[..., Any]:
    """Document the answers every decision may give besides success."""
    func = blp.alt_response(404, response="DEFAULT_ERROR", description="Not a proposal made to your bank")(func)
    return blp.alt_response(409, response="DEFAULT_ERROR", description="The proposal or the need is decided")(func)


@blp.route("")
class Proposals(MethodView):
    @protected(blp, "bank")
    @blp.arguments(ProposalQueryArgs, location="query")
    @blp.response(200, page_of(BankProposalSchema, "BankProposalList"))
    @links(
        blp,
        200,
        ReadLongestWaiting=to(
            f"GET {PROPOSAL}", "The longest waiting proposal", proposal_id="$response.body#/items/0/id"
        ),
        **decisions("$response.body#/items/0/id"),
        **loan_links("$response.body#/items/0/loan_id"),
    )
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The proposals made to your bank's products, longest waiting first."""
        account = require_roles("bank")
        items, total = bank_proposals(session(), account.bank_id, args.get("status"), args["page"], args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route(f"/{PROPOSAL_ID}")
class ProposalById(MethodView):
    @protected(blp, "bank")
    @blp.response(200, BankProposalSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not a proposal made to your bank")
    @links(blp, 200, **decisions("$response.body#/id"), **loan_links("$response.body#/loan_id"))
    def get(self, proposal_id: int) -> dict[str, Any]:
        """One proposal made to your bank."""
        proposal = own_or_404(require_roles("bank"), proposal_id)
        return bank_proposal_view(session(), proposal)


@blp.route(f"/{PROPOSAL_ID}/accept", methods=["POST"])
@protected(blp, "bank")
@idempotent(blp)
@blp.response(200, BankProposalSchema)
@refusals
@links(blp, 200, **decisions("$response.body#/id", accepted=True))
def accept_proposal(proposal_id: int) -> dict[str, Any]:
    """Take the proposal up: your bank will contact the enterprise."""
    return decide(proposal_id, lambda proposal, account: accept(session(), proposal, account))


@blp.route(f"/{PROPOSAL_ID}/reject", methods=["POST"])
@protected(blp, "bank")
@idempotent(blp)
@blp.arguments(RejectSchema)
@blp.response(200, BankProposalSchema)
@refusals
def reject_proposal(body: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Decline a pending or accepted proposal with a reason code (and a note for 'other'); the enterprise
    sees the reason."""
    return decide(proposal_id, lambda proposal, account: reject(session(), proposal, account, **body))


@blp.route(f"/{PROPOSAL_ID}/grant", methods=["POST"])
@protected(blp, "bank")
@idempotent(blp)
@blp.arguments(GrantSchema)
@blp.response(201, BankProposalSchema)
@refusals
@links(blp, 201, **loan_links("$response.body#/loan_id"))
def grant_proposal(body: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Grant credit on a pending or accepted proposal (possibly less than the need); answers the proposal
    with its ``loan_id``. 409 when the product's remaining quota is too small."""
    return decide(proposal_id, lambda proposal, account: grant(session(), proposal, account, **body))
