"""gunicorn.conf.py: worker count from the CPUs or the environment, logs to the console, safe defaults."""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch)
    assert settings["bind"] == "127.0.0.1:8000"
    assert 3 <= settings["workers"] <= settings["MAX_DEFAULT_WORKERS"]
    assert settings["workers"] == min(2 * settings["_available_cpus"]() + 1, settings["MAX_DEFAULT_WORKERS"])
    assert (settings["accesslog"], settings["errorlog"]) == ("-", "-")
    assert settings["timeout"] == 30 and settings["preload_app"] is False
    assert settings["control_socket_disable"] is True
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(monkeypatch, WEB_CONCURRENCY="3")["workers"] == 3
    assert _load(monkeypatch, GUNICORN_WORKERS="5", WEB_CONCURRENCY="3")["workers"] == 5


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_worker_count_stops_with_a_message(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS must be a positive integer"):
        _load(monkeypatch, GUNICORN_WORKERS=value)


def test_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(monkeypatch)["threads"] == 4  # gthread workers by default
    assert _load(monkeypatch, GUNICORN_THREADS="1")["threads"] == 1  # sync workers
    with pytest.raises(SystemExit, match="GUNICORN_THREADS must be a positive integer"):
        _load(monkeypatch, GUNICORN_THREADS="0")


def test_forwarded_allow_ips_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(monkeypatch, FORWARDED_ALLOW_IPS="10.0.0.5")["forwarded_allow_ips"] == "10.0.0.5"


def test_gunicorn_accepts_the_file_and_loads_the_app() -> None:
    env = {**os.environ, "DATABASE_URL": "sqlite://", "SECRET_KEY": "check"}
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), "--check-config", "api:create_app()"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=CONFIG.parent, env=env)
    assert result.returncode == 0, result.stderr
