"""A SYNTHETIC credit book for the statistics benchmark, written to PostgreSQL with COPY.

``load_book(url, enterprises=200_000, events=1_000_000)`` fills a migrated, empty database with banks,
products, enterprises, financing needs (1 or 2 per enterprise, submitted over the last 24 months), monthly
matching rounds, proposals (1 to 3 per need, one per bank) with the banks' decisions, loans on the granted
proposals and their credit ledger (granted, disbursed, repayments, overdue and default reports, rollovers,
corrections of the grant) until about ``events`` ledger events exist. Every loan's ledger is consistent (each
event's balance before is the previous balance after; the loan's outstanding balance and status are its last
event's) and each product's ``granted_total`` is its ledger sum, as matchmaker.ledger would have written it.
Rows are built in Python from a seeded generator and streamed with ``COPY ... FROM STDIN`` (psycopg), so
that the whole book loads in about two minutes. The loans carry the statistics figures that matchmaker.ledger
keeps on them (migration 0009), and the proposals and needs the figures of migration 0012.
"""

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bench.round_db import INDUSTRIES, REGIONS, SYNTHETIC_NOTE, synthetic_uscc
from db.tallies import compact_tallies
from enterprises.need_copies import link_needs
from matchmaker.decisions import BANK_DECISIONS, TAKEN_UP
from matchmaker.models import grant_month, seconds_to_answer
from matchmaker.previous_loans import link_loans
from matchmaker.previous_proposals import link_proposals
from reference.china_time import CHINA, china_month, china_today
from reference.codes import PRODUCT_TYPES, REJECT_REASONS

WAN = 10_000
MONTHS = 24
BANKS = 20
PRODUCTS_PER_BANK = 15
EXTRA_REGIONS = ("某市东街道", "某市西街道", "某市南街道", "某市北街道", "某市丁县", "某市戊县", "某市己镇")
ALL_REGIONS = REGIONS + EXTRA_REGIONS
FOUNDED = date(2010, 1, 1)
SIZE_WEIGHTS = {"micro": 45, "small": 35, "medium": 17, "large": 3}
COLLATERAL_BY_TYPE = {
    "e_loan": ["none"],
    "credit_loan": ["none"],
    "settlement_loan": ["none"],
    "ip_pledge_loan": ["ip_pledge"],
    "receivables_pledge_loan": ["receivables"],
    "mortgage_loan": ["real_estate", "land_use_right"],
    "guarantee_loan": ["government_guarantee", "third_party_guarantee"],
    "supply_chain_loan": ["receivables", "movable_property"],
    "renewal_loan": ["none", "real_estate"],
}
_COLUMN_TEXT = {
    "banks": "id code name created_at",
    "accounts": "id name role bank_id created_at",
    "loan_products": "id bank_id code name type description amount_min amount_max term_min_months term_max_months "
    "rate_min rate_max collateral quota granted_total review_capacity industries excluded_industries regions "
    "size_classes requires_settlement_account first_loan_friendly online_only supports_renewal "
    "risk_compensation_eligible status created_at updated_at",
    "matching_rounds": "id status params stats started_at finished_at",
    "enterprises": "id uscc name industry region founded_on employees registered_capital contact_person phone email "
    "size_class first_time_borrower specialised_innovative settlement_banks created_at updated_at",
    "financing_needs": "id enterprise_id amount purpose term_months needed_by collateral_offered max_rate "
    "guarantee_available note status created_at submitted_month submitted_month_start updated_at proposal_count "
    "taken_up_count loan_count granted_amount",
    "proposals": "id round_id need_id product_id bank_id rank weight rate_min rate_max status explanation created_at "
    "enterprise_id need_submitted_at first_answered_at response_seconds taken_up rejection_reason product_type "
    "enterprise_region enterprise_size_class enterprise_industry",
    "proposal_decisions": "id proposal_id decision reason note actor_account_id decided_at",
    "loans": "id proposal_id need_id enterprise_id product_id bank_id amount rate term_months granted_on "
    "granted_month granted_month_start kind "
    "outstanding status created_at granted_amount rollovers rollover_amount defaulted_amount reported_overdue "
    "reported_defaulted days_to_grant need_submitted_at offers_ip_pledge offers_receivables product_type "
    "enterprise_region enterprise_size_class enterprise_industry",
    "credit_events": "id loan_id kind amount balance_before balance_after term_months corrects_event_id "
    "actor_account_id occurred_on recorded_at note",
}
# Each table's COPY columns, in the order of the rows built below; the tables in dependency order.
COLUMNS: dict[str, tuple[str, ...]] = {table: tuple(text.split()) for table, text in _COLUMN_TEXT.items()}
# A loan's average ledger length with the draws in _ledger (granted, disbursed, ~3 repayments, the rest rare):
# used to size the share of needs that end in a loan so that about ``events`` events come out.
EVENTS_PER_LOAN = 5.08


@dataclass
class Book:
    """The rows of each table, in the order of its COLUMNS."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass(frozen=True)
class Need:
    """What a loan takes of its need: ids, the amount asked, the day (in China) it was submitted and the
    collateral it offered."""

    id: int
    enterprise_id: int
    amount: int
    submitted: date
    submitted_at: datetime
    offered: list[str]


def _utc(day: date, hours: float) -> datetime:
    """A moment on a China business day, as the UTC timestamp the tables store."""
    return (datetime.combine(day, time(0), CHINA) + timedelta(hours=hours)).astimezone(UTC)


def _catalogue(book: Book, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    products = []
    types = [code.code for code in PRODUCT_TYPES]
    for bank_id in range(1, BANKS + 1):
        book.add("banks", (bank_id, f"BK{bank_id:02d}", f"某市基准银行{bank_id:02d}", now))
        book.add("accounts", (bank_id, f"基准银行{bank_id:02d}信贷员", "bank", bank_id, now))
        for k in range(PRODUCTS_PER_BANK):
            kind = types[(bank_id + k) % len(types)]
            rate_min = round(rng.uniform(3.0, 5.0), 2)
            product = {
                "id": len(products) + 1,
                "bank_id": bank_id,
                "type": kind,
                "collateral": COLLATERAL_BY_TYPE[kind][: rng.randint(1, len(COLLATERAL_BY_TYPE[kind]))],
                "rate_min": rate_min,
                "rate_max": round(rate_min + rng.uniform(1.0, 3.0), 2),
                "risk_compensation_eligible": rng.random() < 0.3,
                "granted_total": 0,
            }
            products.append(product)
    return products


def _product_row(p: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    """A product's row, once the ledger has added up its grants into ``granted_total``."""
    return (
        p["id"], p["bank_id"], f"P{p['id']:04d}", f"基准产品{p['id']:04d}", p["type"], SYNTHETIC_NOTE,
        10 * WAN, 3000 * WAN, 3, 60, p["rate_min"], p["rate_max"], json.dumps(p["collateral"]), 10**13,
        p["granted_total"], 1000, "[]", "[]", "[]", "[]", False, p["type"] == "e_loan", False, True,
        p["risk_compensation_eligible"], "active", now, now,
    )  # fmt: skip


def load_book(url: str, enterprises: int = 200_000, events: int = 1_000_000, seed: int = 0) -> dict[str, int]:
    """Generate the book and COPY it into the (migrated, empty) database at ``url``; returns row counts."""
    rng = random.Random(seed)
    today = china_today()
    now = datetime.now(UTC)
    first_day = today - timedelta(days=MONTHS * 30)
    book = Book()
    products = _catalogue(book, rng, now)
    book.add("accounts", (BANKS + 1, "基准监管", "regulator", None, now))
    rounds = [
        (r + 1, first_day + timedelta(days=30 * r + 15))
        for r in range(MONTHS)
        if first_day + timedelta(days=30 * r + 15) <= today
    ]
    for round_id, day in rounds:
        book.add("matching_rounds", (round_id, "completed", "{}", "{}", _utc(day, 2), _utc(day, 2.1)))
    needs_per_enterprise = 1.5
    grant_share = min(0.9, events / (enterprises * needs_per_enterprise * EVENTS_PER_LOAN))
    ids = {"need": 0, "proposal": 0, "decision": 0, "loan": 0, "event": 0}
    by_bank: dict[int, list[dict[str, Any]]] = {}
    for product in products:
        by_bank.setdefault(product["bank_id"], []).append(product)
    sizes, size_weights = zip(*SIZE_WEIGHTS.items(), strict=True)
    for enterprise_id in range(1, enterprises + 1):
        first_time = rng.random() < 0.45
        book.add(
            "enterprises",
            (
                enterprise_id, synthetic_uscc(enterprise_id), f"某市基准企业{enterprise_id:06d}有限公司",
                rng.choice(INDUSTRIES), rng.choice(ALL_REGIONS), FOUNDED + timedelta(days=rng.randint(0, 5000)),
                rng.randint(3, 400), 100 * WAN, "张会计", "13800000000", f"bench{enterprise_id}@example.cn",
                rng.choices(sizes, size_weights)[0], first_time, rng.random() < 0.1, "[]", now, now,
            ),
        )  # fmt: skip
        has_loan = False
        for _need in range(1 if rng.random() < 0.5 else 2):
            kind = "first_loan" if first_time and not has_loan else rng.choice(("new_loan", "new_loan", "renewal"))
            granted = _need_with_proposals(book, rng, ids, enterprise_id, rounds, by_bank, today, grant_share, kind)
            has_loan = has_loan or granted
    for product in products:
        book.add("loan_products", _product_row(product, now))
    for table in ("proposals", "loans"):
        book.rows[table] = _with_classification(book, table)
    _copy(url, book)
    return {table: len(rows) for table, rows in book.rows.items()}


def _need_with_proposals(
    book: Book,
    rng: random.Random,
    ids: dict[str, int],
    enterprise_id: int,
    rounds: list[tuple[int, date]],
    by_bank: dict[int, list[dict[str, Any]]],
    today: date,
    grant_share: float,
    loan_kind: str,
) -> bool:
    """A need, its proposals in the next round, their decisions and, with probability ``grant_share``, a
    loan on one of them. Returns whether a loan was granted."""
    ids["need"] += 1
    need_id = ids["need"]
    round_id, round_day = rng.choice(rounds)
    submitted = round_day - timedelta(days=rng.randint(1, 25))
    amount = rng.choice((20, 30, 50, 80, 100, 150, 200, 300, 500, 800)) * WAN
    offered = rng.choice(([], ["ip_pledge"], ["receivables"], ["real_estate"], ["ip_pledge", "receivables"]))
    banks = rng.sample(sorted(by_bank), rng.choice((1, 2, 2, 3)))
    recent = (today - round_day).days < 10
    granted_index = rng.randrange(len(banks)) if not recent and rng.random() < grant_share else None
    need_status = (
        "granted" if granted_index is not None else ("matched" if recent else rng.choice(("matched", "expired")))
    )
    term = rng.choice((6, 12, 24, 36))
    submitted_at = _utc(submitted, rng.uniform(8, 18))
    taken_up, granted_amount = 0, 0
    for rank, bank_id in enumerate(banks, 1):
        product = rng.choice(by_bank[bank_id])
        ids["proposal"] += 1
        proposal_id = ids["proposal"]
        made = _utc(round_day, 2.2)
        if recent:
            status = "pending"
        elif granted_index is not None:
            status = "granted" if rank - 1 == granted_index else rng.choice(("withdrawn", "rejected", "expired"))
        else:
            status = rng.choices(("rejected", "expired", "accepted", "withdrawn"), (45, 25, 15, 15))[0]
        response_days = rng.uniform(0.2, 9.5)
        decided = made + timedelta(days=response_days)
        # (decision, reason, made by the bank's officer (not the platform), when)
        decisions: list[tuple[str, str | None, bool, datetime]] = []
        if status in ("accepted", "granted") and (status == "accepted" or rng.random() < 0.5):
            decisions.append(("accepted", None, True, decided))
        if status == "rejected":
            decisions.append(("rejected", rng.choice(REJECT_REASONS[:-1]).code, True, decided))
        if status in ("expired", "withdrawn"):
            decisions.append((status, None, False, made + timedelta(days=10 if status == "expired" else response_days)))
        if status == "granted":
            decisions.append(("granted", None, True, decided + timedelta(days=rng.uniform(0, 5))))
        # The answers the proposal keeps (matchmaker.decisions): first answer, take-up, rejection reason.
        answers = [(decision, reason, at) for decision, reason, _, at in decisions if decision in BANK_DECISIONS]
        was_taken_up = any(decision in TAKEN_UP for decision, _, _ in answers)
        first_answered_at = min((at for _, _, at in answers), default=None)
        taken_up += was_taken_up
        book.add(
            "proposals",
            (
                proposal_id, round_id, need_id, product["id"], bank_id, rank, round(rng.uniform(0.2, 0.9), 3),
                product["rate_min"], product["rate_max"], status, "{}", made, enterprise_id, submitted_at,
                first_answered_at,
                seconds_to_answer(made, first_answered_at),
                was_taken_up,
                next((reason for _, reason, _ in answers if reason), None), product["type"],
            ),
        )  # fmt: skip
        for decision, reason, by_bank_officer, at in decisions:
            ids["decision"] += 1
            book.add(
                "proposal_decisions",
                (ids["decision"], proposal_id, decision, reason, "", bank_id if by_bank_officer else None, at),
            )
        if status == "granted":
            granted_on = min(today, decisions[-1][3].astimezone(CHINA).date())
            need = Need(need_id, enterprise_id, amount, submitted, submitted_at, offered)
            granted_amount = _loan(book, rng, ids, proposal_id, need, product, granted_on, today, loan_kind)
    # The need's funnel figures (matchmaker.need_figures): its proposals, those taken up, its loan.
    book.add(
        "financing_needs",
        (
            need_id, enterprise_id, amount, "working_capital", term, submitted + timedelta(days=60),
            json.dumps(offered), None, False, SYNTHETIC_NOTE, need_status, submitted_at, *china_month(submitted_at),
            _utc(submitted, 19),
            len(banks), taken_up, int(granted_index is not None), granted_amount,
        ),
    )  # fmt: skip
    return granted_index is not None


def _loan(
    book: Book,
    rng: random.Random,
    ids: dict[str, int],
    proposal_id: int,
    need: Need,
    product: dict[str, Any],
    granted_on: date,
    today: date,
    kind: str,
) -> int:
    """Add the loan and its ledger; returns its granted amount with the ledger's corrections."""
    ids["loan"] += 1
    loan_id = ids["loan"]
    amount = need.amount if rng.random() < 0.7 else max(10 * WAN, need.amount // 2)
    term = rng.choice((6, 12, 24, 36))
    rate = round(rng.uniform(product["rate_min"], product["rate_max"]), 2)
    ledger = _ledger(rng, amount, granted_on, today)
    # The product's granted total: the grant and the corrections of the grant (the ledger's event 0).
    product["granted_total"] += sum(event[1] for event in ledger if event[0] == "granted" or event[5] == 0)
    first_event = ids["event"] + 1
    balance = 0
    status = "current"
    for event_kind, event_amount, after, day, new_term, corrects in ledger:
        ids["event"] += 1
        book.add(
            "credit_events",
            (
                ids["event"], loan_id, event_kind, event_amount, balance, after, new_term,
                None if corrects is None else first_event + corrects, product["bank_id"], day, _utc(day, 12), "",
            ),
        )  # fmt: skip
        balance = after
        if event_kind == "defaulted" or (event_kind == "overdue" and status != "defaulted"):
            status = event_kind
        elif event_kind == "renewed":
            status, term = "current", new_term or term
        elif balance == 0:
            status = "repaid"
    figures = _loan_figures(ledger)
    book.add(
        "loans",
        (
            loan_id, proposal_id, need.id, need.enterprise_id, product["id"], product["bank_id"], amount, rate, term,
            granted_on, *grant_month(granted_on), kind, balance, status, _utc(granted_on, 12), *figures,
            (granted_on - need.submitted).days, need.submitted_at, "ip_pledge" in need.offered,
            "receivables" in need.offered, product["type"],
        ),
    )  # fmt: skip
    return figures[0]


def _with_classification(book: Book, table: str) -> list[tuple[Any, ...]]:
    """The rows of ``table`` with their enterprise's classification appended (matchmaker.classification_copies)."""
    enterprises = book.rows["enterprises"]
    of = {name: COLUMNS["enterprises"].index(name) for name in ("id", "region", "size_class", "industry")}
    classification = {
        row[of["id"]]: (row[of["region"]], row[of["size_class"]], row[of["industry"]][:1]) for row in enterprises
    }
    enterprise = COLUMNS[table].index("enterprise_id")
    return [row + classification[row[enterprise]] for row in book.rows[table]]


def _loan_figures(ledger: "Ledger") -> tuple[int, int, int, int, bool, bool]:
    """The loan's statistics figures as matchmaker.ledger keeps them: granted amount, rollovers and their
    amount, defaulted amount (each with its corrections), and whether overdue and default were reported."""
    kinds = [event[0] if event[5] is None else ledger[event[5]][0] for event in ledger]

    def amount(kind: str) -> int:
        return sum(event[1] for event, of in zip(ledger, kinds, strict=True) if of == kind)

    reported = {event[0] for event in ledger}
    rollovers = sum(1 for event in ledger if event[0] == "renewed")
    return (
        amount("granted"), rollovers, amount("renewed"), amount("defaulted"),
        "overdue" in reported, "defaulted" in reported,
    )  # fmt: skip


Ledger = list[tuple[str, int, int, date, int | None, int | None]]


def _ledger(rng: random.Random, amount: int, granted_on: date, today: date) -> Ledger:
    """A loan's events as (kind, amount, balance after, date, new term, index of the corrected event)."""
    days = max(0, (today - granted_on).days)
    events: Ledger = [("granted", amount, amount, granted_on, None, None)]
    balance = amount

    def later(last: date) -> date:
        return min(today, last + timedelta(days=rng.randint(0, max(0, min(60, (today - last).days)))))

    day = granted_on
    if rng.random() < 0.03 and days > 0:
        change = -rng.randint(1, amount // 10)  # the grant was recorded too high
        day = later(day)
        balance += change
        events.append(("corrected", change, balance, day, None, 0))
    day = later(day)
    events.append(("disbursed", balance, balance, day, None, None))
    for _repayment in range(rng.randint(0, 6) if days > 30 else 0):
        if balance == 0:
            break
        paid = min(balance, max(1, int(balance * rng.uniform(0.1, 0.6))))
        day = later(day)
        balance -= paid
        events.append(("repaid", paid, balance, day, None, None))
    if balance > 0 and rng.random() < 0.08:
        day = later(day)
        events.append(("renewed", balance, balance, day, rng.choice((12, 24)), None))
    if balance > 0 and rng.random() < 0.07:
        day = later(day)
        events.append(("overdue", max(1, balance // 3), balance, day, None, None))
        if rng.random() < 0.35:
            day = later(day)
            events.append(("defaulted", balance, balance, day, None, None))
    return events


def _copy(url: str, book: Book) -> None:
    """COPY every table in dependency order in one transaction, then move the id sequences past the rows."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in book.rows[table]:
                    copy.write_row(row)
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    engine = create_engine(url)
    with Session(engine) as session:  # what the statistics count distinct rows by, as the app writes it
        link_needs(session, None)
        link_loans(session, None)
        link_proposals(session, None)
        session.commit()
    # The COPY and the links appended tally rows statement by statement (16 rows per key of the response hours):
    # one row per key, as a round leaves them (matchmaker.rounds).
    compact_tallies(sessionmaker(engine))
    engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as connection:
        # The links above rewrote every proposal, loan and need once, leaving half of each table dead: a live
        # database writes them with each row, and its vacuum reuses the space of the rows' later updates.
        for table in ("proposals", "loans", "financing_needs"):
            connection.execute(f"VACUUM FULL {table}")
        connection.execute("VACUUM ANALYZE")
