"""The whole synthetic demo: the catalogue (``products.demo``), one account per demo bank, a regulator and an
admin, and the demo enterprises with profiles and needs (``enterprises.demo``). Tokens and the enterprises'
password are fixed so that the README can list them; they are public, so the demo is for local use only."""

from sqlalchemy.orm import Session

from accounts.models import Account, Role
from accounts.tokens import create_account, issue_token
from enterprises.demo import load_enterprises
from products.demo import BANKS, load_catalogue

REGULATOR_TOKEN = "mm_demo_regulator"
ADMIN_TOKEN = "mm_demo_admin"


def bank_token(bank_code: str) -> str:
    """mm_demo_abc, mm_demo_ccb, ...: the first 10 characters (what `revoke-token` accepts as a prefix)
    differ between all demo tokens."""
    return f"mm_demo_{bank_code.lower()}"


def load_demo(session: Session, seed: int) -> list[tuple[Account, str]]:
    """Write the demo in the caller's transaction; returns each demo account with its token.
    Raises products.demo.DemoAlreadyLoaded, before writing anything, when the demo's banks exist."""
    pairs: list[tuple[Account, str]] = []
    for demo_bank, bank in zip(BANKS, load_catalogue(session, seed), strict=True):
        account = create_account(session, f"{demo_bank.short}产品经理（演示）", Role.BANK, bank_id=bank.id)
        pairs.append((account, issue_token(session, account, token=bank_token(bank.code))))
    for name, role, token in (
        ("某市地方金融监督管理局（演示）", Role.REGULATOR, REGULATOR_TOKEN),
        ("平台运营管理员（演示）", Role.ADMIN, ADMIN_TOKEN),
    ):
        account = create_account(session, name, role)
        pairs.append((account, issue_token(session, account, token=token)))
    load_enterprises(session, seed)
    return pairs
