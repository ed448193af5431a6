"""Grants under real concurrency and real faults: gunicorn with 4 workers (GUNICORN_WORKERS) on SQLite and,
when TEST_DATABASE_URL is set, on PostgreSQL (a database of its own).

- 50 grant requests at once on one product whose quota allows 10 of them: at most the quota is granted, the
  product's granted total equals the ledger, every loser gets 409 and nobody a 5xx.
- A worker SIGKILLed while grants and loan events with Idempotency-Keys are in flight: clients whose
  connection breaks send the same request again with the same key; afterwards every acknowledged grant and
  event is in the ledger exactly once and nothing was applied twice.

The data is written straight into the database (the builders of the ledger tests) while the server runs."""

import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from accounts.tokens import issue_token
from db import make_engine, make_session_factory
from matchmaker.ledger import product_granted_total_from_ledger, reconcile
from matchmaker.models import CreditEvent, Loan
from products.models import LoanProduct
from tests.conftest import BACKENDS, enterprise_with_need, fresh_database
from tests.e2e.conftest import Server, gunicorn_server
from tests.integration.credit_book import WAN, make_book, propose

GRANT = 100 * WAN  # each need asks 100 万元 and each grant gives all of it
REPAYMENTS = 4  # loan events each granted loan gets in the fault test
WORKERS = 4


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp(f"grants-{request.param}")
    with fresh_database(request.param, directory) as url, gunicorn_server(url, WORKERS, directory / "log") as server:
        yield server


@dataclass
class Market:
    token: str
    product_id: int
    quota: int
    proposals: list[int]


def seed_market(url: str, bank_code: str, proposals: int, grants_within_quota: int, first_index: int) -> Market:
    """A bank with an officer's token and one product whose quota allows ``grants_within_quota`` grants of
    GRANT, and ``proposals`` pending proposals of it, each for another enterprise's need of GRANT."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            book = make_book(session, bank_code, quota=grants_within_quota * GRANT)
            ids = [
                propose(session, enterprise_with_need(session, first_index + index), book.product).id
                for index in range(proposals)
            ]
            return Market(issue_token(session, book.officer), book.product.id, book.product.quota, ids)
    finally:
        engine.dispose()


def post(server: Server, path: str, body: dict[str, Any], token: str, key: str | None = None) -> tuple[int, Any]:
    """One POST on a connection of its own; a broken connection raises (OSError or HTTPException)."""
    address = urlsplit(server.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def grant_body() -> dict[str, Any]:
    return {
        "amount": GRANT,
        "rate": 4.2,
        "term_months": 12,
        "granted_on": datetime.now(UTC).date().isoformat(),
        "kind": "first_loan",
    }


def ledger_state(url: str, product_id: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            loans = session.execute(select(Loan.proposal_id, Loan.id).where(Loan.product_id == product_id)).all()
            events = session.execute(
                select(CreditEvent.loan_id, CreditEvent.kind, func.count())
                .join(Loan, Loan.id == CreditEvent.loan_id)
                .where(Loan.product_id == product_id)
                .group_by(CreditEvent.loan_id, CreditEvent.kind)
            ).all()
            return {
                "loans": dict(loans),
                "events": {(loan, kind): count for loan, kind, count in events},
                "outstanding": dict(session.execute(select(Loan.id, Loan.outstanding)).all()),
                "granted_total": session.get_one(LoanProduct, product_id).granted_total,
                "ledger_total": product_granted_total_from_ledger(session, product_id),
                "discrepancies": reconcile(session),
            }
    finally:
        engine.dispose()


def test_fifty_concurrent_grants_never_pass_the_quota(server: Server) -> None:
    assert len(server.worker_pids()) == WORKERS  # gunicorn.conf.py honours GUNICORN_WORKERS
    market = seed_market(server.database_url, "RACE", proposals=50, grants_within_quota=10, first_index=0)
    start = threading.Barrier(len(market.proposals))

    def grant(proposal: int) -> tuple[int, Any]:
        start.wait()
        return post(server, f"/api/v1/proposals/{proposal}/grant", grant_body(), market.token)

    with ThreadPoolExecutor(len(market.proposals)) as pool:
        answers = dict(zip(market.proposals, pool.map(grant, market.proposals), strict=True))

    statuses = Counter(status for status, _ in answers.values())
    assert set(statuses) <= {201, 409}, statuses
    granted = {proposal for proposal, (status, _) in answers.items() if status == 201}
    assert len(granted) * GRANT <= market.quota
    assert len(granted) == 10  # every request was valid: the quota, and only it, turned the others away
    for status, body in answers.values():
        if status == 409:
            assert "amount" in body["errors"]["json"], body  # the quota's refusal
    state = ledger_state(server.database_url, market.product_id)
    assert set(state["loans"]) == granted
    assert state["granted_total"] == state["ledger_total"] == len(granted) * GRANT
    assert state["discrepancies"] == []


@dataclass
class Client:
    """One bank officer's retry loop: every request is sent again with the same Idempotency-Key until the
    server answers it (a broken connection or a 409 "key in progress" is not an answer)."""

    server: Server
    token: str
    broken: Counter[str] = field(default_factory=Counter)  # connection errors by kind
    seen: Counter[int] = field(default_factory=Counter)  # every status answered, retries included
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, path: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                status, answer = post(self.server, path, body, self.token, key)
            except (OSError, http.client.HTTPException) as error:
                with self.lock:
                    self.broken[type(error).__name__] += 1
                time.sleep(0.05)
                continue
            with self.lock:
                self.seen[status] += 1
            if status == 409 and "headers" in (answer.get("errors") or {}):
                time.sleep(0.1)  # the first request with this key is still running
                continue
            return status, answer
        raise AssertionError(f"no answer to {path} with key {key} within 20 s")


def test_a_killed_worker_loses_no_acknowledged_grant_and_applies_none_twice(server: Server) -> None:
    market = seed_market(server.database_url, "KILL", proposals=30, grants_within_quota=20, first_index=1000)
    client = Client(server, market.token)
    today = datetime.now(UTC).date().isoformat()
    start = threading.Barrier(len(market.proposals) + 1)

    def grant_and_repay(proposal: int) -> int:
        """Grant the proposal, then report repayments on the loan; returns the grant's final status."""
        start.wait()
        status, answer = client.send(f"/api/v1/proposals/{proposal}/grant", grant_body(), f"grant-{proposal}")
        if status != 201:
            return status
        repayment = {"kind": "repaid", "amount": WAN, "occurred_on": today}
        for number in range(REPAYMENTS):
            event_status, _ = client.send(
                f"/api/v1/loans/{answer['loan_id']}/events", repayment, f"repay-{proposal}-{number}"
            )
            assert event_status == 201, event_status
        return status

    with ThreadPoolExecutor(len(market.proposals)) as pool:
        results = pool.map(grant_and_repay, market.proposals)
        start.wait()
        killed: set[int] = set()
        while not client.broken and len(killed) < 5:  # until a client saw its connection break
            time.sleep(0.1)
            for victim in sorted(set(server.worker_pids()) - killed)[:1]:  # none while the master respawns
                os.kill(victim, signal.SIGKILL)
                killed.add(victim)
        outcomes = dict(zip(market.proposals, results, strict=True))

    assert client.broken, "no request was cut by the killed workers"
    assert not [status for status in client.seen if status >= 500], client.seen
    acknowledged = {proposal for proposal, status in outcomes.items() if status == 201}
    assert set(outcomes.values()) <= {201, 409}
    assert len(acknowledged) == 20  # the quota's 20 grants, whatever broke on the way

    state = ledger_state(server.database_url, market.product_id)
    assert set(state["loans"]) == acknowledged  # every grant acknowledged is there, no other
    for proposal in acknowledged:
        loan = state["loans"][proposal]
        assert state["events"][(loan, "granted")] == 1
        assert state["events"][(loan, "repaid")] == REPAYMENTS  # each acknowledged event once, none twice
        assert state["outstanding"][loan] == GRANT - REPAYMENTS * WAN
    assert state["granted_total"] == state["ledger_total"] == len(acknowledged) * GRANT <= market.quota
    assert state["discrepancies"] == []
