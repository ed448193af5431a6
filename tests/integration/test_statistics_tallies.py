"""The statistics tallies (db.tallies: the proposals', the response hours', the loans') stay equal to the
rows they sum, on SQLite and PostgreSQL, whatever writes those rows: the application's rounds, decisions and
ledger, and plain SQL updating many rows at once, moving rows between keys, and deleting them. A write that
moves no figure leaves the tally rows alone (no lock taken), and a write rolled back leaves them as they
were."""

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.tallies import LOAN_TALLIES, PROPOSAL_TALLIES, RESPONSE_HOURS, discrepancies
from matchmaker.models import Loan, LoanTally, Proposal, ProposalDecision, ProposalTally, ResponseHourTally
from tests.integration.stats_world import build_world

TALLIES = (PROPOSAL_TALLIES, RESPONSE_HOURS, LOAN_TALLIES)
MODELS = (ProposalTally, ResponseHourTally, LoanTally)


def kept(session: Session) -> list[list[tuple[object, ...]]]:
    return [sorted(tuple(row) for row in session.execute(select(model.__table__)).all()) for model in MODELS]


def no_discrepancies(session: Session) -> bool:
    return all(discrepancies(session.connection(), tally) == [] for tally in TALLIES)


def test_the_tallies_follow_every_write(db_session: Session) -> None:
    build_world(db_session, seed=20261130, enterprises=30)
    assert no_discrepancies(db_session)
    before = kept(db_session)
    assert all(before)
    proposals = db_session.scalar(select(func.count(Proposal.id)))
    assert db_session.scalar(select(func.sum(ProposalTally.proposals))) == proposals
    answered = select(func.count(Proposal.id)).where(Proposal.response_seconds.is_not(None))
    assert db_session.scalar(select(func.sum(ResponseHourTally.answered))) == db_session.scalar(answered)
    assert db_session.scalar(select(func.sum(LoanTally.granted_amount))) == db_session.scalar(
        select(func.sum(Loan.granted_amount))
    )

    # many rows in one statement, moving them between keys (pending -> expired, other hours of response,
    # another product type) and changing their figures
    db_session.execute(text("UPDATE proposals SET status = 'expired' WHERE status = 'pending'"))
    db_session.execute(
        text("UPDATE proposals SET previous_proposal_made = NULL, first_for_need = NOT first_for_need WHERE id % 3 = 0")
    )
    db_session.execute(text("UPDATE proposals SET response_seconds = response_seconds * 7 WHERE id % 2 = 0"))
    db_session.execute(text("UPDATE loans SET granted_amount = granted_amount + 1000 WHERE id % 2 = 0"))
    db_session.execute(text("UPDATE loans SET product_type = 'credit_loan', first_for_need = NOT first_for_need"))
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

    db_session.rollback()
    assert kept(db_session) == before


def test_a_write_that_moves_no_figure_writes_no_tally_row(db_session: Session) -> None:
    build_world(db_session, seed=20261131, enterprises=20)
    before = kept(db_session)
    db_session.execute(text("UPDATE proposals SET rank = rank + 1, weight = weight * 2"))
    db_session.execute(text("UPDATE loans SET outstanding = outstanding + 1"))  # as a repayment does
    if db_session.get_bind().dialect.name == "postgresql":
        # the transaction wrote no tally row: none carries its id
        for tally in TALLIES:
            written = f"SELECT count(*) FROM {tally.table} WHERE xmin::text = pg_current_xact_id()::text"
            assert db_session.scalar(text(written)) == 0, tally.table
    assert kept(db_session) == before
    assert no_discrepancies(db_session)
