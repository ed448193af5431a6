"""A bank's later loan events from a CSV file into the credit ledger: all or nothing, like the product import.

Each line is one event (``loan_id, kind, amount, occurred_on, note, corrects_event_id, term_months``, with
English or Chinese headers) and goes through ``matchmaker.ledger.record_event`` in file order inside one
transaction, so that a line sees the balance the earlier lines left (a repayment after a disbursement on the
line above). Any bad line refuses the whole file: every bad line is listed with its field and message, and the
caller rolls back. After a refused line the next ones are still checked, against the balances of the lines
that passed, so one upload reports as many problems as it can.

A loan of another bank is reported as "no such loan" on its line, exactly like a loan that does not exist.
Files may be UTF-8 (with or without BOM) or GB18030, which Excel's plain "CSV" writes on Chinese Windows.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Account
from enterprises.models import Enterprise
from matchmaker.decision_schemas import MAX_ID, CreditEventSchema
from matchmaker.ledger import LedgerError, record_event
from matchmaker.models import CreditEvent, Loan
from matchmaker.need_figures import lock_need
from products.csv_format import normalise_header, restore
from products.importing import (
    CsvLayout,
    ImportRejected,
    ParsedRow,
    RowError,
    parse_csv,
    row_error,
    validation_errors,
)
from products.models import LoanProduct
from reference.codes import CREDIT_EVENT_KINDS
from reference.fields import WholeNumber

# English header (the field name) → Chinese header, in the order the template writes them.
COLUMNS: dict[str, str] = {
    "loan_id": "贷款编号",
    "kind": "事件类型",
    "amount": "金额（元）",
    "occurred_on": "发生日期",
    "note": "备注",
    "corrects_event_id": "被更正事件编号",
    "term_months": "续贷新期限（月）",
}
REQUIRED_COLUMNS = ("loan_id", "kind", "amount", "occurred_on")
HEADER_LOOKUP: dict[str, str] = {normalise_header(name): name for name in COLUMNS} | {
    normalise_header(zh): name for name, zh in COLUMNS.items()
}
# A kind may be written as its code (repaid) or its label (还款, Repaid).
_KIND_LOOKUP: dict[str, str] = {
    normalise_header(label): row.code for row in CREDIT_EVENT_KINDS for label in (row.code, row.zh, row.en)
}
NO_SUCH_LOAN = "没有这笔贷款 / no such loan"
NO_SUCH_EVENT = "本笔贷款没有这条事件 / no such event on this loan"


def _read_cell(column: str, cell: str) -> str | None:
    text = restore(cell.strip()).strip()
    if not text:
        return None
    if column == "kind":
        return _KIND_LOOKUP.get(normalise_header(text), text)
    return text


LAYOUT = CsvLayout("loan event", HEADER_LOOKUP, COLUMNS, REQUIRED_COLUMNS, _read_cell, fallback_encoding="gb18030")


class LedgerRowSchema(CreditEventSchema):
    """One line: the loan it reports on, and the event as the single-event API takes it."""

    loan_id = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_ID))


def parse_events_csv(data: bytes) -> list[ParsedRow]:
    """The file's lines keyed by field name (empty cells left out); ImportRejected for a file that is not
    readable as a loan-event CSV (encoding, header, shape)."""
    return parse_csv(data, LAYOUT)


def import_events(session: Session, account: Account, rows: Iterable[ParsedRow]) -> list[CreditEvent]:
    """Record every line's event for the account's bank, in order. Flushes, never commits; on ImportRejected
    (which lists every bad line) the caller rolls back."""
    schema = LedgerRowSchema()
    events: list[CreditEvent] = []
    errors: list[RowError] = []
    rows = list(rows)
    _lock_corrected_needs(session, account, rows)
    for row in rows:
        try:
            data: dict[str, Any] = schema.load(row.data)
        except ValidationError as error:
            errors.extend(validation_errors(row, error.messages))
            continue
        loan = session.scalar(select(Loan).where(Loan.id == data.pop("loan_id"), Loan.bank_id == account.bank_id))
        if loan is None:
            errors.append(row_error(row, "loan_id", NO_SUCH_LOAN))
            continue
        corrects_id = data.pop("corrects_event_id")
        corrects = session.get(CreditEvent, corrects_id) if corrects_id is not None else None
        if corrects_id is not None and (corrects is None or corrects.loan_id != loan.id):
            errors.append(row_error(row, "corrects_event_id", NO_SUCH_EVENT))
            continue
        try:
            events.append(record_event(session, loan, actor=account, corrects=corrects, **data))
        except LedgerError as error:
            errors.extend(_ledger_errors(row, error))
    if errors:
        lines = len({error.line for error in errors})
        raise ImportRejected(
            f"{lines} 行有误，未导入任何事件 / {lines} lines are invalid; nothing was imported", errors
        )
    return events


def _lock_corrected_needs(session: Session, account: Account, rows: list[ParsedRow]) -> None:
    """Take, before any line, the locks of the needs whose grants the file may correct, in id order. A grant
    locks its need and then its product, and so does a correction of a grant (matchmaker.ledger.record_event);
    taken line by line, the file could hold one line's product while waiting for a later line's need that a
    grant holds while it waits for that product: a deadlock."""
    loan_ids = {
        int(loan_id)
        for row in rows
        if row.data.get("corrects_event_id") and (loan_id := str(row.data.get("loan_id", "")).strip()).isdigit()
    }
    if not loan_ids:
        return
    owned = select(Loan.need_id).where(Loan.id.in_(loan_ids), Loan.bank_id == account.bank_id)
    for need_id in sorted(set(session.scalars(owned))):
        lock_need(session, need_id)


def _ledger_errors(row: ParsedRow, error: LedgerError) -> list[RowError]:
    if not error.errors:
        return [row_error(row, "file", error.message)]
    return [row_error(row, name, message) for name, messages in error.errors.items() for message in messages]


def template_csv(loan_ids: Sequence[int], headers: str = "en") -> str:
    """A file to fill in: the header line (English field names or Chinese headers) and one line per loan
    with only its id, which the import refuses until a kind, an amount and a date are added (so an unchanged
    template writes nothing). Starts with a BOM so that Excel reads it as UTF-8."""
    names = list(COLUMNS) if headers == "en" else list(COLUMNS.values())
    lines = [",".join(names)] + [str(loan_id) + "," * (len(names) - 1) for loan_id in loan_ids]
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class BankLoan:
    loan: Loan
    enterprise_name: str
    product_name: str


def bank_loans(session: Session, bank_id: int, limit: int) -> list[BankLoan]:
    """The bank's loans, newest first, with the names a credit officer recognises them by."""
    query = (
        select(Loan, Enterprise.name, LoanProduct.name)
        .join(Enterprise, Enterprise.id == Loan.enterprise_id)
        .join(LoanProduct, LoanProduct.id == Loan.product_id)
        .where(Loan.bank_id == bank_id)
        .order_by(Loan.id.desc())
        .limit(limit)
    )
    return [BankLoan(loan, enterprise, product) for loan, enterprise, product in session.execute(query)]
