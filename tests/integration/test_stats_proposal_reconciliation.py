"""The funnel (by need, and by bank and product type) and the banks' view equal the same figures computed in
Python from the proposals, their decisions, the needs and the loans, on the seeded random market (needs
submitted and proposed out of order, several needs and banks per enterprise, enterprises reclassified and
needs' submission moved after the fact), under periods and filters: the distinct enterprises and needs that
matchmaker.previous_proposals, previous_loans and enterprises.need_copies count without sorting, and the exact
median response time that stats_sql.bucket_medians finds without sorting."""

import statistics
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from enterprises.models import Enterprise, FinancingNeed
from enterprises.need_copies import need_copy_discrepancies, submitted_month_discrepancies
from matchmaker import stats
from matchmaker.decisions import BANK_DECISIONS, TAKEN_UP
from matchmaker.models import Loan, Proposal, ProposalDecision
from matchmaker.previous_proposals import proposal_discrepancies
from matchmaker.stats import (
    MIN_ENTERPRISES,
    StatsFilter,
    bank_responsiveness,
    banks_and_funnel_by_bank,
    book_days,
    drop_period_holding_everything,
    funnel,
    outside_is_smaller,
)
from matchmaker.stats_sql import bucket_medians
from reference.china_time import CHINA, china_today
from tests.conftest import empty_all_tables, make_app
from tests.integration.stats_world import build_world


class Book:
    """The proposals with what their decisions say, and the loans, read as plain rows."""

    def __init__(self, session: Session) -> None:
        first_day = book_days(session)[0]
        assert first_day is not None
        self.first_day = first_day
        self.proposals = session.execute(
            select(
                Proposal.id,
                Proposal.need_id,
                Proposal.enterprise_id,
                Proposal.bank_id,
                Proposal.product_id,
                Proposal.status,
                Proposal.created_at,
                Proposal.need_submitted_at,
            ).order_by(Proposal.id)
        ).all()
        self.types = dict(session.execute(select(Proposal.id, Proposal.product_type)).all())
        self.size_classes = dict(session.execute(select(Enterprise.id, Enterprise.size_class)).all())
        self.sections = {e: industry[0] for e, industry in session.execute(select(Enterprise.id, Enterprise.industry))}
        decisions = session.execute(
            select(
                ProposalDecision.proposal_id,
                ProposalDecision.decision,
                ProposalDecision.reason,
                ProposalDecision.decided_at,
            )
        ).all()
        self.answered: dict[int, Any] = {}
        self.taken_up: set[int] = set()
        self.reasons: dict[int, str] = {}
        for proposal_id, decision, reason, decided_at in decisions:
            if decision in BANK_DECISIONS:
                self.answered[proposal_id] = min(decided_at, self.answered.get(proposal_id, decided_at))
            if decision in TAKEN_UP:
                self.taken_up.add(proposal_id)
            if decision == "rejected":
                self.reasons[proposal_id] = reason
        self.loans = session.execute(select(Loan.proposal_id, Loan.need_id, Loan.granted_amount)).all()
        self.needs = session.execute(
            select(
                FinancingNeed.id,
                FinancingNeed.enterprise_id,
                FinancingNeed.amount,
                FinancingNeed.created_at,
                Enterprise.region,
                Enterprise.size_class,
                Enterprise.industry,
            ).join(Enterprise, Enterprise.id == FinancingNeed.enterprise_id)
        ).all()

    def needs_funnel(self, needs: list[Any]) -> dict[str, Any]:
        ids = {need.id for need in needs}
        proposals = [p for p in self.proposals if p.need_id in ids]
        loans = [loan for loan in self.loans if loan.need_id in ids]
        granted = {need_id: sum(loan.granted_amount for loan in loans if loan.need_id == need_id) for need_id in ids}
        return {
            "enterprises": len({need.enterprise_id for need in needs}),
            "needs_submitted": len(needs),
            "amount_asked": sum(need.amount for need in needs),
            "needs_proposed": len({p.need_id for p in proposals}),
            "proposals": len(proposals),
            "accepted": sum(1 for p in proposals if p.id in self.taken_up),
            "granted": len(loans),
            "needs_granted": len({loan.need_id for loan in loans}),
            "granted_amount": sum(granted.values()),
            "unmet_amount": sum(max(0, need.amount - granted[need.id]) for need in needs),
        }

    def chosen(self, flt: StatsFilter, when: Callable[[Any], Any]) -> list[Any]:
        def in_period(proposal: Any) -> bool:
            day = when(proposal).astimezone(CHINA).date()
            return (flt.date_from is None or day >= flt.date_from) and (flt.date_to is None or day <= flt.date_to)

        return [
            p
            for p in self.proposals
            if in_period(p)
            and flt.bank_id in (None, p.bank_id)
            and flt.product_type in (None, self.types[p.id])
            and flt.size_class in (None, self.size_classes[p.enterprise_id])
            and flt.industry in (None, self.sections[p.enterprise_id])
        ]

    def key(self, proposal: Any, group_by: str | None) -> str:
        if group_by == "bank":
            return str(proposal.bank_id)
        if group_by == "product_type":
            return self.types[proposal.id]
        return proposal.need_submitted_at.astimezone(CHINA).strftime("%Y-%m")

    def funnel(self, proposals: list[Any]) -> dict[str, Any]:
        ids = {p.id for p in proposals}
        loans = [loan for loan in self.loans if loan.proposal_id in ids]
        return {
            "enterprises": len({p.enterprise_id for p in proposals}),
            "proposals": len(proposals),
            "needs_proposed": len({p.need_id for p in proposals}),
            "accepted": len(ids & self.taken_up),
            "granted": sum(1 for p in proposals if p.status == "granted"),
            "needs_granted": len({loan.need_id for loan in loans}),
            "granted_amount": sum(loan.granted_amount for loan in loans),
        }

    def banks(self, proposals: list[Any]) -> dict[str, Any]:
        days = [
            (self.answered[p.id] - p.created_at).total_seconds() / 86400 for p in proposals if p.id in self.answered
        ]
        reasons: dict[str, int] = {}
        for p in proposals:
            if p.id in self.reasons:
                reasons[self.reasons[p.id]] = reasons.get(self.reasons[p.id], 0) + 1
        return {
            "enterprises": len({p.enterprise_id for p in proposals}),
            "proposals": len(proposals),
            "answered": len(days),
            "accepted": sum(1 for p in proposals if p.id in self.taken_up),
            **{s: sum(1 for p in proposals if p.status == s) for s in ("rejected", "granted", "expired", "pending")},
            "avg_response_days": statistics.fmean(days) if days else None,
            "median_response_days": statistics.median(days) if days else None,
            "rejections": sorted(reasons.items(), key=lambda pair: (-pair[1], pair[0])),
        }


def check(row: Any, expected: dict[str, Any], where: str) -> None:
    if expected["enterprises"] < MIN_ENTERPRISES or row.suppressed:
        return  # the small-group rule is tested on its own (test_stats_funnel.py)
    for name, value in expected.items():
        actual = getattr(row, name)
        if name == "rejections":
            actual = [(reason.code, reason.count) for reason in actual]
        assert actual == (pytest.approx(value, abs=1e-4) if isinstance(value, float) else value), f"{where}: {name}"


@pytest.fixture(scope="module")
def shared_app(database_url: str) -> Iterator[Flask]:
    """One app and one book for the whole module (each test only reads it, or writes and rolls back): the
    book built afresh for each test took half of the module's time."""
    app = make_app(database_url)
    yield app
    empty_all_tables(app)
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def book(shared_app: Flask) -> Book:
    """The random world, after some enterprises moved region or changed size class or industry (the
    statistics are about their current record) and some needs' submission was moved back (as a data
    correction would)."""
    with shared_app.extensions["session_factory"]() as session:
        build_world(session, seed=20261201)
        enterprises = session.scalars(select(Enterprise).order_by(Enterprise.id)).all()
        for enterprise in enterprises[::7]:
            enterprise.region = "某市新区"
        for enterprise in enterprises[3::7]:
            enterprise.size_class = "medium"
        for enterprise in enterprises[5::7]:
            enterprise.industry = "I65"
        for need in session.scalars(select(FinancingNeed).order_by(FinancingNeed.id)).all()[::9]:
            need.created_at -= timedelta(days=40)
        session.commit()
        return Book(session)


@pytest.fixture
def db_session(shared_app: Flask, book: Book) -> Iterator[Session]:
    """A session on the module's book; what a test writes is rolled back."""
    session = shared_app.extensions["session_factory"]()
    yield session
    session.rollback()
    session.close()


def filters(book: Book) -> list[StatsFilter]:
    bank_id = book.proposals[0].bank_id
    return [
        StatsFilter(),
        StatsFilter(date_from=china_today() - timedelta(days=150)),
        StatsFilter(date_from=china_today() - timedelta(days=200), date_to=china_today() - timedelta(days=60)),
        StatsFilter(bank_id=bank_id),
        StatsFilter(product_type="credit_loan", date_from=china_today() - timedelta(days=120)),
        StatsFilter(bank_id=bank_id, product_type="credit_loan"),
        # read from the tallies, where the enterprises reclassified after the fact (``book``) moved to
        StatsFilter(size_class="medium"),
        StatsFilter(size_class="micro"),
        StatsFilter(industry="I"),
        StatsFilter(industry="C", size_class="micro"),
        # a period holding the whole history, scanned (the dashboard and the API drop it: the tallies)
        StatsFilter(date_from=date(2000, 1, 1), size_class="medium"),
        *most_of_the_history(book),
    ]


def most_of_the_history(book: Book) -> list[StatsFilter]:
    """Periods holding most of the book's days: the banks' view and the funnel by bank read the tallies less
    the proposals outside them (matchmaker.stats.outside_is_smaller)."""
    first_proposal = min(p.need_submitted_at for p in book.proposals).astimezone(CHINA).date()
    today = china_today()
    return [
        StatsFilter(date_from=first_proposal + timedelta(days=15)),
        StatsFilter(date_to=today - timedelta(days=40), size_class="micro"),
        StatsFilter(date_from=first_proposal + timedelta(days=10), date_to=today - timedelta(days=20), industry="C"),
    ]


def test_periods_holding_most_of_the_history_are_read_as_the_tallies_less_the_rest(
    db_session: Session, book: Book
) -> None:
    """The filters of :func:`most_of_the_history` (reconciled with the rest of :func:`filters` above) take that
    way; a period holding half of the book, or a bank's, do not (the tallies have no bank to narrow to)."""
    engine = db_session.get_bind()
    statements: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for flt in most_of_the_history(book):
        assert outside_is_smaller(db_session, flt), str(flt)
        # the dashboard and the API keep the book's days read for the request: each statistic choosing
        # how to read the period reads them no more
        kept = drop_period_holding_everything(db_session, flt)
        assert kept == flt and kept.book == book_days(db_session)
        event.listen(engine, "after_cursor_execute", note)
        try:
            assert outside_is_smaller(db_session, kept)
        finally:
            event.remove(engine, "after_cursor_execute", note)
        assert statements == []
    half = book.first_day + (china_today() - book.first_day) / 2
    assert not outside_is_smaller(db_session, StatsFilter(date_from=half))
    assert not outside_is_smaller(db_session, StatsFilter(date_from=book.first_day + timedelta(days=1), bank_id=1))


def test_the_tallies_less_the_rest_give_any_periods_figures(
    db_session: Session, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tallies less the proposals outside a period give the period's figures whatever the period: taken
    here (the choice of matchmaker.stats.outside_is_smaller forced) for periods that hold a part of the
    history only, scanned otherwise, where many enterprises' first proposal in the period is not their first
    ever (the proposals before the period whose next one is in it stand for those)."""
    today = china_today()
    periods = [
        StatsFilter(date_from=today - timedelta(days=90)),
        StatsFilter(date_from=today - timedelta(days=160), size_class="micro"),
        StatsFilter(date_from=today - timedelta(days=200), date_to=today - timedelta(days=80)),
        StatsFilter(date_from=today - timedelta(days=150), date_to=today - timedelta(days=50), industry="C"),
        StatsFilter(date_to=today - timedelta(days=120)),
    ]
    since = today - timedelta(days=90)
    before = {p.enterprise_id for p in book.proposals if p.created_at.astimezone(CHINA).date() < since}
    assert len(before & {p.enterprise_id for p in book.chosen(periods[0], lambda p: p.created_at)}) > 2
    scanned = {}
    for flt in periods:
        assert not outside_is_smaller(db_session, flt), str(flt)
        scanned[flt] = banks_and_funnel_by_bank(db_session, flt), bank_responsiveness(db_session, flt)[1]
    monkeypatch.setattr(stats, "outside_is_smaller", lambda _session, flt: flt.has_period and flt.undated.tallied)
    for flt in periods:
        (banks, by_bank), bank_rows = banks_and_funnel_by_bank(db_session, flt), bank_responsiveness(db_session, flt)[1]
        (scanned_banks, scanned_by_bank), scanned_rows = scanned[flt]
        assert by_bank == scanned_by_bank, str(flt)  # counts and their ratios
        assert banks[0] == replace(scanned_banks[0], avg_response_days=banks[0].avg_response_days), str(flt)
        assert banks[0].avg_response_days == pytest.approx(scanned_banks[0].avg_response_days, abs=1e-4)
        assert [replace(row, avg_response_days=None) for row in bank_rows] == [
            replace(row, avg_response_days=None) for row in scanned_rows
        ], str(flt)
        check(banks[0], book.banks(book.chosen(flt, lambda p: p.created_at)), str(flt))


def test_the_tallies_and_the_rows_outside_a_period_are_read_at_once(
    shared_app: Flask, db_session: Session, book: Book
) -> None:
    """A write committed while the statistics read (here: as soon as a statement has read the proposal
    tallies) is in both the tallies and the rows outside the period or in neither: a proposal outside the
    period withdrawn between two statements would make the period's withdrawn proposals one fewer (below zero
    at a bank with none) and those of its former status one more."""
    flt = StatsFilter(date_to=china_today() - timedelta(days=40))  # the last 40 days outside
    assert outside_is_smaller(db_session, flt)
    assert flt.date_to is not None
    day = flt.date_to
    outside = next(p for p in book.proposals if p.status != "withdrawn" and p.created_at.astimezone(CHINA).date() > day)
    before = bank_responsiveness(db_session, flt)
    engine = shared_app.extensions["engine"]
    written: list[bool] = []

    def withdraw_once(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "proposal_tallies" in statement and not written:
            written.append(True)
            with engine.begin() as other:  # another connection, committed at once
                other.execute(update(Proposal).where(Proposal.id == outside.id).values(status="withdrawn"))

    event.listen(engine, "after_cursor_execute", withdraw_once)
    try:
        during = bank_responsiveness(db_session, flt)
    finally:
        event.remove(engine, "after_cursor_execute", withdraw_once)
        with engine.begin() as other:
            other.execute(update(Proposal).where(Proposal.id == outside.id).values(status=outside.status))
    assert written
    assert during == before


def test_the_kept_columns_agree_with_the_rows(db_session: Session, book: Book) -> None:
    assert proposal_discrepancies(db_session) == []
    assert need_copy_discrepancies(db_session) == []
    assert submitted_month_discrepancies(db_session) == []  # the needs moved after the fact (``book``) included


def test_the_funnel_by_bank_and_type_reconciles(db_session: Session, book: Book) -> None:
    assert len({p.need_id for p in book.proposals}) < len(book.proposals)  # needs with several proposals
    for flt in filters(book):
        groupings = ["bank", "product_type"] + (["month"] if flt.bank_id or flt.product_type else [])
        for group_by in groupings:
            proposals = book.chosen(flt, lambda p: p.need_submitted_at)
            overall, groups = funnel(db_session, flt, group_by)  # type: ignore[arg-type]
            check(overall, book.funnel(proposals), f"{flt} by {group_by}")
            expected: dict[str, list[Any]] = {}
            for proposal in proposals:
                expected.setdefault(book.key(proposal, group_by), []).append(proposal)
            assert sorted(row.group.key for row in groups) == sorted(expected), f"{flt} by {group_by}"
            for row in groups:
                check(row, book.funnel(expected[row.group.key]), f"{flt} by {group_by} [{row.group.key}]")


def test_the_funnel_by_need_reconciles(db_session: Session, book: Book) -> None:
    def key(need: Any, group_by: str) -> str:
        return {
            "region": need.region,
            "size_class": need.size_class,
            "industry": need.industry[0],
            "month": need.created_at.astimezone(CHINA).strftime("%Y-%m"),
        }[group_by]

    for flt in (
        StatsFilter(),
        StatsFilter(date_from=china_today() - timedelta(days=150)),
        StatsFilter(
            date_from=china_today() - timedelta(days=250), date_to=china_today() - timedelta(days=50), region="某市新区"
        ),
        StatsFilter(size_class="medium", date_from=china_today() - timedelta(days=200)),
    ):
        needs = [
            need
            for need in book.needs
            if (flt.date_from is None or need.created_at.astimezone(CHINA).date() >= flt.date_from)
            and (flt.date_to is None or need.created_at.astimezone(CHINA).date() <= flt.date_to)
            and flt.region in (None, need.region)
            and flt.size_class in (None, need.size_class)
        ]
        for group_by in (None, "region", "size_class", "industry", "month"):
            overall, groups = funnel(db_session, flt, group_by)  # type: ignore[arg-type]
            check(overall, book.needs_funnel(needs), f"{flt} by {group_by}")
            expected: dict[str, list[Any]] = {}
            for need in needs if group_by else []:
                expected.setdefault(key(need, group_by), []).append(need)
            assert sorted(row.group.key for row in groups) == sorted(expected), f"{flt} by {group_by}"
            for row in groups:
                check(row, book.needs_funnel(expected[row.group.key]), f"{flt} by {group_by} [{row.group.key}]")


def test_the_banks_view_reconciles(db_session: Session, book: Book) -> None:
    assert sum(1 for p in book.proposals if p.id in book.answered) > 50
    for flt in filters(book):
        proposals = book.chosen(flt, lambda p: p.created_at)
        overall, groups = bank_responsiveness(db_session, flt)
        check(overall, book.banks(proposals), str(flt))
        for row in groups:
            of_bank = [p for p in proposals if str(p.bank_id) == row.group.key]
            check(row, book.banks(of_bank), f"{flt} [{row.group.key}]")


def test_one_pass_gives_the_banks_view_and_the_funnel_by_bank(db_session: Session, book: Book) -> None:
    """With a period, the proposals made in it and those of the needs submitted in it differ (some needs'
    submission was moved back: ``book``); the one pass sums each apart."""
    region, size_class, industry = db_session.execute(
        select(Proposal.enterprise_region, Proposal.enterprise_size_class, Proposal.enterprise_industry).limit(1)
    ).one()
    chosen = [
        *filters(book),
        StatsFilter(product_type="credit_loan"),
        StatsFilter(region=region, size_class=size_class, industry=industry),
        StatsFilter(region=region, date_from=china_today() - timedelta(days=180)),
        StatsFilter(date_to=china_today() - timedelta(days=30)),
    ]
    assert sum(flt.has_period for flt in chosen) == 9
    for flt in chosen:
        banks, by_bank = banks_and_funnel_by_bank(db_session, flt)
        assert banks == bank_responsiveness(db_session, flt), str(flt)
        assert by_bank == funnel(db_session, flt, "bank"), str(flt)
        assert banks[1] and by_bank[1]


@pytest.mark.parametrize("width", [3600, 2 * 86400, 50 * 86400])
def test_bucket_medians_are_exact_whatever_the_bucket(db_session: Session, book: Book, width: float) -> None:
    """Buckets of an hour hold one answer or none here; of two and fifty days, many: each finds the median."""
    overall, groups = bucket_medians(
        db_session, Proposal.response_seconds, select(Proposal.id), Proposal.bank_id, width
    )
    answered = [p for p in book.proposals if p.id in book.answered]
    assert overall == statistics.median((book.answered[p.id] - p.created_at).total_seconds() for p in answered)
    for bank_id in {p.bank_id for p in answered}:
        of_bank = [(book.answered[p.id] - p.created_at).total_seconds() for p in answered if p.bank_id == bank_id]
        assert groups[str(bank_id)] == statistics.median(of_bank)


def test_bucket_medians_take_answers_dated_before_their_proposal(db_session: Session, book: Book) -> None:
    """A clock that ran behind can date an answer before its proposal: negative seconds, which bucket 0 (the
    division rounds towards zero) and the buckets below hold."""
    db_session.execute(
        text(
            "UPDATE proposals SET response_seconds = -response_seconds / (CASE WHEN id % 5 = 0 THEN 1 ELSE 1000 END)"
            " WHERE response_seconds IS NOT NULL AND id % 5 <> 1"
        )
    )
    answered = select(Proposal.bank_id, Proposal.response_seconds).where(Proposal.response_seconds.is_not(None))
    seconds = db_session.execute(answered).all()
    assert sum(1 for _bank, value in seconds if value < 0) > len(seconds) / 2
    overall, groups = bucket_medians(db_session, Proposal.response_seconds, select(Proposal.id), Proposal.bank_id, 3600)
    assert overall == statistics.median(value for _bank, value in seconds)
    for bank_id in {bank for bank, _value in seconds}:
        assert groups[str(bank_id)] == statistics.median(value for bank, value in seconds if bank == bank_id)


def test_a_period_holding_every_day_of_the_book_is_dropped(db_session: Session, book: Book) -> None:
    """A period from the book's first day (or before) to today (or after) selects every row: it is dropped
    (and the tallies read: tests/api/test_stats_api.py); a period that leaves out a day with rows, or today,
    is kept."""
    days = [p.created_at.astimezone(CHINA).date() for p in book.proposals]
    days += [p.need_submitted_at.astimezone(CHINA).date() for p in book.proposals]
    days += [need.created_at.astimezone(CHINA).date() for need in book.needs]
    days += db_session.scalars(select(Loan.granted_on)).all()
    first, last = min(days), max(days)
    assert last <= china_today()
    whole = StatsFilter(size_class="medium")
    for kept_whole in (
        StatsFilter(date_from=first, size_class="medium"),
        StatsFilter(date_from=first - timedelta(days=400), date_to=china_today(), size_class="medium"),
        StatsFilter(date_to=china_today() + timedelta(days=1), size_class="medium"),
    ):
        assert drop_period_holding_everything(db_session, kept_whole) == whole, str(kept_whole)
    regional = StatsFilter(date_from=date(2000, 1, 1), region="某市新区")  # not tallied, the same rows all the same
    assert drop_period_holding_everything(db_session, regional) == StatsFilter(region="某市新区")
    for partial in (
        StatsFilter(date_from=first + timedelta(days=1)),
        StatsFilter(date_to=china_today() - timedelta(days=1)),
    ):
        assert drop_period_holding_everything(db_session, partial) == partial, str(partial)
