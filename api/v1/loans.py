"""Banks: their loans and the later events they report to the credit ledger (disbursed, repaid, overdue,
defaulted, renewed, corrected), one at a time or as a CSV file (``matchmaker.ledger_import``, all or nothing,
its bad lines listed). Another bank's loan answers 404 as if it did not exist; a refused event
(``matchmaker.ledger.LedgerError``) answers its status with the fields named, and writes nothing."""

from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import select

from accounts.models import Account
from api.auth import protected, require_roles
from api.database import session
from api.idempotency import idempotent
from api.v1.links import links, to
from api.v1.schemas import ApiBlueprint, ImportArgs
from matchmaker.decision_schemas import CreditEventSchema
from matchmaker.ledger import LedgerError, record_event
from matchmaker.ledger_import import NO_SUCH_EVENT, import_events, parse_events_csv
from matchmaker.models import CreditEvent, Loan
from products.importing import ImportRejected, RowError

blp = ApiBlueprint("loans", __name__, description="Banks: loans granted and their credit events")

LOAN_ID = "<int(min=1, max=2147483647):loan_id>"
LOAN = "/api/v1/loans/{loan_id}"


def loan_links(loan_id: str) -> dict[str, dict[str, Any]]:
    """Links to the loan whose id is at ``loan_id`` (an expression): read it, report its next event, read its
    audit trail."""
    return {
        "ReadLoan": to(f"GET {LOAN}", "The loan with its ledger", loan_id=loan_id),
        "ReportLoanEvent": to(f"POST {LOAN}/events", "Report the loan's next event", loan_id=loan_id),
        "ReadAuditTrail": to(
            "GET /api/v1/audit", "Its changes (operators, regulators)", entity_kind="loan", entity_id=loan_id
        ),
    }


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
    @links(blp, 200, ReportLoanEvent=loan_links("$response.body#/id")["ReportLoanEvent"])
    def get(self, loan_id: int) -> dict[str, Any]:
        """One of your bank's loans with its ledger."""
        return loan_view(own_loan(require_roles("bank"), loan_id))


@blp.route(f"/{LOAN_ID}/events", methods=["POST"])
@protected(blp, "bank")
@idempotent(blp)
@blp.arguments(CreditEventSchema)
@blp.response(201, LoanSchema)
@blp.alt_response(404, response="DEFAULT_ERROR", description="Not a loan of your bank")
@blp.alt_response(409, response="DEFAULT_ERROR", description="The product's quota forbids a grant correction")
@links(blp, 201, **loan_links("$response.body#/id"))
def report_event(body: dict[str, Any], loan_id: int) -> dict[str, Any]:
    """Report a later event of one of your loans; answers the loan with its new balance and ledger (committed
    by ``@idempotent`` once the answer is built)."""
    account = require_roles("bank")
    loan = own_loan(account, loan_id)
    corrects_id = body.pop("corrects_event_id")
    corrects = None
    if corrects_id is not None:
        corrects = session().get(CreditEvent, corrects_id)
        if corrects is None or corrects.loan_id != loan.id:
            abort(
                422,
                message="信贷事件无效 / the event is not valid",
                errors={"json": {"corrects_event_id": [NO_SUCH_EVENT]}},
            )
    try:
        record_event(session(), loan, actor=account, corrects=corrects, **body)
    except LedgerError as error:
        session().rollback()
        abort(error.status, message=error.message, errors={"json": error.errors})
    return loan_view(loan)


EVENTS_UPLOAD_BODY = {
    "required": True,
    "description": (
        "A CSV file of loan events, one per line (columns `loan_id, kind, amount, occurred_on` and optionally "
        "`note, corrects_event_id, term_months`; English or Chinese headers; UTF-8 with or without BOM, or "
        "GB18030), as the multipart field `file` or as a text/csv body. Lines are recorded in file order."
    ),
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


class RecordedEventOut(CreditEventOut):
    loan_id = ma.fields.Integer()


class EventsImportResultSchema(ma.Schema):
    recorded = ma.fields.Integer(
        required=True, metadata={"description": "Events written (on a dry run: that would be written)"}
    )
    dry_run = ma.fields.Boolean(required=True)
    items = ma.fields.List(ma.fields.Nested(RecordedEventOut), required=True, metadata={"description": "In file order"})


def _uploaded_csv() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            message = "请在 multipart 字段 file 中上传文件 / send the file in the multipart field 'file'"
            abort(422, message=message, errors={"rows": [RowError(None, "file", message).as_dict()]})
        return upload.read()
    if request.mimetype == "text/csv":
        return request.get_data()
    abort(
        415, message="请以 multipart/form-data 的 file 字段或 text/csv 正文上传 / send multipart/form-data or text/csv"
    )


@blp.route("/events/import", methods=["POST"])
@protected(blp, "bank")
@idempotent(blp)
@blp.doc(requestBody=EVENTS_UPLOAD_BODY)
@blp.arguments(ImportArgs, location="query")
@blp.response(200, EventsImportResultSchema)
@blp.alt_response(413, response="DEFAULT_ERROR", description="The file is larger than the upload limit")
@blp.alt_response(415, response="DEFAULT_ERROR", description="Neither multipart/form-data nor text/csv")
@blp.alt_response(
    422,
    response="DEFAULT_ERROR",
    description='The file was refused, nothing was written; `errors.rows` lists `{"line", "field", "message"}`',
)
@links(blp, 200, **loan_links("$response.body#/items/0/loan_id"))
def import_events_file(args: dict[str, Any]) -> Response:
    """Report many events of your loans from a CSV file, in one transaction (all or nothing)"""
    account = require_roles("bank")
    data = _uploaded_csv()
    # A savepoint, so that a dry run undoes the events and keeps what @idempotent wrote (it commits the rest).
    with session().begin_nested() as events_written:
        try:
            events = import_events(session(), account, parse_events_csv(data))
        except ImportRejected as error:
            abort(422, message=error.message, errors={"rows": [row.as_dict() for row in error.errors]})
        # Dumped before a dry run's rollback takes the would-be values away from the objects.
        answer = EventsImportResultSchema().dump({"recorded": len(events), "dry_run": args["dry_run"], "items": events})
        if args["dry_run"]:
            events_written.rollback()
    return jsonify(answer)
