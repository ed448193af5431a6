"""Database layer: the declarative Base, the engine and the session factory.

No Flask here: every other package gets a session from :func:`make_session_factory`
(the web app keeps one per application, the CLI and the tests make their own).
"""

from db.base import Base, utcnow
from db.engine import default_database_url, make_engine, make_session_factory

__all__ = ["Base", "default_database_url", "make_engine", "make_session_factory", "utcnow"]
