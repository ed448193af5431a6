"""gunicorn settings for the matchmaker: ``gunicorn --config gunicorn.conf.py "api:create_app()"``.

A ``--bind`` (or any other option) on the command line wins over this file; the Makefile and the Docker
image pass ``--bind``. Environment variables: GUNICORN_WORKERS (or WEB_CONCURRENCY), GUNICORN_THREADS,
FORWARDED_ALLOW_IPS."""

import os
import sys
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

MAX_DEFAULT_WORKERS = 8  # more workers than this only add SQLite write contention and memory
DEFAULT_THREADS = 4


def _available_cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive_int(variable: str) -> int | None:
    value = os.environ.get(variable)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        sys.exit(f"gunicorn.conf.py: {variable} must be a positive integer, not {value!r}")
    return int(value)


def _workers() -> int:
    for variable in ("GUNICORN_WORKERS", "WEB_CONCURRENCY"):
        if (value := _positive_int(variable)) is not None:
            return value
    return min(2 * _available_cpus() + 1, MAX_DEFAULT_WORKERS)


bind = "127.0.0.1:8000"
workers = _workers()
# Threads make the workers gthread workers: a request waiting on the database no longer holds the whole process,
# and connections are kept alive (a sync worker closes each one). Measured by bench/load.py on 2 cores: a
# product read served 4.5x more requests/s with 4 threads than with sync workers, at half the CPU per request.
threads = _positive_int("GUNICORN_THREADS") or DEFAULT_THREADS
timeout = 30  # a request taking longer is a bug or an attack; the worker is restarted
graceful_timeout = 20  # on SIGTERM, finish in-flight requests within this time
keepalive = 5  # seconds; behind a proxy that keeps connections open, this spares a new TCP handshake
preload_app = False  # each worker builds its own app and engine: no database connection shared across fork
# No runtime control socket (gunicornc): gunicorn 27 puts it at one path per user, so two servers on one
# machine (make run and a test server, say) would replace and remove each other's.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class AccessLogger(Logger):
    """gunicorn's logger, whose access lines hide a password-reset link's token wherever the request shows it:
    the request line, the path, a referring page (api.log_privacy)."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        from api.log_privacy import without_secrets  # in a worker, which has loaded the app already

        atoms = super().atoms(resp, req, environ, request_time)
        return {name: without_secrets(value) if isinstance(value, str) else value for name, value in atoms.items()}


logger_class = AccessLogger

# Which proxies may set X-Forwarded-Proto / X-Forwarded-For (comma-separated addresses, or "*").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Heartbeat files on a RAM disk: a slow disk (or a container's overlay) must not make workers look dead.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def on_starting(server: object) -> None:
    """Wait for the database before starting workers (MATCHMAKER_DB_WAIT seconds, default 30), then stop with
    one clear line if it never answers: workers that cannot reach it would only fail every request."""
    from db import default_database_url
    from db.wait import DEFAULT_WAIT_SECONDS, DatabaseUnavailable, wait_for_database

    value = os.environ.get("MATCHMAKER_DB_WAIT", str(DEFAULT_WAIT_SECONDS))
    try:
        seconds = float(value)
    except ValueError:
        sys.exit(f"gunicorn.conf.py: MATCHMAKER_DB_WAIT must be a number of seconds, not {value!r}")
    try:
        wait_for_database(os.environ.get("DATABASE_URL") or default_database_url(), seconds)
    except DatabaseUnavailable as error:
        sys.exit(f"gunicorn: cannot start: {error}")
