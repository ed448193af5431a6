"""A real server and a real browser: gunicorn serving the app on a free local port (fresh SQLite database,
migrated) and headless Debian Chromium driven by Playwright."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from db import migrate

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Until /healthz answers: a few seconds on an idle machine, far more when the cores are shared."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {seconds} s")


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    database_url: str
    process: subprocess.Popen[bytes]  # the gunicorn master

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), read from /proc; a killed worker not yet reaped (a
        zombie) is not one."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, parent = stat.read_text().rpartition(")")[2].split()[:2]
            except OSError:  # the process ended meanwhile
                continue
            if int(parent) == self.process.pid and state != "Z":
                pids.append(int(stat.parent.name))
        return pids


@contextmanager
def gunicorn_server(database_url: str, workers: int, log: Path) -> Iterator[Server]:
    """gunicorn (``workers`` sync workers, as gunicorn.conf.py reads GUNICORN_WORKERS) serving the app on a
    migrated database at a free port; its output goes to ``log``. Stopped on exit."""
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret",
        "GUNICORN_WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_ENABLED": "0",  # journeys sign in many times a minute; the limits have tests of their own
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    # No control socket: its default path ($HOME/.gunicorn/gunicorn.ctl) is one for every server on the
    # machine, and test servers run side by side.
    command = [gunicorn, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "api:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    server = Server(f"http://127.0.0.1:{port}", database_url, process)
    try:
        _wait_until_up(server.base, process)
        yield server
    finally:
        process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: a worker still booting stops at once
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The live server's database (SQLite, migrated), for tests that put what they need in it first."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite3'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def live_server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the live server's output goes: its access log and error log."""
    return tmp_path_factory.mktemp("e2e") / "gunicorn.log"


@pytest.fixture(scope="session")
def live_server(live_database_url: str, live_server_log: Path) -> Iterator[str]:
    """The base URL of a gunicorn server (2 workers) running the app."""
    with gunicorn_server(live_database_url, 2, live_server_log) as server:
        yield server.base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone-sized screen
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
