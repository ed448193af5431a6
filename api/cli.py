"""The ``matchmaker`` console script: every operator task is ``matchmaker <group> <command>``."""

import re
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Account, Role
from accounts.tokens import create_account, issue_token, revoke
from db import migrate
from products.models import Bank


def _session() -> Session:
    return current_app.extensions["session_factory"]()


def _create_app() -> Flask:
    from api.app import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, add_version_option=False, help="银企融资对接平台 operator commands.")


db_group = AppGroup("db", help="Database schema (Alembic migrations).")
accounts_group = AppGroup("accounts", help="Accounts and bearer tokens.")
demo_group = AppGroup("demo", help="Synthetic demo data.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations to DATABASE_URL."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_group.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    migrate.check(current_app.config["DATABASE_URL"])
    click.echo("models and migrations agree")


def _bank_code_from(name: str, session: Session) -> str:
    ascii_code = re.sub(r"[^A-Z0-9]+", "", name.upper())[:16]
    if ascii_code and session.scalar(select(Bank).where(Bank.code == ascii_code)) is None:
        return ascii_code
    count = session.scalar(select(func.count()).select_from(Bank)) or 0
    return f"BANK{count + 1:04d}"


def _print_token(account: Account, token: str) -> None:
    click.echo(f"account {account.id} ({account.role}) {account.name}")
    click.echo("bearer token (shown once; store it now):", err=True)
    click.echo(token)


@accounts_group.command("create-bank")
@click.argument("name")
@click.option("--code", help="Short bank code (A-Z, 0-9); an existing code adds another account to that bank.")
@click.option("--officer", help="Name of the person the account is for (default: the bank's name).")
def create_bank(name: str, code: str | None, officer: str | None) -> None:
    """Create a bank (or reuse the one with CODE) and a bank account; print its token."""
    with _session() as session, session.begin():
        if code is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,32}", code):
            raise click.BadParameter("letters, digits, _ and - only, at most 32", param_hint="--code")
        bank = session.scalar(select(Bank).where(Bank.code == code)) if code else None
        if bank is None:
            bank = Bank(code=code or _bank_code_from(name, session), name=name)
            session.add(bank)
            session.flush()
            click.echo(f"bank {bank.id} {bank.code} {bank.name}")
        account = create_account(session, officer or name, Role.BANK, bank_id=bank.id)
        token = issue_token(session, account)
    _print_token(account, token)


def _create_plain(name: str, role: Role) -> None:
    with _session() as session, session.begin():
        account = create_account(session, name, role)
        token = issue_token(session, account)
    _print_token(account, token)


@accounts_group.command("create-regulator")
@click.argument("name")
def create_regulator(name: str) -> None:
    """Create a regulator account (financial office, PBoC branch, ...); print its token."""
    _create_plain(name, Role.REGULATOR)


@accounts_group.command("create-admin")
@click.argument("name")
def create_admin(name: str) -> None:
    """Create a platform operator account; print its token."""
    _create_plain(name, Role.ADMIN)


@accounts_group.command("issue-token")
@click.argument("account_id", type=int)
def issue_another_token(account_id: int) -> None:
    """Issue a new token for an existing account (e.g. before revoking the old one)."""
    with _session() as session, session.begin():
        account = session.get(Account, account_id)
        if account is None:
            raise click.ClickException(f"no account {account_id}")
        token = issue_token(session, account)
    _print_token(account, token)


@accounts_group.command("revoke-token")
@click.argument("token_or_prefix")
def revoke_token(token_or_prefix: str) -> None:
    """Revoke a token, given in full or by the first 10 characters."""
    with _session() as session, session.begin():
        count = revoke(session, token_or_prefix)
    if count == 0:
        raise click.ClickException("no live token matches")
    click.echo(f"revoked {count} token(s)")


@accounts_group.command("list")
def list_accounts() -> None:
    """List accounts with their live token prefixes."""
    with _session() as session:
        for account in session.scalars(select(Account).order_by(Account.id)):
            live = [t.prefix for t in account.tokens if t.revoked_at is None]
            click.echo(f"{account.id}\t{account.role}\t{account.bank_id or '-'}\t{account.name}\t{' '.join(live)}")


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has banks.")
@click.option("--seed", default=20261123, show_default=True)
def demo_load(if_empty: bool, seed: int) -> None:
    """Load the synthetic demo (banks, products, accounts) and print the demo tokens."""
    from matchmaker.demo import load_demo
    from products.demo import DemoAlreadyLoaded

    with _session() as session, session.begin():
        if if_empty and session.scalar(select(func.count()).select_from(Bank)):
            click.echo("database not empty: demo not loaded")
            return
        try:
            tokens = load_demo(session, seed=seed)
        except DemoAlreadyLoaded as error:
            raise click.ClickException(str(error)) from error
    click.echo("SYNTHETIC demo data loaded. Demo accounts and their tokens:")
    for account, token in tokens:
        click.echo(f"  {account.role:<10} {token:<22} {account.name}")


def register_commands(app: Flask) -> None:
    for group in (db_group, accounts_group, demo_group):
        app.cli.add_command(group)


if __name__ == "__main__":
    sys.exit(main())
