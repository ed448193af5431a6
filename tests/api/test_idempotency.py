"""The Idempotency-Key header on grants and loan events, through the Flask test client: a retry answers the
first answer and writes once, the same key with another body is refused, keys belong to the caller, a bad
key is refused, no key works as before, and a request that finds its key held by a running transaction
waits for it (answering what it committed) or answers 409."""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts.idempotency import IdempotencyKey, body_sha256
from accounts.tokens import account_for_token
from db.base import utcnow
from matchmaker.models import CreditEvent, Loan
from reference.china_time import china_today
from tests.api.proposal_world import World, build_world, grant_body
from tests.conftest import auth
from tests.integration.credit_book import WAN, snapshot

HEADER = "Idempotency-Key"


@pytest.fixture
def world(app: Flask, make_token: Callable[..., str]) -> World:
    return build_world(app, make_token)


def with_key(token: str, key: str) -> dict[str, str]:
    return auth(token) | {HEADER: key}


def writes(session: Session) -> dict[str, Any]:
    """What a grant or an event writes, and the stored keys."""
    return snapshot(session) | {"keys": session.scalar(select(func.count()).select_from(IdempotencyKey))}


def test_a_retried_grant_answers_the_first_answer_and_grants_once(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    url, headers = f"/api/v1/proposals/{world.proposal}/grant", with_key(world.tokens["bank1"], "grant-1")
    first = client.post(url, json=grant_body(), headers=headers)
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    after_first = writes(db_session)
    assert after_first["keys"] == 1

    # the same request again, with its keys in another order and other whitespace: the same request
    reordered = '{"kind": "first_loan", "granted_on": "%s",  "term_months": 12, "rate": 4.35, "amount": %d}'
    for retry in (
        client.post(url, json=grant_body(), headers=headers),
        client.post(
            url,
            data=reordered % (china_today().isoformat(), 60 * WAN),
            headers=headers,
            content_type="application/json",
        ),
    ):
        assert retry.status_code == 201
        assert retry.get_data() == first.get_data()
        assert retry.headers["Idempotent-Replayed"] == "true"
    assert writes(db_session) == after_first
    assert db_session.scalar(select(func.count()).select_from(Loan).where(Loan.proposal_id == world.proposal)) == 1

    # without the key the same grant is a new request, refused: the proposal is granted already
    assert client.post(url, json=grant_body(), headers=auth(world.tokens["bank1"])).status_code == 409


def test_the_same_key_with_another_body_or_path_is_refused_and_writes_nothing(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    token = world.tokens["bank1"]
    url = f"/api/v1/proposals/{world.proposal}/grant"
    assert client.post(url, json=grant_body(), headers=with_key(token, "k")).status_code == 201
    before = writes(db_session)
    event = {"kind": "repaid", "amount": WAN, "occurred_on": china_today().isoformat()}
    for method_url, body in (
        (url, grant_body(amount=50 * WAN)),
        (f"/api/v1/loans/{world.loan}/events", event),
    ):
        refused = client.post(method_url, json=body, headers=with_key(token, "k"))
        assert refused.status_code == 422, refused.json
        assert "Idempotency-Key" in refused.json["message"] and " / " in refused.json["message"]
        assert list(refused.json["errors"]["headers"]) == [HEADER]
    assert writes(db_session) == before


def test_keys_belong_to_the_calling_account(
    client: FlaskClient, world: World, db_session: Session, make_token: Callable[..., str]
) -> None:
    bank1, bank2 = world.tokens["bank1"], world.tokens["bank2"]
    mine = client.post(f"/api/v1/proposals/{world.proposal}/grant", json=grant_body(), headers=with_key(bank1, "k"))
    theirs = client.post(
        f"/api/v1/proposals/{world.other_proposal}/grant", json=grant_body(), headers=with_key(bank2, "k")
    )
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.json
    assert mine.json["loan_id"] != theirs.json["loan_id"]
    # another officer of bank 1 with the same key and body: not a replay of the first officer's answer
    colleague = make_token("bank", bank_code="B1", name="B1 second officer")
    again = client.post(
        f"/api/v1/proposals/{world.proposal}/grant", json=grant_body(), headers=with_key(colleague, "k")
    )
    assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers
    owners = db_session.scalars(select(IdempotencyKey.account_id).order_by(IdempotencyKey.account_id)).all()
    assert owners == sorted(account_for_token(db_session, token).id for token in (bank1, bank2))


def test_without_the_header_nothing_changes(client: FlaskClient, world: World, db_session: Session) -> None:
    url, bank = f"/api/v1/proposals/{world.proposal}/grant", auth(world.tokens["bank1"])
    assert client.post(url, json=grant_body(), headers=bank).status_code == 201
    assert client.post(url, json=grant_body(), headers=bank).status_code == 409
    assert writes(db_session)["keys"] == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "\x7f"])
def test_a_bad_key_is_refused_naming_the_header(
    client: FlaskClient, world: World, db_session: Session, key: str
) -> None:
    before = writes(db_session)
    for url, body in (
        (f"/api/v1/proposals/{world.proposal}/grant", grant_body()),
        (f"/api/v1/loans/{world.loan}/events", {"kind": "repaid", "amount": WAN, "occurred_on": str(china_today())}),
    ):
        response = client.post(url, json=body, headers=with_key(world.tokens["bank1"], key))
        assert response.status_code == 422, response.json
        assert response.json["errors"] == {"headers": {HEADER: [response.json["errors"]["headers"][HEADER][0]]}}
        assert "Idempotency-Key" in response.json["message"]
    assert writes(db_session) == before


def test_the_longest_and_oddest_valid_keys_work(client: FlaskClient, world: World) -> None:
    key = " ~!" + "k" * 252
    url = f"/api/v1/proposals/{world.proposal}/grant"
    first = client.post(url, json=grant_body(), headers=with_key(world.tokens["bank1"], key))
    again = client.post(url, json=grant_body(), headers=with_key(world.tokens["bank1"], key))
    assert (first.status_code, again.status_code) == (201, 201) and first.json == again.json


def test_a_refused_request_stores_no_key_so_the_corrected_one_may_reuse_it(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    url, headers = f"/api/v1/proposals/{world.proposal}/grant", with_key(world.tokens["bank1"], "fix-me")
    before = writes(db_session)
    assert client.post(url, json=grant_body(rate=9.9), headers=headers).status_code == 422
    assert client.post(url, json=grant_body(amount=150 * WAN), headers=headers).status_code == 422
    assert writes(db_session) == before
    assert client.post(url, json=grant_body(), headers=headers).status_code == 201


def test_a_retried_loan_event_is_recorded_once(client: FlaskClient, world: World, db_session: Session) -> None:
    url, headers = f"/api/v1/loans/{world.loan}/events", with_key(world.tokens["bank1"], "repay-2026-11")
    body = {"kind": "repaid", "amount": 10 * WAN, "occurred_on": china_today().isoformat()}
    answers = [client.post(url, json=body, headers=headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert answers[0].json["outstanding"] == 40 * WAN
    assert answers[1].get_data() == answers[2].get_data() == answers[0].get_data()
    events = db_session.scalars(select(CreditEvent.kind).where(CreditEvent.loan_id == world.loan)).all()
    assert events == ["granted", "repaid"]


def test_concurrent_requests_with_one_key_grant_once(app: Flask, world: World, db_session: Session) -> None:
    url, headers = f"/api/v1/proposals/{world.proposal}/grant", with_key(world.tokens["bank1"], "race")
    answers: list[Any] = []
    start = threading.Barrier(6)

    def send() -> None:
        client = app.test_client()
        start.wait()
        answers.append(client.post(url, json=grant_body(), headers=headers))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    bodies = {answer.get_data() for answer in answers if answer.status_code == 201}
    assert len(bodies) == 1
    assert sum("Idempotent-Replayed" not in answer.headers for answer in answers if answer.status_code == 201) == 1
    assert db_session.scalar(select(func.count()).select_from(Loan).where(Loan.proposal_id == world.proposal)) == 1


@pytest.fixture
def blocker(app: Flask) -> Iterator[Any]:
    """A second connection of its own, for a transaction that holds a key (and SQLite's write lock)."""
    connection = app.extensions["engine"].connect()
    yield connection
    connection.close()


def hold_key(
    connection: Any, account_id: int, key: str, url: str, request: dict[str, Any], answer: tuple[int, str] | None = None
) -> None:
    """Insert a key row in the connection's open (uncommitted) transaction, as a running request would."""
    connection.execute(
        text(
            "INSERT INTO idempotency_keys (account_id, key, method, path, body_sha256, status_code, response_body,"
            " created_at) VALUES (:account, :key, 'POST', :path, :hash, :status, :body, :now)"
        ),
        {
            "account": account_id,
            "key": key,
            "path": url,
            "hash": body_sha256(request),
            "status": answer[0] if answer else None,
            "body": answer[1] if answer else None,
            "now": utcnow(),
        },
    )


def test_a_key_held_by_a_running_request_answers_409_then_works(
    app: Flask, client: FlaskClient, world: World, db_session: Session, blocker: Any
) -> None:
    app.config["IDEMPOTENCY_CLAIM_WAIT"] = timedelta(milliseconds=300)
    token = world.tokens["bank1"]
    url = f"/api/v1/proposals/{world.proposal}/grant"
    account_id = account_for_token(db_session, token).id
    db_session.rollback()
    before = writes(db_session)
    db_session.rollback()

    transaction = blocker.begin()
    hold_key(blocker, account_id, "busy", url, grant_body())
    busy = client.post(url, json=grant_body(), headers=with_key(token, "busy"))
    assert busy.status_code == 409, busy.json
    assert busy.headers["Retry-After"] == "1" and list(busy.json["errors"]["headers"]) == [HEADER]
    assert "retry" in busy.json["message"] and " / " in busy.json["message"]
    transaction.rollback()
    assert writes(db_session) == before

    applied = client.post(url, json=grant_body(), headers=with_key(token, "busy"))  # the holder gave up: apply
    assert applied.status_code == 201 and "Idempotent-Replayed" not in applied.headers


def test_a_request_waits_for_the_running_one_with_its_key_and_answers_what_it_committed(
    app: Flask, world: World, db_session: Session, blocker: Any
) -> None:
    token = world.tokens["bank1"]
    url = f"/api/v1/proposals/{world.proposal}/grant"
    account_id = account_for_token(db_session, token).id
    db_session.rollback()
    answer: list[Any] = []

    transaction = blocker.begin()
    hold_key(blocker, account_id, "slow", url, grant_body(), (201, '{"id": 1, "from": "the first"}'))
    waiting = threading.Thread(
        target=lambda: answer.append(app.test_client().post(url, json=grant_body(), headers=with_key(token, "slow")))
    )
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive()  # it waits for the first request's transaction
    transaction.commit()
    waiting.join(timeout=5)
    [response] = answer
    assert response.status_code == 201 and response.json == {"id": 1, "from": "the first"}
    assert response.headers["Idempotent-Replayed"] == "true"
    assert db_session.scalar(select(func.count()).select_from(Loan).where(Loan.proposal_id == world.proposal)) == 0


def test_old_keys_are_purged_after_a_day_and_not_before(app: Flask, world: World, db_session: Session) -> None:
    client = app.test_client()
    for key in ("old", "young"):
        body = {"kind": "repaid", "amount": WAN, "occurred_on": china_today().isoformat()}
        response = client.post(
            f"/api/v1/loans/{world.loan}/events", json=body, headers=with_key(world.tokens["bank1"], key)
        )
        assert response.status_code == 201
    old = db_session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "old")).one()
    old.created_at = utcnow() - timedelta(hours=25)
    db_session.commit()

    runner = app.test_cli_runner()
    refused = runner.invoke(args=["accounts", "purge-idempotency-keys", "--hours", "23"])
    assert refused.exit_code != 0 and "23" in refused.output
    purged = runner.invoke(args=["accounts", "purge-idempotency-keys"])
    assert purged.exit_code == 0 and "1 idempotency key(s) deleted" in purged.output, purged.output
    db_session.expire_all()
    assert db_session.scalars(select(IdempotencyKey.key)).all() == ["young"]
