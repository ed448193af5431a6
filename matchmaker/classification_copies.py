"""Each loan and each proposal keeps a copy of its enterprise's current classification, the region, the size
class and the GB/T 4754 industry section (``enterprise_region``, ``enterprise_size_class``,
``enterprise_industry``), so that the regulators' statistics by or filtered on those read the loans or the
proposals alone (joining 200,000 enterprises was half of such a query's time). The needs keep the same copy
(enterprises.need_copies).

The statistics are about the enterprise's current record, so the copies follow it: a grant and a round write
them from the enterprise, and a flush that changes an enterprise's classification updates its loans and its
proposals in the same transaction (the listener below, on every session, so that no writer of enterprises
has to remember it). :func:`classification_discrepancies` compares every loan and proposal with its
enterprise."""

from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from db.kept_columns import Discrepancy, kept_column_discrepancies
from enterprises.models import Enterprise
from matchmaker.models import Loan, Proposal

CLASSIFYING = ("region", "size_class", "industry")
COPIES = ("enterprise_region", "enterprise_size_class", "enterprise_industry")


def classification_of(enterprise: Enterprise) -> dict[str, str]:
    """The columns that copy ``enterprise``'s classification."""
    return dict(zip(COPIES, (enterprise.region, enterprise.size_class, enterprise.industry[:1]), strict=True))


@event.listens_for(Session, "after_flush")
def _follow_enterprises(session: Session, _flush: UOWTransaction) -> None:
    """After a flush, the session still lists the enterprises it updated and their changes."""
    for enterprise in session.dirty:
        if not isinstance(enterprise, Enterprise):
            continue
        state = inspect(enterprise)
        if any(state.attrs[name].history.has_changes() for name in CLASSIFYING):
            for model in (Loan, Proposal):
                session.connection().execute(
                    update(model).where(model.enterprise_id == enterprise.id).values(classification_of(enterprise))
                )


def classification_discrepancies(session: Session) -> list[Discrepancy]:
    """Every loan or proposal whose copy of its enterprise's classification differs from the enterprise
    (empty when they agree)."""
    found: list[Discrepancy] = []
    for model in (Loan, Proposal):
        recomputed = (
            select(
                model.id,
                Enterprise.region.label("enterprise_region"),
                Enterprise.size_class.label("enterprise_size_class"),
                func.substr(Enterprise.industry, 1, 1).label("enterprise_industry"),
            )
            .join(Enterprise, Enterprise.id == model.enterprise_id)
            .subquery()
        )
        found += kept_column_discrepancies(session, model, recomputed, list(COPIES))
    return found
