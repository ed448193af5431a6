"""The database for the load and fault runs (bench.load, bench.faults): ``python -m bench.load_data URL DIR``.

It migrates the database, loads the SYNTHETIC demo with ``matchmaker demo load`` (as an operator would), then,
through the domain functions, adds ``--banks`` load-test banks (each with a bank account and token, and two
broad products that accept almost any need: no industry, region or collateral rule, wide ranges, an ample
quota), ``--enterprises`` more synthetic enterprises with profiles and open needs, and runs a matching round so
that every bank has proposals to grant. It writes ``DIR/tokens.json``, which bench/locustfile.py and
bench/faults.py read: the banks' and the regulator's tokens (the demo's fixed ones and the new ones).
"""

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import accounts.passwords
from accounts.models import Role
from accounts.tokens import create_account, issue_token
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from enterprises.demo import load_enterprises
from matchmaker.demo import REGULATOR_TOKEN, bank_token
from matchmaker.models import Proposal
from matchmaker.rounds import RoundParams, run_round
from products.demo import BANKS
from products.models import Bank
from products.schemas import ProductSchema
from products.service import create_product

WAN = 10_000
SEED = 20261130
SEED_ACTOR = "bench.load_data"
LOAD_PRODUCT_TYPES = ("credit_loan", "mortgage_loan")
# The demo's name generator has a few hundred distinct names: draw in batches (names need not be unique).
ENTERPRISE_BATCH = 40  # as many as the demo itself draws
CHEAP_SCRYPT_N = 2**10  # seeded SMEs never sign in during the run; their hashes record this cost


def broad_product(bank_code: str, number: int, product_type: str) -> dict[str, Any]:
    """A product that accepts almost any need, so that the round proposes it widely."""
    return {
        "code": f"{bank_code}-LOAD-{number:02d}",
        "name": f"压测通用贷{bank_code}{number:02d}",
        "type": product_type,
        "description": "负载测试用的通用产品（基准测试数据，系统生成）",
        "amount_min": 1 * WAN,
        "amount_max": 2000 * WAN,
        "term_min_months": 1,
        "term_max_months": 60,
        "rate_min": 3.0,
        "rate_max": 9.0,
        "collateral": ["none"],
        "quota": 500_000 * WAN,
        "review_capacity": 100_000,
        "first_loan_friendly": True,
        "status": "active",
        "valid_from": date(2026, 1, 1).isoformat(),
    }


def demo_load(url: str, directory: Path) -> None:
    """``matchmaker demo load`` against ``url``, with a small demo model (its training is not what is measured)."""
    env = os.environ | {
        "DATABASE_URL": url,
        "MATCHMAKER_MODEL_DIR": str(directory / "models"),
        "MATCHMAKER_ROUND_DIR": str(directory / "rounds"),
        "OMP_NUM_THREADS": "1",
    }
    matchmaker = Path(sys.executable).with_name("matchmaker")
    subprocess.run([str(matchmaker), "demo", "load", "--model-rows", "1000"], env=env, check=True, capture_output=True)


def seed(url: str, directory: Path, banks: int = 3, enterprises: int = 300) -> dict[str, Any]:
    """Migrate, load and match (see the module's docstring); returns what tokens.json holds."""
    directory.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    demo_load(url, directory)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    accounts.passwords.SCRYPT_N = CHEAP_SCRYPT_N
    bank_tokens = [{"code": bank.code, "token": bank_token(bank.code)} for bank in BANKS]
    schema = ProductSchema()
    with factory() as session, session.begin():
        for number in range(1, banks + 1):
            code = f"LT{number}"
            bank = Bank(code=code, name=f"某市压测{number}号银行（基准测试）")
            session.add(bank)
            session.flush()
            account = create_account(session, f"压测{number}号银行信贷员", Role.BANK, bank_id=bank.id)
            bank_tokens.append({"code": code, "token": issue_token(session, account)})
            for index, product_type in enumerate(LOAD_PRODUCT_TYPES, start=1):
                create_product(
                    session, bank.id, schema.load(broad_product(code, index, product_type)), actor=SEED_ACTOR
                )
        for batch, start in enumerate(range(0, enterprises, ENTERPRISE_BATCH)):
            load_enterprises(session, SEED + batch, count=min(ENTERPRISE_BATCH, enterprises - start))
    round_row = run_round(factory, RoundParams(), directory / "rounds")
    with factory() as session:
        pending = session.scalar(select(func.count()).select_from(Proposal).where(Proposal.status == "pending"))
    engine.dispose()
    data = {
        "banks": bank_tokens,
        "regulator": REGULATOR_TOKEN,
        "pending_proposals": pending,
        "round": round_row.stats,
    }
    (directory / "tokens.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="an empty database (SQLAlchemy URL)")
    parser.add_argument("directory", type=Path, help="where tokens.json, the model and the round graphs go")
    parser.add_argument("--banks", type=int, default=3)
    parser.add_argument("--enterprises", type=int, default=300)
    args = parser.parse_args()
    data = seed(args.url, args.directory, args.banks, args.enterprises)
    print(f"seeded: {len(data['banks'])} bank tokens, {data['pending_proposals']} pending proposals")


if __name__ == "__main__":
    main()
