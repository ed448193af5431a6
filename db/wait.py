"""Wait for the database at start-up: a server that is still starting (a container, a restart) is retried
for a while, then the caller stops with one clear line instead of a traceback or a crash loop."""

import logging
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from db.engine import make_engine

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 30.0


class DatabaseUnavailable(Exception):
    """The database did not answer within the wait; the message says where and why, without secrets."""


def wait_for_database(
    url: str,
    seconds: float = DEFAULT_WAIT_SECONDS,
    interval: float = 1.0,
) -> int:
    """Connect and run ``SELECT 1`` until it works or ``seconds`` have passed; returns the attempts made.

    Raises DatabaseUnavailable naming the database (password hidden) and the driver's last error line."""
    where = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    deadline = time.monotonic() + seconds
    attempts = 0
    try:
        while True:
            attempts += 1
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return attempts
            except DBAPIError as error:
                reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
                if time.monotonic() + interval > deadline:
                    raise DatabaseUnavailable(
                        f"the database at {where} did not answer within {seconds:g} s ({attempts} attempts): {reason}"
                    ) from None
                log.warning("database at %s not reachable yet (%s); retrying in %g s", where, reason, interval)
                time.sleep(interval)
    finally:
        engine.dispose()
