"""The `matchmaker` operator commands, run for real against the test database."""

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts.models import Account
from accounts.tokens import account_for_token
from db.tallies import TALLIES, discrepancies, summed
from enterprises.demo import DEMO_PASSWORD
from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from enterprises.need_copies import need_copy_discrepancies
from matchmaker import stats
from matchmaker.classification_copies import classification_discrepancies
from matchmaker.decisions import answer_discrepancies
from matchmaker.demo import REGULATOR_TOKEN
from matchmaker.ledger import ledger_amounts, loan_figure_discrepancies, reconcile
from matchmaker.models import CreditEvent, Loan, Proposal, ScoringModel
from matchmaker.need_figures import need_figure_discrepancies
from matchmaker.previous_loans import previous_loan_discrepancies
from matchmaker.previous_proposals import proposal_discrepancies
from products.demo import BANKS
from products.models import Bank, LoanProduct

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(app: Flask) -> Invoke:
    """Run a command as the console script would (FlaskGroup pushes the app context for it)."""

    def run(*args: str) -> Result:
        with app.app_context():
            return app.test_cli_runner().invoke(args=list(args))

    return run


def _token(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_bank_prints_a_working_token_on_the_last_line(invoke: Invoke, db_session: Session) -> None:
    token = _token(invoke("accounts", "create-bank", "某银行", "--code", "ABC"))
    account = account_for_token(db_session, token)
    assert account is not None and account.role == "bank"
    assert db_session.get(Bank, account.bank_id).code == "ABC"


def test_create_bank_with_an_existing_code_adds_an_account_to_that_bank(invoke: Invoke, db_session: Session) -> None:
    first = _token(invoke("accounts", "create-bank", "某银行", "--code", "ABC"))
    second = _token(invoke("accounts", "create-bank", "某银行", "--code", "ABC", "--officer", "信贷员"))
    one, two = account_for_token(db_session, first), account_for_token(db_session, second)
    assert one is not None and two is not None and one.id != two.id
    assert one.bank_id == two.bank_id
    assert two.name == "信贷员"
    assert _count(db_session, Bank) == 1


@pytest.mark.parametrize(("command", "role"), [("create-regulator", "regulator"), ("create-admin", "admin")])
def test_create_regulator_and_admin(invoke: Invoke, db_session: Session, command: str, role: str) -> None:
    token = _token(invoke("accounts", command, "某市地方金融监督管理局"))
    account = account_for_token(db_session, token)
    assert account is not None and account.role == role and account.bank_id is None


def test_issue_token_adds_a_second_live_token(invoke: Invoke, db_session: Session) -> None:
    first = _token(invoke("accounts", "create-admin", "运营"))
    account = account_for_token(db_session, first)
    assert account is not None
    second = _token(invoke("accounts", "issue-token", str(account.id)))
    assert second != first
    assert account_for_token(db_session, first) is not None
    assert account_for_token(db_session, second).id == account.id


def test_issue_token_for_an_unknown_account_fails(invoke: Invoke) -> None:
    result = invoke("accounts", "issue-token", "999999")
    assert result.exit_code != 0
    assert "no account 999999" in result.output


@pytest.mark.parametrize("given", ["full", "prefix"])
def test_revoke_token_stops_it_working(invoke: Invoke, db_session: Session, given: str) -> None:
    token = _token(invoke("accounts", "create-regulator", "监管"))
    result = invoke("accounts", "revoke-token", token if given == "full" else token[:10])
    assert result.exit_code == 0, result.output
    assert "revoked 1 token(s)" in result.output
    assert account_for_token(db_session, token) is None


def test_revoking_an_unknown_token_fails(invoke: Invoke) -> None:
    result = invoke("accounts", "revoke-token", "mm_nothing")
    assert result.exit_code != 0
    assert "no live token matches" in result.output


@pytest.mark.parametrize("code", ["A B", "ABC;DROP", "银行", "X" * 33])
def test_an_invalid_bank_code_is_refused_and_nothing_written(invoke: Invoke, db_session: Session, code: str) -> None:
    result = invoke("accounts", "create-bank", "某银行", "--code", code)
    assert result.exit_code != 0
    assert "--code" in result.output
    assert _count(db_session, Bank) == 0
    assert _count(db_session, Account) == 0


def test_list_shows_accounts_with_their_token_prefixes(invoke: Invoke) -> None:
    token = _token(invoke("accounts", "create-bank", "某银行", "--code", "ABC"))
    result = invoke("accounts", "list")
    assert result.exit_code == 0
    assert "bank" in result.output and "某银行" in result.output and token[:10] in result.output


def test_demo_load_if_empty_loads_once_then_does_nothing(
    invoke: Invoke, db_session: Session, synthetic_model_dir: Path
) -> None:
    first = invoke("demo", "load", "--if-empty", "--model", str(synthetic_model_dir))
    assert first.exit_code == 0, first.output
    assert "SYNTHETIC" in first.output and REGULATOR_TOKEN in first.output
    assert DEMO_PASSWORD in first.output
    products = _count(db_session, LoanProduct)
    assert products >= 30 and _count(db_session, Bank) == len(BANKS)
    assert _count(db_session, Enterprise) == 40
    assert _count(db_session, FinancialProfile) == 80
    assert _count(db_session, FinancingNeed) >= 40
    assert db_session.scalar(select(ScoringModel.active)) is True
    # The banks' first answers: decisions of every kind, loans on the ledger, books that reconcile.
    statuses = Counter(db_session.scalars(select(Proposal.status).where(Proposal.rank == 1)))
    assert statuses["granted"] > 0 and statuses["accepted"] > 0 and statuses["rejected"] > 0
    assert f"{statuses['granted']} granted" in first.output
    assert _count(db_session, Loan) == statuses["granted"]
    kinds = Counter(db_session.scalars(select(CreditEvent.kind)))
    assert kinds["granted"] == kinds["disbursed"] == statuses["granted"]
    assert reconcile(db_session) == []
    # Played as six months of history: grants in several months, each answered within a week of its proposal,
    # the figures the statistics keep in step with the decisions and the ledger.
    assert len({granted_on.month for granted_on in db_session.scalars(select(Loan.granted_on))}) >= 3
    for made, answered in db_session.execute(
        select(Proposal.created_at, Proposal.first_answered_at).where(Proposal.first_answered_at.is_not(None))
    ):
        assert timedelta(0) < answered - made < timedelta(days=7)
    assert answer_discrepancies(db_session) == [] and need_figure_discrepancies(db_session) == []
    assert loan_figure_discrepancies(db_session) == [] and previous_loan_discrepancies(db_session) == []
    assert proposal_discrepancies(db_session) == [] and classification_discrepancies(db_session) == []
    assert need_copy_discrepancies(db_session) == []
    for tally in TALLIES:  # kept with every write, and compacted to one row per key at the end
        assert discrepancies(db_session.connection(), tally) == []
        keys = db_session.execute(text(summed(tally))).all()
        assert keys and db_session.scalar(text(f"SELECT count(*) FROM {tally.table}")) == len(keys), tally.table
    overall, months = stats.totals(db_session, stats.StatsFilter(), "month")
    assert len(months) >= 3
    # The demo's figures reconcile with its ledger: credit granted, and the funnel's grants.
    assert overall.granted_amount == db_session.scalar(ledger_amounts("granted")) > 0
    assert stats.funnel(db_session, stats.StatsFilter())[0].granted_amount == overall.granted_amount

    second = invoke("demo", "load", "--if-empty")
    assert second.exit_code == 0
    assert "demo not loaded" in second.output
    assert _count(db_session, LoanProduct) == products


def test_demo_load_into_a_loaded_database_fails_and_writes_nothing(
    invoke: Invoke, db_session: Session, synthetic_model_dir: Path
) -> None:
    assert invoke("demo", "load", "--model", str(synthetic_model_dir)).exit_code == 0
    products = _count(db_session, LoanProduct)
    again = invoke("demo", "load", "--seed", "1", "--model", str(synthetic_model_dir))
    assert again.exit_code != 0
    assert "already in use" in again.output
    assert _count(db_session, LoanProduct) == products
    assert _count(db_session, Account) == len(BANKS) + 2 + 40


def test_db_upgrade_runs_on_an_up_to_date_database(invoke: Invoke) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output


def test_the_console_script_lists_the_command_groups() -> None:
    script = Path(sys.executable).parent / "matchmaker"
    assert script.exists(), "the console script is missing: reinstall with `make install`"
    env = {**os.environ, "DATABASE_URL": "sqlite://", "SECRET_KEY": "help"}  # leave instance/ alone
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd="/", env=env)
    assert result.returncode == 0, result.stderr
    for group in ("db", "accounts", "demo"):
        assert f"  {group} " in result.stdout
