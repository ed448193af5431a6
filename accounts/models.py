"""Account, API token and password-reset link tables."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    BANK = "bank"
    REGULATOR = "regulator"
    SME = "sme"


class Account(Base):
    """Someone who calls the API or signs in to a portal. A bank account belongs to exactly one bank."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'bank', 'regulator', 'sme')", name="role_known"),
        CheckConstraint("(role = 'bank') = (bank_id IS NOT NULL)", name="bank_accounts_have_a_bank"),
        CheckConstraint("(role = 'sme') = (enterprise_id IS NOT NULL)", name="sme_accounts_have_an_enterprise"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Raised by every password change or reset: a browser session begun at a lower value is over.
    credentials_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="account")


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 hash (tokens are 256-bit random, so a fast hash is enough)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A browser session's token: the account's credentials_version when it began. None for a bearer token
    # (and for sessions begun before migration 0010, which count as version 0).
    credentials_version: Mapped[int | None]

    account: Mapped[Account] = relationship(back_populates="tokens")


class PasswordResetLink(Base):
    """A one-time link to set a new password, issued by an operator (there is no e-mail to send it by).
    Only the SHA-256 of its 256-bit random token is stored. It is live until it expires, is used, or is
    revoked: by a newer link for the same account or by a change of the password."""

    __tablename__ = "password_reset_links"
    __table_args__ = (
        CheckConstraint("(issued_by_account_id IS NULL) <> (issued_by_system IS NULL)", name="one_issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    issued_by_system: Mapped[str | None] = mapped_column(String(100))  # the command, for links issued by the CLI
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
