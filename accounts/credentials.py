"""Changing a password, and the operators' one-time password-reset links (the service sends no e-mail: an
operator gives the link to the account's owner over a channel they trust, such as a phone call).

A new password, changed or reset, raises the account's ``credentials_version``: every browser session begun
at a lower version is over (``api.auth.cookie_account``); the session that made the change is started again
by its caller. It also revokes the account's live reset links. Bearer tokens are separate credentials,
issued and revoked with the CLI, and are left alone.

A link's token is 256 random bits, shown once; only its SHA-256 is stored (a fast hash is enough for a
random secret, as for bearer tokens), looked up by hash and compared in constant time. A link is live until
it expires, is used (a conditional UPDATE claims it, so two uses at once cannot both succeed) or is
revoked. The callers commit."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accounts.audit import Actor, actor_columns
from accounts.models import Account, PasswordResetLink
from accounts.passwords import hash_password, verify_password
from db.base import utcnow

RESET_LINK_LIFETIME = timedelta(hours=24)
_TOKEN_MAX_LENGTH = 100  # a real token has 43 characters; longer input is not looked up


class WrongPassword(Exception):
    """The current password given for a change is not the account's."""


class NoPassword(Exception):
    """The account signs in with an access token, not a password: there is no password to reset."""


class LinkState(StrEnum):
    LIVE = "live"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"  # a newer link was issued, or the password was changed


class LinkNotLive(Exception):
    """The link stopped being live between reading it and using it (used or revoked meanwhile)."""


def set_password(session: Session, account: Account, password: str, now: datetime | None = None) -> None:
    """Store the new password's hash, end the account's browser sessions and revoke its reset links."""
    account.password_hash = hash_password(password)
    account.credentials_version = Account.credentials_version + 1  # in SQL: concurrent changes both count
    _revoke_links(session, account, now or utcnow())
    session.flush()
    session.refresh(account, ["credentials_version"])


def change_password(session: Session, account: Account, current: str, new: str) -> None:
    """A signed-in user's change; ``WrongPassword`` (nothing written) when ``current`` is not the password."""
    if not verify_password(current, account.password_hash):
        raise WrongPassword
    set_password(session, account, new)


def issue_reset_link(
    session: Session,
    account: Account,
    issuer: Actor,
    lifetime: timedelta = RESET_LINK_LIFETIME,
    now: datetime | None = None,
) -> tuple[str, PasswordResetLink]:
    """A new link for the account (its earlier live links are revoked): the token in clear, shown only
    now, and the stored row. ``issuer`` is the operator's account, or the command that issued it."""
    if account.password_hash is None:
        raise NoPassword
    if lifetime <= timedelta(0):
        raise ValueError("a reset link lives a positive time")
    now = now or utcnow()
    _revoke_links(session, account, now)
    token = secrets.token_urlsafe(32)
    issued_by = actor_columns(issuer)
    row = PasswordResetLink(
        account_id=account.id,
        token_hash=_hash(token),
        issued_by_account_id=issued_by["actor_account_id"],
        issued_by_system=issued_by["system_actor"],
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row


def find_reset_link(
    session: Session, token: str, now: datetime | None = None
) -> tuple[LinkState, PasswordResetLink | None]:
    """The link a token opens and whether it is live; (UNKNOWN, None) for a token that opens none."""
    if not token or len(token) > _TOKEN_MAX_LENGTH:
        return LinkState.UNKNOWN, None
    wanted = _hash(token)
    row = session.scalar(select(PasswordResetLink).where(PasswordResetLink.token_hash == wanted))
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return LinkState.UNKNOWN, None
    if row.used_at is not None:
        return LinkState.USED, row
    if row.revoked_at is not None:
        return LinkState.REVOKED, row
    if row.expires_at <= (now or utcnow()):
        return LinkState.EXPIRED, row
    return LinkState.LIVE, row


def reset_password(session: Session, link: PasswordResetLink, password: str, now: datetime | None = None) -> None:
    """Use a live link to set the account's password; ``LinkNotLive`` (nothing written) when the link was
    used, revoked or expired in the meantime."""
    now = now or utcnow()
    claimed = session.execute(
        update(PasswordResetLink)
        .where(
            PasswordResetLink.id == link.id,
            PasswordResetLink.used_at.is_(None),
            PasswordResetLink.revoked_at.is_(None),
            PasswordResetLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkNotLive
    session.expire(link)
    set_password(session, link.account, password, now)


def _revoke_links(session: Session, account: Account, now: datetime) -> None:
    session.execute(
        update(PasswordResetLink)
        .where(
            PasswordResetLink.account_id == account.id,
            PasswordResetLink.used_at.is_(None),
            PasswordResetLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
