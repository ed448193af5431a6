"""What the logs must not show: the secret token of a password-reset link. It rides in the link's path
(``/password/reset/<token>``), so gunicorn's access log (gunicorn.conf.py) and the app's error log would
otherwise hand whoever reads them a way into the account."""

import re

HIDDEN = "[hidden]"
_RESET_TOKEN = re.compile(r"(/password/reset/)[^/?#\s\"]+")


def without_secrets(text: str) -> str:
    """``text`` (a path, a request line, a referring URL) with every password-reset token replaced."""
    return _RESET_TOKEN.sub(rf"\g<1>{HIDDEN}", text)
