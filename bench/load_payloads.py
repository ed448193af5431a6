"""What the load and fault runs send: valid registrations (random credit codes), profiles, needs and grants.
Shared by bench/locustfile.py (which imports it as ``load_payloads``: locust puts the locustfile's folder on
the path) and bench/faults.py."""

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
WAN = 10_000


def china_today() -> str:
    return datetime.now(UTC).astimezone(CHINA).date().isoformat()


def random_uscc() -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) with a random organisation body."""
    first17 = "91150299" + "".join(random.choice(USCC_CHARSET) for _ in range(9))
    check = (31 - sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True)) % 31) % 31
    return first17 + USCC_CHARSET[check]


def registration() -> dict[str, Any]:
    return {
        "uscc": random_uscc(),
        "name": f"某市压测{random.randint(1, 999_999):06d}商贸有限公司",
        "industry": random.choice(("F51", "C34", "I65", "G54")),
        "region": random.choice(("某市城区", "某市经济技术开发区", "某市甲县")),
        "founded_on": (date.fromisoformat(china_today()) - timedelta(days=random.randint(400, 8000))).isoformat(),
        "employees": random.randint(5, 200),
        "registered_capital": random.choice((50, 100, 500)) * WAN,
        "contact_person": "压测会计",
        "phone": f"139{random.randint(10_000_000, 99_999_999)}",
        "email": "load@example.cn",
        "password": "load-test-2026",
    }


def profile() -> dict[str, Any]:
    revenue = random.randint(200, 5000) * WAN
    assets = int(revenue * random.uniform(0.6, 1.5))
    return {
        "annual_revenue": revenue,
        "net_profit": int(revenue * random.uniform(-0.02, 0.12)),
        "total_assets": assets,
        "total_liabilities": int(assets * random.uniform(0.2, 0.7)),
        "taxes_paid": int(revenue * 0.03),
        "collateral_available": random.choice(([], ["real_estate"], ["receivables"])),
    }


def need() -> dict[str, Any]:
    return {
        "amount": random.randint(5, 300) * WAN,
        "purpose": random.choice(("working_capital", "equipment", "expansion")),
        "term_months": random.choice((6, 12, 24)),
        "needed_by": (date.fromisoformat(china_today()) + timedelta(days=random.randint(20, 90))).isoformat(),
    }


def grant_body(proposal: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
    """A grant of the whole need (or the product's limit) at the product's lowest rate, dated today."""
    return {
        "amount": max(product["amount_min"], min(proposal["need"]["amount"], product["amount_max"])),
        "rate": product["rate_min"],
        "term_months": max(
            product["term_min_months"], min(proposal["need"]["term_months"], product["term_max_months"])
        ),
        "granted_on": china_today(),
        "kind": "new_loan",
    }
