"""The bank portal: a signed-in bank account manages its own products (pause, resume, withdraw), uploads
a CSV/JSON file of products and downloads them as CSV, and decides on the proposals made to it, each on a
page of its own (accept, reject with a reason, grant). Another bank's product or proposal is answered with
404, as if it did not exist."""

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial, wraps
from math import ceil
from typing import Any, Literal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema
from werkzeug.datastructures import FileStorage

from accounts.models import Account, Role
from api.auth import cookie_account
from api.database import session
from api.formatting import YUAN_PER_WAN, rate, wan
from api.pages.forms import FormField, load, localise, typed_values
from api.pages.layout import locale_name, product_status_filter
from api.v1.schemas import MAX_PAGE
from matchmaker.bank_view import OPEN_STATUSES, bank_proposal_view, bank_proposals, own_proposal
from matchmaker.decision_schemas import GrantSchema, RejectSchema
from matchmaker.decisions import DecisionError, accept, grant, reject
from matchmaker.models import Loan, Proposal
from products.catalogue import bank_products
from products.csv_format import COLUMNS
from products.errors import ProductError
from products.exporting import export_csv
from products.importing import ImportRejected, import_products, parse_csv, parse_json
from products.models import Bank, LoanProduct
from products.service import update_product, withdraw_product
from reference.china_time import china_today
from reference.codes import LOAN_KINDS, REJECT_REASONS, label

bp = Blueprint("portal", __name__, url_prefix="/portal")

# Button → the status it sets; withdrawing has its own service function (it is final).
STATUS_ACTIONS = {"pause": "paused", "activate": "active"}
PARSERS = {"csv": parse_csv, "json": parse_json}


def bank_account_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Anonymous visitors are sent to sign in (and brought back); other roles get 403."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        account = cookie_account()
        if account is None:
            flash(_("Please sign in with your bank's access token."), "info")
            back = request.path if request.method == "GET" else url_for("portal.index")
            return redirect(url_for("session_pages.login", next=back))
        if account.role != Role.BANK or account.bank_id is None:
            abort(403, _("The bank portal is only for bank accounts."))
        return view(account, *args, **kwargs)

    return wrapper


def _own_product(account: Account, product_id: int) -> LoanProduct:
    product = session().get(LoanProduct, product_id)
    if product is None or product.bank_id != account.bank_id:
        abort(404, _("You have no product with this number."))
    return product


def _page(account: Account, status: int = 200, **context: Any) -> tuple[str, int]:
    show_withdrawn = request.args.get("withdrawn") == "1"
    html = render_template(
        "portal/index.html",
        bank=session().get(Bank, account.bank_id),
        products=bank_products(session(), account.bank_id, include_withdrawn=show_withdrawn),
        show_withdrawn=show_withdrawn,
        **context,
    )
    return html, status


@bp.get("")
@bank_account_required
def index(account: Account) -> tuple[str, int]:
    return _page(account)


@bp.post("/products/<int(max=2147483647):product_id>/<any(pause, activate, withdraw):action>")
@bank_account_required
def change_status(account: Account, product_id: int, action: str) -> Any:
    product = _own_product(account, product_id)
    name = product.name
    try:
        if action == "withdraw":
            withdraw_product(session(), product, actor=account)
        else:
            update_product(session(), product, {"status": STATUS_ACTIONS[action]}, actor=account)
    except ProductError as error:
        session().rollback()
        flash(_("%(name)s was not changed: %(reason)s", name=name, reason=error.message), "error")
        return _page(account, error.status)
    session().commit()
    flash(_("%(name)s is now: %(status)s.", name=product.name, status=product_status_filter(product.status)), "success")
    return redirect(url_for("portal.index"))


def _kind(upload: FileStorage) -> Literal["csv", "json"]:
    """JSON when the file says so, else CSV (whose parser explains an Excel workbook or a binary file)."""
    is_json = (upload.filename or "").lower().endswith(".json") or upload.mimetype == "application/json"
    return "json" if is_json else "csv"


def import_problems(rejected: ImportRejected, columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """A refused file's problems for the page: the column as the file wrote it (else its header in the page's
    language, ``columns`` giving the Chinese ones) and the message in the page's language."""
    return [
        {
            "line": error.line,
            "column": error.column or (error.field if locale_name() == "en" else columns.get(error.field, error.field)),
            "message": localise(error.message),
        }
        for error in rejected.errors
    ]


@bp.post("/import")
@bank_account_required
def import_file(account: Account) -> tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(account, 422, upload_error=_("Choose a file to upload."))
    dry_run = request.form.get("dry_run") == "1"
    try:
        result = import_products(session(), account.bank_id, PARSERS[_kind(upload)](upload.read()), actor=account)
    except ImportRejected as rejected:
        session().rollback()
        return _page(account, 422, problems=import_problems(rejected, COLUMNS), filename=upload.filename)
    if dry_run:
        session().rollback()
    else:
        session().commit()
    return _page(account, result=result, dry_run=dry_run, filename=upload.filename)


@bp.get("/export.csv")
@bank_account_required
def export(account: Account) -> Response:
    """The same CSV as the API's export, for the cookie session; the headers follow the page language."""
    bank = session().get_one(Bank, account.bank_id)
    products = bank_products(session(), bank.id, include_withdrawn=request.args.get("withdrawn") == "1")
    text = export_csv(products, headers="en" if locale_name() == "en" else "zh")
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="products-{bank.code}.csv"'}
    )


REJECT_FIELDS = [
    FormField("reason", _l("Reason"), "select", True, choices=REJECT_REASONS),
    FormField("note", _l("Note (the enterprise sees it; required for “other”)"), "textarea"),
]
GRANT_FIELDS = [
    FormField("amount", _l("Amount (10,000 yuan)"), "wan", True),
    FormField("rate", _l("Annual rate (%)"), "rate", True),
    FormField("term_months", _l("Term (months)"), "int", True),
    FormField("granted_on", _l("Grant date"), "date", True),
    FormField("kind", _l("Kind of loan"), "select", True, choices=LOAN_KINDS),
]
DECISION_FORMS: dict[str, tuple[list[FormField], type[Schema] | None]] = {
    "accept": ([], None),
    "reject": (REJECT_FIELDS, RejectSchema),
    "grant": (GRANT_FIELDS, GrantSchema),
}
PROPOSALS_PER_PAGE = 50


def grant_defaults(item: dict[str, Any]) -> dict[str, str]:
    """The grant form as first shown: the need as asked, the proposal's lowest rate, today."""
    return {
        "amount": str(Decimal(item["need"]["amount"]) / YUAN_PER_WAN),  # exact: wan() rounds to 100 yuan
        "rate": str(item["rate_min"]),
        "term_months": str(item["need"]["term_months"]),
        "granted_on": china_today().isoformat(),
        "kind": "first_loan" if item["enterprise"]["first_time_borrower"] else "new_loan",
    }


@bp.get("/proposals")
@bank_account_required
def proposals(account: Account) -> tuple[str, int]:
    """The bank's open proposals (pending or accepted), longest waiting first, each linked to its own page."""
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    items, total = bank_proposals(session(), account.bank_id, list(OPEN_STATUSES), page, PROPOSALS_PER_PAGE)
    html = render_template(
        "portal/proposals.html",
        bank=session().get(Bank, account.bank_id),
        items=items,
        total=total,
        page=page,
        pages=max(ceil(total / PROPOSALS_PER_PAGE), 1),
    )
    return html, 200


def _own_proposal(account: Account, proposal_id: int) -> Proposal:
    proposal = own_proposal(session(), account.bank_id, proposal_id)
    if proposal is None:
        abort(404, _("No proposal with this number was made to your bank."))
    return proposal


def _proposal_page(proposal: Proposal, status: int = 200, **failed: Any) -> tuple[str, int]:
    """One proposal: the enterprise, its need, the score and why the match; the decision forms while it is
    open, the decision taken (and the credit granted) once it is not. ``failed`` holds the form that was
    refused (action, values, errors, message) to show it again with its errors."""
    item = bank_proposal_view(session(), proposal)
    decision = item["decision"]
    html = render_template(
        "portal/proposal.html",
        item=item,
        loan=loan_facts(session().get_one(Loan, item["loan_id"])) if item["loan_id"] else None,
        reason=label(REJECT_REASONS, decision["reason"], locale_name()) if decision and decision["reason"] else "",
        reject_fields=REJECT_FIELDS,
        grant_fields=GRANT_FIELDS,
        grant_values=grant_defaults(item),
        failed=failed,
    )
    return html, status


def loan_facts(loan: Loan) -> dict[str, str]:
    """The loan as granted, as text for the page, under the names of the grant form's fields."""
    return {
        "amount": wan(loan.amount),
        "rate": rate(loan.rate),
        "term_months": str(loan.term_months),
        "granted_on": loan.granted_on.isoformat(),
        "kind": label(LOAN_KINDS, loan.kind, locale_name()),
    }


@bp.get("/proposals/<int(max=2147483647):proposal_id>")
@bank_account_required
def proposal_page(account: Account, proposal_id: int) -> tuple[str, int]:
    return _proposal_page(_own_proposal(account, proposal_id))


@bp.post("/proposals/<int(max=2147483647):proposal_id>/<any(accept, reject, grant):action>")
@bank_account_required
def decide(account: Account, proposal_id: int, action: str) -> Any:
    """The same domain decisions as the API, from the proposal page's forms; a refusal shows the page again
    with the form as typed and the errors beside its fields; a decision taken shows the proposal as it is now."""
    proposal = _own_proposal(account, proposal_id)
    fields, schema = DECISION_FORMS[action]
    data, errors = load(schema(), fields, request.form) if schema else ({}, {})
    refused = partial(_proposal_page, proposal, action=action)
    if errors:
        return refused(422, values=typed_values(fields, request.form), errors=errors)
    try:
        if action == "accept":
            accept(session(), proposal, account)
        elif action == "reject":
            reject(session(), proposal, account, **data)
        else:
            grant(session(), proposal, account, **data)
    except DecisionError as error:
        session().rollback()
        messages = {name: localise(problems[0]) for name, problems in error.errors.items() if problems}
        return refused(
            error.status, values=typed_values(fields, request.form), errors=messages, message=localise(error.message)
        )
    session().commit()
    flash(DONE[action](), "success")
    return redirect(url_for("portal.proposal_page", proposal_id=proposal_id))


DONE = {
    "accept": lambda: _("Proposal taken up: contact the enterprise."),
    "reject": lambda: _("Proposal declined; the enterprise sees your reason."),
    "grant": lambda: _("Credit granted and recorded in the ledger."),
}
