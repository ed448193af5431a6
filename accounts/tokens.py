"""Issue, verify and revoke bearer tokens."""

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Account, ApiToken, Role
from db.base import utcnow

TOKEN_PREFIX = "mm_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, account: Account, token: str | None = None) -> str:
    """Create a new token for the account and return it in clear (the only time it is ever visible).
    ``token`` is only for the synthetic demo, whose tokens are fixed so that the README can list them."""
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError(f"tokens start with {TOKEN_PREFIX}")
    session.add(ApiToken(account=account, token_hash=hash_token(token), prefix=token[:10]))
    session.flush()
    return token


def new_session_token(session: Session, account: Account) -> ApiToken:
    """A token for one browser session: its clear text is thrown away, the signed cookie keeps the row id,
    and signing out revokes it. It remembers the account's credentials version: a later password change
    ends the session."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        account=account,
        token_hash=hash_token(token),
        prefix=token[:10],
        credentials_version=account.credentials_version,
    )
    session.add(row)
    session.flush()
    return row


def account_for_token(session: Session, token: str) -> Account | None:
    """The account owning a live token, or None. The lookup is by hash, and the final comparison is in
    constant time, so response times say nothing about how much of a guess was right."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    wanted = hash_token(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == wanted, ApiToken.revoked_at.is_(None))).first()
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row.account


def revoke(session: Session, token_or_prefix: str) -> int:
    """Revoke a token given in full or by its 10-character prefix; returns how many were revoked."""
    if len(token_or_prefix) > 10:
        condition = ApiToken.token_hash == hash_token(token_or_prefix)
    else:
        condition = ApiToken.prefix == token_or_prefix
    rows = session.scalars(select(ApiToken).where(condition, ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = utcnow()
    session.flush()
    return len(rows)


def create_account(
    session: Session, name: str, role: Role, bank_id: int | None = None, enterprise_id: int | None = None
) -> Account:
    account = Account(name=name, role=role.value, bank_id=bank_id, enterprise_id=enterprise_id)
    session.add(account)
    session.flush()
    return account
