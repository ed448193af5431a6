"""What each proposal keeps so that the funnel and the banks' view count distinct needs and enterprises by
counting proposals, without sorting them (see matchmaker.previous_loans for the loans). Per scope
(matchmaker.scopes; the type is the one the product had when proposed, ``Proposal.product_type``):

- ``first_for_need{scope}``: the proposal is the first (by id) of its need in the scope. A need's proposals
  are all in the funnel's cohort of the need or none is, so the needs proposed are as many as such proposals.
- ``previous_need_submitted{scope}``: when the need of the enterprise's previous proposal in the scope was
  submitted, in the order of (need submitted, need id, id). A proposal is the first of its enterprise among
  the needs submitted from ``date_from`` exactly when that time is None or before it (the funnel's cohort).
- ``previous_proposal_made{scope}``: when the enterprise's previous proposal in the scope was made, in the
  order of (made, id); likewise for the proposals made in a period (the banks' view).

Only matching rounds make proposals, one round at a time. :func:`link_proposals` recomputes the columns of
every proposal of the enterprises a round proposed to, with window functions, in the round's transaction (a
round may propose for a need submitted before the enterprise's needs proposed earlier, which moves those).
:func:`proposal_discrepancies` recomputes every proposal's and lists the differences."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from db.base import UTCDateTime
from matchmaker.models import Proposal
from matchmaker.scopes import SCOPES, Scope


def first_for_need(scope: Scope) -> str:
    return scope.name("first_for_need")


def previous_need_submitted(scope: Scope) -> str:
    return scope.name("previous_need_submitted")


def previous_proposal_made(scope: Scope) -> str:
    return scope.name("previous_proposal_made")


def _recomputed(enterprises: Select[Any] | None) -> Any:
    """The columns of the proposals of ``enterprises`` (a select of enterprise ids; None: of all), as their
    proposals say (a subquery with ``id``)."""
    stmt = select(
        Proposal.id,
        *(
            func.lag(Proposal.id)
            .over(partition_by=scope.partition(Proposal, Proposal.need_id), order_by=Proposal.id)
            .is_(None)
            .label(first_for_need(scope))
            for scope in SCOPES
        ),
        *(
            func.lag(Proposal.need_submitted_at, type_=UTCDateTime())
            .over(
                partition_by=scope.partition(Proposal, Proposal.enterprise_id),
                order_by=[Proposal.need_submitted_at, Proposal.need_id, Proposal.id],
            )
            .label(previous_need_submitted(scope))
            for scope in SCOPES
        ),
        *(
            func.lag(Proposal.created_at, type_=UTCDateTime())
            .over(
                partition_by=scope.partition(Proposal, Proposal.enterprise_id),
                order_by=[Proposal.created_at, Proposal.id],
            )
            .label(previous_proposal_made(scope))
            for scope in SCOPES
        ),
    )
    if enterprises is not None:
        stmt = stmt.where(Proposal.enterprise_id.in_(enterprises))
    return stmt.subquery()


def link_proposals(session: Session, enterprises: Select[Any] | None) -> None:
    """Write the columns of every proposal of ``enterprises`` (a select of enterprise ids, e.g. those a round
    proposed to; None: every enterprise)."""
    recomputed = _recomputed(enterprises)
    names = [column.name for column in recomputed.c if column.name != "id"]
    session.execute(
        update(Proposal)
        .where(Proposal.id == recomputed.c.id)
        .values({name: recomputed.c[name] for name in names})
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class ProposalDiscrepancy:
    proposal_id: int
    column: str
    kept: Any
    actual: Any


def proposal_discrepancies(session: Session) -> list[ProposalDiscrepancy]:
    """Every kept column that differs from the proposals (empty when they agree)."""
    recomputed = _recomputed(None)
    names = [column.name for column in recomputed.c if column.name != "id"]
    rows = session.execute(
        select(Proposal.id, *(getattr(Proposal, name) for name in names), *(recomputed.c[name] for name in names))
        .join(recomputed, recomputed.c.id == Proposal.id)
        .order_by(Proposal.id)
    )
    found: list[ProposalDiscrepancy] = []
    for proposal_id, *values in rows:
        for name, kept, actual in zip(names, values[: len(names)], values[len(names) :], strict=True):
            if isinstance(kept, bool):
                actual = bool(actual)
            if kept != actual:
                found.append(ProposalDiscrepancy(proposal_id, name, kept, actual))
    return found
