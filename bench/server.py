"""A real gunicorn for the load and fault runs, started the way ``make run`` starts it (gunicorn.conf.py), on a
free port of 127.0.0.1, with rate limits off (a load run is one address and a few tokens making thousands of
requests: the limits would answer 429, which is what they are for, not what is measured)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    workers: int
    threads: int

    def describe(self) -> str:
        kind = "gthread" if self.threads > 1 else "sync"
        return f"gunicorn --config gunicorn.conf.py: {self.workers} workers × {self.threads} threads ({kind})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_until_healthy(base_url: str, seconds: float) -> float:
    """Poll /healthz until 200; returns the seconds waited (raises TimeoutError after ``seconds``)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if answers(f"{base_url}/healthz", timeout=1.0) == 200:
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(f"{base_url}/healthz did not answer 200 within {seconds:g} s")


@contextlib.contextmanager
def gunicorn(database_url: str, directory: Path, settings: Settings) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve ``database_url`` until the block ends; yields the base URL and the master process."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "GUNICORN_WORKERS": str(settings.workers),
        "GUNICORN_THREADS": str(settings.threads),
        "RATELIMIT_ENABLED": "0",
        "MATCHMAKER_MODEL_DIR": str(directory / "models"),
        "MATCHMAKER_ROUND_DIR": str(directory / "rounds"),
        "OMP_NUM_THREADS": "1",
        "SECRET_KEY": "load-test-only",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",  # its default path is one for every gunicorn of the user
        "api:create_app()",
    ]
    log = (directory / "gunicorn.log").open("ab")
    master = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, 60)
        yield base_url, master
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        log.close()


def worker_pids(master_pid: int) -> list[int]:
    """The master's children (its workers), from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (from /proc; processes that are gone are left out)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
    return seconds


def database_backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving the database's connections (none for SQLite)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return []
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        query = text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()")
        pids = list(connection.execute(query, {"name": url.database}).scalars())
    engine.dispose()
    return pids


class CpuMeter:
    """CPU seconds the server spent over a block: the gunicorn master and workers, and for PostgreSQL the
    server processes of the database's connections. On a machine shared with other work, CPU per request
    says more than requests per second: the capacity of two idle cores is about 2 s / (CPU per request)."""

    def __init__(self, master_pid: int, database_url: str) -> None:
        self.master_pid, self.database_url = master_pid, database_url
        self.before: dict[int, float] = {}

    def pids(self) -> list[int]:
        return [self.master_pid, *worker_pids(self.master_pid), *database_backends(self.database_url)]

    def start(self) -> None:
        self.before = cpu_seconds(self.pids())

    def seconds(self) -> float:
        after = cpu_seconds(self.pids())
        return sum(value - self.before.get(pid, 0.0) for pid, value in after.items())
