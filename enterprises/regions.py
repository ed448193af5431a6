"""The regions enterprises registered in, for filter lists.

``SELECT DISTINCT region`` reads every enterprise (60 ms at 200,000 of them here); walking the region index
from one value to the next ("loose index scan", a recursive CTE) reads one index entry per region instead,
on PostgreSQL and SQLite alike."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise


def registered_regions(session: Session) -> list[str]:
    """Every region at least one enterprise registered in, in order."""
    walk = select(func.min(Enterprise.region).label("region")).cte("regions", recursive=True)
    following = select(Enterprise.region).where(Enterprise.region > walk.c.region).order_by(Enterprise.region).limit(1)
    walk = walk.union_all(select(following.scalar_subquery()).where(walk.c.region.is_not(None)))
    return list(session.scalars(select(walk.c.region).where(walk.c.region.is_not(None))))
