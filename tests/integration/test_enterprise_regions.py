"""The filter lists' regions: each region enterprises registered in, once, in order (the index walk of
enterprises.regions against what SELECT DISTINCT says)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from enterprises.regions import registered_regions
from tests.conftest import make_enterprise


def test_every_registered_region_once_in_order(db_session: Session) -> None:
    assert registered_regions(db_session) == []
    for index, region in enumerate(("某市城区", "110105", "某市城区", "110108", "110105", "某市乙县")):
        make_enterprise(db_session, f"地区测试{index}有限公司").region = region
    db_session.commit()
    expected = list(db_session.scalars(select(Enterprise.region).distinct().order_by(Enterprise.region)))
    assert registered_regions(db_session) == expected
    assert len(expected) == 4
