"""Banks: their loans and the later events they report to the credit ledger (disbursed, repaid, overdue,
defaulted, renewed, corrected). Another bank's loan answers 404 as if it did not exist; a refused event
(``matchmaker.ledger.LedgerError``) answers its status with the fields named, and writes nothing."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import select

from accounts.models import Account
from api.auth import protected, require_roles
from api.database import session
from api.v1.schemas import ApiBlueprint
from matchmaker.decision_schemas import CreditEventSchema
from matchmaker.ledger import LedgerError, record_event
from matchmaker.models import CreditEvent, Loan

blp = ApiBlueprint("loans", __name__, description="Banks: loans granted and their credit events")

LOAN_ID = "<int(min=1, max=2147483647):loan_id>"


class CreditEventOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    amount = ma.fields.Integer()
    balance_before = ma.fields.Integer()
    balance_after = ma.fields.Integer()
    term_months = ma.fields.Integer(allow_none=True)
    corrects_event_id = ma.fields.Integer(allow_none=True)
    occurred_on = ma.fields.Date()
    recorded_at = ma.fields.DateTime()
    note = ma.fields.String()


class LoanSchema(ma.Schema):
    id = ma.fields.Integer()
    proposal_id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    product_id = ma.fields.Integer()
    bank_id = ma.fields.Integer()
    amount = ma.fields.Integer(metadata={"description": "Yuan, as granted (corrections live in the events)"})
    rate = ma.fields.Float()
    term_months = ma.fields.Integer()
    granted_on = ma.fields.Date()
    kind = ma.fields.String()
    outstanding = ma.fields.Integer()
    status = ma.fields.String()
    events = ma.fields.List(ma.fields.Nested(CreditEventOut), metadata={"description": "Oldest first"})


def own_loan(account: Account, loan_id: int) -> Loan:
    loan = session().scalar(select(Loan).where(Loan.id == loan_id, Loan.bank_id == account.bank_id))
    if loan is None:
        abort(404, message="No such loan.")
    return loan


def loan_view(loan: Loan) -> dict[str, Any]:
    events = session().scalars(select(CreditEvent).where(CreditEvent.loan_id == loan.id).order_by(CreditEvent.id))
    return {name: getattr(loan, name) for name in LoanSchema().fields if name != "events"} | {"events": list(events)}


@blp.route(f"/{LOAN_ID}")
class LoanById(MethodView):
    @protected(blp, "bank")
    @blp.response(200, LoanSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Not a loan of your bank")
    def get(self, loan_id: int) -> dict[str, Any]:
        """One of your bank's loans with its ledger."""
        return loan_view(own_loan(require_roles("bank"), loan_id))


@blp.route(f"/{LOAN_ID}/events", methods=["POST"])
@protected(blp, "bank")
@blp.arguments(CreditEventSchema)
@blp.response(201, LoanSchema)
@blp.alt_response(404, response="DEFAULT_ERROR", description="Not a loan of your bank")
@blp.alt_response(409, response="DEFAULT_ERROR", description="The product's quota forbids a grant correction")
def report_event(body: dict[str, Any], loan_id: int) -> dict[str, Any]:
    """Report a later event of one of your loans; answers the loan with its new balance and ledger."""
    account = require_roles("bank")
    loan = own_loan(account, loan_id)
    corrects_id = body.pop("corrects_event_id")
    corrects = None
    if corrects_id is not None:
        corrects = session().get(CreditEvent, corrects_id)
        if corrects is None or corrects.loan_id != loan.id:
            abort(
                422,
                message="the event is not valid",
                errors={"json": {"corrects_event_id": ["no such event on this loan"]}},
            )
    try:
        record_event(session(), loan, actor=account, corrects=corrects, **body)
    except LedgerError as error:
        session().rollback()
        abort(error.status, message=error.message, errors={"json": error.errors})
    session().commit()
    return loan_view(loan)
