"""Every regulator total equals the same figure computed independently in Python from the ledger's rows,
overall and for each group, under each filter, on a seeded random market with corrections; the checks
would fail on a double-counted grant and an ignored correction."""

import statistics
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from matchmaker.classification_copies import classification_discrepancies
from matchmaker.decisions import answer_discrepancies
from matchmaker.ledger import loan_figure_discrepancies
from matchmaker.models import Loan
from matchmaker.need_figures import need_figure_discrepancies
from matchmaker.previous_loans import grant_month_discrepancies, previous_loan_discrepancies
from matchmaker.previous_proposals import proposal_discrepancies
from matchmaker.stats import (
    GROUPINGS,
    MIN_ENTERPRISES,
    RiskRow,
    SharingRule,
    StatsFilter,
    TotalsRow,
    risk,
    totals,
    totals_and_risk,
)
from reference.china_time import CHINA, china_today
from tests.conftest import empty_all_tables, make_app
from tests.integration.stats_world import REGIONS, LedgerRows, World, build_world, read_rows


@pytest.fixture(scope="module")
def shared_app(database_url: str) -> Iterator[Flask]:
    """One app and one world for the whole module: each test only reads it."""
    app = make_app(database_url)
    yield app
    empty_all_tables(app)
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def world(shared_app: Flask) -> tuple[World, LedgerRows]:
    """The random world, after a few enterprises with loans changed their region, size class or industry
    (the statistics are about their current record)."""
    with shared_app.extensions["session_factory"]() as session:
        built = build_world(session, seed=20261130)
        borrowers = session.scalars(select(Enterprise).where(Enterprise.id.in_(select(Loan.enterprise_id)))).all()
        for index, enterprise in enumerate(borrowers[:9]):
            if index % 3 == 0:
                enterprise.region = next(region for region in REGIONS if region != enterprise.region)
            elif index % 3 == 1:
                enterprise.size_class = "micro" if enterprise.size_class != "micro" else "small"
            else:
                enterprise.industry = "F51" if not enterprise.industry.startswith("F") else "C39"
        session.commit()
        return built, read_rows(session)


@pytest.fixture
def db_session(shared_app: Flask, world: tuple[World, LedgerRows]) -> Iterator[Session]:
    """A session on the module's world; what a test writes is rolled back."""
    session = shared_app.extensions["session_factory"]()
    yield session
    session.rollback()
    session.close()


def filters(rows: LedgerRows) -> list[StatsFilter]:
    bank_id = rows.loans[0].bank_id
    return [
        StatsFilter(),
        StatsFilter(date_from=china_today() - timedelta(days=200), date_to=china_today() - timedelta(days=60)),
        StatsFilter(bank_id=bank_id),
        StatsFilter(product_type="receivables_pledge_loan"),
        StatsFilter(region="某市城区"),
        StatsFilter(size_class="small"),
        StatsFilter(industry="C"),
        StatsFilter(date_from=china_today() - timedelta(days=300), bank_id=bank_id, size_class="micro"),
        StatsFilter(date_from=china_today() - timedelta(days=120), product_type="credit_loan"),
        StatsFilter(date_from=china_today() - timedelta(days=150), bank_id=bank_id, product_type="credit_loan"),
    ]


class Ledger:
    """The expected figures, from the rows only: a grant is the ``granted`` event plus the corrections that
    name it; a loan's balance is its last event's ``balance_after``."""

    def __init__(self, rows: LedgerRows, double_count_grants: bool = False, ignore_corrections: bool = False):
        self.rows = rows
        by_id = {event.id: event for event in rows.events}
        self.sums: dict[tuple[int, str], int] = {}
        self.counts: dict[tuple[int, str], int] = {}
        self.balance: dict[int, int] = {}
        for event in rows.events:  # in id order
            self.balance[event.loan_id] = event.balance_after
            self.counts[event.loan_id, event.kind] = self.counts.get((event.loan_id, event.kind), 0) + 1
            if event.kind == "corrected":
                if ignore_corrections:
                    continue
                kind = by_id[event.corrects_event_id].kind
            else:
                kind = event.kind
            times = 2 if double_count_grants and event.kind == "granted" else 1
            self.sums[event.loan_id, kind] = self.sums.get((event.loan_id, kind), 0) + times * event.amount

    def loans(self, flt: StatsFilter) -> list[Any]:
        chosen = []
        for loan in self.rows.loans:
            product, enterprise = self.rows.products[loan.product_id], self.rows.enterprises[loan.enterprise_id]
            if (
                (flt.date_from is None or loan.granted_on >= flt.date_from)
                and (flt.date_to is None or loan.granted_on <= flt.date_to)
                and flt.bank_id in (None, loan.bank_id)
                and flt.product_type in (None, product.type)
                and flt.region in (None, enterprise.region)
                and flt.size_class in (None, enterprise.size_class)
                and flt.industry in (None, enterprise.industry[0])
            ):
                chosen.append(loan)
        return chosen

    def key(self, loan: Any, group_by: str) -> str:
        enterprise = self.rows.enterprises[loan.enterprise_id]
        return {
            "bank": str(loan.bank_id),
            "product_type": self.rows.products[loan.product_id].type,
            "industry": enterprise.industry[0],
            "region": enterprise.region,
            "size_class": enterprise.size_class,
            "month": loan.granted_on.strftime("%Y-%m"),
        }[group_by]

    def grouped(self, flt: StatsFilter, group_by: str | None) -> tuple[list[Any], dict[str, list[Any]]]:
        loans = self.loans(flt)
        groups: dict[str, list[Any]] = {}
        if group_by:
            for loan in loans:
                groups.setdefault(self.key(loan, group_by), []).append(loan)
        return loans, groups

    def granted(self, loan: Any) -> int:
        return self.sums.get((loan.id, "granted"), 0)

    def totals(self, loans: list[Any]) -> dict[str, Any]:
        def collateral(loan: Any, code: str) -> bool:
            offered = self.rows.needs[loan.need_id].collateral_offered
            return code in self.rows.products[loan.product_id].collateral and code in offered

        def credit(loan: Any) -> bool:
            return set(self.rows.products[loan.product_id].collateral) <= {"none"}

        def part(test: Callable[[Any], bool]) -> tuple[int, int]:
            chosen = [loan for loan in loans if test(loan)]
            return len(chosen), sum(self.granted(loan) for loan in chosen)

        enterprises = {loan.enterprise_id for loan in loans}
        first = {loan.enterprise_id for loan in loans if loan.kind == "first_loan"}
        granted = sum(self.granted(loan) for loan in loans)
        days = [
            (loan.granted_on - self.rows.needs[loan.need_id].created_at.astimezone(CHINA).date()).days for loan in loans
        ]
        figures: dict[str, Any] = {
            "enterprises": len(enterprises),
            "loans": len(loans),
            "granted_amount": granted,
            "outstanding": sum(self.balance[loan.id] for loan in loans),
            "avg_rate": statistics.fmean(loan.rate for loan in loans) if loans else None,
            "median_rate": statistics.median(loan.rate for loan in loans) if loans else None,
            "avg_days_to_grant": statistics.fmean(days) if loans else None,
            "first_loan_enterprises": len(first),
            "first_loan_share": len(first) / len(enterprises) if enterprises else None,
            "rollovers": sum(self.counts.get((loan.id, "renewed"), 0) for loan in loans),
            "rollover_amount": sum(self.sums.get((loan.id, "renewed"), 0) for loan in loans),
        }
        for name, test in (
            ("first_loan", lambda loan: loan.kind == "first_loan"),
            ("renewal", lambda loan: loan.kind == "renewal"),
            ("credit", credit),
            ("ip_pledge", lambda loan: collateral(loan, "ip_pledge")),
            ("receivables", lambda loan: collateral(loan, "receivables")),
        ):
            count, amount = part(test)
            figures[f"{name}_loans" if name != "first_loan" else "first_loans"] = count
            figures[f"{name}_amount"] = amount
        figures["credit_share"] = figures["credit_amount"] / granted if granted else None
        return figures

    def risk(self, loans: list[Any], sharing: SharingRule) -> dict[str, Any]:
        compensable = [loan for loan in loans if self.rows.products[loan.product_id].risk_compensation_eligible]
        overdue = [loan for loan in loans if self.counts.get((loan.id, "overdue"))]
        defaulted = [loan for loan in loans if self.counts.get((loan.id, "defaulted"))]
        covered = sum(self.sums.get((loan.id, "defaulted"), 0) for loan in compensable)
        fund, guarantor = round(covered * sharing.fund), round(covered * sharing.guarantor)
        return {
            "enterprises": len({loan.enterprise_id for loan in loans}),
            "loans": len(loans),
            "outstanding": sum(self.balance[loan.id] for loan in loans),
            "overdue_loans": len(overdue),
            "overdue_rate": len(overdue) / len(loans) if loans else None,
            "defaulted_loans": len(defaulted),
            "default_rate": len(defaulted) / len(loans) if loans else None,
            "at_risk_balance": sum(self.balance[loan.id] for loan in loans if loan.status in ("overdue", "defaulted")),
            "defaulted_amount": sum(self.sums.get((loan.id, "defaulted"), 0) for loan in loans),
            "compensable_loans": len(compensable),
            "compensable_outstanding": sum(self.balance[loan.id] for loan in compensable),
            "compensable_defaults": covered,
            "fund_cover": fund,
            "guarantor_cover": guarantor,
            "bank_cover": covered - fund - guarantor,
        }


def assert_row(row: TotalsRow | RiskRow, expected: dict[str, Any], where: str) -> None:
    if row.suppressed:
        assert all(getattr(row, f.name) is None for f in fields(row) if f.name not in ("group", "suppressed"))
        return
    for name, value in expected.items():
        actual = getattr(row, name)
        if isinstance(value, float):
            assert actual == pytest.approx(value, abs=1e-4), f"{where}: {name}"
        else:
            assert actual == value, f"{where}: {name}"


def check_grouped(
    ledger: Ledger, flt: StatsFilter, group_by: str | None, overall: Any, groups: list[Any], expect: Callable
) -> None:
    loans, expected_groups = ledger.grouped(flt, group_by)
    where = f"{flt} by {group_by}"
    expected_overall = expect(loans)
    assert overall.suppressed == (0 < expected_overall["enterprises"] < MIN_ENTERPRISES), where
    assert_row(overall, expected_overall, where)
    assert [row.group.key for row in groups] == sorted(
        expected_groups, key=lambda k: int(k) if group_by == "bank" else k
    )
    small = [k for k, group in expected_groups.items() if expect(group)["enterprises"] < MIN_ENTERPRISES]
    for row in groups:
        expected = expect(expected_groups[row.group.key])
        if expected["enterprises"] < MIN_ENTERPRISES:
            assert row.suppressed, where
        elif row.suppressed:
            assert len(small) == 1, f"{where}: {row.group.key} suppressed without cause"
        assert_row(row, expected, f"{where} [{row.group.key}]")


def test_totals_reconcile_with_the_ledger(db_session: Session, world: tuple[World, LedgerRows]) -> None:
    _, rows = world
    corrections = [e for e in rows.events if e.kind == "corrected"]
    assert len(rows.loans) > 30 and len(corrections) > 5  # the world exercises what is checked
    ledger = Ledger(rows)
    for flt in filters(rows):
        for group_by in (None, *GROUPINGS):
            overall, groups = totals(db_session, flt, group_by)
            check_grouped(ledger, flt, group_by, overall, groups, ledger.totals)

    # The same comparison against a ledger read wrongly fails: the checks above have teeth.
    overall, _ = totals(db_session, StatsFilter())
    for wrong in (Ledger(rows, double_count_grants=True), Ledger(rows, ignore_corrections=True)):
        with pytest.raises(AssertionError):
            assert_row(overall, wrong.totals(wrong.loans(StatsFilter())), "wrong ledger")


def test_the_loans_figures_agree_with_the_ledger(db_session: Session, world: tuple[World, LedgerRows]) -> None:
    """The statistics read each loan's figures kept by matchmaker.ledger; on the random world (grants,
    corrections of grants, renewals and defaults, refused draws) they equal the ledger's sums. Likewise the
    previous loans' dates by which they count enterprises, though grants there are dated out of order."""
    assert loan_figure_discrepancies(db_session) == []
    assert previous_loan_discrepancies(db_session) == []
    assert grant_month_discrepancies(db_session) == []
    assert classification_discrepancies(db_session) == []
    _, rows = world
    by_id = sorted(rows.loans, key=lambda loan: loan.id)
    assert any(  # some enterprise's later grant is dated before its earlier one
        a.enterprise_id == b.enterprise_id and b.granted_on < a.granted_on
        for i, a in enumerate(by_id)
        for b in by_id[i + 1 :]
    )


def test_the_proposals_and_needs_figures_agree(db_session: Session, world: tuple[World, LedgerRows]) -> None:
    """The funnel and the banks' view read each proposal's first answer, take-up and rejection reason and
    each need's counts kept by the matchmaker; on the random world they equal what the decisions, the
    proposals and the loans say."""
    assert answer_discrepancies(db_session) == []
    assert need_figure_discrepancies(db_session) == []
    assert proposal_discrepancies(db_session) == []


def test_risk_reconciles_with_the_ledger(db_session: Session, world: tuple[World, LedgerRows]) -> None:
    _, rows = world
    assert any(e.kind == "defaulted" for e in rows.events) and any(e.kind == "overdue" for e in rows.events)
    ledger = Ledger(rows)
    sharing = SharingRule(fund=0.5, bank=0.3, guarantor=0.2)
    assert risk(db_session, StatsFilter(), None, sharing)[0].fund_cover  # some defaults are on fund products
    for flt in filters(rows):
        for group_by in (None, "bank", "product_type", "month"):
            overall, groups = risk(db_session, flt, group_by, sharing)
            check_grouped(ledger, flt, group_by, overall, groups, lambda loans: ledger.risk(loans, sharing))


def test_one_pass_gives_the_totals_and_risk(db_session: Session, world: tuple[World, LedgerRows]) -> None:
    """What the dashboard reads: the totals, the risk and the totals by month from one statement, the same
    rows as each alone (which the two tests above reconcile with the ledger)."""
    _, rows = world
    sharing = SharingRule(fund=0.5, bank=0.3, guarantor=0.2)
    for flt in filters(rows):
        months = totals(db_session, flt, "month")[1]
        assert len(months) > 1, str(flt)
        for group_by in (None, *GROUPINGS):
            all_three = totals_and_risk(db_session, flt, group_by, sharing)
            alone = (totals(db_session, flt, group_by), risk(db_session, flt, group_by, sharing), months)
            assert all_three == alone, f"{flt} by {group_by}"
