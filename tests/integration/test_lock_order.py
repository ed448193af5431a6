"""Writers take locks in one order — the need, then its loan, then the product — so that a loan-event file that
corrects several grants and a grant on another of the bank's products never wait for each other in a circle
(PostgreSQL detects that as a deadlock and fails one of them)."""

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accounts.models import Account
from matchmaker.decisions import grant
from matchmaker.ledger_import import import_events
from matchmaker.models import CreditEvent, Loan, Proposal
from products.importing import ParsedRow
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, make_book, propose


def test_a_file_of_grant_corrections_and_a_grant_both_go_through(app: Flask, db_session: Session) -> None:
    """Bank B2 lends on need N2 (product P2) and, through the same officer's bank, proposes P2 for need N1, on
    which P1 already lent. Its file corrects L2's grant, then L1's. While the file is between its lines, an
    officer grants N1 on P2: taken line by line, the file would hold P2 and wait for N1 while the grant holds
    N1 and waits for P2."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks: SQLite lets one writer in at a time")
    first, second = make_book(db_session, "B1", quota=1_000 * WAN), make_book(db_session, "B2", quota=1_000 * WAN)
    n1, n2 = (enterprise_with_need(db_session, index, amount_wan=200) for index in (1, 2))
    on_p1, pending_on_p2 = propose(db_session, n1, first.product), propose(db_session, n1, second.product)
    on_p2 = propose(db_session, n2, second.product)
    l1 = grant(db_session, on_p1, first.officer, 100 * WAN, 4.0, 12, china_today(), "new_loan")
    l2 = grant(db_session, on_p2, second.officer, 100 * WAN, 4.0, 12, china_today(), "new_loan")
    db_session.commit()
    # The reviewer's case is one bank with both products; here L1 is handed to B2 so that B2's file may report
    # on both loans (the locks taken are the same).
    l1.bank_id = l2.bank_id
    db_session.commit()

    def granted_event(loan: Loan) -> int:
        return db_session.scalars(select(CreditEvent.id).where(CreditEvent.loan_id == loan.id)).one()

    rows = [
        ParsedRow(line, {"loan_id": str(loan.id), "kind": "corrected", "amount": str(-WAN),
                         "occurred_on": china_today().isoformat(), "corrects_event_id": str(granted_event(loan)),
                         "note": "核对"})
        for line, loan in ((2, l2), (3, l1))
    ]  # fmt: skip
    factory = app.extensions["session_factory"]
    outcome: dict[str, str] = {}

    def grant_n1_on_p2() -> None:
        with factory() as session:
            proposal = session.get_one(Proposal, pending_on_p2.id)
            officer = session.get_one(Account, second.officer.id)
            grant(session, proposal, officer, 50 * WAN, 4.0, 12, china_today(), "new_loan")
            session.commit()
            outcome["grant"] = "committed"

    officer_thread = threading.Thread(target=grant_n1_on_p2)
    with factory() as session:

        def after_first_line(flushed: Session, _context: object) -> None:
            if any(isinstance(item, CreditEvent) for item in flushed.new) and not outcome:
                outcome["started"] = "yes"
                officer_thread.start()
                time.sleep(1.5)  # the grant now waits for what the file holds

        event.listen(session, "after_flush", after_first_line)
        import_events(session, session.get_one(Account, second.officer.id), rows)
        session.commit()
        outcome["file"] = "committed"
    officer_thread.join(30)
    assert outcome == {"started": "yes", "file": "committed", "grant": "committed"}
