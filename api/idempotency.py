"""The ``Idempotency-Key`` request header on API writes (a grant, a loan event).

``@idempotent(blp)`` goes between ``@protected`` and the view's ``@blp.arguments``: it runs the view in one
transaction and commits it only once the answer is built. With an ``Idempotency-Key`` header it first claims
the key for the caller (``accounts.idempotency``) in that same transaction and stores the 2xx answer there
too, so that a write is acknowledged together with its key or not at all. A request that comes back with the
same key gets the first answer again (status and body, with ``Idempotent-Replayed: true``) and writes
nothing; the same key with another method, path or body gets 422; while the first request with a key is
still running, a second one waits for it (``IDEMPOTENCY_CLAIM_WAIT`` in the app config, a timedelta, default
5 s) and then answers what the first committed, or 409 asking to retry. A refused request (4xx) stores
nothing, its key included: corrected, it may be sent again with the same key."""

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import Response, current_app, make_response, request
from flask_smorest import Blueprint, abort

from accounts.idempotency import (
    CLAIM_WAIT,
    KEY_MAX_LENGTH,
    RETENTION,
    Fingerprint,
    IdempotencyKey,
    KeyInProgress,
    body_sha256,
    claim_or_find,
    is_valid_key,
    record_answer,
)
from api.auth import require_roles
from api.database import session

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[ -~]+$"},
    "description": (
        "A key of your choice (1 to 255 printable ASCII characters, e.g. a UUID) that makes retrying safe: "
        "a request sent again with the same key answers the first 2xx answer (status and body, with the "
        "header `Idempotent-Replayed: true`) and writes nothing more. The same key with another body answers "
        "422; while the first request with the key is still running, 409 (retry). Keys belong to the "
        f"calling account and are kept at least {RETENTION.total_seconds() / 3600:.0f} hours. A refused "
        "request (4xx) stores nothing, so it may be corrected and sent again with the same key."
    ),
}


def _header_error(status: int, message: str, detail: str, headers: dict[str, str] | None = None) -> NoReturn:
    abort(status, message=message, errors={"headers": {HEADER: [detail]}}, headers=headers or {})


def _fingerprint() -> Fingerprint:
    body = request.get_json(silent=True)
    return Fingerprint(
        request.method, request.path, body_sha256(body if body is not None else request.get_data(as_text=True))
    )


def _committed(view: Callable[..., Any], args: Any, kwargs: Any, record: IdempotencyKey | None) -> Response:
    """Run the view; commit its writes (and the key's answer) when it answers 2xx, roll back otherwise."""
    db = session()
    try:
        response = make_response(view(*args, **kwargs))
    except BaseException:
        db.rollback()
        raise
    if not 200 <= response.status_code < 300:
        db.rollback()
        return response
    if record is not None:
        record_answer(db, record, response.status_code, response.get_data(as_text=True))
    db.commit()
    return response


def _replay(record: IdempotencyKey, fingerprint: Fingerprint) -> Response:
    if not fingerprint.matches(record):
        _header_error(
            422,
            "此 Idempotency-Key 已用于另一请求 / this Idempotency-Key was used for another request",
            "同一键须用于相同的方法、地址和请求体 / a key must be sent again with the same method, path and body",
        )
    response = Response(record.response_body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(blp: Blueprint) -> Callable[[F], F]:
    """Decorator for API writes (see the module's docstring); documents the header on the operation."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return _committed(view, args, kwargs, None)
            if not is_valid_key(key):
                _header_error(
                    422,
                    "Idempotency-Key 请求头无效 / the Idempotency-Key header is not valid",
                    "须为 1 至 255 个可打印 ASCII 字符 / must be 1 to 255 printable ASCII characters",
                )
            fingerprint = _fingerprint()
            wait = current_app.config.get("IDEMPOTENCY_CLAIM_WAIT", CLAIM_WAIT)
            try:
                record = claim_or_find(session(), require_roles().id, key, fingerprint, wait)
            except KeyInProgress:
                _header_error(
                    409,
                    "使用此 Idempotency-Key 的请求正在处理，请稍后重试 / a request with this Idempotency-Key is "
                    "in progress: retry later",
                    "请稍后用同一键重试 / retry with the same key in a moment",
                    {"Retry-After": "1"},
                )
            if record.status_code is not None:
                return _replay(record, fingerprint)
            return _committed(view, args, kwargs, record)

        documented = blp.doc(parameters=[HEADER_DOC])(wrapper)
        responses = documented._apidoc.get("response", {}).get("responses", {})
        if 409 not in responses:
            documented = blp.alt_response(409, response="DEFAULT_ERROR", description="Key in use: retry")(documented)
        if not documented._apidoc.get("arguments"):  # @blp.arguments documents 422 itself
            documented = blp.alt_response(422, response="UNPROCESSABLE_ENTITY")(documented)
        return documented  # type: ignore[return-value]

    return decorator
