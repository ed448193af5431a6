"""A database that is not up: start-up waits, then stops with one clear line; requests answer 503 with
Retry-After instead of a 500."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api import create_app
from db.wait import DatabaseUnavailable, wait_for_database

ROOT = Path(__file__).resolve().parents[2]
# Nothing listens on port 1: the connection is refused at once, as when PostgreSQL is down.
DOWN = "postgresql+psycopg://matchmaker:s3cret-pw@127.0.0.1:1/matchmaker"


def test_waiting_gives_up_with_a_clear_message_that_hides_the_password() -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as refused:
        wait_for_database(DOWN, seconds=1.2, interval=0.4)
    assert time.monotonic() - started < 5
    message = str(refused.value)
    assert re.search(r"did not answer within 1\.2 s \([2-9] attempts\)", message), message
    assert "127.0.0.1:1" in message and "s3cret-pw" not in message


def test_a_database_that_answers_is_used_at_once(database_url: str) -> None:
    assert wait_for_database(database_url, seconds=5) == 1


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"DATABASE_URL": DOWN, "MATCHMAKER_DB_WAIT": "1", "SECRET_KEY": "x"} | env
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def test_migrating_against_a_database_that_is_down_stops_with_one_line() -> None:
    matchmaker = str(Path(sys.executable).with_name("matchmaker"))
    result = _run([matchmaker, "db", "upgrade"])
    assert result.returncode == 1
    assert "did not answer within 1 s" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout and "s3cret-pw" not in result.stderr


def test_gunicorn_stops_instead_of_looping_when_the_database_never_answers() -> None:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = _run([gunicorn, "--config", "gunicorn.conf.py", "--bind", "127.0.0.1:0", "api:create_app()"])
    assert result.returncode != 0
    assert "cannot start: the database at" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_request_while_the_database_is_down_answers_503_with_retry_after() -> None:
    app = create_app({"DATABASE_URL": DOWN, "SECRET_KEY": "test", "TESTING": True})
    client = app.test_client()
    api = client.get("/api/v1/products")
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "5"
    assert "retry shortly" in api.json["message"]
    page = client.get("/products")
    assert page.status_code == 503 and "请稍后重试" in page.get_data(as_text=True)
    app.extensions["engine"].dispose()


def test_a_missing_migration_is_a_500_not_a_503(tmp_path: Path) -> None:
    """An unmigrated SQLite file raises OperationalError too ("no such table"): that is a bug to see."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SECRET_KEY": "t", "TESTING": True})
    response = app.test_client().get("/api/v1/products")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    app.extensions["engine"].dispose()
