"""Training the platform's scoring model from the credit ledger: which loans count as bad, good or not known
yet, the features as at the grant, and `matchmaker scoring train --from-ledger` (success and refusal)."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from enterprises.schemas import ProfileSchema
from enterprises.service import save_profile
from matchmaker.decisions import grant
from matchmaker.ledger import record_event
from matchmaker.ledger_outcomes import ledger_outcomes, months_between
from matchmaker.models import Loan, ScoringModel
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, Book, make_book, propose

_index = iter(range(10_000))


def new_loan(session: Session, book: Book, granted_on: date | None = None, debt_ratio: float = 0.4) -> Loan:
    """A 100 万 loan, granted today unless ``granted_on`` says otherwise, to a new enterprise whose profile of the
    year before the grant shows ``debt_ratio``."""
    granted_on = granted_on or china_today()
    need = enterprise_with_need(session, next(_index))
    enterprise = need.enterprise
    year = granted_on.year - 1
    figures = {"annual_revenue": 3_000 * WAN, "net_profit": 200 * WAN, "total_assets": 2_000 * WAN}
    save_profile(
        session,
        enterprise,
        year,
        ProfileSchema().load(figures | {"total_liabilities": round(2_000 * WAN * debt_ratio)}),
    )
    created = datetime.combine(granted_on, datetime.min.time(), UTC) - timedelta(days=1)
    proposal = propose(session, need, book.product, created_at=created)
    return grant(session, proposal, book.officer, 100 * WAN, 4.0, 12, granted_on, "first_loan")


def test_outcomes_follow_the_documented_rules(db_session: Session) -> None:
    book = make_book(db_session, quota=5_000 * WAN)
    repaid, overdue, defaulted = new_loan(db_session, book), new_loan(db_session, book), new_loan(db_session, book)
    seasoned = new_loan(db_session, book, china_today() - timedelta(days=400))
    young = new_loan(db_session, book)
    mistaken = new_loan(db_session, book)  # an overdue report corrected to 0: not bad, and still young
    record_event(db_session, repaid, "repaid", 100 * WAN, china_today(), book.officer)
    record_event(db_session, overdue, "overdue", 10 * WAN, china_today(), book.officer)
    record_event(db_session, overdue, "repaid", 100 * WAN, china_today(), book.officer)  # trouble stays trouble
    record_event(db_session, defaulted, "defaulted", 100 * WAN, china_today(), book.officer)
    wrong = record_event(db_session, mistaken, "overdue", 5 * WAN, china_today(), book.officer)
    record_event(db_session, mistaken, "corrected", -5 * WAN, china_today(), book.officer, corrects=wrong)
    no_profile = new_loan(db_session, book)
    record_event(db_session, no_profile, "repaid", 100 * WAN, china_today(), book.officer)
    for profile in db_session.get_one(Enterprise, no_profile.enterprise_id).profiles:
        profile.fiscal_year = china_today().year  # its only statements are of the grant's own year
    db_session.commit()

    found = ledger_outcomes(db_session, china_today())
    labels = dict(zip(found.loan_ids, found.labels, strict=True))
    assert labels == {repaid.id: 0, overdue.id: 1, defaulted.id: 1, seasoned.id: 0}
    assert young.id not in labels and mistaken.id not in labels
    assert found.left_out == {"unknown": 2, "no_profile": 1}
    record = found.records[found.loan_ids.index(seasoned.id)]
    assert record["first_time_borrower"] is True and record["total_liabilities"] == 800 * WAN
    assert record["years_in_business"] == (seasoned.granted_on - date(2015, 1, 1)).days / 365.25  # at the grant
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0
    assert months_between(date(2026, 1, 31), date(2027, 1, 31)) == 12


def train(app: Flask, out: Path, *more: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(
        args=["scoring", "train", "--from-ledger", "--out", str(out), "--folds", "2", *more]
    )
    return result.exit_code, result.output


def test_train_from_ledger_refuses_too_few_outcomes_then_trains_and_registers(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    book = make_book(db_session, quota=5_000 * WAN)
    good = [new_loan(db_session, book, debt_ratio=0.3 + 0.02 * i) for i in range(12)]
    troubled = [new_loan(db_session, book, debt_ratio=0.6 + 0.03 * i) for i in range(10)]
    for loan in good:
        record_event(db_session, loan, "repaid", 100 * WAN, china_today(), book.officer)
    for loan in troubled[:3]:
        record_event(db_session, loan, "overdue", 20 * WAN, china_today(), book.officer)
    db_session.commit()

    code, output = train(app, tmp_path / "refused")
    assert code == 2, output
    assert "3 bad" in output and "12 good" in output and "at least 10 of each" in output
    assert "7 loans have no outcome yet" in output and "Traceback" not in output
    assert not (tmp_path / "refused").exists()
    assert db_session.scalar(select(ScoringModel)) is None

    for loan in troubled[3:]:
        record_event(db_session, loan, "defaulted", 100 * WAN, china_today(), book.officer)
    db_session.commit()
    code, output = train(app, tmp_path / "ledger")
    assert code == 0, output
    assert "10 bad and 12 good" in output and "AUC" in output and "registered, not active" in output
    report = json.loads((tmp_path / "ledger" / "report.json").read_text(encoding="utf-8"))
    assert (report["data"]["rows"], report["data"]["bad"], report["data"]["credit_ledger"]) == (22, 10, True)
    row = db_session.scalars(select(ScoringModel)).one()
    assert row.platform and not row.active and row.version == report["model_version"]

    record_event(
        db_session, new_loan(db_session, book, debt_ratio=0.25), "repaid", 100 * WAN, china_today(), book.officer
    )
    db_session.commit()  # a ledger with one more outcome: another model, another version
    code, output = train(app, tmp_path / "active", "--activate")
    assert code == 0, output
    db_session.expire_all()
    assert db_session.scalars(select(ScoringModel.active).order_by(ScoringModel.id)).all() == [False, True]


def test_train_needs_a_source(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    neither = runner.invoke(args=["scoring", "train", "--out", str(tmp_path / "m")])
    assert neither.exit_code == 2 and "--from-ledger" in neither.output
    both = runner.invoke(args=["scoring", "train", "--from-ledger", "--target", "status"])
    assert both.exit_code == 2 and "leave out" in both.output
