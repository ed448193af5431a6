"""Training rows for the platform's scoring model from the credit ledger: each loan whose outcome is known, the
enterprise's scoring input as the bank saw it when it granted the loan, and the label (1 = bad, 0 = good).

Outcome of a loan, from its ledger events:

- **bad (1)**: an ``overdue`` or ``defaulted`` event was reported for it, whatever followed (a later
  repayment or renewal does not undo the trouble the model is to foresee). An event corrected down to 0 yuan
  (reported by mistake) does not count.
- **good (0)**: no such event, and the loan is repaid in full (balance 0, status ``repaid``) or has stayed
  current for at least ``seasoning_months`` (default 12, the horizon of the platform's PD) since its grant
  date.
- **unknown**: the others (current, younger than the seasoning): left out until their outcome shows.

The scoring input at grant time is ``matchmaker.credit_scores.profile_record`` with the enterprise's latest
financial profile of a fiscal year *before* the grant year (the last closed statements a bank could see),
the year before it for growth, the years in business at the grant date, first-time borrower as the loan's
kind says (``first_loan``), and the guarantee the need offered. Employees and industry are the enterprise's
current ones (their history is not kept). A loan whose enterprise has no such profile is left out.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from matchmaker.credit_scores import profile_record
from matchmaker.models import CreditEvent, Loan
from scoring.features import columns_from_records
from scoring.platform import train_platform_model
from scoring.training import MIN_ROWS_PER_CLASS

BAD_EVENT_KINDS = ("overdue", "defaulted")
SEASONING_MONTHS = 12


@dataclass
class LedgerOutcomes:
    """The applicant records and labels of the loans with a known outcome, and how many loans were left out
    and why (``unknown``: outcome not known yet; ``no_profile``: no profile before the grant year)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    loan_ids: list[int] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)

    @property
    def bad(self) -> int:
        return sum(self.labels)

    @property
    def good(self) -> int:
        return len(self.labels) - self.bad


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (2026-01-31 → 2026-02-28 is 0, → 2026-03-01 is 1)."""
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def _loans_in_trouble(session: Session) -> set[int]:
    """Loans with an overdue or defaulted event whose amount, after its corrections, is above 0."""
    corrected = aliased(CreditEvent)
    query = (
        select(CreditEvent.loan_id)
        .outerjoin(corrected, corrected.id == CreditEvent.corrects_event_id)
        .where(or_(CreditEvent.kind.in_(BAD_EVENT_KINDS), corrected.kind.in_(BAD_EVENT_KINDS)))
        .group_by(CreditEvent.loan_id)
        .having(func.sum(CreditEvent.amount) > 0)
    )
    return set(session.scalars(query))


def outcome(loan: Loan, in_trouble: bool, today: date, seasoning_months: int = SEASONING_MONTHS) -> int | None:
    """1 (bad), 0 (good) or None (not known yet), by the rules in the module's docstring."""
    if in_trouble:
        return 1
    if loan.status == "repaid" or months_between(loan.granted_on, today) >= seasoning_months:
        return 0
    return None


def _profile_before(enterprise: Enterprise, granted_on: date) -> FinancialProfile | None:
    earlier = [profile for profile in enterprise.profiles if profile.fiscal_year < granted_on.year]
    return earlier[-1] if earlier else None


def ledger_outcomes(session: Session, today: date, seasoning_months: int = SEASONING_MONTHS) -> LedgerOutcomes:
    """Every loan of the ledger with a known outcome, oldest first, as training rows."""
    in_trouble = _loans_in_trouble(session)
    query = (
        select(Loan, Enterprise, FinancingNeed)
        .join(Enterprise, Enterprise.id == Loan.enterprise_id)
        .join(FinancingNeed, FinancingNeed.id == Loan.need_id)
        .options(selectinload(Enterprise.profiles))
        .order_by(Loan.id)
    )
    found = LedgerOutcomes()
    for loan, enterprise, need in session.execute(query):
        label = outcome(loan, loan.id in in_trouble, today, seasoning_months)
        profile = _profile_before(enterprise, loan.granted_on)
        if label is None:
            found.left_out["unknown"] += 1
        elif profile is None:
            found.left_out["no_profile"] += 1
        else:
            record = profile_record(enterprise, profile, need, loan.granted_on)
            found.records.append(record | {"first_time_borrower": loan.kind == "first_loan"})
            found.labels.append(label)
            found.loan_ids.append(loan.id)
    return found


class NotEnoughOutcomes(ValueError):
    """The ledger holds too few known outcomes of one class to train on; the message gives the counts."""


def train_from_ledger(
    session: Session,
    out_dir: Path,
    today: date,
    seasoning_months: int = SEASONING_MONTHS,
    folds: int = 5,
) -> tuple[dict[str, Any], LedgerOutcomes]:
    """Train and save the platform model on the ledger's outcomes (``scoring.platform``); returns the report
    and the outcomes it was trained on. NotEnoughOutcomes when either class has fewer rows than the trainer
    needs (at least MIN_ROWS_PER_CLASS, and one per cross-validation fold)."""
    found = ledger_outcomes(session, today, seasoning_months)
    needed = max(MIN_ROWS_PER_CLASS, folds)
    if min(found.bad, found.good) < needed:
        raise NotEnoughOutcomes(
            f"the credit ledger has too few known outcomes to train on: {found.bad} bad (overdue or defaulted) "
            f"and {found.good} good (repaid, or current for {seasoning_months} months); at least {needed} of each "
            f"are needed ({found.left_out['unknown']} loans have no outcome yet, "
            f"{found.left_out['no_profile']} have no financial profile before their grant year)"
        )
    source = {
        "credit_ledger": True,
        "as_of": today.isoformat(),
        "seasoning_months": seasoning_months,
        "loans": len(found.labels),
        "left_out": dict(found.left_out),
    }
    report = train_platform_model(columns_from_records(found.records), np.array(found.labels), out_dir, source, folds)
    return report, found
