"""The credit ledger: every loan's history as append-only events, and the quota arithmetic.

Balance rules (``outstanding`` is what the enterprise owes on the credit granted, in yuan):

- ``granted``: the loan's first event, written by ``matchmaker.decisions.grant``; balance 0 → amount.
- ``disbursed``: money paid out; the balance does not change (the grant already counts it), but the loan's
  disbursements never exceed its granted amount.
- ``repaid``: reduces the balance, never below 0; a balance of 0 makes the loan ``repaid``.
- ``overdue`` / ``defaulted``: the amount overdue or in default (at most the balance); the balance stays and
  the loan is marked ``overdue`` / ``defaulted``.
- ``renewed`` (续贷): the amount rolled over (at most the balance) and the new term (``term_months``), which
  replaces the loan's term; the loan is ``current`` again.
- ``corrected``: names an earlier, non-correction event of the same loan and carries the signed change to
  that event's amount (the corrected amount may not fall below 0). The balance moves as the corrected event
  would have moved it: +change for ``granted`` (which also moves the product's granted total, quota-checked),
  −change for ``repaid``, nothing for the others. The corrected row is never touched.

Every event of a loan is written under the loan's row lock, so concurrent reports see each other's balance.
Dates are business dates in China (UTC+8): an event cannot have happened before the grant or after today.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from accounts.models import Account
from matchmaker.models import CreditEvent, Loan
from products.models import LoanProduct

REPORTABLE_KINDS = ("disbursed", "repaid", "overdue", "defaulted", "renewed", "corrected")
CHINA = timezone(timedelta(hours=8))
# How a one-yuan change of an event's amount moves the balance (used by corrections).
BALANCE_SIGN = {"granted": 1, "repaid": -1}


class LedgerError(Exception):
    """A refused ledger write. ``errors`` maps field names to messages; ``status`` is 422 for bad input and
    409 when the state of the loan or the product's quota forbids it."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status


def china_today() -> date:
    return datetime.now(UTC).astimezone(CHINA).date()


def charge_quota(session: Session, product_id: int, amount: int) -> None:
    """Add ``amount`` (negative to give some back) to the product's granted total without passing its quota.

    One conditional UPDATE whose row count says whether it applied: the database evaluates the condition
    under its write lock, so concurrent grants cannot all read the same room left (a read-check-write in
    Python can). The CHECK constraint ``granted_within_quota`` stands behind it."""
    result = session.execute(
        update(LoanProduct)
        .where(LoanProduct.id == product_id, LoanProduct.granted_total + amount <= LoanProduct.quota)
        .values(granted_total=LoanProduct.granted_total + amount)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LedgerError("quota exhausted", {"amount": ["the product's remaining quota is too small"]}, 409)
    product = session.get(LoanProduct, product_id)
    if product is not None:
        session.expire(product, ["granted_total", "updated_at"])


def record_grant(session: Session, loan: Loan, actor: Account) -> CreditEvent:
    """The ``granted`` event of a new loan (whose outstanding balance is its amount)."""
    event = CreditEvent(
        loan_id=loan.id,
        kind="granted",
        amount=loan.amount,
        balance_before=0,
        balance_after=loan.amount,
        actor_account_id=actor.id,
        occurred_on=loan.granted_on,
    )
    session.add(event)
    session.flush()
    return event


def record_event(
    session: Session,
    loan: Loan,
    kind: str,
    amount: int,
    occurred_on: date,
    actor: Account,
    note: str = "",
    corrects: CreditEvent | None = None,
    term_months: int | None = None,
) -> CreditEvent:
    """Append a later event to the loan's ledger and update the loan's balance and status (rules above).
    Flushes, never commits; on LedgerError nothing has been written."""
    errors = _argument_errors(loan, kind, amount, occurred_on, corrects, term_months)
    if errors:
        raise LedgerError("the event is not valid", errors)
    _lock_loan(session, loan)
    before = loan.outstanding
    after = before + _balance_change(session, loan, kind, amount, corrects)
    if after < 0:
        raise LedgerError("the balance would fall below 0", {"amount": [f"the outstanding balance is {before}"]})
    if corrects is not None and corrects.kind == "granted":
        charge_quota(session, loan.product_id, amount)
    event = CreditEvent(
        loan_id=loan.id,
        kind=kind,
        amount=amount,
        balance_before=before,
        balance_after=after,
        term_months=term_months,
        corrects_event_id=corrects.id if corrects else None,
        actor_account_id=actor.id,
        occurred_on=occurred_on,
        note=note,
    )
    session.add(event)
    loan.outstanding = after
    loan.status = _status_after(loan.status, kind, after)
    if kind == "renewed" and term_months is not None:
        loan.term_months = term_months
    session.flush()
    return event


def _argument_errors(
    loan: Loan, kind: str, amount: int, occurred_on: date, corrects: CreditEvent | None, term_months: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind not in REPORTABLE_KINDS:
        errors["kind"] = [f"must be one of {', '.join(REPORTABLE_KINDS)}"]
    if kind == "corrected":
        if amount == 0:
            errors["amount"] = ["a correction changes the amount by a non-zero number of yuan"]
        if corrects is None or corrects.loan_id != loan.id or corrects.kind == "corrected":
            errors["corrects_event_id"] = ["must name an earlier event of this loan that is not itself a correction"]
    else:
        if amount <= 0:
            errors["amount"] = ["must be a positive number of yuan"]
        if corrects is not None:
            errors["corrects_event_id"] = ["only a correction names the event it corrects"]
    if kind == "renewed" and (term_months is None or term_months < 1):
        errors["term_months"] = ["a renewal needs the new term, at least 1 month"]
    if kind != "renewed" and term_months is not None:
        errors["term_months"] = ["only a renewal sets a new term"]
    if not loan.granted_on <= occurred_on <= china_today():
        errors["occurred_on"] = [f"must be between the grant date {loan.granted_on} and today"]
    return errors


def _lock_loan(session: Session, loan: Loan) -> None:
    """Take the loan's write lock for the rest of the transaction (a no-op UPDATE: a row lock on PostgreSQL,
    the database write lock on SQLite, where SELECT ... FOR UPDATE locks nothing) and reload it."""
    session.execute(
        update(Loan).where(Loan.id == loan.id).values(id=Loan.id).execution_options(synchronize_session=False)
    )
    session.refresh(loan)


def _balance_change(session: Session, loan: Loan, kind: str, amount: int, corrects: CreditEvent | None) -> int:
    if kind == "repaid":
        return -amount
    if kind in ("overdue", "defaulted", "renewed") and amount > loan.outstanding:
        raise LedgerError("more than the balance", {"amount": [f"the outstanding balance is {loan.outstanding}"]})
    if kind == "disbursed":
        room = _ledger_sum(session, "granted", CreditEvent.loan_id == loan.id) - _ledger_sum(
            session, "disbursed", CreditEvent.loan_id == loan.id
        )
        if amount > room:
            raise LedgerError("more than granted", {"amount": [f"at most {room} yuan is left to disburse"]})
    if corrects is not None:
        current = int(
            session.scalar(
                select(func.sum(CreditEvent.amount)).where(
                    or_(CreditEvent.id == corrects.id, CreditEvent.corrects_event_id == corrects.id)
                )
            )
            or 0
        )
        if current + amount < 0:
            raise LedgerError("the corrected amount would be negative", {"amount": [f"at least {-current}"]})
        return BALANCE_SIGN.get(corrects.kind, 0) * amount
    return 0


def _status_after(status: str, kind: str, balance: int) -> str:
    if kind == "defaulted" or (kind == "overdue" and status == "defaulted"):
        return "defaulted"
    if kind == "overdue":
        return "overdue"
    if kind == "renewed":
        return "current"
    if balance == 0:
        return "repaid"
    return "current" if status == "repaid" else status


def _ledger_amounts(kind: str) -> Select[tuple[int]]:
    """The sum of the ledger's ``kind`` events plus the corrections of those events (add filters/grouping)."""
    corrected = aliased(CreditEvent)
    return (
        select(func.coalesce(func.sum(CreditEvent.amount), 0))
        .join(Loan, Loan.id == CreditEvent.loan_id)
        .outerjoin(corrected, corrected.id == CreditEvent.corrects_event_id)
        .where(or_(CreditEvent.kind == kind, corrected.kind == kind))
    )


def _ledger_sum(session: Session, kind: str, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(_ledger_amounts(kind).where(*where)) or 0)


def product_granted_total_from_ledger(session: Session, product_id: int) -> int:
    """What the ledger says was granted on the product: its grant events plus their corrections."""
    return _ledger_sum(session, "granted", Loan.product_id == product_id)


@dataclass(frozen=True)
class Discrepancy:
    product_id: int
    granted_total: int
    ledger_total: int


def reconcile(session: Session) -> list[Discrepancy]:
    """Every product whose stored granted total differs from its ledger's (empty when the books agree)."""
    ledger = {
        product_id: int(total)
        for total, product_id in session.execute(
            _ledger_amounts("granted").add_columns(Loan.product_id).group_by(Loan.product_id)
        )
    }
    products = session.execute(select(LoanProduct.id, LoanProduct.granted_total).order_by(LoanProduct.id))
    return [
        Discrepancy(product_id, granted_total, ledger.get(product_id, 0))
        for product_id, granted_total in products
        if granted_total != ledger.get(product_id, 0)
    ]
