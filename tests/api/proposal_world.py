"""A small credit book for the proposal, loan and portal tests: two banks, each with a product and a pending
proposal for its own enterprise's need, and a loan the first bank granted; plus the tokens of every kind of
caller. Built straight through the domain (no matching round) with the builders of the decision tests."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from accounts.models import Account
from accounts.tokens import issue_token
from matchmaker.decisions import grant
from matchmaker.models import CreditEvent
from reference.china_time import china_today
from tests.conftest import enterprise_with_need
from tests.integration.credit_book import WAN, make_book, propose

SCORE = {
    "model_version": "test",
    "pd": 0.02,
    "score": 712,
    "grade": "B",
    "reasons": [{"zh": "盈利稳定", "en": "steady profit"}],
}


def grant_body(**changes: Any) -> dict[str, Any]:
    """A grant bank 1 may make on its pending proposal (60 万元 of the need's 100 万元)."""
    return {
        "amount": 60 * WAN,
        "rate": 4.35,
        "term_months": 12,
        "granted_on": china_today().isoformat(),
        "kind": "first_loan",
    } | changes


@dataclass
class World:
    proposal: int  # bank 1's pending proposal (for enterprise 1's need of 100 万元)
    other_proposal: int  # bank 2's pending proposal (for enterprise 2's need)
    need: int
    loan: int  # bank 1's loan (for enterprise 3), with its granted event
    loan_event: int
    other_loan_event: int  # the granted event of bank 2's loan
    product_max: int
    tokens: dict[str, str]  # bank1 (the owner), bank2, sme1 (the need's owner), sme2, regulator, admin
    sme_login: dict[str, str]  # enterprise 1's credit code and password, for the SME pages


def build_world(app: Flask, make_token: Callable[..., str]) -> World:
    with app.extensions["session_factory"]() as session, session.begin():
        first, second = make_book(session, "B1"), make_book(session, "B2")
        need = enterprise_with_need(session, 1)
        proposal = propose(session, need, first.product)
        proposal.score = SCORE
        proposal.explanation = {"positive": [{"zh": "现金流充足", "en": "ample cash flow"}]}
        other_need = enterprise_with_need(session, 2)
        other = propose(session, other_need, second.product)
        loans = []
        for index, book in ((3, first), (4, second)):
            granted = propose(session, enterprise_with_need(session, index), book.product)
            loans.append(grant(session, granted, book.officer, 50 * WAN, 4.0, 12, china_today(), "first_loan"))
        tokens = {
            f"sme{i}": issue_token(
                session, session.scalars(select(Account).where(Account.enterprise_id == owner)).one()
            )
            for i, owner in enumerate((need.enterprise_id, other_need.enterprise_id), 1)
        }
        events = [session.scalars(select(CreditEvent.id).where(CreditEvent.loan_id == loan.id)).one() for loan in loans]
        world = World(
            proposal=proposal.id,
            other_proposal=other.id,
            need=need.id,
            loan=loans[0].id,
            loan_event=events[0],
            other_loan_event=events[1],
            product_max=first.product.amount_max,
            tokens=tokens,
            sme_login={"uscc": need.enterprise.uscc, "password": "password-123"},
        )
    world.tokens |= {
        "bank1": make_token("bank", bank_code="B1"),
        "bank2": make_token("bank", bank_code="B2"),
        "regulator": make_token("regulator"),
        "admin": make_token("admin"),
    }
    return world
