"""gunicorn's access log, as the live server writes it."""

import time
import urllib.error
import urllib.request
from pathlib import Path

from api.log_privacy import HIDDEN

SECRET = "e2e-reset-token-that-must-not-be-logged"


def test_the_access_log_hides_a_password_reset_token(live_server: str, live_server_log: Path) -> None:
    """Whoever reads the logs must not find a live reset link in them (the link resets the account's password)."""
    url = f"{live_server}/password/reset/{SECRET}?lang=en"
    request = urllib.request.Request(url, headers={"Referer": url})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:  # no such link: the page says so, with a 4xx
        assert error.code < 500
    deadline = time.monotonic() + 10
    while f"/password/reset/{HIDDEN}?lang=en" not in live_server_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker writes its access line just after the answer
    log = live_server_log.read_text()
    assert f'"GET /password/reset/{HIDDEN}?lang=en HTTP/1.1"' in log
    assert SECRET not in log
