"""China's business time: UTC+8 all year (no daylight saving), in which dates and months are counted."""

from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def china_today() -> date:
    """The business date: today in China. Servers run on UTC, whose date lags China's from 16:00 to midnight UTC,
    so every "today" of the service (a grant's date, a need's deadline, a founding date) is this one."""
    return datetime.now(UTC).astimezone(CHINA).date()


def china_month(stamp: datetime) -> tuple[int, datetime]:
    """The month in China of a timezone-aware ``stamp``: the number yyyymm and the month's first instant
    (in UTC)."""
    local = stamp.astimezone(CHINA)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return local.year * 100 + local.month, start.astimezone(UTC)
