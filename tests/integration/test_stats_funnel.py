"""The funnel, the banks' responsiveness and the small-group rule on a hand-built world whose every figure
is known (tests/integration/stats_world.py: build_small_world)."""

from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from enterprises.models import FinancingNeed
from matchmaker import stats
from matchmaker.stats import (
    FunnelRow,
    ReasonCount,
    SharingRule,
    StatsFilter,
    StatsFilterError,
    bank_responsiveness,
    check_group_by,
    funnel,
    totals,
)
from matchmaker.stats_sql import STATISTICS_WORK_MEM
from reference.china_time import china_today
from tests.integration.credit_book import WAN, need_like
from tests.integration.stats_world import SmallWorld, build_small_world


@pytest.fixture
def world(db_session: Session) -> SmallWorld:
    return build_small_world(db_session)


def figures(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


STEPS = ("needs_submitted", "amount_asked", "needs_proposed", "proposals", "accepted", "granted", "needs_granted")
MONEY = ("granted_amount", "unmet_amount")
RATES = ("proposed_rate", "accept_rate", "grant_rate", "need_grant_rate")


def test_the_funnel_counts_each_step_and_the_unmet_demand(db_session: Session, world: SmallWorld) -> None:
    overall, groups = funnel(db_session, StatsFilter(), "region")
    assert figures(overall, *STEPS) == dict(zip(STEPS, (6, 360 * WAN, 5, 8, 3, 2, 2), strict=True))
    # E1's grant was corrected to 55万, above its need of 50万: it counts in full, its unmet demand is 0.
    assert figures(overall, *MONEY) == {"granted_amount": 115 * WAN, "unmet_amount": 250 * WAN}
    assert figures(overall, *RATES) == {
        "proposed_rate": 0.8333,
        "accept_rate": 0.375,
        "grant_rate": 0.6667,
        "need_grant_rate": 0.3333,
    }
    assert overall.enterprises == 6 and not overall.suppressed
    r1, r2 = groups
    assert (r1.group.key, r1.group.zh, r2.group.key) == ("R1", "R1", "R2")
    assert figures(r1, *STEPS, *MONEY) == dict(
        zip((*STEPS, *MONEY), (3, 230 * WAN, 3, 4, 2, 2, 2, 115 * WAN, 120 * WAN), strict=True)
    )
    assert figures(r2, *STEPS, *MONEY) == dict(
        zip((*STEPS, *MONEY), (3, 130 * WAN, 2, 4, 1, 0, 0, 0, 130 * WAN), strict=True)
    )
    assert r2.grant_rate == 0.0 and r2.need_grant_rate == 0.0


def test_the_funnel_by_bank_counts_the_proposals_of_each_bank(db_session: Session, world: SmallWorld) -> None:
    overall, (b1, b2) = funnel(db_session, StatsFilter(), "bank")
    steps = ("enterprises", *STEPS, *MONEY)
    # A need is not addressed to a bank: the need-side figures are not defined per bank.
    assert figures(b1, *steps) == dict(zip(steps, (4, None, None, 4, 4, 2, 2, 2, 115 * WAN, None), strict=True))
    assert figures(b2, *steps) == dict(zip(steps, (4, None, None, 4, 4, 1, 0, 0, 0, None), strict=True))
    assert (b1.group.zh, b1.accept_rate, b1.grant_rate, b1.proposed_rate) == ("B1银行", 0.5, 1.0, None)
    assert figures(overall, "proposals", "accepted", "granted", "needs_submitted") == {
        "proposals": 8,
        "accepted": 3,
        "granted": 2,
        "needs_submitted": None,
    }
    only_b2, _ = funnel(db_session, StatsFilter(bank_id=world.banks["B2"]))
    assert figures(only_b2, "proposals", "accepted", "granted", "needs_proposed") == figures(
        b2, "proposals", "accepted", "granted", "needs_proposed"
    )


def test_the_funnel_period_is_the_day_the_need_was_submitted(db_session: Session, world: SmallWorld) -> None:
    recent, _ = funnel(db_session, StatsFilter(date_from=china_today() - timedelta(days=50)))
    assert figures(recent, "needs_submitted", "proposals", "accepted", "granted") == {
        "needs_submitted": 5,
        "proposals": 6,
        "accepted": 3,
        "granted": 2,
    }
    old, _ = funnel(db_session, StatsFilter(date_to=china_today() - timedelta(days=50)))
    assert old.suppressed and old.needs_submitted is None  # one enterprise's need only


def test_banks_responsiveness_answers_expiries_and_reasons(db_session: Session, world: SmallWorld) -> None:
    overall, (b1, b2) = bank_responsiveness(db_session, StatsFilter())
    counts = ("proposals", "answered", "accepted", "rejected", "granted", "expired", "pending", "withdrawn")
    assert figures(b1, *counts) == dict(zip(counts, (4, 3, 2, 1, 2, 0, 1, 0), strict=True))
    assert figures(b2, *counts) == dict(zip(counts, (4, 3, 1, 2, 0, 1, 0, 0), strict=True))
    assert (b1.avg_response_days, b1.median_response_days) == pytest.approx((7 / 3, 2.0), abs=1e-3)
    assert (b2.avg_response_days, b2.median_response_days) == pytest.approx((4.0, 3.0), abs=1e-3)
    assert (overall.avg_response_days, overall.median_response_days) == pytest.approx((19 / 6, 2.5), abs=1e-3)
    assert b1.rejections == (ReasonCount("documents_incomplete", "申请材料不全", "documents incomplete", 1),)
    assert [(r.code, r.count) for r in b2.rejections or ()] == [("credit_history", 1), ("other", 1)]
    assert [(r.code, r.count) for r in overall.rejections or ()] == [
        ("credit_history", 1),
        ("documents_incomplete", 1),
        ("other", 1),
    ]


def hidden(row: Any) -> bool:
    return row.suppressed and all(
        getattr(row, f.name) is None for f in fields(row) if f.name not in ("group", "suppressed")
    )


def test_groups_of_fewer_than_three_enterprises_show_no_figures(db_session: Session, world: SmallWorld) -> None:
    # Two enterprises (E0, E1) have loans: the totals would show their own figures.
    overall, (b1,) = totals(db_session, StatsFilter(), "bank")
    assert hidden(overall) and hidden(b1) and b1.group.zh == "B1银行"
    # By size class: micro (E4, E5) is too small; small (four enterprises) is hidden with it, or the overall
    # row minus small would give micro's figures.
    overall, (micro, small) = funnel(db_session, StatsFilter(), "size_class")
    assert (micro.group.key, small.group.key) == ("micro", "small")
    assert hidden(micro) and hidden(small) and not overall.suppressed
    # By industry both sections have three enterprises: shown.
    _, sections = funnel(db_session, StatsFilter(), "industry")
    assert [(row.group.key, row.group.en, row.suppressed) for row in sections] == [
        ("C", "Manufacturing", False),
        ("F", "Wholesale and retail trade", False),
    ]
    assert all(isinstance(row, FunnelRow) and row.enterprises == 3 for row in sections)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: StatsFilter(date_from=china_today(), date_to=china_today() - timedelta(days=1)), "from"),
        (lambda: StatsFilter(product_type="cash"), "product_type"),
        (lambda: StatsFilter(size_class="huge"), "size_class"),
        (lambda: StatsFilter(industry="Z"), "industry"),
        (lambda: StatsFilter(region="  "), "region"),
        (lambda: StatsFilter(bank_id=0), "bank"),
        (lambda: check_group_by("enterprise"), "group_by"),
        (lambda: SharingRule(0.5, 0.5, 0.5), "fund_share"),
        (lambda: SharingRule(1.5, -0.5, 0.0), "fund_share"),
        (lambda: SharingRule.parse("half,half"), "risk_sharing"),
    ],
)
def test_impossible_filters_name_their_field(make: Any, field: str) -> None:
    with pytest.raises(StatsFilterError) as caught:
        make()
    assert caught.value.field == field and " / " in caught.value.message


@pytest.mark.parametrize("statistic", ["totals", "funnel", "bank_responsiveness", "risk"])
def test_postgresql_sorts_the_statistics_in_memory(db_session: Session, statistic: str) -> None:
    """On PostgreSQL each statistic raises work_mem for its transaction (the default spills its sorts to
    disk on big books, see matchmaker.stats_sql.tune_for_statistics); the next transaction has the default."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("work_mem is a PostgreSQL setting")
    default = db_session.scalar(text("SHOW work_mem"))
    getattr(stats, statistic)(db_session, StatsFilter())
    assert db_session.scalar(text("SHOW work_mem")) == STATISTICS_WORK_MEM != default
    db_session.rollback()
    assert db_session.scalar(text("SHOW work_mem")) == default


def test_the_statistics_count_what_the_session_has_not_flushed_yet(db_session: Session, world: SmallWorld) -> None:
    before = funnel(db_session, StatsFilter())[0].needs_submitted
    need = db_session.scalars(select(FinancingNeed)).first()
    assert need is not None
    db_session.add(need_like(need))
    assert funnel(db_session, StatsFilter())[0].needs_submitted == before + 1
