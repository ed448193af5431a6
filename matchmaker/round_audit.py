"""The audit log's entries for the proposals a matching round creates: one ``created`` entry per proposal,
written by a single INSERT ... SELECT (``accounts.audit.record_created_rows``), so that a round of tens of
thousands of proposals pays milliseconds for its audit trail, not an ORM object per proposal."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.audit import Actor, record_created_rows
from accounts.models import Account
from matchmaker.models import Proposal

ROUND_ACTOR = "matching round"  # the system actor of a round no account started (the CLI, the demo)


def audit_round_proposals(session: Session, round_id: int, account_id: int | None) -> None:
    """Record the creation of the round's proposals, by the account that started the round or by the
    system."""
    actor: Actor = session.get_one(Account, account_id) if account_id is not None else ROUND_ACTOR
    proposals = select(
        Proposal.id,
        Proposal.round_id,
        Proposal.need_id,
        Proposal.product_id,
        Proposal.bank_id,
        Proposal.rank,
        Proposal.status,
    ).where(Proposal.round_id == round_id)
    record_created_rows(session, "proposal", proposals, actor, note=f"第 {round_id} 轮匹配 / round {round_id}")
