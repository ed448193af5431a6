"""Configuration from the environment. Every setting has a default that works for a newcomer."""

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from db import default_database_url
from db.engine import INSTANCE_DIR
from matchmaker.stats import SharingRule

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into instance/secret_key (mode 0600)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = INSTANCE_DIR / "secret_key"
    INSTANCE_DIR.mkdir(exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return Path(path).read_text().strip()


def whole_hours(name: str, default: str) -> int:
    """The environment variable ``name`` as a number of hours, at least 1; anything else stops the start."""
    text = os.environ.get(name, default)
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of hours, at least 1 (got {text!r})")
    return int(text)


def from_environment() -> dict[str, Any]:
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(),
        "SECRET_KEY": secret_key(),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MATCHMAKER_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "MODEL_DIR": os.environ.get("MATCHMAKER_MODEL_DIR") or str(INSTANCE_DIR / "models"),
        "ROUND_DIR": os.environ.get("MATCHMAKER_ROUND_DIR") or str(INSTANCE_DIR / "rounds"),
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # How long an operator's password-reset link stays usable.
        "PASSWORD_RESET_HOURS": whole_hours("MATCHMAKER_PASSWORD_RESET_HOURS", "24"),
        # How the risk-compensation fund, the bank and a guarantor share a loss (regulators' statistics).
        "RISK_SHARING": SharingRule.parse(os.environ.get("MATCHMAKER_RISK_SHARING", "0.4,0.4,0.2")),
    } | {name: value for name, value in os.environ.items() if name.startswith("MATCHMAKER_RATE_LIMIT_")}


def static_config() -> dict[str, Any]:
    """Settings that are the same everywhere (API description, cookies, i18n)."""
    import swagger_ui_bundle

    return {
        "API_TITLE": "银企融资对接平台 Bank–SME financing matchmaker",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        "SWAGGER_UI_ASSETS": swagger_ui_bundle.swagger_ui_path,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent / "translations"),
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_SORT_KEYS": False,
    }


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
