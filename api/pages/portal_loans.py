"""The bank portal's loans page: the bank's loans with their balances, the upload of a CSV file of later loan
events (all or nothing, ``matchmaker.ledger_import``) with its result or every bad line, and a template to fill
in. Another bank's loan named in a file is "no such loan" on its line."""

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from accounts.models import Account
from api.database import session
from api.pages.layout import locale_name
from api.pages.portal import bank_account_required, import_problems
from matchmaker.ledger_import import COLUMNS, bank_loans, import_events, parse_events_csv, template_csv
from matchmaker.models import CreditEvent
from products.importing import ImportRejected
from products.models import Bank
from reference.codes import CREDIT_EVENT_KINDS, LOAN_STATUSES, Code

bp = Blueprint("portal_loans", __name__, url_prefix="/portal/loans")

LOANS_SHOWN = 200


def _labels(table: tuple[Code, ...]) -> dict[str, str]:
    return {row.code: row.label(locale_name()) for row in table}


def _page(account: Account, status: int = 200, **context: Any) -> tuple[str, int]:
    html = render_template(
        "portal/loans.html",
        bank=session().get(Bank, account.bank_id),
        loans=bank_loans(session(), account.bank_id, LOANS_SHOWN),
        loans_shown=LOANS_SHOWN,
        columns=COLUMNS,
        loan_statuses=_labels(LOAN_STATUSES),
        event_kinds=_labels(CREDIT_EVENT_KINDS),
        **context,
    )
    return html, status


@bp.get("")
@bank_account_required
def index(account: Account) -> tuple[str, int]:
    return _page(account)


@bp.post("/events/import")
@bank_account_required
def import_file(account: Account) -> tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(account, 422, upload_error=_("Choose a file to upload."))
    dry_run = request.form.get("dry_run") == "1"
    try:
        events = import_events(session(), account, parse_events_csv(upload.read()))
    except ImportRejected as rejected:
        session().rollback()
        return _page(account, 422, problems=import_problems(rejected, COLUMNS), filename=upload.filename)
    recorded = [_event_row(event) for event in events]  # read before a dry run's rollback expires them
    if dry_run:
        session().rollback()
    else:
        session().commit()
    return _page(account, recorded=recorded, dry_run=dry_run, filename=upload.filename)


def _event_row(event: CreditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ("loan_id", "kind", "amount", "balance_before", "balance_after")} | {
        "occurred_on": event.occurred_on
    }


@bp.get("/events-template.csv")
@bank_account_required
def template(account: Account) -> Response:
    """The header line in the page's language and one line per open loan of the bank, its id filled in."""
    loans = [
        item.loan.id for item in bank_loans(session(), account.bank_id, LOANS_SHOWN) if item.loan.status != "repaid"
    ]
    text = template_csv(loans, headers="en" if locale_name() == "en" else "zh")
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="loan-events.csv"'}
    )
