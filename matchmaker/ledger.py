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

The loan also keeps the ledger figures the statistics sum (``Loan.granted_amount``, ``rollovers``,
``rollover_amount``, ``defaulted_amount``, ``reported_overdue``, ``reported_defaulted``): each write moves them
with its event, in the same flush, and ``loan_figure_discrepancies`` checks them against the ledger.

Every event of a loan is written under the loan's row lock, so concurrent reports see each other's balance.
Dates are business dates in China (UTC+8): an event cannot have happened before the grant or after today.

The audit log (``accounts.audit``) gets, in the same transaction, the loan's creation with its terms, and for
each later event the loan's balance and status before and after it (and its term, when a renewal changes it).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased

from accounts.audit import record_change
from accounts.models import Account
from enterprises.models import FinancingNeed
from matchmaker.models import CreditEvent, Loan
from matchmaker.need_figures import add_to_need, lock_need
from products.models import LoanProduct
from reference.china_time import CHINA, china_today

REPORTABLE_KINDS = ("disbursed", "repaid", "overdue", "defaulted", "renewed", "corrected")
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
        raise LedgerError(
            "额度不足 / quota exhausted",
            {"amount": ["产品剩余授信额度不足 / the product's remaining quota is too small"]},
            409,
        )
    product = session.get(LoanProduct, product_id)
    if product is not None:
        session.expire(product, ["granted_total", "updated_at"])


def grant_figures(need: FinancingNeed, amount: int, granted_on: date) -> dict[str, Any]:
    """The statistics' columns of a new loan of ``amount`` on ``need`` (see ``Loan``): its granted amount,
    and what its need (never edited once submitted) says of it."""
    offered = need.collateral_offered or []
    return {
        "granted_amount": amount,
        "days_to_grant": (granted_on - need.created_at.astimezone(CHINA).date()).days,
        "need_submitted_at": need.created_at,
        "offers_ip_pledge": "ip_pledge" in offered,
        "offers_receivables": "receivables" in offered,
    }


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
    terms = ("amount", "rate", "term_months", "granted_on", "kind", "outstanding", "status")
    ids = ("proposal_id", "need_id", "enterprise_id", "product_id", "bank_id")
    record_change(
        session,
        "loan",
        loan.id,
        "created",
        actor,
        after={name: getattr(loan, name) for name in terms},
        ids={name: getattr(loan, name) for name in ids} | {"event_id": event.id},
    )
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
        raise LedgerError("信贷事件无效 / the event is not valid", errors)
    # The kind whose figures the event moves: its own, or for a correction the corrected event's.
    counted_as = corrects.kind if corrects is not None else kind
    if counted_as == "granted":  # a correction of the grant: it moves the quota and the need's granted amount
        lock_need(session, loan.need_id)  # first, as a grant does: the need, then the product
    _lock_loan(session, loan)
    previous = {"outstanding": loan.outstanding, "status": loan.status, "term_months": loan.term_months}
    before = loan.outstanding
    after = before + _balance_change(session, loan, kind, amount, corrects)
    if after < 0:
        raise LedgerError(
            "余额将低于0 / the balance would fall below 0",
            {"amount": [f"贷款余额为 {before} 元 / the outstanding balance is {before}"]},
        )
    if counted_as == "granted":
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
    _count_in_figures(loan, counted_as, amount, corrected=corrects is not None)
    if counted_as == "granted":
        add_to_need(session, loan.need_id, granted_amount=amount)
    if kind == "renewed" and term_months is not None:
        loan.term_months = term_months
    session.flush()
    _audit_event(session, loan, event, previous, actor)
    return event


def _count_in_figures(loan: Loan, kind: str, amount: int, *, corrected: bool) -> None:
    """Move the loan's statistics figures by an event of ``kind`` (or, ``corrected``, by a correction of
    ``amount`` to an event of that kind)."""
    if kind == "granted":
        loan.granted_amount += amount
    elif kind == "renewed":
        loan.rollover_amount += amount
        loan.rollovers += 0 if corrected else 1
    elif kind == "defaulted":
        loan.defaulted_amount += amount
        loan.reported_defaulted = True
    elif kind == "overdue":
        loan.reported_overdue = True


def _audit_event(
    session: Session, loan: Loan, event: CreditEvent, previous: dict[str, int | str], actor: Account
) -> None:
    """The loan's balance and status before and after the event (both always, even when unchanged), and its
    term when a renewal changed it."""
    current = {"outstanding": loan.outstanding, "status": loan.status}
    if loan.term_months != previous["term_months"]:
        current["term_months"] = loan.term_months
    before = {name: previous[name] for name in current}
    ids = {"event_id": event.id, "event_kind": event.kind, "event_amount": event.amount}
    if event.corrects_event_id is not None:
        ids["corrects_event_id"] = event.corrects_event_id
    record_change(session, "loan", loan.id, "event", actor, before, current, ids, event.note)


def _argument_errors(
    loan: Loan, kind: str, amount: int, occurred_on: date, corrects: CreditEvent | None, term_months: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind not in REPORTABLE_KINDS:
        errors["kind"] = [f"须为以下之一：{', '.join(REPORTABLE_KINDS)} / must be one of {', '.join(REPORTABLE_KINDS)}"]
    if kind == "corrected":
        if amount == 0:
            errors["amount"] = [
                "更正须以非零元数调整金额 / a correction changes the amount by a non-zero number of yuan"
            ]
        if corrects is None or corrects.loan_id != loan.id or corrects.kind == "corrected":
            errors["corrects_event_id"] = [
                "须指向本笔贷款此前的一条非更正事件"
                " / must name an earlier event of this loan that is not itself a correction"
            ]
    else:
        if amount <= 0:
            errors["amount"] = ["须为正的元数 / must be a positive number of yuan"]
        if corrects is not None:
            errors["corrects_event_id"] = [
                "只有更正事件才指向被更正的事件 / only a correction names the event it corrects"
            ]
    if kind == "renewed" and (term_months is None or term_months < 1):
        errors["term_months"] = ["续贷须填写新期限，至少1个月 / a renewal needs the new term, at least 1 month"]
    if kind != "renewed" and term_months is not None:
        errors["term_months"] = ["只有续贷才设定新期限 / only a renewal sets a new term"]
    if not loan.granted_on <= occurred_on <= china_today():
        errors["occurred_on"] = [
            f"须在授信日期 {loan.granted_on} 与今天之间 / must be between the grant date {loan.granted_on} and today"
        ]
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
        raise LedgerError(
            "超过贷款余额 / more than the balance",
            {"amount": [f"贷款余额为 {loan.outstanding} 元 / the outstanding balance is {loan.outstanding}"]},
        )
    if kind == "disbursed":
        room = _ledger_sum(session, "granted", Loan.id == loan.id) - _ledger_sum(
            session, "disbursed", Loan.id == loan.id
        )
        if amount > room:
            raise LedgerError(
                "超过授信金额 / more than granted",
                {"amount": [f"最多还可放款 {room} 元 / at most {room} yuan is left to disburse"]},
            )
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
            raise LedgerError(
                "更正后金额将为负数 / the corrected amount would be negative",
                {"amount": [f"至少为 {-current} / at least {-current}"]},
            )
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


def ledger_entries(kind: str) -> Subquery:
    """The rows that make up the ledger's ``kind`` amounts: the ``kind`` events themselves (``original`` true)
    and every correction naming one of them, as (``loan_id``, ``amount``, ``original``). Two narrow scans,
    the events of that kind (index ix_credit_events_kind_loan_id) and the few corrections
    (ix_credit_events_corrections), rather than an outer self-join of the whole ledger (``reconcile`` sums
    them over all of it)."""
    corrected = aliased(CreditEvent)
    originals = select(CreditEvent.loan_id, CreditEvent.amount, literal(True).label("original")).where(
        CreditEvent.kind == kind
    )
    corrections = (
        select(CreditEvent.loan_id, CreditEvent.amount, literal(False).label("original"))
        .join(corrected, corrected.id == CreditEvent.corrects_event_id)
        .where(CreditEvent.kind == "corrected", corrected.kind == kind)
    )
    return union_all(originals, corrections).subquery(f"{kind}_entries")


def ledger_amounts(kind: str) -> Select[tuple[int]]:
    """The sum of the ledger's ``kind`` events plus the corrections of those events, joined to their loans
    (add filters on ``Loan`` and grouping)."""
    entries = ledger_entries(kind)
    return select(func.coalesce(func.sum(entries.c.amount), 0)).join(Loan, Loan.id == entries.c.loan_id)


def _ledger_sum(session: Session, kind: str, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(ledger_amounts(kind).where(*where)) or 0)


def product_granted_total_from_ledger(session: Session, product_id: int) -> int:
    """What the ledger says was granted on the product: its grant events plus their corrections."""
    return _ledger_sum(session, "granted", Loan.product_id == product_id)


@dataclass(frozen=True)
class LoanDiscrepancy:
    loan_id: int
    figure: str
    stored: int
    ledger: int


def loan_figure_discrepancies(session: Session) -> list[LoanDiscrepancy]:
    """Every loan figure kept for the statistics (``Loan.granted_amount`` etc.) that differs from what the append-only
    ledger says (empty when they agree): one pass over the ledger, each event counted under its own kind or,
    for a correction, under the kind of the event it corrects."""
    corrected = aliased(CreditEvent)
    kind = func.coalesce(corrected.kind, CreditEvent.kind)

    def amounts(of: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((kind == of, CreditEvent.amount), else_=0)), 0)

    def events(of: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((CreditEvent.kind == of, 1), else_=0)), 0)

    ledger = {
        "granted_amount": amounts("granted"),
        "rollovers": events("renewed"),
        "rollover_amount": amounts("renewed"),
        "defaulted_amount": amounts("defaulted"),
        "reported_overdue": case((events("overdue") > 0, 1), else_=0),
        "reported_defaulted": case((events("defaulted") > 0, 1), else_=0),
    }
    rows = session.execute(
        select(Loan.id, *(getattr(Loan, name) for name in ledger), *ledger.values())
        .outerjoin(CreditEvent, CreditEvent.loan_id == Loan.id)
        .outerjoin(corrected, corrected.id == CreditEvent.corrects_event_id)
        .group_by(Loan.id)
        .order_by(Loan.id)
    )
    count = len(ledger)
    return [
        LoanDiscrepancy(row[0], name, int(row[1 + index]), int(row[1 + count + index]))
        for row in rows
        for index, name in enumerate(ledger)
        if int(row[1 + index]) != int(row[1 + count + index])
    ]


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
            ledger_amounts("granted").add_columns(Loan.product_id).group_by(Loan.product_id)
        )
    }
    products = session.execute(select(LoanProduct.id, LoanProduct.granted_total).order_by(LoanProduct.id))
    return [
        Discrepancy(product_id, granted_total, ledger.get(product_id, 0))
        for product_id, granted_total in products
        if granted_total != ledger.get(product_id, 0)
    ]
