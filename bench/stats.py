"""Regulators' statistics benchmark (issue 8): every totals and funnel query, and the dashboard page, on a big
SYNTHETIC credit book in PostgreSQL.

``python -m bench.stats --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres``

creates a scratch database on that server (dropped afterwards, unless ``--keep``), migrates it, loads
``--enterprises`` enterprises (default 200,000) and about ``--events`` credit-ledger events (default 1,000,000)
with bench.stats_data, then times, median of ``--repeat`` runs after one warm-up run:

- matchmaker.stats.totals and .funnel for each ``group_by`` (none, bank, product_type, industry, region,
  size_class, month) under several filters (none; a region and a quarter; a bank; a product type and a size
  class), and bank_responsiveness and risk;
- ``GET /api/v1/stats/totals`` for each grouping (whole history; a region and a quarter) through the Flask
  test client with a regulator's token: the query as a client sees it, token check and JSON included;
- the dashboard page ``GET /regulator`` through the Flask test client, signed in as a regulator;
- as the baseline of the same run, one full pass over the ledger (``SELECT count(*), sum(amount) FROM
  credit_events``): each query's time is also shown as a multiple of it.

Issue 8's targets: any totals query (the function and the API) under 200 ms, the page under 500 ms. ``--existing URL``
times an already loaded database instead of a scratch one: it is loaded when it holds no bank yet (and
brought to the latest migration otherwise), and never dropped: load once, then time again after a change.
"""

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from accounts.models import Role
from accounts.tokens import create_account, issue_token
from api import create_app
from bench.round_db import scratch_database
from bench.stats_data import ALL_REGIONS, load_book
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from matchmaker import stats
from matchmaker.models import Loan
from reference.china_time import china_today

TOTALS_TARGET_MS = 200
PAGE_TARGET_MS = 500


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``repeat`` runs after a warm-up run, in milliseconds."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def last_full_quarter(today: date) -> tuple[date, date]:
    first_of_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = first_of_this - timedelta(days=1)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last


def filters() -> dict[str, stats.StatsFilter]:
    start, end = last_full_quarter(china_today())
    return {
        "no filter": stats.StatsFilter(),
        "region + quarter": stats.StatsFilter(date_from=start, date_to=end, region=ALL_REGIONS[0]),
        "bank": stats.StatsFilter(bank_id=3),
        "product type + size class": stats.StatsFilter(product_type="credit_loan", size_class="small"),
    }


def load(url: str, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    upgrade(url)
    counts = load_book(url, args.enterprises, args.events, args.seed)
    print(f"migrated and loaded in {time.perf_counter() - start:.1f} s:")
    print("  " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """The database to time: ``--existing`` (loaded when empty), or a scratch one, dropped afterwards."""
    if args.existing:
        engine = make_engine(args.existing)
        with engine.connect() as connection:
            empty = not connection.execute(text("SELECT to_regclass('banks') IS NOT NULL")).scalar() or not (
                connection.execute(text("SELECT count(*) FROM banks")).scalar()
            )
        engine.dispose()
        if empty:
            load(args.existing, args)
        else:
            upgrade(args.existing)  # the indexes or tables of newer migrations, built over the loaded rows
        yield args.existing
        return
    with tempfile.TemporaryDirectory() as temp, scratch_database(args.database_url, Path(temp)) as url:
        load(url, args)
        yield url


def time_queries(url: str, repeat: int, only: list[str] | None) -> list[tuple[str, str, str, float]]:
    """(query, filter, group_by, median ms) for every query under each filter (or the ``only`` ones);
    prints them as it goes."""
    engine = make_engine(url)
    session = make_session_factory(engine)()
    results = []
    baseline = median_ms(lambda: session.execute(text("SELECT count(*), sum(amount) FROM credit_events")).all(), repeat)
    print(f"\nbaseline, one pass over the ledger: {baseline:.1f} ms")
    print(f"\n{'query':<20} {'filter':<27} {'group_by':<13} {'median ms':>9} {'× ledger':>8}")
    for filter_name, flt in filters().items():
        if only and filter_name not in only:
            continue
        for query in (stats.totals, stats.funnel, stats.risk):
            for group_by in (None, *stats.GROUPINGS):
                ms = median_ms(lambda q=query, f=flt, g=group_by: q(session, f, g), repeat)
                results.append((query.__name__, filter_name, group_by or "-", ms))
                print(f"{query.__name__:<20} {filter_name:<27} {group_by or '-':<13} {ms:9.1f} {ms / baseline:8.2f}")
        ms = median_ms(lambda f=flt: stats.bank_responsiveness(session, f), repeat)
        results.append(("bank_responsiveness", filter_name, "bank", ms))
        print(f"{'bank_responsiveness':<20} {filter_name:<27} {'bank':<13} {ms:9.1f} {ms / baseline:8.2f}")
    session.close()
    engine.dispose()
    return results


def time_api_totals(url: str, repeat: int) -> list[tuple[str, float]]:
    """``GET /api/v1/stats/totals`` through the Flask test client, with a regulator's token, for each grouping
    over the whole history and over a region and a quarter."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.extensions["session_factory"]() as session, session.begin():
        token = issue_token(session, create_account(session, "基准监管（接口）", Role.REGULATOR))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    start, end = last_full_quarter(china_today())
    results = []
    print(f"\n{'GET /api/v1/stats/totals':<44} {'median ms':>9}")
    for filter_name, query in (
        ("whole history", ""),
        ("region + quarter", f"region={ALL_REGIONS[0]}&from={start}&to={end}"),
    ):
        for group_by in ("", *stats.GROUPINGS):
            path = "/api/v1/stats/totals?" + "&".join(
                part for part in (group_by and f"group_by={group_by}", query) if part
            )

            def get(path: str = path) -> None:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)

            ms = median_ms(get, repeat)
            name = f"{filter_name}, group_by {group_by or '-'}"
            results.append((name, ms))
            print(f"{name:<44} {ms:9.1f}")
    app.extensions["engine"].dispose()
    return results


def time_page(url: str, repeat: int) -> list[tuple[str, float]]:
    """The dashboard through the Flask test client, signed in as a regulator, for a few filter sets."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    with app.extensions["session_factory"]() as session, session.begin():
        token = issue_token(session, create_account(session, "基准监管（页面）", Role.REGULATOR))
    client = app.test_client()
    assert client.post("/login", data={"token": token}).status_code == 302
    start, end = last_full_quarter(china_today())
    with app.extensions["session_factory"]() as session:
        first_day = session.scalar(select(func.min(Loan.granted_on)))
    pages = {
        "no filter, by bank": "/regulator",
        "no filter, by month": "/regulator?group_by=month",
        "no filter, by region": "/regulator?group_by=region",
        "no filter, by product type": "/regulator?group_by=product_type",
        "region + quarter, by bank": f"/regulator?region={ALL_REGIONS[0]}&from={start}&to={end}",
        "bank, by region": "/regulator?bank=3&group_by=region",
        # the whole history of a size class, and a period that holds it all: read from the tallies too
        "size class, by bank": "/regulator?size_class=small",
        "since 2000, by bank": "/regulator?from=2000-01-01",
        # what the tallies do not answer: the whole history of an industry, half of it, all but its first month
        "industry, by bank": "/regulator?industry=C",
        "last 12 months, by bank": f"/regulator?from={china_today() - timedelta(days=365)}",
        "all but month 1, by bank": f"/regulator?from={first_day + timedelta(days=31)}",
    }
    results = []
    print(f"\n{'dashboard page':<32} {'median ms':>9}")
    for name, path in pages.items():

        def get(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code

        ms = median_ms(get, repeat)
        results.append((name, ms))
        print(f"{name:<32} {ms:9.1f}")
    app.extensions["engine"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server URL: a scratch database is created there")
    parser.add_argument("--existing", help="a database URL to use (and load when empty) instead; never dropped")
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--filter", action="append", choices=list(filters()), help="time only these filters")
    args = parser.parse_args()
    if not (args.database_url or args.existing):
        parser.error("give --database-url (a PostgreSQL server) or --existing")

    with database(args) as url:
        queries = time_queries(url, args.repeat, args.filter)
        api_totals = time_api_totals(url, args.repeat)
        pages = time_page(url, args.repeat)

    slowest_totals = max((row for row in queries if row[0] == "totals"), key=lambda row: row[3])
    slowest_query = max(queries, key=lambda row: row[3])
    slowest_api = max(api_totals, key=lambda row: row[1])
    slowest_page = max(pages, key=lambda row: row[1])
    print("\n== summary ==")
    print(
        f"  slowest totals query: {slowest_totals[3]:.1f} ms ({slowest_totals[1]}, group_by {slowest_totals[2]});"
        f" target < {TOTALS_TARGET_MS} ms: {'met' if slowest_totals[3] < TOTALS_TARGET_MS else 'MISSED'}"
    )
    print(
        f"  slowest GET /api/v1/stats/totals: {slowest_api[1]:.1f} ms ({slowest_api[0]});"
        f" target < {TOTALS_TARGET_MS} ms: {'met' if slowest_api[1] < TOTALS_TARGET_MS else 'MISSED'}"
    )
    print(
        f"  slowest query of all: {slowest_query[3]:.1f} ms"
        f" ({slowest_query[0]}, {slowest_query[1]}, group_by {slowest_query[2]})"
    )
    print(
        f"  slowest dashboard page: {slowest_page[1]:.1f} ms ({slowest_page[0]});"
        f" target < {PAGE_TARGET_MS} ms: {'met' if slowest_page[1] < PAGE_TARGET_MS else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
