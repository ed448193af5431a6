"""Each financing need keeps the month in China it was submitted in (enterprises.models.keep_submitted_month),
written with the need and with every move of its submission time, and filled by migration 0017 as the
application writes it; need_copies.submitted_month_discrepancies finds a month that was not kept. The month
turns at midnight in China, eight hours before midnight in UTC."""

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import migrate
from db.kept_columns import Discrepancy
from enterprises.models import FinancingNeed
from enterprises.need_copies import submitted_month_discrepancies
from tests.conftest import enterprise_with_need

MARCH_IN_CHINA = datetime(2026, 3, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 March in China
APRIL_IN_CHINA = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # midnight on 1 April in China
MARCH_STARTS = datetime(2026, 2, 28, 16, 0, tzinfo=UTC)


def kept(session: Session) -> list[tuple[int, datetime]]:
    months = select(FinancingNeed.submitted_month, FinancingNeed.submitted_month_start).order_by(FinancingNeed.id)
    return [tuple(row) for row in session.execute(months)]  # type: ignore[misc]


def test_each_need_keeps_its_month_in_china(migrated_session: tuple[str, Session]) -> None:
    url, session = migrated_session
    march, april = enterprise_with_need(session, 1), enterprise_with_need(session, 2)
    march.created_at, april.created_at = MARCH_IN_CHINA, APRIL_IN_CHINA
    session.commit()
    expected = [(202603, MARCH_STARTS), (202604, APRIL_IN_CHINA)]
    assert kept(session) == expected
    session.close()

    migrate.downgrade(url, "0016")
    migrate.upgrade(url)
    assert kept(session) == expected
    assert submitted_month_discrepancies(session) == []

    session.execute(
        text("UPDATE financing_needs SET created_at = :at WHERE id = :id"), {"at": APRIL_IN_CHINA, "id": march.id}
    )
    assert submitted_month_discrepancies(session) == [
        Discrepancy("financing_needs", march.id, "submitted_month", 202603, 202604),
        Discrepancy("financing_needs", march.id, "submitted_month_start", MARCH_STARTS, APRIL_IN_CHINA),
    ]
