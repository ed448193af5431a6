"""One SQLAlchemy session per request, closed (and rolled back if not committed) at teardown; and read-only
work spread over sessions of its own (:func:`in_sessions_of_their_own`)."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from db import make_engine, make_session_factory

T = TypeVar("T")


def init_database(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["engine"] = engine
    app.extensions["session_factory"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)


def session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["session_factory"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def in_sessions_of_their_own(jobs: dict[str, Callable[[Session], T]], connections: int) -> dict[str, T]:
    """Run read-only ``jobs``, each in a session of its own, on up to ``connections`` database connections at
    once, and return their results by name. On PostgreSQL each connection is a server process, so several
    heavy statements run side by side (the regulators' dashboard: about half the time on two cores). On
    SQLite, one connection reads at a time, so they run one after another in the request's session. A job
    submitted first starts first: put the longest first. An exception of a job is raised here."""
    if current_app.extensions["engine"].dialect.name != "postgresql" or connections < 2:
        db = session()
        return {name: job(db) for name, job in jobs.items()}
    factory = current_app.extensions["session_factory"]

    def run(job: Callable[[Session], T]) -> T:
        with factory() as own:  # closed (rolled back: the jobs only read) at the end
            return job(own)

    with ThreadPoolExecutor(max_workers=connections) as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}
