"""The statistics tallies (db.tallies: the proposals', the response hours', the loans') stay equal to the
rows they sum, on SQLite and PostgreSQL, whatever writes those rows: the application's rounds, decisions and
ledger, and plain SQL updating many rows at once, moving rows between keys, and deleting them; compacting
them changes no figure. A write that moves no figure adds no tally row, a write rolled back leaves them as
they were, and two transactions writing rows of the same key do not wait for each other."""

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.tallies import LOAN_TALLIES, PROPOSAL_TALLIES, RESPONSE_HOURS, TALLIES, compact, discrepancies, summed
from matchmaker.models import Loan, LoanTally, Proposal, ProposalDecision, ProposalTally, ResponseHourTally
from tests.integration.stats_world import build_world

MODELS = (ProposalTally, ResponseHourTally, LoanTally)


def kept(session: Session) -> list[list[tuple[object, ...]]]:
    """Each tally's figures per key."""
    return [sorted(tuple(row) for row in session.execute(text(summed(tally))).all()) for tally in TALLIES]


def rows(session: Session) -> list[int]:
    return [session.scalar(select(func.count()).select_from(model)) or 0 for model in MODELS]


def no_discrepancies(session: Session) -> bool:
    return all(discrepancies(session.connection(), tally) == [] for tally in TALLIES)


def test_the_tallies_follow_every_write(db_session: Session) -> None:
    build_world(db_session, seed=20261130, enterprises=30)
    assert no_discrepancies(db_session)
    before = kept(db_session)
    assert all(before)
    proposals = db_session.scalar(select(func.count(Proposal.id)))
    assert TALLIES == (PROPOSAL_TALLIES, RESPONSE_HOURS, LOAN_TALLIES)
    assert db_session.scalar(select(func.sum(ProposalTally.proposals))) == proposals
    answered = select(func.count(Proposal.id)).where(Proposal.response_seconds.is_not(None))
    assert db_session.scalar(select(func.sum(ResponseHourTally.answered))) == db_session.scalar(answered)
    assert db_session.scalar(select(func.sum(LoanTally.granted_amount))) == db_session.scalar(
        select(func.sum(Loan.granted_amount))
    )

    # many rows in one statement, moving them between keys (pending -> expired, other hours of response,
    # another product type, another size class) and changing their figures
    db_session.execute(text("UPDATE proposals SET status = 'expired' WHERE status = 'pending'"))
    db_session.execute(text("UPDATE proposals SET enterprise_size_class = 'large' WHERE enterprise_id % 4 = 0"))
    db_session.execute(text("UPDATE proposals SET enterprise_industry = 'Q' WHERE enterprise_id % 3 = 0"))
    db_session.execute(
        text("UPDATE proposals SET previous_proposal_made = NULL, first_for_need = NOT first_for_need WHERE id % 3 = 0")
    )
    db_session.execute(text("UPDATE proposals SET response_seconds = response_seconds * 7 WHERE id % 2 = 0"))
    db_session.execute(text("UPDATE loans SET granted_amount = granted_amount + 1000 WHERE id % 2 = 0"))
    db_session.execute(text("UPDATE loans SET product_type = 'credit_loan', first_for_need = NOT first_for_need"))
    db_session.execute(text("UPDATE loans SET enterprise_size_class = 'large' WHERE enterprise_id % 4 = 0"))
    db_session.execute(text("UPDATE loans SET enterprise_industry = 'Q' WHERE enterprise_id % 3 = 0"))
    # proposals with nothing hanging on them, gone
    unused = select(Proposal.id).where(
        Proposal.id.not_in(select(Loan.proposal_id)), Proposal.id.not_in(select(ProposalDecision.proposal_id))
    )
    doomed = db_session.scalars(unused.limit(5)).all()
    assert doomed
    db_session.execute(Proposal.__table__.delete().where(Proposal.id.in_(doomed)))
    assert no_discrepancies(db_session)
    changed = kept(db_session)
    assert all(now != then for now, then in zip(changed, before, strict=True))

    # compacted: one row per key, the same figures
    assert all(count > len(keys) for count, keys in zip(rows(db_session), changed, strict=True))
    for tally in TALLIES:
        compact(db_session.connection(), tally)
    assert rows(db_session) == [len(keys) for keys in changed]
    assert kept(db_session) == changed and no_discrepancies(db_session)

    db_session.rollback()
    assert kept(db_session) == before


def test_a_write_that_moves_no_figure_writes_no_tally_row(db_session: Session) -> None:
    build_world(db_session, seed=20261131, enterprises=20)
    before, count = kept(db_session), rows(db_session)
    db_session.execute(text("UPDATE proposals SET rank = rank + 1, weight = weight * 2"))
    db_session.execute(text("UPDATE loans SET outstanding = outstanding + 1"))  # as a repayment does
    assert rows(db_session) == count
    assert kept(db_session) == before
    assert no_discrepancies(db_session)


def test_two_writers_of_one_key_do_not_wait_for_each_other(app: Flask, db_session: Session) -> None:
    """A grant withdraws its need's other proposals, at other banks: were the tallies one shared row per key,
    two grants at two banks would each hold the other's row and deadlock."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time")
    build_world(db_session, seed=20261201, enterprises=20)
    pending = select(Proposal.id, Proposal.bank_id, Proposal.product_type).where(Proposal.status == "pending")
    by_key: dict[tuple[int, str], list[int]] = {}
    for proposal_id, bank_id, product_type in db_session.execute(pending.order_by(Proposal.id)):
        by_key.setdefault((bank_id, product_type), []).append(proposal_id)
    first, second = next(ids for ids in by_key.values() if len(ids) > 1)[:2]
    db_session.commit()
    withdraw = text("UPDATE proposals SET status = 'withdrawn' WHERE id = :id")
    factory = app.extensions["session_factory"]
    with factory() as one, factory() as other:
        one.execute(withdraw, {"id": first})  # not committed: its tally row is not visible to the other
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        other.execute(withdraw, {"id": second})  # would wait, then fail, on a row the first holds
        other.commit()
        # a compaction meanwhile neither waits for the first nor loses its rows
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        for tally in TALLIES:
            compact(other.connection(), tally)
        other.commit()
        one.commit()
    assert no_discrepancies(db_session)
