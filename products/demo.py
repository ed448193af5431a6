"""The synthetic demo catalogue: the banks of an imaginary prefecture-level city (某市) and their loan products.

The products are modelled on the local-government reports the platform starts from (首付e贷, 小微企业抵押贷,
结算贷, 政帮贷, IP and receivables pledges, 无还本续贷, supply-chain and guaranteed loans). The figures are
drawn from ``random.Random(seed)``, so one seed always gives the same demo. Every row passes
``ProductSchema`` and is written by ``create_product``: the demo obeys the same rules as a bank's upload.
The demo's accounts and tokens are added one layer up, by ``matchmaker.demo``."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from products.models import Bank
from products.schemas import ProductSchema
from products.service import create_product
from reference.codes import INDUSTRY_SECTIONS, codes

SYNTHETIC_MARK = "（演示数据，系统生成）"
DEMO_ACTOR = "matchmaker demo load"  # who created the demo's products, in the audit log
WAN = 10_000  # 1 万元 in yuan

REGIONS = ("某市城区", "某市经济技术开发区", "某市高新技术产业开发区", "某市甲县", "某市乙县", "某市丙旗")


class DemoAlreadyLoaded(Exception):
    """The database already holds a bank with one of the demo's codes; nothing was written."""


@dataclass(frozen=True)
class DemoBank:
    code: str
    name: str
    short: str  # the brand used in product names (农行, 建行, ...)
    products: tuple[tuple[str, str], ...]  # (product type, product name without the brand)


BANKS: tuple[DemoBank, ...] = (
    DemoBank(
        "ABC",
        "中国农业银行某市分行",
        "农行",
        (
            ("e_loan", "首付e贷"),
            ("e_loan", "纳税e贷"),
            ("mortgage_loan", "抵押e贷"),
            ("guarantee_loan", "惠农担保贷"),
            ("renewal_loan", "无还本续贷"),
            ("supply_chain_loan", "链捷贷"),
        ),
    ),
    DemoBank(
        "CCB",
        "中国建设银行某市分行",
        "建行",
        (
            ("mortgage_loan", "小微企业抵押贷"),
            ("e_loan", "小微快贷"),
            ("credit_loan", "云税贷"),
            ("ip_pledge_loan", "善新贷（知识产权质押）"),
            ("supply_chain_loan", "e销通"),
            ("renewal_loan", "续贷通"),
        ),
    ),
    DemoBank(
        "BOC",
        "中国银行某市分行",
        "中行",
        (
            ("credit_loan", "中银企E贷·信用贷"),
            ("receivables_pledge_loan", "应收账款质押融资"),
            ("mortgage_loan", "抵押快贷"),
            ("ip_pledge_loan", "知识产权质押贷"),
            ("supply_chain_loan", "供应链订单贷"),
        ),
    ),
    DemoBank(
        "ICBC",
        "中国工商银行某市分行",
        "工行",
        (
            ("e_loan", "经营快贷"),
            ("mortgage_loan", "网贷通"),
            ("receivables_pledge_loan", "应收账款融资"),
            ("renewal_loan", "无还本续贷"),
            ("credit_loan", "科创信用贷"),
        ),
    ),
    DemoBank(
        "PSBC",
        "中国邮政储蓄银行某市分行",
        "邮储",
        (
            ("credit_loan", "小微易贷"),
            ("e_loan", "极速贷"),
            ("guarantee_loan", "担保贷"),
            ("mortgage_loan", "小企业房产抵押贷"),
            ("settlement_loan", "流水贷"),
        ),
    ),
    DemoBank(
        "RCB",
        "某市农村商业银行",
        "农商",
        (
            ("guarantee_loan", "政帮贷"),
            ("credit_loan", "首贷通"),
            ("mortgage_loan", "惠商抵押贷"),
            ("renewal_loan", "续贷宝"),
            ("settlement_loan", "结算快贷"),
            ("e_loan", "农商e贷"),
        ),
    ),
    DemoBank(
        "CITYCB",
        "某市城市商业银行",
        "城商",
        (
            ("settlement_loan", "结算贷"),
            ("ip_pledge_loan", "科创知识产权贷"),
            ("receivables_pledge_loan", "应收账款质押贷"),
            ("supply_chain_loan", "供应链e融"),
            ("guarantee_loan", "政采贷（政府性融资担保）"),
        ),
    ),
)


@dataclass(frozen=True)
class Terms:
    """The ranges one product type is drawn from. Amounts in 万元 (converted to yuan on output)."""

    amount_min_wan: tuple[int, ...]
    amount_max_wan: tuple[int, ...]
    term_min: tuple[int, ...]
    term_max: tuple[int, ...]
    rate_floor: float  # lowest rate_min drawn, annual %
    collateral: tuple[tuple[str, ...], ...]
    approval_days: tuple[int, int]
    pitch: str  # the description's first sentence


TERMS: dict[str, Terms] = {
    "e_loan": Terms(
        (10, 20), (100, 200, 300), (1, 3), (12, 36), 3.2, (("none",),), (1, 2), "线上申请、系统自动审批、随借随还"
    ),
    "settlement_loan": Terms(
        (30, 50),
        (300, 500),
        (3, 6),
        (12, 24),
        3.6,
        (("none",), ("third_party_guarantee",)),
        (2, 5),
        "按企业在本行的结算流水核定额度，结算越多额度越高",
    ),
    "ip_pledge_loan": Terms(
        (50, 100),
        (500, 1000),
        (6, 12),
        (36, 60),
        3.5,
        (("ip_pledge",),),
        (7, 15),
        "以专利权、商标权等知识产权质押，支持科技型中小企业",
    ),
    "receivables_pledge_loan": Terms(
        (30, 50),
        (1000, 2000),
        (3, 6),
        (12, 24),
        3.6,
        (("receivables",),),
        (5, 10),
        "以对核心企业、政府机关的应收账款质押融资，盘活应收账款",
    ),
    "mortgage_loan": Terms(
        (50, 100),
        (1000, 2000, 3000),
        (12,),
        (60, 120),
        3.3,
        (("real_estate",), ("real_estate", "land_use_right")),
        (5, 15),
        "以企业或实际控制人名下房产、土地使用权抵押，额度高、期限长",
    ),
    "credit_loan": Terms(
        (10, 30),
        (100, 200, 300),
        (3, 6),
        (12, 36),
        3.7,
        (("none",),),
        (2, 7),
        "无需抵押担保，依据纳税、结算等信用信息授信",
    ),
    "guarantee_loan": Terms(
        (10, 50),
        (300, 500, 1000),
        (6, 12),
        (24, 36),
        3.4,
        (("government_guarantee",),),
        (5, 10),
        "政府性融资担保机构增信，纳入风险补偿资金池，缓解抵押不足",
    ),
    "supply_chain_loan": Terms(
        (50, 100),
        (1000, 2000),
        (3, 6),
        (12, 24),
        3.5,
        (("receivables",), ("movable_property",)),
        (3, 7),
        "依托核心企业订单、应收账款和存货，为上下游企业融资",
    ),
    "renewal_loan": Terms(
        (10, 50),
        (500, 1000),
        (12,),
        (36,),
        3.4,
        (("none",), ("real_estate",), ("government_guarantee",)),
        (3, 7),
        "贷款到期时符合条件的企业无需先还本金即可续贷，避免过桥资金",
    ),
}

# Sections a technology product targets, and sections a product open to every industry excludes.
TECH_SECTIONS = ("C", "I", "M")
AGRI_SECTIONS = ("A", "C", "F")
EXCLUDED_SECTIONS = ("J", "K")


def demo_products(seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The demo's products as (bank code, raw ProductSchema input), drawn from ``seed``."""
    rng = random.Random(seed)
    rows = [
        (bank.code, _product(rng, bank, type_, name, number))
        for bank in BANKS
        for number, (type_, name) in enumerate(bank.products, start=1)
    ]
    for index in rng.sample(range(len(rows)), k=rng.randint(3, 5)):
        rows[index][1]["status"] = rng.choice(("paused", "draft"))
    return rows


def _product(rng: random.Random, bank: DemoBank, type_: str, name: str, number: int) -> dict[str, Any]:
    terms = TERMS[type_]
    amount_max = rng.choice(terms.amount_max_wan) * WAN
    rate_min = round(rng.uniform(terms.rate_floor, terms.rate_floor + 0.8), 2)
    valid_from = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 120))
    industries = _industries(rng, type_, bank.code)
    row: dict[str, Any] = {
        "code": f"{bank.code}-{type_.split('_')[0].upper()}-{number:02d}",
        "name": f"{bank.short}{name}",
        "type": type_,
        "description": f"{bank.name}推出的{name}：{terms.pitch}。{SYNTHETIC_MARK}",
        "amount_min": rng.choice(terms.amount_min_wan) * WAN,
        "amount_max": amount_max,
        "term_min_months": rng.choice(terms.term_min),
        "term_max_months": rng.choice(terms.term_max),
        "rate_min": rate_min,
        "rate_max": min(round(rate_min + rng.uniform(0.5, 2.0), 2), 6.5),
        "collateral": list(rng.choice(terms.collateral)),
        "quota": amount_max * rng.randint(20, 150),
        "review_capacity": rng.randrange(20, 301, 10),
        "min_years_in_business": rng.choice((None, 1, 2, 3)),
        "min_annual_revenue": rng.choice((None, 50 * WAN, 100 * WAN, 300 * WAN)),
        "max_debt_ratio": rng.choice((0.6, 0.65, 0.7, 0.75)),
        "max_pd": rng.choice((0.03, 0.04, 0.05, 0.06, 0.08)),
        "industries": industries,
        "excluded_industries": [] if industries else list(EXCLUDED_SECTIONS),
        "regions": sorted(rng.sample(REGIONS, k=rng.randint(2, 4))) if bank.code == "RCB" else [],
        "size_classes": ["small", "micro"] if rng.random() < 0.6 else ["medium", "small", "micro"],
        "requires_settlement_account": type_ == "settlement_loan" or rng.random() < 0.2,
        "first_loan_friendly": type_ in ("credit_loan", "guarantee_loan") or rng.random() < 0.25,
        "approval_days": rng.randint(*terms.approval_days),
        "online_only": type_ == "e_loan",
        "supports_renewal": type_ == "renewal_loan" or rng.random() < 0.3,
        "risk_compensation_eligible": type_ == "guarantee_loan" or rng.random() < 0.2,
        "status": "active",
        "valid_from": valid_from.isoformat(),
        "valid_to": rng.choice((date(2026, 12, 31), date(2027, 6, 30), date(2027, 12, 31))).isoformat(),
    }
    return row


def _industries(rng: random.Random, type_: str, bank_code: str) -> list[str]:
    """Technology products target C/I/M, the agricultural bank's products farming and trade, the rest all."""
    if type_ == "ip_pledge_loan":
        return list(TECH_SECTIONS)
    if bank_code in ("ABC", "RCB") and rng.random() < 0.5:
        return list(AGRI_SECTIONS)
    if rng.random() < 0.2:
        return sorted(rng.sample([c for c in codes(INDUSTRY_SECTIONS) if c not in EXCLUDED_SECTIONS], k=3))
    return []


def load_catalogue(session: Session, seed: int) -> list[Bank]:
    """Write the demo banks and products in the caller's transaction; returns the banks in BANKS order.
    Raises DemoAlreadyLoaded, before writing anything, when a demo bank code is taken."""
    taken = session.scalars(select(Bank.code).where(Bank.code.in_([bank.code for bank in BANKS]))).all()
    if taken:
        raise DemoAlreadyLoaded(
            f"demo bank codes already in use ({', '.join(sorted(taken))}): the demo loads into an empty database only"
        )
    banks = {demo_bank.code: Bank(code=demo_bank.code, name=demo_bank.name) for demo_bank in BANKS}
    session.add_all(banks.values())
    session.flush()
    schema = ProductSchema()
    for bank_code, raw in demo_products(seed):
        create_product(session, banks[bank_code].id, schema.load(raw), actor=DEMO_ACTOR)
    return list(banks.values())
