"""api.database.in_sessions_of_their_own, by which the regulators' dashboard runs its statistics side by side:
on PostgreSQL each job has a connection of its own and they run at the same time; on SQLite they run one
after another in the request's session; a job's exception reaches the caller."""

import threading

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.database import in_sessions_of_their_own, session
from matchmaker.stats_sql import one_process_per_statement


def test_jobs_run_at_once_on_connections_of_their_own_on_postgresql(app: Flask) -> None:
    with app.app_context():
        if app.extensions["engine"].dialect.name != "postgresql":
            pytest.skip("SQLite reads on one connection at a time (the next test)")
        both_started = threading.Barrier(2, timeout=10)  # broken, and the jobs fail, if they ran one by one

        def job(db: Session) -> tuple[int, int]:
            backend = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # both hold their connection here: a job that finished first could hand its own to the other
            both_started.wait()
            workers = db.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
            return backend, int(workers)

        done = in_sessions_of_their_own({"a": lambda db: job(one_process_per_statement(db)), "b": job}, 2)
        assert done["a"][0] != done["b"][0]
        assert done["a"][1] == 0 and done["b"][1] > 0  # one_process_per_statement holds for its session only


def test_jobs_run_in_the_request_session_on_sqlite(app: Flask) -> None:
    with app.app_context():
        if app.extensions["engine"].dialect.name != "sqlite":
            pytest.skip("PostgreSQL runs them side by side (the test above)")
        done = in_sessions_of_their_own({"a": lambda db: db is session(), "b": lambda db: db is session()}, 2)
        assert done == {"a": True, "b": True}


def test_a_failing_job_raises_in_the_caller(app: Flask) -> None:
    def fails(_db: Session) -> None:
        raise ValueError("the job's own error")

    with app.app_context(), pytest.raises(ValueError, match="the job's own error"):
        in_sessions_of_their_own({"ok": lambda db: db.execute(text("SELECT 1")).scalar_one(), "fails": fails}, 2)
