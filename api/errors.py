"""Error responses: JSON in flask-smorest's shape under /api (and /healthz), an HTML page elsewhere.
Nothing ever answers with a traceback."""

import logging
import sqlite3

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge, ServiceUnavailable

from api.log_privacy import without_secrets

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_payload(error: HTTPException) -> tuple[dict[str, object], dict[str, str]]:
    payload: dict[str, object] = {"code": error.code, "status": error.name}
    data = getattr(error, "data", None) or {}
    payload["message"] = data.get("message") or error.description
    if "errors" in data:
        payload["errors"] = data["errors"]
    elif "messages" in data:  # webargs validation errors
        payload["errors"] = data["messages"]
    headers = dict(data.get("headers") or {})
    if isinstance(error, RequestEntityTooLarge):
        payload["message"] = "The upload is larger than the limit (MATCHMAKER_MAX_UPLOAD_BYTES)."
    if error.code == 429:  # a rate limit (api.rate_limits); the description would only be the rule
        payload["message"] = (
            f"请求过于频繁，请稍后再试 / Too many requests ({error.description}); retry after Retry-After."
        )
    return payload, headers


def handle_http_exception(error: HTTPException) -> Response | tuple[object, int]:
    payload, headers = error_payload(error)
    if error.code == 401 and wants_json():
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    if wants_json():
        response = jsonify(payload)
        response.status_code = error.code or 500
        response.headers.update(headers)
        return response
    html = render_template("error.html", code=error.code, message=page_message(error))
    return Response(html, status=error.code or 500, headers=headers)


def page_message(error: HTTPException) -> str | None:
    """The line under an error page's heading, in the page's language. Werkzeug's default descriptions are
    English, so pages show only what this app says itself (page code passes translated descriptions)."""
    if error.code == 429:  # the description is only the rule ("10 per 1 minute")
        return _("Too many attempts in a short time. Wait a minute, then try again.")
    if error.description and error.description != type(error).description and not isinstance(error, CSRFError):
        return error.description
    if isinstance(error, CSRFError):
        return _("This form has expired or did not come from this site. Reload the page and send it again.")
    if isinstance(error, RequestEntityTooLarge):
        return _("The upload is larger than the limit.")
    return None


RETRY_AFTER_SECONDS = 5


def handle_unexpected(error: Exception) -> Response | tuple[object, int]:
    if _database_unreachable(error):
        # The database restarts or fails over: say so and when to retry, instead of a bare 500. The pool
        # (pool_pre_ping) reconnects on the next request once the server answers again.
        path = without_secrets(request.path)
        log.error("database unreachable on %s %s: %s", request.method, path, str(error).splitlines()[0])
        unavailable = ServiceUnavailable("数据库暂时不可用，请稍后重试 / The database is unavailable; retry shortly.")
        unavailable.data = {"headers": {"Retry-After": str(RETRY_AFTER_SECONDS)}}  # type: ignore[attr-defined]
        return handle_http_exception(unavailable)
    log.exception("unhandled error on %s %s", request.method, without_secrets(request.path))
    return handle_http_exception(InternalServerError())


def _database_unreachable(error: Exception) -> bool:
    """A lost or refused connection (server down, restarting, or the connection cut) or a database too busy
    to answer in time; not a bad query or a missing migration, which stay 500s. SQLite reports both kinds as
    OperationalError, so there only "database is locked" (the busy timeout ran out) counts."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.OperationalError):
        return "database is locked" in str(error.orig)
    return isinstance(error, OperationalError)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
