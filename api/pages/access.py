"""Who may open a signed-in page: a decorator for views of the token sign-in (bank, regulator, operator)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, flash, redirect, request, url_for

from accounts.models import Role
from api.auth import cookie_account


def session_roles_required(
    roles: tuple[Role, ...], sign_in_message: Any, refusal: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Anonymous visitors are sent to sign in with ``sign_in_message`` and brought back to the page they asked
    for (a GET's path and query); a signed-in account of another role gets 403 with ``refusal``. The view
    receives the account first. Messages are lazy strings, translated when shown."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = cookie_account()
            if account is None:
                flash(str(sign_in_message), "info")
                back = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("session_pages.login", next=back))
            if account.role not in roles:
                abort(403, str(refusal))
            return view(account, *args, **kwargs)

        return wrapper

    return decorator
