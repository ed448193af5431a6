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
- ``next_need_submitted{scope}`` and ``next_proposal_made{scope}``, overall and at the bank only
  (:data:`NEXT_SCOPES`): the same of the enterprise's next proposal. A proposal before a period whose next one
  is in it stands for that next proposal, the enterprise's first in the period but not its first ever
  (matchmaker.stats counts those so over a period holding most of the history).

Only matching rounds make proposals, one round at a time. :func:`link_proposals` recomputes the columns of
every proposal of the enterprises a round proposed to, with window functions, in the round's transaction (a
round may propose for a need submitted before the enterprise's needs proposed earlier, which moves those).
:func:`proposal_discrepancies` recomputes every proposal's and lists the differences."""

from typing import Any

from sqlalchemy import ARRAY, Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session

from db.base import UTCDateTime
from db.kept_columns import Discrepancy, kept_column_discrepancies, write_kept_columns
from enterprises.models import Enterprise
from matchmaker.models import Proposal
from matchmaker.scopes import SCOPES, Scope

# The scopes in which the proposals also keep their enterprise's next proposal: those the tallies keep.
NEXT_SCOPES = tuple(scope for scope in SCOPES if not scope.product_type)


def first_for_need(scope: Scope) -> str:
    return scope.name("first_for_need")


def previous_need_submitted(scope: Scope) -> str:
    return scope.name("previous_need_submitted")


def previous_proposal_made(scope: Scope) -> str:
    return scope.name("previous_proposal_made")


def next_need_submitted(scope: Scope) -> str:
    return scope.name("next_need_submitted")


def next_proposal_made(scope: Scope) -> str:
    return scope.name("next_proposal_made")


def _recomputed(enterprises: Select[Any] | None) -> Any:
    """The columns of the proposals of ``enterprises`` (a select of enterprise ids; None: of all), as their
    proposals and their enterprises say (a subquery with ``id``)."""
    stmt = select(
        Proposal.id,
        Enterprise.region.label("enterprise_region"),
        Enterprise.size_class.label("enterprise_size_class"),
        func.substr(Enterprise.industry, 1, 1).label("enterprise_industry"),
        *(
            func.lag(Proposal.id)
            .over(partition_by=scope.partition(Proposal, Proposal.need_id), order_by=Proposal.id)
            .is_(None)
            .label(first_for_need(scope))
            for scope in SCOPES
        ),
        *(
            step(Proposal.need_submitted_at, type_=UTCDateTime())
            .over(
                partition_by=scope.partition(Proposal, Proposal.enterprise_id),
                order_by=[Proposal.need_submitted_at, Proposal.need_id, Proposal.id],
            )
            .label(name(scope))
            for step, name, scopes in (
                (func.lag, previous_need_submitted, SCOPES),
                (func.lead, next_need_submitted, NEXT_SCOPES),
            )
            for scope in scopes
        ),
        *(
            step(Proposal.created_at, type_=UTCDateTime())
            .over(
                partition_by=scope.partition(Proposal, Proposal.enterprise_id),
                order_by=[Proposal.created_at, Proposal.id],
            )
            .label(name(scope))
            for step, name, scopes in (
                (func.lag, previous_proposal_made, SCOPES),
                (func.lead, next_proposal_made, NEXT_SCOPES),
            )
            for scope in scopes
        ),
    )
    stmt = stmt.join(Enterprise, Enterprise.id == Proposal.enterprise_id)
    if enterprises is not None:
        stmt = stmt.where(Proposal.enterprise_id.in_(enterprises))
    return stmt.subquery()


def hold_enterprises(session: Session, enterprise_ids: list[int]) -> None:
    """Hold the enterprises a round proposes to (FOR SHARE, to the end of its transaction; a no-op on SQLite,
    where one writer at a time is let in), before the round writes anything: a change of one of them then
    waits for the round, whose proposals its listener (matchmaker.classification_copies) could not see yet,
    and the locks come in the order every writer takes them, the enterprise before its needs."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = bindparam("ids", enterprise_ids, type_=ARRAY(Integer))  # one parameter, whatever the round's size
    session.execute(select(Enterprise.id).where(Enterprise.id == func.any(ids)).with_for_update(read=True))


def link_proposals(session: Session, enterprises: Select[Any] | None) -> None:
    """Write the columns of every proposal of ``enterprises`` (a select of enterprise ids, e.g. those a round
    proposed to; None: every enterprise), with the copies of their enterprise's classification (a round holds
    its enterprises first: :func:`hold_enterprises`)."""
    recomputed = _recomputed(enterprises)
    write_kept_columns(session, Proposal, recomputed, _names(recomputed))


def proposal_discrepancies(session: Session) -> list[Discrepancy]:
    """Every kept column that differs from the proposals (empty when they agree)."""
    recomputed = _recomputed(None)
    return kept_column_discrepancies(session, Proposal, recomputed, _names(recomputed))


def _names(recomputed: Any) -> list[str]:
    return [column.name for column in recomputed.c if column.name != "id"]
