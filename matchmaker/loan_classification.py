"""Each loan keeps a copy of its enterprise's current classification, the region, the size class and the GB/T
4754 industry section (``Loan.enterprise_region``, ``enterprise_size_class``, ``enterprise_industry``), so that
the regulators' totals and risk by those dimensions read the loans alone (joining 200,000 enterprises was half
of such a query's time).

The statistics are about the enterprise's current record, so the copies follow it: a grant writes them from
the enterprise (matchmaker.decisions.grant, under the enterprise's lock), and a flush that changes an
enterprise's classification updates its loans in the same transaction (the listener below, on every session,
so that no writer of enterprises has to remember it). :func:`classification_discrepancies` compares every
loan with its enterprise."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from enterprises.models import Enterprise
from matchmaker.models import Loan


def industry_section(industry: str) -> str:
    """The GB/T 4754 section letter of an industry code such as "C39"."""
    return industry[:1]


def classification_of(enterprise: Enterprise) -> dict[str, str]:
    """The loan columns that copy ``enterprise``'s classification."""
    return {
        "enterprise_region": enterprise.region,
        "enterprise_size_class": enterprise.size_class,
        "enterprise_industry": industry_section(enterprise.industry),
    }


CLASSIFYING = ("region", "size_class", "industry")


@event.listens_for(Session, "after_flush")
def _follow_enterprises(session: Session, _flush: UOWTransaction) -> None:
    """After a flush, the session still lists the enterprises it updated and their changes."""
    for enterprise in session.dirty:
        if not isinstance(enterprise, Enterprise):
            continue
        state = inspect(enterprise)
        if any(state.attrs[name].history.has_changes() for name in CLASSIFYING):
            session.connection().execute(
                update(Loan).where(Loan.enterprise_id == enterprise.id).values(classification_of(enterprise))
            )


@dataclass(frozen=True)
class ClassificationDiscrepancy:
    loan_id: int
    column: str
    kept: str
    actual: str


def classification_discrepancies(session: Session) -> list[ClassificationDiscrepancy]:
    """Every loan whose copy of its enterprise's classification differs from the enterprise (empty when they
    agree)."""
    pairs: list[tuple[str, Any, Any]] = [
        ("enterprise_region", Loan.enterprise_region, Enterprise.region),
        ("enterprise_size_class", Loan.enterprise_size_class, Enterprise.size_class),
        ("enterprise_industry", Loan.enterprise_industry, func.substr(Enterprise.industry, 1, 1)),
    ]
    rows = session.execute(
        select(Loan.id, *(kept for _, kept, _ in pairs), *(actual for _, _, actual in pairs))
        .join(Enterprise, Enterprise.id == Loan.enterprise_id)
        .order_by(Loan.id)
    )
    found: list[ClassificationDiscrepancy] = []
    for loan_id, *values in rows:
        kept, actual = values[: len(pairs)], values[len(pairs) :]
        found += [
            ClassificationDiscrepancy(loan_id, name, k, a)
            for (name, _, _), k, a in zip(pairs, kept, actual, strict=True)
            if k != a
        ]
    return found
