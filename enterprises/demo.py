"""Synthetic demo enterprises of the imaginary city (某市): registrations with valid credit codes, two fiscal
years of financial profiles and one or two financing needs each. Drawn from ``random.Random(seed)`` and written
through the same schemas and services as a real SME's forms. All demo enterprises share one public password,
so the demo is for local use only."""

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from enterprises.schemas import NeedSchema, ProfileSchema, RegistrationSchema
from enterprises.service import create_need, register, save_profile
from enterprises.uscc import CHARSET, check_character
from reference.china_time import china_today

DEMO_PASSWORD = "demo-sme-2026"
WAN = 10_000

REGIONS = ("某市城区", "某市经济技术开发区", "某市高新技术产业开发区", "某市甲县", "某市乙县", "某市丙旗")
SETTLEMENT_BANKS = ("ABC", "CCB", "BOC", "ICBC", "PSBC", "RCB", "CITYCB")


@dataclass(frozen=True)
class Trade:
    """An industry the demo draws from: a GB/T 4754 code, name words, typical staff and revenue per head."""

    industry: str
    words: tuple[str, ...]
    suffix: str
    staff: tuple[int, int]
    revenue_per_head_wan: float
    ip_heavy: bool = False


TRADES: tuple[Trade, ...] = (
    Trade("C34", ("精工", "恒力", "华锐"), "机械制造有限公司", (15, 400), 60, True),
    Trade("C14", ("绿源", "塞北", "草原"), "食品有限公司", (10, 300), 80),
    Trade("C39", ("芯联", "光谷", "智联"), "电子科技有限公司", (20, 350), 90, True),
    Trade("C26", ("金川", "瑞丰"), "化工有限公司", (30, 300), 120),
    Trade("F51", ("通达", "鑫盛", "万家"), "商贸有限公司", (5, 80), 300),
    Trade("F52", ("惠民", "便利"), "超市有限公司", (8, 120), 90),
    Trade("I65", ("云杉", "数海", "星图"), "软件有限公司", (10, 200), 45, True),
    Trade("E48", ("宏基", "路桥"), "建筑工程有限公司", (20, 500), 70),
    Trade("G54", ("顺风", "畅达"), "物流有限公司", (15, 300), 50),
    Trade("H62", ("老街", "蒙味"), "餐饮管理有限公司", (10, 150), 25),
    Trade("A01", ("丰收", "河套"), "农业科技有限公司", (5, 100), 40),
    Trade("M75", ("创新", "科源"), "技术服务有限公司", (5, 80), 40, True),
)


def demo_uscc(rng: random.Random) -> str:
    """A valid 统一社会信用代码 under the city's made-up division code (150299)."""
    body = "91150299" + "".join(rng.choice(CHARSET[:10] + "ABCDEFGH") for _ in range(9))
    return body + check_character(body)


def _name(rng: random.Random, trade: Trade, taken: set[str]) -> str:
    """A plausible, unique company name: 某市 + brand + trade suffix."""
    while True:
        name = f"某市{rng.choice(trade.words)}{rng.choice(('', '宏', '嘉', '兴', '瑞', '泰', '恒'))}{trade.suffix}"
        if name not in taken:
            taken.add(name)
            return name


def _registration(rng: random.Random, index: int, taken: set[str]) -> dict[str, Any]:
    trade = rng.choice(TRADES)
    founded = china_today() - timedelta(days=int(rng.uniform(0.8, 25) * 365))
    low, high = trade.staff
    employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    return {
        "uscc": demo_uscc(rng),
        "name": _name(rng, trade, taken),
        "industry": trade.industry,
        "region": rng.choice(REGIONS),
        "founded_on": founded.isoformat(),
        "employees": employees,
        "registered_capital": rng.choice((50, 100, 200, 500, 1000, 2000)) * WAN,
        "contact_person": rng.choice(("张", "王", "李", "赵", "刘", "陈")) + rng.choice(("经理", "会计", "总")),
        "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        "email": f"finance{index:02d}@demo-sme.example.cn",
        "password": DEMO_PASSWORD,
        "had_bank_loan": rng.random() < 0.55,
        "specialised_innovative": trade.ip_heavy and rng.random() < 0.35,
        "settlement_banks": rng.sample(SETTLEMENT_BANKS, rng.randint(1, 2)),
    }


def _profile(rng: random.Random, trade: Trade, employees: int, revenue: int, had_loan: bool) -> dict[str, Any]:
    assets = int(revenue * rng.uniform(0.6, 1.8))
    debt_ratio = min(0.95, max(0.1, rng.betavariate(4, 4)))
    margin = rng.gauss(0.05, 0.06)
    collateral = [
        code
        for code, p in (
            ("real_estate", 0.4),
            ("receivables", 0.35),
            ("movable_property", 0.2),
            ("land_use_right", 0.1),
            ("third_party_guarantee", 0.25),
        )
        if rng.random() < p
    ]
    patents = rng.randint(1, 25) if trade.ip_heavy and rng.random() < 0.7 else rng.randint(0, 2)
    if patents >= 3 and rng.random() < 0.6:
        collateral.append("ip_pledge")
    return {
        "annual_revenue": revenue,
        "net_profit": int(revenue * margin),
        "total_assets": assets,
        "total_liabilities": int(assets * debt_ratio),
        "taxes_paid": int(revenue * rng.uniform(0.01, 0.07)) if rng.random() < 0.9 else None,
        "monthly_settlement_flow": int(revenue / 12 * rng.uniform(0.4, 1.2)) if rng.random() < 0.85 else None,
        "outstanding_loans": int(revenue * rng.uniform(0.05, 0.5)) if had_loan else 0,
        "overdue_events_24m": rng.choices((0, 1, 2, 4), weights=(80, 12, 6, 2))[0],
        "patents": patents,
        "trademarks": rng.randint(0, 6),
        "receivables": int(revenue * rng.uniform(0.05, 0.4)),
        "main_debtor": rng.choice(("某市城投集团", "某省电网公司", "某连锁超市", "")),
        "collateral_available": collateral,
        "social_insurance_headcount": int(employees * rng.uniform(0.5, 1.0)),
        "audited": rng.random() < 0.4,
    }


def _need(rng: random.Random, revenue: int, collateral: list[str]) -> dict[str, Any]:
    amount = max(10, round(revenue * rng.uniform(0.03, 0.2) / WAN / 10) * 10) * WAN
    offered = collateral if rng.random() < 0.7 else rng.sample(collateral, min(len(collateral), 1))
    return {
        "amount": min(amount, 1000 * WAN),
        "purpose": rng.choice(
            ("working_capital", "working_capital", "equipment", "expansion", "technology_upgrade", "renewal")
        ),
        "term_months": rng.choice((6, 12, 12, 24, 36)),
        "needed_by": (china_today() + timedelta(days=rng.randint(14, 120))).isoformat(),
        "collateral_offered": offered,
        "max_rate": rng.choice((None, 4.5, 5.0, 6.0, 8.0)),
        "guarantee_available": rng.random() < 0.4,
        "note": "（演示数据，系统生成）",
    }


def load_enterprises(session: Session, seed: int, count: int = 40) -> list[Enterprise]:
    """Register ``count`` demo enterprises with two fiscal years of profiles and 1–2 open needs each."""
    rng = random.Random(seed)
    registration, profile_schema, need_schema = RegistrationSchema(), ProfileSchema(), NeedSchema()
    enterprises: list[Enterprise] = []
    names: set[str] = set()
    last_year = china_today().year - 1
    for index in range(1, count + 1):
        data = registration.load(_registration(rng, index, names))
        enterprise, _account = register(session, data)
        trade = next(t for t in TRADES if t.industry == enterprise.industry)
        revenue = int(enterprise.employees * trade.revenue_per_head_wan * WAN * rng.uniform(0.5, 1.5))
        for year, scale in ((last_year - 1, rng.uniform(0.75, 1.1)), (last_year, 1.0)):
            figures = _profile(
                rng, trade, enterprise.employees, int(revenue * scale), not enterprise.first_time_borrower
            )
            save_profile(session, enterprise, year, profile_schema.load(figures))
        collateral = enterprise.profiles[-1].collateral_available
        for _ in range(rng.choice((1, 1, 2))):
            create_need(session, enterprise, need_schema.load(_need(rng, revenue, collateral)))
        enterprises.append(enterprise)
    return enterprises
