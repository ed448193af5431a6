"""The ``matchmaker`` console script: every operator task is ``matchmaker <group> <command>``."""

import re
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import credentials
from accounts.idempotency import purge_idempotency_keys
from accounts.models import Account, Role
from accounts.tokens import create_account, issue_token, revoke
from db import migrate
from db.base import utcnow
from db.tallies import compact_tallies
from db.wait import DEFAULT_WAIT_SECONDS, DatabaseUnavailable, wait_for_database
from enterprises.models import Enterprise
from matchmaker.credit_scores import ModelRegistryError, ScoringUnavailable, activate, active_model, register_model
from matchmaker.decisions import expire_overdue
from matchmaker.ledger_outcomes import SEASONING_MONTHS, NotEnoughOutcomes, train_from_ledger
from matchmaker.models import ScoringModel
from matchmaker.monitoring import format_report, monitor
from matchmaker.rounds import RoundInProgress, RoundParams, run_round
from products.models import Bank
from reference.china_time import china_today
from scoring.artefacts import ArtefactError
from scoring.artefacts import load as load_artefact
from scoring.platform import train_synthetic_model
from scoring.training import TrainingError, evaluate, load_csv, train_from_csv


def _session() -> Session:
    return current_app.extensions["session_factory"]()


def _create_app() -> Flask:
    from api.app import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, add_version_option=False, help="银企融资对接平台 operator commands.")


db_group = AppGroup("db", help="Database schema (Alembic migrations).")
accounts_group = AppGroup("accounts", help="Accounts and bearer tokens.")
demo_group = AppGroup("demo", help="Synthetic demo data.")
match_group = AppGroup("match", help="Matching rounds: propose products to open needs.")
scoring_group = AppGroup("scoring", help="Credit-scoring models: train, evaluate, activate, monitor.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT_SECONDS,
    show_default=True,
    envvar="MATCHMAKER_DB_WAIT",
    help="Seconds to wait for a database server that is still starting.",
)
def db_upgrade(revision: str, wait_seconds: float) -> None:
    """Apply the migrations to DATABASE_URL (after waiting for the database to answer)."""
    try:
        wait_for_database(current_app.config["DATABASE_URL"], wait_seconds)
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
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


@accounts_group.command("issue-reset-link")
@click.argument("account_id", type=int)
@click.option("--hours", type=click.IntRange(1, 24 * 30), help="How long it is usable [default: setting, 24].")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="MATCHMAKER_BASE_URL",
    help="The service's address as its users reach it.",
)
def issue_reset_link(account_id: int, hours: int | None, base_url: str) -> None:
    """Print a one-time link that sets a new password for an account that signs in with one (an enterprise);
    an earlier live link of the account stops working. Give it to the account's owner yourself."""
    lifetime = timedelta(hours=hours or current_app.config["PASSWORD_RESET_HOURS"])
    with _session() as session, session.begin():
        account = session.get(Account, account_id)
        if account is None:
            raise click.ClickException(f"no account {account_id}")
        try:
            token, row = credentials.issue_reset_link(
                session, account, "matchmaker accounts issue-reset-link", lifetime
            )
        except credentials.NoPassword:
            raise click.ClickException(
                f"account {account_id} signs in with a token, not a password: use issue-token"
            ) from None
    with current_app.test_request_context(base_url=base_url):
        link = url_for("account_pages.reset_password", token=token, _external=True)
    click.echo(f"account {account.id} ({account.role}) {account.name}")
    click.echo(f"password reset link, usable once until {row.expires_at:%Y-%m-%d %H:%M} UTC (shown once):", err=True)
    click.echo(link)


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


@accounts_group.command("purge-idempotency-keys")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(24, None), help="At least 24.")
def purge_keys(hours: int) -> None:
    """Delete the Idempotency-Keys older than HOURS hours (their retries would write again); run it daily."""
    with _session() as session, session.begin():
        count = purge_idempotency_keys(session, timedelta(hours=hours))
    click.echo(f"{count} idempotency key(s) deleted")


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has banks.")
@click.option("--seed", default=20261123, show_default=True)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Register and activate this saved model instead of training the synthetic one.",
)
@click.option("--model-rows", default=8_000, show_default=True, type=click.IntRange(1_000, 1_000_000))
def demo_load(if_empty: bool, seed: int, model_dir: Path | None, model_rows: int) -> None:
    """Load the synthetic demo (banks, products, accounts, enterprises) and a scoring model; print the logins."""
    from enterprises.demo import DEMO_PASSWORD
    from matchmaker.demo import load_demo, play_bank_decisions
    from products.demo import DemoAlreadyLoaded

    with _session() as session, session.begin():
        if if_empty and session.scalar(select(func.count()).select_from(Bank)):
            click.echo("database not empty: demo not loaded")
            return
        try:
            tokens = load_demo(session, seed=seed)
        except DemoAlreadyLoaded as error:
            raise click.ClickException(str(error)) from error
        sme = session.scalar(select(Enterprise).order_by(Enterprise.id))
    if model_dir is None:
        click.echo(f"training the demo scoring model on {model_rows} SYNTHETIC loans ...")
        model_dir = _model_dir(None, "synthetic")
        train_synthetic_model(model_rows, seed, model_dir, folds=2)
    with _session() as session, session.begin():
        version = activate(session, register_model(session, model_dir).version).version
    click.echo(f"active scoring model: {version}")
    row = run_round(current_app.extensions["session_factory"], RoundParams(), Path(current_app.config["ROUND_DIR"]))
    click.echo(f"matching round {row.id}: {row.stats['proposals']} proposals for {row.stats['needs_matched']} needs")
    with _session() as session, session.begin():
        outcomes = play_bank_decisions(session, seed)
    compact_tallies(current_app.extensions["session_factory"])  # the decisions appended to them: db.tallies
    click.echo(
        f"the demo banks' first answers: {outcomes['granted']} granted, {outcomes['accepted']} accepted, "
        f"{outcomes['rejected']} declined (the rest pending)"
    )
    click.echo("SYNTHETIC demo data loaded. Demo accounts and their tokens:")
    for account, token in tokens:
        click.echo(f"  {account.role:<10} {token:<22} {account.name}")
    if sme is not None:
        click.echo(f"  sme        {sme.uscc} / {DEMO_PASSWORD}  {sme.name} (every demo enterprise: {DEMO_PASSWORD})")


def _model_dir(out: Path | None, prefix: str) -> Path:
    if out is not None:
        return out
    return Path(current_app.config["MODEL_DIR"]) / f"{prefix}-{utcnow():%Y%m%dT%H%M%S}"


def _print_report(report: dict[str, Any], directory: Path) -> None:
    model, baseline = report["cv"]["model"]["mean"], report["cv"]["logistic_baseline"]["mean"]
    click.echo(f"rows {report['data']['rows']}, bad {report['data']['bad']} ({report['data']['bad_rate']:.2%})")
    click.echo("cross-validated      AUC      KS   Brier  cal.slope")
    for name, figures in (("model", model), ("logistic baseline", baseline)):
        click.echo(
            f"{name:<18} {figures['auc']:7.4f} {figures['ks']:7.4f} {figures['brier']:7.4f}"
            f" {figures['calibration_slope']:9.3f}"
        )
    click.echo(f"report, plot and model in {directory}")
    click.echo(f"model version {report['model_version']}")


class Refused(click.ClickException):
    """The data cannot do what was asked (e.g. too few outcomes to train on): the message, exit code 2."""

    exit_code = 2


@scoring_group.command("train")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", help="Column holding the outcome.")
@click.option("--bad", "bad_value", help="Value of the target column that means default.")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--from-ledger", is_flag=True, help="Train the platform model on the credit ledger's loan outcomes instead."
)
@click.option(
    "--seasoning-months",
    default=SEASONING_MONTHS,
    show_default=True,
    type=click.IntRange(1, 120),
    help="With --from-ledger: months a loan must stay current to count as good.",
)
@click.option("--activate", "make_active", is_flag=True, help="With --from-ledger: make the new model active.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="New directory for the model.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
def scoring_train(
    csv_path: Path | None,
    target: str | None,
    bad_value: str | None,
    spec_path: Path | None,
    from_ledger: bool,
    seasoning_months: int,
    make_active: bool,
    out: Path | None,
    folds: int,
) -> None:
    """Train on a CSV of loan outcomes (--csv, --target, --bad) or on the credit ledger (--from-ledger):
    cross-validated metrics, report.json, calibration.png, artefact, registered (ledger: active with
    --activate)."""
    if from_ledger:
        if csv_path or target or bad_value or spec_path:
            raise click.UsageError("--from-ledger trains on the ledger: leave out --csv, --target, --bad and --spec")
        _train_from_ledger(out, folds, seasoning_months, make_active)
        return
    if csv_path is None or target is None or bad_value is None:
        raise click.UsageError("give --csv, --target and --bad, or --from-ledger")
    if make_active:
        raise click.UsageError("--activate goes with --from-ledger: a model of a file's own columns cannot score")
    directory = _model_dir(out, "model")
    try:
        report = train_from_csv(csv_path, target, bad_value, directory, spec_path, folds)
    except (TrainingError, ArtefactError) as error:
        raise click.ClickException(str(error)) from error
    _print_report(report, directory)
    with _session() as session, session.begin():
        row = register_model(session, directory)
    if not row.platform:
        click.echo("note: trained on the file's own columns; usable with `scoring evaluate`, not by the service")


def _train_from_ledger(out: Path | None, folds: int, seasoning_months: int, make_active: bool) -> None:
    directory = _model_dir(out, "ledger")
    try:
        with _session() as session:
            report, found = train_from_ledger(session, directory, china_today(), seasoning_months, folds)
    except NotEnoughOutcomes as error:
        raise Refused(str(error)) from error
    left_out = ", ".join(f"{count} {reason}" for reason, count in sorted(found.left_out.items())) or "none"
    click.echo(f"credit ledger: {found.bad} bad and {found.good} good loans; left out: {left_out}")
    _print_report(report, directory)
    try:
        with _session() as session, session.begin():
            register_model(session, directory)
            if make_active:
                activate(session, report["model_version"])
    except ModelRegistryError as error:  # the same ledger trained twice within a second gives the same version
        raise click.ClickException(str(error)) from error
    click.echo(f"active model: {report['model_version']}" if make_active else "registered, not active")


@scoring_group.command("train-synthetic")
@click.option("--rows", default=20_000, show_default=True, type=click.IntRange(1_000, 1_000_000))
@click.option("--seed", default=20261123, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--folds", default=3, show_default=True, type=click.IntRange(2, 20))
@click.option("--activate/--no-activate", "make_active", default=True, show_default=True)
def scoring_train_synthetic(rows: int, seed: int, out: Path | None, folds: int, make_active: bool) -> None:
    """Train the platform model on a SYNTHETIC loan book (scoring.synthetic) and, by default, activate it."""
    directory = _model_dir(out, "synthetic")
    report = train_synthetic_model(rows, seed, directory, folds)
    _print_report(report, directory)
    with _session() as session, session.begin():
        register_model(session, directory)
        if make_active:
            activate(session, report["model_version"])
            click.echo(f"active model: {report['model_version']}")


@scoring_group.command("evaluate")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--target", required=True)
@click.option("--bad", "bad_value", required=True)
def scoring_evaluate(model_dir: Path, csv_path: Path, target: str, bad_value: str) -> None:
    """Score a held-out CSV with a saved model and print AUC, KS, Brier and calibration."""
    try:
        model, meta = load_artefact(model_dir)
        figures = evaluate(model, load_csv(csv_path), target, bad_value)
    except (TrainingError, ArtefactError, KeyError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"model {meta['version']} on {csv_path.name}")
    for name, value in figures.items():
        click.echo(f"{name:<22} {value:.4f}")


@scoring_group.command("activate")
@click.argument("version")
def scoring_activate(version: str) -> None:
    """Make a registered model the one the service scores with."""
    try:
        with _session() as session, session.begin():
            activate(session, version)
    except (ModelRegistryError, ScoringUnavailable) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"active model: {version}")


@scoring_group.command("monitor")
def scoring_monitor() -> None:
    """Population stability (training to current applicants) and approval-rate ratios by size class and region."""
    try:
        with _session() as session:
            row, model = active_model(session)
            report = monitor(session, row, model)
    except ScoringUnavailable as error:
        raise click.ClickException(str(error)) from error
    for line in format_report(report):
        click.echo(line)


@scoring_group.command("list")
def scoring_list() -> None:
    """Registered models with their cross-validated metrics."""
    with _session() as session:
        for row in session.scalars(select(ScoringModel).order_by(ScoringModel.created_at)):
            metrics = row.meta.get("metrics", {})
            flags = ("active " if row.active else "") + ("" if row.platform else "evaluation-only")
            click.echo(
                f"{row.version}\tAUC {metrics.get('auc', float('nan')):.4f}"
                f"\tBrier {metrics.get('brier', float('nan')):.4f}\t{flags.strip()}"
            )


@match_group.command("run")
@click.option("--k", default=3, show_default=True, type=click.IntRange(1, 10), help="Proposals per need at most.")
@click.option("--overbooking", default=1.0, show_default=True, type=click.FloatRange(1.0, 5.0))
@click.option("--dry-run", is_flag=True, help="Compute and report the round without writing proposals.")
def match_run(k: int, overbooking: float, dry_run: bool) -> None:
    """Run a matching round over all open needs and active products."""
    stages = ["loading needs and products", "scoring enterprises", "finding eligible pairs", "solving"]
    stages += [] if dry_run else ["writing proposals"]
    with click.progressbar(length=len(stages), label="matching round", show_pos=True) as bar:

        def progress(stage: str) -> None:
            bar.label = stage
            bar.update(1)

        try:
            row = run_round(
                current_app.extensions["session_factory"],
                RoundParams(k=k, overbooking=overbooking, dry_run=dry_run),
                Path(current_app.config["ROUND_DIR"]),
                progress=progress,
            )
        except (RoundInProgress, ScoringUnavailable) as error:
            raise click.ClickException(str(error)) from error
    stats = row.stats
    click.echo(f"round {row.id} {row.status}")
    for name in ("needs", "products", "edges", "proposals", "needs_matched", "needs_without_eligible_product"):
        click.echo(f"  {name:<32} {stats[name]}")
    click.echo(f"  {'objective / upper bound':<32} {stats['objective']:.4f} / {stats['upper_bound']:.4f}")
    click.echo(f"  {'gap':<32} {stats['gap']:.4%}")
    click.echo(f"  {'solver':<32} {stats['solver']} ({stats['solver_iterations']} flow solves)")
    click.echo(f"  {'seconds':<32} {stats['seconds']:.2f}")


@match_group.command("expire")
@click.option("--days", default=10, show_default=True, type=click.IntRange(1, 365))
def match_expire(days: int) -> None:
    """Expire proposals a bank left unanswered for DAYS days (有求必应); their needs return to the next round."""
    with _session() as session, session.begin():
        count = expire_overdue(session, utcnow(), days)
    compact_tallies(current_app.extensions["session_factory"])  # as a round does: see db.tallies
    click.echo(f"{count} proposal(s) expired")


@match_group.command("export-graph")
@click.argument("round_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def match_export_graph(round_id: int, out: Path) -> None:
    """Write a round's candidate edges (need, product, weight, amount, bank, capacity, quota, k, overbooking)."""
    source = Path(current_app.config["ROUND_DIR"]) / f"round-{round_id}.csv"
    if not source.exists():
        raise click.ClickException(f"no candidate graph stored for round {round_id}")
    shutil.copyfile(source, out)
    click.echo(f"round {round_id}: {sum(1 for _ in source.open(encoding='utf-8')) - 1} edges written to {out}")


def register_commands(app: Flask) -> None:
    for group in (db_group, accounts_group, demo_group, scoring_group, match_group):
        app.cli.add_command(group)


if __name__ == "__main__":
    sys.exit(main())
