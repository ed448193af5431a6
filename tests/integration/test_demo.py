"""The synthetic demo: deterministic, valid by the products' own rules, marked synthetic, with working tokens."""

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.tokens import account_for_token
from matchmaker.demo import ADMIN_TOKEN, REGULATOR_TOKEN, bank_token, load_demo
from products.demo import BANKS, SYNTHETIC_MARK, DemoAlreadyLoaded, demo_products
from products.models import Bank, LoanProduct
from products.schemas import ProductSchema
from reference.codes import PRODUCT_TYPES, codes

SEED = 20261123


def test_the_same_seed_gives_the_same_demo_and_another_seed_another() -> None:
    assert demo_products(SEED) == demo_products(SEED)
    assert demo_products(SEED) != demo_products(SEED + 1)


@pytest.mark.parametrize("seed", [SEED, 1, 2, 3, 42, 99])
def test_every_generated_product_passes_the_product_schema(seed: int) -> None:
    rows = demo_products(seed)
    assert 30 <= len(rows) <= 50
    schema = ProductSchema()
    for _bank_code, raw in rows:
        schema.load(raw)  # raises ValidationError on any broken rule
    assert {bank_code for bank_code, _ in rows} == {bank.code for bank in BANKS}
    assert len({(bank_code, raw["code"]) for bank_code, raw in rows}) == len(rows)


@pytest.mark.parametrize("seed", [SEED, 7])
def test_the_demo_covers_every_product_type_and_is_mostly_active(seed: int) -> None:
    rows = [raw for _, raw in demo_products(seed)]
    assert {raw["type"] for raw in rows} == set(codes(PRODUCT_TYPES))
    statuses = Counter(raw["status"] for raw in rows)
    assert statuses["active"] > len(rows) * 0.8
    assert statuses["paused"] + statuses["draft"] >= 3


def test_figures_are_plausible_integer_yuan_and_rates() -> None:
    for _, raw in demo_products(SEED):
        assert isinstance(raw["amount_min"], int) and raw["amount_min"] % 10_000 == 0
        assert 100_000 <= raw["amount_min"] <= raw["amount_max"] <= 30_000_000
        assert 3.2 <= raw["rate_min"] <= raw["rate_max"] <= 6.5
        assert raw["valid_from"].startswith("2026")


def test_every_description_says_the_data_is_synthetic(db_session: Session) -> None:
    assert all(SYNTHETIC_MARK in raw["description"] for _, raw in demo_products(SEED))
    with db_session.begin():
        load_demo(db_session, seed=SEED)
    descriptions = db_session.scalars(select(LoanProduct.description)).all()
    assert descriptions and all(SYNTHETIC_MARK in text for text in descriptions)


def test_loading_writes_the_generated_products_to_their_banks(db_session: Session) -> None:
    with db_session.begin():
        load_demo(db_session, seed=SEED)
    stored = {
        (code, product_code): name
        for code, product_code, name in db_session.execute(
            select(Bank.code, LoanProduct.code, LoanProduct.name).join(LoanProduct.bank)
        )
    }
    assert stored == {(bank_code, raw["code"]): raw["name"] for bank_code, raw in demo_products(SEED)}


def test_demo_tokens_authenticate_with_the_right_roles(db_session: Session) -> None:
    with db_session.begin():
        pairs = load_demo(db_session, seed=SEED)
    assert [token for _, token in pairs] == [bank_token(bank.code) for bank in BANKS] + [REGULATOR_TOKEN, ADMIN_TOKEN]
    for bank in BANKS:
        account = account_for_token(db_session, bank_token(bank.code))
        assert account is not None and account.role == "bank"
        assert db_session.get(Bank, account.bank_id).code == bank.code
    regulator = account_for_token(db_session, REGULATOR_TOKEN)
    admin = account_for_token(db_session, ADMIN_TOKEN)
    assert regulator is not None and regulator.role == "regulator" and regulator.bank_id is None
    assert admin is not None and admin.role == "admin"


def test_demo_tokens_differ_in_their_first_ten_characters() -> None:
    """`accounts revoke-token` accepts a 10-character prefix: it must pick out exactly one demo token."""
    tokens = [bank_token(bank.code) for bank in BANKS] + [REGULATOR_TOKEN, ADMIN_TOKEN]
    assert all(token.startswith("mm_") for token in tokens)
    assert len({token[:10] for token in tokens}) == len(tokens)


def test_loading_twice_is_refused_and_writes_nothing(db_session: Session) -> None:
    with db_session.begin():
        load_demo(db_session, seed=SEED)
    with pytest.raises(DemoAlreadyLoaded, match="ABC"), db_session.begin():
        load_demo(db_session, seed=SEED + 1)
    assert db_session.scalar(select(func.count()).select_from(LoanProduct)) == len(demo_products(SEED))
    assert db_session.scalar(select(func.count()).select_from(Bank)) == len(BANKS)
