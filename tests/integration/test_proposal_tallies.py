"""The proposal tallies (db.tallies.PROPOSAL_TALLIES) stay equal to the proposals they sum, on SQLite and
PostgreSQL, whatever writes the proposals: the application's rounds and decisions, and plain SQL updating
many rows at once, moving proposals between keys, and deleting them. A write that moves no figure leaves the
tally rows alone (no lock taken), and a write rolled back leaves them as they were."""

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.tallies import PROPOSAL_TALLIES, discrepancies
from matchmaker.models import Loan, Proposal, ProposalDecision, ProposalTally
from tests.integration.stats_world import build_world


def tallies(session: Session) -> list[tuple[object, ...]]:
    return [tuple(row) for row in session.execute(select(ProposalTally.__table__)).all()]


def test_the_tallies_follow_every_write_to_the_proposals(db_session: Session) -> None:
    build_world(db_session, seed=20261130, enterprises=30)
    connection = db_session.connection()
    assert discrepancies(connection, PROPOSAL_TALLIES) == []
    kept = tallies(db_session)
    assert db_session.scalar(select(func.sum(ProposalTally.proposals))) == db_session.scalar(
        select(func.count(Proposal.id))
    )

    # many rows in one statement, moving them between keys (pending -> expired) and changing their figures
    db_session.execute(text("UPDATE proposals SET status = 'expired' WHERE status = 'pending'"))
    db_session.execute(
        text("UPDATE proposals SET previous_proposal_made = NULL, first_for_need = NOT first_for_need WHERE id % 3 = 0")
    )
    db_session.execute(text("UPDATE proposals SET response_seconds = response_seconds / 2 WHERE id % 2 = 0"))
    # proposals with nothing hanging on them, gone
    unused = select(Proposal.id).where(
        Proposal.id.not_in(select(Loan.proposal_id)), Proposal.id.not_in(select(ProposalDecision.proposal_id))
    )
    doomed = db_session.scalars(unused.limit(5)).all()
    assert doomed
    db_session.execute(Proposal.__table__.delete().where(Proposal.id.in_(doomed)))
    assert discrepancies(connection, PROPOSAL_TALLIES) == []
    assert tallies(db_session) != kept

    db_session.rollback()
    assert tallies(db_session) == kept


def test_a_write_that_moves_no_figure_writes_no_tally_row(db_session: Session) -> None:
    build_world(db_session, seed=20261131, enterprises=20)
    before = tallies(db_session)
    db_session.execute(text("UPDATE proposals SET rank = rank + 1, weight = weight * 2"))
    if db_session.get_bind().dialect.name == "postgresql":
        # the transaction wrote no tally row: none carries its id
        written = db_session.scalar(
            text("SELECT count(*) FROM proposal_tallies WHERE xmin::text = pg_current_xact_id()::text")
        )
        assert written == 0
    assert tallies(db_session) == before
    assert discrepancies(db_session.connection(), PROPOSAL_TALLIES) == []
