"""The audit log: each kind of change writes one entry with its actor, time and changed fields in the same
transaction; refused changes write none; the database refuses to change or delete an entry."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from accounts.audit import AuditEntry, AuditFilter, list_entries, record_change
from accounts.models import Role
from accounts.tokens import create_account
from db.base import utcnow
from matchmaker.decisions import DecisionError, accept, expire_overdue, grant, reject
from matchmaker.ledger import LedgerError, record_event
from matchmaker.models import Proposal
from matchmaker.round_audit import ROUND_ACTOR
from matchmaker.rounds import RoundParams, run_round
from products.errors import ProductError
from products.importing import ImportRejected, import_products, parse_csv
from products.models import LoanProduct
from products.service import update_product, withdraw_product
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, Book, make_book, propose


@pytest.fixture
def book(db_session: Session) -> Book:
    made = make_book(db_session, quota=500 * WAN, amount_max=200 * WAN)
    db_session.commit()
    return made


def entries(session: Session, kind: str | None = None, entity_id: int | None = None) -> list[AuditEntry]:
    """The entries, oldest first, read afresh from the database."""
    session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if kind is not None:
        query = query.where(AuditEntry.entity_kind == kind)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query))


def latest(session: Session, kind: str, entity_id: int) -> AuditEntry:
    return entries(session, kind, entity_id)[-1]


def assert_recent(entry: AuditEntry) -> None:
    assert entry.occurred_at.tzinfo is not None
    assert utcnow() - timedelta(minutes=1) < entry.occurred_at <= utcnow()


def test_creating_a_product_records_all_its_fields_and_the_officer(db_session: Session, book: Book) -> None:
    entry = latest(db_session, "product", book.product.id)
    assert (entry.action, entry.actor_account_id, entry.system_actor, entry.before) == (
        "created",
        book.officer.id,
        None,
        None,
    )
    assert entry.after is not None
    assert entry.after["code"] == "B1-P" and entry.after["bank_id"] == book.bank.id
    assert entry.after["quota"] == 500 * WAN and entry.after["status"] == "active"
    assert (entry.actor_role, entry.actor_name) == ("bank", "B1 officer")
    assert_recent(entry)
    created = select(AuditEntry.id).where(AuditEntry.before.is_(None))  # SQL NULL, not a JSON null
    assert db_session.scalars(created).all() == [entry.id]


def test_a_product_update_records_only_the_changed_fields_and_its_identifiers(db_session: Session, book: Book) -> None:
    product = book.product
    old_rate, old_valid_to = product.rate_max, product.valid_to
    new_valid_to = china_today() + timedelta(days=400)
    update_product(
        db_session, product, {"rate_max": 9.5, "valid_to": new_valid_to, "quota": product.quota}, actor=book.officer
    )
    db_session.commit()
    entry = latest(db_session, "product", product.id)
    assert entry.action == "updated" and entry.actor_account_id == book.officer.id
    ids = {"code": "B1-P", "bank_id": book.bank.id}
    assert entry.before == ids | {"rate_max": old_rate, "valid_to": old_valid_to}
    assert entry.after == ids | {"rate_max": 9.5, "valid_to": new_valid_to.isoformat()}  # quota did not change

    count = len(entries(db_session))
    update_product(db_session, product, {"rate_max": 9.5}, actor=book.officer)  # no change, no entry
    db_session.commit()
    assert len(entries(db_session)) == count


def test_pausing_activating_and_withdrawing_are_status_changes(db_session: Session, book: Book) -> None:
    product = book.product
    update_product(db_session, product, {"status": "paused"}, actor=book.officer)
    update_product(db_session, product, {"status": "active"}, actor=book.officer)
    withdraw_product(db_session, product, actor=book.officer)
    withdraw_product(db_session, product, actor=book.officer)  # already withdrawn: nothing changes
    db_session.commit()
    changes = [(e.action, e.before, e.after) for e in entries(db_session, "product", product.id)[1:]]
    ids = {"code": "B1-P", "bank_id": book.bank.id}
    assert changes == [
        ("status_changed", ids | {"status": "active"}, ids | {"status": "paused"}),
        ("status_changed", ids | {"status": "paused"}, ids | {"status": "active"}),
        ("status_changed", ids | {"status": "active"}, ids | {"status": "withdrawn"}),
    ]


def test_a_refused_product_change_writes_no_entry(db_session: Session, book: Book) -> None:
    count = len(entries(db_session))
    with pytest.raises(ProductError):
        update_product(db_session, book.product, {"amount_min": 900 * WAN}, actor=book.officer)
    db_session.commit()
    assert len(entries(db_session)) == count


def _csv(*rows: str) -> bytes:
    header = "code,name,type,amount_min,amount_max,term_min_months,term_max_months,rate_min,rate_max,quota"
    return "\n".join([header, *rows]).encode()


def test_an_import_records_each_created_and_updated_row_with_its_line(db_session: Session, book: Book) -> None:
    rows = parse_csv(
        _csv(
            "NEW-1,新产品,credit_loan,100000,1000000,1,24,3.5,6.0,50000000",
            f"B1-P,{book.product.name},credit_loan,100000,2000000,1,36,3.5,6.0,60000000",
        )
    )
    import_products(db_session, book.bank.id, rows, actor=book.officer)
    db_session.commit()
    created = db_session.scalars(select(LoanProduct).where(LoanProduct.code == "NEW-1")).one()
    new_entry, updated_entry = latest(db_session, "product", created.id), latest(db_session, "product", book.product.id)
    assert (new_entry.action, new_entry.note) == ("created", "文件导入第 2 行 / import, line 2")
    assert updated_entry.action == "updated" and updated_entry.note.endswith("import, line 3")
    assert updated_entry.after is not None and updated_entry.after["quota"] == 60_000_000

    count = len(entries(db_session))
    with pytest.raises(ImportRejected):
        import_products(
            db_session,
            book.bank.id,
            parse_csv(_csv("NEW-2,x,credit_loan,100000,1000000,1,24,3.5,6.0,0")),
            actor=book.officer,
        )
    db_session.rollback()
    assert len(entries(db_session)) == count


def test_accept_and_reject_are_decisions_by_the_officer(db_session: Session, book: Book) -> None:
    first = propose(db_session, enterprise_with_need(db_session, 1), book.product)
    second = propose(db_session, enterprise_with_need(db_session, 2), book.product)
    accept(db_session, first, book.officer)
    reject(db_session, second, book.officer, "other", "行业政策调整")
    db_session.commit()
    accepted, rejected = latest(db_session, "proposal", first.id), latest(db_session, "proposal", second.id)
    ids = {"need_id": first.need_id, "product_id": book.product.id, "bank_id": book.bank.id}
    assert (accepted.action, accepted.actor_account_id) == ("decided", book.officer.id)
    assert (accepted.before, accepted.after) == (ids | {"status": "pending"}, ids | {"status": "accepted"})
    assert rejected.after is not None and rejected.after["status"] == "rejected"
    assert rejected.after["reason"] == "other" and rejected.note == "行业政策调整"
    assert_recent(rejected)


def test_a_full_grant_records_the_decision_the_loan_and_the_withdrawn_proposals(
    db_session: Session, book: Book
) -> None:
    need = enterprise_with_need(db_session, 1)
    chosen = propose(db_session, need, book.product)
    other_book = make_book(db_session, "B2")
    other = propose(db_session, need, other_book.product)
    loan = grant(db_session, chosen, book.officer, 100 * WAN, 4.2, 12, china_today(), "first_loan")
    db_session.commit()

    decision = latest(db_session, "proposal", chosen.id)
    assert (decision.action, decision.before, decision.after) == (
        "decided",
        {"need_id": need.id, "product_id": book.product.id, "bank_id": book.bank.id, "status": "pending"},
        {"need_id": need.id, "product_id": book.product.id, "bank_id": book.bank.id, "status": "granted"},
    )
    withdrawn = latest(db_session, "proposal", other.id)
    assert (withdrawn.action, withdrawn.actor_account_id) == ("status_changed", book.officer.id)
    assert withdrawn.after is not None and withdrawn.after["status"] == "withdrawn"
    assert withdrawn.note == "the need was granted in full"

    created = latest(db_session, "loan", loan.id)
    assert (created.action, created.actor_account_id, created.before) == ("created", book.officer.id, None)
    assert created.after is not None
    assert {key: created.after[key] for key in ("amount", "outstanding", "status", "granted_on", "proposal_id")} == {
        "amount": 100 * WAN,
        "outstanding": 100 * WAN,
        "status": "current",
        "granted_on": china_today().isoformat(),
        "proposal_id": chosen.id,
    }


def test_refused_decisions_write_no_entry(db_session: Session, book: Book) -> None:
    proposal = propose(db_session, enterprise_with_need(db_session, 1), book.product)
    db_session.commit()
    count = len(entries(db_session))
    with pytest.raises(DecisionError):
        reject(db_session, proposal, book.officer, "bad_mood")
    with pytest.raises(DecisionError):  # more than the product's maximum
        grant(db_session, proposal, book.officer, 300 * WAN, 4.2, 12, china_today(), "first_loan")
    db_session.commit()
    accept(db_session, proposal, book.officer)
    db_session.commit()
    with pytest.raises(DecisionError):  # accepted already
        accept(db_session, proposal, book.officer)
    db_session.commit()
    assert len(entries(db_session)) == count + 1


def test_expiry_is_recorded_as_the_system(db_session: Session, book: Book) -> None:
    old = propose(
        db_session, enterprise_with_need(db_session, 1), book.product, created_at=utcnow() - timedelta(days=11)
    )
    db_session.commit()
    assert expire_overdue(db_session, utcnow()) == 1
    db_session.commit()
    entry = latest(db_session, "proposal", old.id)
    assert (entry.action, entry.actor_account_id, entry.system_actor) == (
        "status_changed",
        None,
        "matchmaker match expire",
    )
    assert (entry.actor_role, entry.actor_name) == ("system", "matchmaker match expire")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("pending", "expired")


def test_loan_events_record_the_balance_and_status_before_and_after(db_session: Session, book: Book) -> None:
    proposal = propose(db_session, enterprise_with_need(db_session, 1, amount_wan=200), book.product)
    loan = grant(db_session, proposal, book.officer, 100 * WAN, 4.0, 12, china_today(), "first_loan")
    db_session.commit()
    repaid = record_event(db_session, loan, "repaid", 30 * WAN, china_today(), book.officer, note="第一期")
    db_session.commit()
    entry = latest(db_session, "loan", loan.id)
    ids = {"event_id": repaid.id, "event_kind": "repaid", "event_amount": 30 * WAN}
    assert (entry.action, entry.actor_account_id, entry.note) == ("event", book.officer.id, "第一期")
    assert entry.before == ids | {"outstanding": 100 * WAN, "status": "current"}
    assert entry.after == ids | {"outstanding": 70 * WAN, "status": "current"}

    overdue = record_event(db_session, loan, "overdue", 10 * WAN, china_today(), book.officer)
    renewed = record_event(db_session, loan, "renewed", 70 * WAN, china_today(), book.officer, term_months=24)
    db_session.commit()
    overdue_entry, renewed_entry = entries(db_session, "loan", loan.id)[-2:]
    assert overdue_entry.after is not None and overdue_entry.after["event_id"] == overdue.id
    assert overdue_entry.after["status"] == "overdue"
    assert renewed_entry.before is not None and renewed_entry.after is not None
    assert (renewed_entry.before["term_months"], renewed_entry.after["term_months"]) == (12, 24)
    assert (renewed_entry.before["status"], renewed_entry.after["status"]) == ("overdue", "current")
    assert renewed_entry.after["event_id"] == renewed.id


def test_a_refused_loan_event_writes_no_entry(db_session: Session, book: Book) -> None:
    proposal = propose(db_session, enterprise_with_need(db_session, 1), book.product)
    loan = grant(db_session, proposal, book.officer, 100 * WAN, 4.0, 12, china_today(), "first_loan")
    db_session.commit()
    count = len(entries(db_session))
    with pytest.raises(LedgerError):
        record_event(db_session, loan, "repaid", 101 * WAN, china_today(), book.officer)
    db_session.commit()
    assert len(entries(db_session)) == count


def test_a_round_records_the_creation_of_each_of_its_proposals(
    app: Flask, db_session: Session, market: dict[str, Any], tmp_path: Path
) -> None:
    with app.extensions["session_factory"]() as session, session.begin():
        admin_id = create_account(session, "运营", Role.ADMIN).id
    factory = app.extensions["session_factory"]
    by_admin = run_round(factory, RoundParams(), tmp_path, account_id=admin_id)
    proposals = db_session.scalars(select(Proposal).where(Proposal.round_id == by_admin.id)).all()
    assert proposals
    created = {entry.entity_id: entry for entry in entries(db_session, "proposal")}
    assert set(created) == {proposal.id for proposal in proposals}
    for proposal in proposals:
        entry = created[proposal.id]
        assert (entry.action, entry.actor_account_id, entry.before) == ("created", admin_id, None)
        assert entry.after == {
            "round_id": by_admin.id,
            "need_id": proposal.need_id,
            "product_id": proposal.product_id,
            "bank_id": proposal.bank_id,
            "rank": proposal.rank,
            "status": "pending",
        }
        assert entry.note == f"第 {by_admin.id} 轮匹配 / round {by_admin.id}"
        assert_recent(entry)

    db_session.execute(text("UPDATE financing_needs SET status = 'open'"))  # route the needs again
    db_session.execute(text("UPDATE proposals SET status = 'expired'"))
    db_session.commit()
    by_system = run_round(factory, RoundParams(), tmp_path)
    again = db_session.scalars(select(Proposal.id).where(Proposal.round_id == by_system.id)).all()
    actors = {(e.actor_account_id, e.system_actor) for e in entries(db_session, "proposal") if e.entity_id in again}
    assert again and actors == {(None, ROUND_ACTOR)}


def test_a_system_actor_must_say_what_acted(db_session: Session, book: Book) -> None:
    with pytest.raises(ValueError):
        record_change(db_session, "product", book.product.id, "updated", " ")
    with pytest.raises(ValueError):
        record_change(db_session, "need", 1, "updated", book.officer)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET note = 'edited' WHERE id = :id",
        "UPDATE audit_log SET actor_account_id = NULL, system_actor = 'someone else' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(db_session: Session, book: Book, statement: str) -> None:
    entry = latest(db_session, "product", book.product.id)
    row = db_session.execute(select(AuditEntry.__table__).where(AuditEntry.id == entry.id)).one()
    with pytest.raises(DatabaseError, match="audit_log is append-only"):
        db_session.connection().execute(text(statement), {"id": entry.id})
    db_session.rollback()
    assert db_session.execute(select(AuditEntry.__table__).where(AuditEntry.id == entry.id)).one() == row


def test_the_listing_filters_and_pages_newest_first(db_session: Session, book: Book) -> None:
    other = create_account(db_session, "B1 second officer", Role.BANK, book.bank.id)
    for status in ("paused", "active", "paused"):
        update_product(db_session, book.product, {"status": status}, actor=other)
    db_session.commit()
    everything = entries(db_session)
    newest_first = [entry.id for entry in reversed(everything)]

    page, total = list_entries(db_session, AuditFilter(), 1, 2)
    assert ([entry.id for entry in page], total) == (newest_first[:2], len(everything))
    page, _total = list_entries(db_session, AuditFilter(), 2, 2)
    assert [entry.id for entry in page] == newest_first[2:4]

    by_other, total = list_entries(db_session, AuditFilter(actor_account_id=other.id), 1, 50)
    assert total == 3 and {entry.actor_name for entry in by_other} == {"B1 second officer"}
    kind = AuditFilter(entity_kind="product", entity_id=book.product.id)
    assert list_entries(db_session, kind, 1, 50)[1] == 4
    assert list_entries(db_session, AuditFilter(entity_kind="loan"), 1, 50) == ([], 0)

    cut = everything[1].occurred_at
    after_cut, total = list_entries(db_session, AuditFilter(since=cut), 1, 50)
    assert total == len([e for e in everything if e.occurred_at >= cut]) and all(
        e.occurred_at >= cut for e in after_cut
    )
    before_cut, total = list_entries(db_session, AuditFilter(until=cut), 1, 50)
    assert all(e.occurred_at < cut for e in before_cut)
    far = datetime(3000, 1, 1, tzinfo=UTC)
    assert list_entries(db_session, AuditFilter(since=far), 1, 50) == ([], 0)
