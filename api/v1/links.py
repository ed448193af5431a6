"""OpenAPI links (OpenAPI 3.0 "Link Object"): which later call a response's values lead to — the id of a
created product to read, change or withdraw it, a granted proposal's ``loan_id`` to its loan. They tell API
users how the operations chain, and the stateful tests (tests/api/test_openapi_stateful.py) follow them.

A link names its target by ``operationRef`` (the document has no operationIds), built from the operation's
label as the tests write it, e.g. ``"GET /api/v1/products/{product_id}"``."""

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint


def operation_ref(label: str) -> str:
    """The JSON pointer of an operation in this document: ``#/paths/~1api~1v1~1needs/get``."""
    method, path = label.split(" ", 1)
    return f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method.lower()}"


def to(label: str, description: str, **parameters: str) -> dict[str, Any]:
    """A link to the operation ``label``; ``parameters`` map the target's parameter names to runtime
    expressions (``$response.body#/id``) or constants."""
    link: dict[str, Any] = {"operationRef": operation_ref(label), "description": description}
    if parameters:
        link["parameters"] = parameters
    return link


def links(blp: Blueprint, status: int, **named: dict[str, Any]) -> Callable[[Any], Any]:
    """Decorator documenting the links of the ``status`` response (an int, like ``@blp.response``'s, so that
    flask-smorest merges both into one response object)."""
    return blp.doc(responses={status: {"links": named}})
