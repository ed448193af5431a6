"""Every endpoint × every caller: two banks, two SMEs, a regulator, an operator (admin) and an anonymous
visitor. The owners of an object (or the roles an operation serves) succeed; everyone else is refused —
401 anonymous and 403 for a role the operation does not serve on the API, 404 for another bank's or another
enterprise's object, and on the HTML pages a redirect to the sign-in page or 403 — and a refused call leaves
every table of the database exactly as it was.

``TABLE`` lists every operation the app serves (API and pages); ``test_every_endpoint_is_in_the_table``
compares it with the app's URL map, so that a new endpoint fails the suite until its row is written here.
The calls are real requests through the Flask test client: bearer tokens on /api, the signed session cookie
(and the form's CSRF token) on the pages."""

import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from accounts.models import Account, ApiToken
from accounts.tokens import hash_token, new_session_token
from enterprises.models import Enterprise, FinancingNeed
from enterprises.schemas import NeedSchema
from enterprises.service import create_need
from matchmaker.credit_scores import activate, register_model
from matchmaker.decisions import grant
from matchmaker.models import Proposal
from products.schemas import ProductSchema
from products.service import create_product
from reference.china_time import china_today
from tests.api.page_helpers import csrf_token
from tests.api.product_samples import CSV_HEADER, csv_line, product_body
from tests.api.proposal_world import World, build_world
from tests.conftest import auth, empty_all_tables, make_app, product, token_maker, valid_uscc
from tests.integration.credit_book import WAN, propose

ANONYMOUS = "anonymous"
ROLE_OF = {"bank1": "bank", "bank2": "bank", "sme1": "sme", "sme2": "sme", "regulator": "regulator", "admin": "admin"}
CALLERS = (ANONYMOUS, *ROLE_OF)


class Redirect(NamedTuple):
    """A 302 whose Location has this path (``{name}`` stands for the call's path parameter)."""

    path: str


Expected = int | Redirect
SIGN_IN = Redirect("/login")  # bank, regulator and operator sign-in
SME_SIGN_IN = Redirect("/enterprise/login")


def is_refusal(expected: Expected) -> bool:
    return expected in (SIGN_IN, SME_SIGN_IN) or (isinstance(expected, int) and expected >= 400)


def callers(
    owners: dict[str, Expected], *, anonymous: Expected, wrong_role: Expected, not_theirs: Expected = 404
) -> dict[str, Expected]:
    """The answer each caller gets: the owners' as given; a caller of an owner's role that does not own the
    object gets ``not_theirs``; any other role ``wrong_role``; the anonymous visitor ``anonymous``."""
    owner_roles = {ROLE_OF[caller] for caller in owners}
    answers: dict[str, Expected] = {}
    for caller in CALLERS:
        if caller in owners:
            answers[caller] = owners[caller]
        elif caller == ANONYMOUS:
            answers[caller] = anonymous
        else:
            answers[caller] = not_theirs if ROLE_OF[caller] in owner_roles else wrong_role
    return answers


def api(owners: dict[str, Expected], **overrides: Expected) -> dict[str, Expected]:
    return callers(owners, anonymous=401, wrong_role=403) | overrides


def staff_page(owners: dict[str, Expected]) -> dict[str, Expected]:
    """A page for the accounts that sign in with a token (bank, regulator, operator): anonymous visitors are
    sent to that sign-in, other roles get 403."""
    return callers(owners, anonymous=SIGN_IN, wrong_role=403)


def sme_page(owners: dict[str, Expected]) -> dict[str, Expected]:
    """An SME page sends anyone who is not signed in as an enterprise to the enterprise sign-in."""
    return callers(owners, anonymous=SME_SIGN_IN, wrong_role=SME_SIGN_IN)


def public(answer: Expected) -> dict[str, Expected]:
    return dict.fromkeys(CALLERS, answer)


BANKS = ("bank1", "bank2")
SMES = ("sme1", "sme2")


def every(names: tuple[str, ...], answer: Expected) -> dict[str, Expected]:
    return dict.fromkeys(names, answer)


@dataclass
class Objects:
    """What the calls put in their paths and bodies: this test's objects of bank 1 and SME 1, SME 1's credit
    code and every caller's token."""

    product: int
    draft: int  # a product bank 1 has not published: no one else sees it
    need: int
    proposal: int
    loan: int
    round: int
    sme_uscc: str
    tokens: dict[str, str]


Params = Callable[[Objects], dict[str, Any]]
Body = Callable[[Objects], Any]


@dataclass(frozen=True)
class Call:
    """One operation (``key``: the method and the URL map's rule with ``{name}`` parameters), the parameters
    and body every caller sends, and the answer each caller must get."""

    key: str
    expected: dict[str, Expected]
    params: Params = lambda _objects: {}
    body: Body | None = None  # JSON on /api, a form on the pages; evaluated afresh for every caller
    variant: str = ""

    @property
    def method(self) -> str:
        return self.key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1]

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def id(self) -> str:
        return f"{self.key} {self.variant}".strip()


LAST_YEAR = china_today().year - 1
PROFILE = {
    "annual_revenue": 30_000_000,
    "net_profit": 2_000_000,
    "total_assets": 20_000_000,
    "total_liabilities": 8_000_000,
}
PROFILE_FORM = {"annual_revenue": "3000", "net_profit": "200", "total_assets": "2000", "total_liabilities": "800"}
NEED = {
    "amount": 50 * WAN,
    "purpose": "working_capital",
    "term_months": 12,
    "needed_by": str(china_today() + timedelta(30)),
}
NEED_FORM = NEED | {"amount": "50", "term_months": "12"}
ENTERPRISE_FORM = {
    "name": "某市测试科技有限公司",
    "industry": "C",
    "industry_detail": "C34",
    "region": "某市城区",
    "founded_on": "2015-01-01",
    "employees": "60",
    "registered_capital": "500",
    "contact_person": "张会计",
    "phone": "13800000000",
    "email": "owner@example.cn",
}
GRANT = {"amount": 60 * WAN, "rate": 4.0, "term_months": 12, "kind": "new_loan"}
GRANT_FORM = GRANT | {"amount": "60", "rate": "4.0", "term_months": "12"}


def registration(_objects: Objects) -> dict[str, Any]:
    """A new enterprise with a credit code of its own (each caller registers one)."""
    fields = {name: value for name, value in ENTERPRISE_FORM.items() if name != "industry_detail"}
    typed = {"industry": "C34", "employees": 60, "registered_capital": 500 * WAN}
    return fields | typed | {"uscc": valid_uscc(), "password": "password-123"}


def registration_form(_objects: Objects) -> dict[str, Any]:
    return ENTERPRISE_FORM | {"uscc": valid_uscc(), "password": "password-123", "password_confirm": "password-123"}


def import_file(_objects: Objects) -> dict[str, Any]:
    return {"file": (io.BytesIO(f"{CSV_HEADER}\n{csv_line('IMPORTED')}\n".encode()), "products.csv")}


def loan_events_file(objects: Objects) -> dict[str, Any]:
    """A repayment of bank 1's loan: bank 2 gets "no such loan" on line 2 (422), as for a loan that is not."""
    content = f"loan_id,kind,amount,occurred_on\n{objects.loan},repaid,{WAN},{china_today().isoformat()}\n"
    return {"file": (io.BytesIO(content.encode()), "events.csv")}


PRODUCT: Params = lambda o: {"product_id": o.product}  # noqa: E731
DRAFT: Params = lambda o: {"product_id": o.draft}  # noqa: E731
NEED_ID: Params = lambda o: {"need_id": o.need}  # noqa: E731
PROPOSAL: Params = lambda o: {"proposal_id": o.proposal}  # noqa: E731
LOAN: Params = lambda o: {"loan_id": o.loan}  # noqa: E731
ROUND: Params = lambda o: {"round_id": o.round}  # noqa: E731
NO_LINK: Params = lambda _o: {"token": "no-such-reset-link"}  # noqa: E731
NEW_PASSWORD_FORM = {"new_password": "password-123", "new_password_confirm": "password-123"}


def same(body: Any) -> Body:
    return lambda _objects: body


def dated(body: dict[str, Any], field: str) -> Body:
    """``body`` with ``field`` set to today when the call is made: a run that crosses midnight in China would
    otherwise send yesterday, before the proposal or the loan it answers."""
    return lambda _objects: body | {field: china_today().isoformat()}


TABLE: list[Call] = [
    # The product catalogue: public reads; banks publish, change and withdraw their own products.
    Call("GET /api/v1/products", public(200)),
    Call("POST /api/v1/products", api(every(BANKS, 201)), body=same(product_body("NEW"))),
    Call("GET /api/v1/products/{product_id}", public(200), PRODUCT),
    Call("GET /api/v1/products/{product_id}", public(404) | {"bank1": 200}, DRAFT, variant="draft"),
    Call("PATCH /api/v1/products/{product_id}", api({"bank1": 200}, bank2=403), PRODUCT, same({"name": "新名称"})),
    Call("DELETE /api/v1/products/{product_id}", api({"bank1": 200}, bank2=403), PRODUCT),
    Call("POST /api/v1/products/import", api(every(BANKS, 200)), body=import_file),
    Call("GET /api/v1/products/export.csv", api(every(BANKS, 200))),
    # Enterprises: anyone may register one; the rest is the SME's own record.
    Call("POST /api/v1/enterprises", public(201), body=registration),
    Call("GET /api/v1/enterprises/me", api(every(SMES, 200))),
    Call("PATCH /api/v1/enterprises/me", api(every(SMES, 200)), body=same({"phone": "13900000000"})),
    Call("GET /api/v1/enterprises/me/profiles", api(every(SMES, 200))),
    Call(
        "PUT /api/v1/enterprises/me/profiles/{fiscal_year}",
        api(every(SMES, 201)),
        lambda _o: {"fiscal_year": LAST_YEAR - 1},
        same(PROFILE),
    ),
    Call("GET /api/v1/enterprises/me/score", api(every(SMES, 200))),
    Call("GET /api/v1/needs", api(every(SMES, 200))),
    Call("POST /api/v1/needs", api(every(SMES, 201)), body=same(NEED)),
    Call("GET /api/v1/needs/{need_id}", api({"sme1": 200}), NEED_ID),
    Call("POST /api/v1/needs/{need_id}/withdraw", api({"sme1": 200}), NEED_ID),
    # Operators run matching rounds and read models; regulators read them too.
    Call("GET /api/v1/scoring/models", api({"admin": 200, "regulator": 200})),
    Call("GET /api/v1/matching/rounds", api({"admin": 200, "regulator": 200})),
    Call("POST /api/v1/matching/rounds", api({"admin": 201}), body=same({"k": 2})),
    Call("GET /api/v1/matching/rounds/{round_id}", api({"admin": 200, "regulator": 200}), ROUND),
    # The audit log: operators and regulators only (API and page).
    Call("GET /api/v1/audit", api({"admin": 200, "regulator": 200})),
    Call("GET /audit", staff_page({"admin": 200, "regulator": 200})),
    # The regulators' dashboard and its CSV downloads: operators and regulators only.
    Call("GET /regulator", staff_page({"admin": 200, "regulator": 200})),
    *[
        Call(
            "GET /regulator/{report}.csv",
            staff_page({"admin": 200, "regulator": 200}),
            lambda _objects, report=report: {"report": report},
            variant=report,
        )
        for report in ("totals", "funnel", "banks", "risk")
    ],
    *[
        Call(f"GET /api/v1/stats/{report}{suffix}", api({"admin": 200, "regulator": 200}))
        for report in ("totals", "funnel", "banks", "risk")
        for suffix in ("", ".csv")
    ],
    # Banks: the proposals made to them, their decisions, their loans and the loans' events.
    Call("GET /api/v1/proposals", api(every(BANKS, 200))),
    Call("GET /api/v1/proposals/{proposal_id}", api({"bank1": 200}), PROPOSAL),
    Call("POST /api/v1/proposals/{proposal_id}/accept", api({"bank1": 200}), PROPOSAL),
    Call(
        "POST /api/v1/proposals/{proposal_id}/reject",
        api({"bank1": 200}),
        PROPOSAL,
        same({"reason": "insufficient_collateral"}),
    ),
    Call("POST /api/v1/proposals/{proposal_id}/grant", api({"bank1": 201}), PROPOSAL, dated(GRANT, "granted_on")),
    Call("GET /api/v1/loans/{loan_id}", api({"bank1": 200}), LOAN),
    Call(
        "POST /api/v1/loans/{loan_id}/events",
        api({"bank1": 201}),
        LOAN,
        dated({"kind": "repaid", "amount": 10 * WAN}, "occurred_on"),
    ),
    Call("POST /api/v1/loans/events/import", api({"bank1": 200}, bank2=422), body=loan_events_file),
    # The API's own documentation and the health check.
    Call("GET /api/v1/openapi.json", public(200)),
    Call("GET /api/v1/docs", public(200)),
    Call("GET /api/v1/docs/assets/{filename}", public(200), lambda _o: {"filename": "swagger-ui.css"}),
    Call("GET /healthz", public(200)),
    Call("GET /static/{filename}", public(200), lambda _o: {"filename": "css/site.css"}),
    # Public pages and the two sign-ins.
    Call("GET /", public(200)),
    Call("GET /products", public(200)),
    Call("GET /products/{product_id}", public(200), PRODUCT),
    Call("GET /products/{product_id}", public(404) | {"bank1": 200}, DRAFT, variant="draft"),
    Call("GET /login", public(200)),
    Call("POST /login", public(Redirect("/regulator")), body=lambda o: {"token": o.tokens["admin"]}),
    Call("POST /logout", public(Redirect("/"))),
    Call("GET /register", public(200)),
    Call("POST /register", public(Redirect("/enterprise/profiles")), body=registration_form),
    Call("GET /enterprise/login", public(200)),
    Call(
        "POST /enterprise/login",
        public(Redirect("/needs")),
        body=lambda o: {"uscc": o.sme_uscc, "password": "password-123"},
    ),
    # The SME's pages.
    Call("GET /enterprise", sme_page(every(SMES, 200))),
    Call("GET /enterprise/edit", sme_page(every(SMES, 200))),
    Call("POST /enterprise/edit", sme_page(every(SMES, Redirect("/enterprise"))), body=same(ENTERPRISE_FORM)),
    Call("GET /enterprise/profiles", sme_page(every(SMES, 200))),
    Call("GET /enterprise/profiles/{year}", sme_page(every(SMES, 200)), lambda _o: {"year": LAST_YEAR}),
    Call(
        "POST /enterprise/profiles/{year}",
        sme_page(every(SMES, Redirect("/enterprise/profiles"))),
        lambda _o: {"year": LAST_YEAR - 2},  # a year of its own: the API's row creates LAST_YEAR - 1
        same(PROFILE_FORM),
    ),
    Call("GET /needs", sme_page(every(SMES, 200))),
    Call("GET /needs/new", sme_page(every(SMES, 200))),
    Call("POST /needs/new", sme_page(every(SMES, Redirect("/needs"))), body=same(NEED_FORM)),
    Call("POST /needs/{need_id}/withdraw", sme_page({"sme1": Redirect("/needs")}), NEED_ID),
    # Passwords: the owner changes theirs (to the same one here, so later sign-ins still work); a reset link
    # (none is live here) is public; only the operator issues links.
    Call("GET /enterprise/password", sme_page(every(SMES, 200))),
    Call(
        "POST /enterprise/password",
        sme_page(every(SMES, Redirect("/enterprise"))),
        body=same({"current_password": "password-123"} | NEW_PASSWORD_FORM),
    ),
    Call("GET /password/reset/{token}", public(404), NO_LINK),
    Call("POST /password/reset/{token}", public(404), NO_LINK, same(NEW_PASSWORD_FORM)),
    Call("GET /admin/password-reset-links", staff_page({"admin": 200})),
    Call("POST /admin/password-reset-links", staff_page({"admin": 200}), body=lambda o: {"uscc": o.sme_uscc}),
    # The bank portal.
    Call("GET /portal", staff_page(every(BANKS, 200))),
    Call("GET /portal/export.csv", staff_page(every(BANKS, 200))),
    Call("POST /portal/import", staff_page(every(BANKS, 200)), body=import_file),
    *[
        Call(
            "POST /portal/products/{product_id}/{action}",
            staff_page({"bank1": Redirect("/portal")}),
            lambda o, action=action: {"product_id": o.product, "action": action},
            variant=action,
        )
        for action in ("pause", "activate", "withdraw")
    ],
    Call("GET /portal/proposals", staff_page(every(BANKS, 200))),
    Call("GET /portal/proposals/{proposal_id}", staff_page({"bank1": 200}), PROPOSAL),
    Call("GET /portal/loans", staff_page(every(BANKS, 200))),
    Call("GET /portal/loans/events-template.csv", staff_page(every(BANKS, 200))),
    Call("POST /portal/loans/events/import", staff_page({"bank1": 200}) | {"bank2": 422}, body=loan_events_file),
    *[
        Call(
            "POST /portal/proposals/{proposal_id}/{action}",
            staff_page({"bank1": Redirect("/portal/proposals/{proposal_id}")}),
            lambda o, action=action: {"proposal_id": o.proposal, "action": action},
            body,
            variant=action,
        )
        for action, body in (
            ("accept", same({})),
            ("reject", same({"reason": "credit_history"})),
            ("grant", dated(GRANT_FORM, "granted_on")),
        )
    ],
]


def template(rule: str) -> str:
    """``/needs/<int(max=2147483647):need_id>`` -> ``/needs/{need_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule)


def served_operations() -> set[str]:
    app = make_app("sqlite://")
    return {
        f"{method} {template(rule.rule)}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_endpoint_is_in_the_table() -> None:
    listed = {call.key for call in TABLE}
    served = served_operations()
    assert served - listed == set(), "add these operations to TABLE, with who may call them"
    assert listed - served == set(), "these rows name operations the app no longer serves"
    for call in TABLE:
        assert set(call.expected) == set(CALLERS), call.id


def database_digest(engine: Engine, tables: list[str]) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows (in a fixed order), read straight from the database.
    PostgreSQL digests every table in one query (a round trip per table made up half the module's time there)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = " UNION ALL ".join(
                f"SELECT '{table}', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                f'FROM "{table}" AS r'
                for table in tables
            )
            return {table: (count, digest) for table, count, digest in connection.execute(text(query))}
        digest = {}
        for table in tables:
            rows = sorted(repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"')))
            digest[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return digest


@pytest.fixture(scope="module")
def shared_app(
    database_url: str, synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app and one world for the whole module, with the scoring model active and a directory for rounds:
    a world built afresh for each operation took two minutes on PostgreSQL. Each test adds the objects its
    owners may change (see ``objects``); what the owners' calls add stays, and harms no later operation."""
    app = make_app(database_url)
    app.config["ROUND_DIR"] = str(tmp_path_factory.mktemp("rounds"))
    with app.extensions["session_factory"]() as session, session.begin():
        activate(session, register_model(session, synthetic_model_dir).version)
    yield app
    empty_all_tables(app)
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def world(shared_app: Flask) -> World:
    """Bank 1 and bank 2, each with a product, a pending proposal and a granted loan; SME 1 and SME 2, each
    with a profile and a need proposed to one bank; a regulator and an operator (tests/api/proposal_world.py)."""
    return build_world(shared_app, token_maker(shared_app))


_fresh = count(1)
ASKED = NEED | {"amount": 100 * WAN}  # more than GRANT gives


@pytest.fixture
def objects(shared_app: Flask, world: World) -> Objects:
    """This test's own objects of bank 1 and SME 1, which the owners' calls may change: a product, a need
    proposed for it (pending), and a loan granted on another need."""
    with shared_app.extensions["session_factory"]() as session, session.begin():
        bank_proposal = session.get_one(Proposal, world.proposal)
        officer = session.scalars(select(Account).where(Account.bank_id == bank_proposal.bank_id)).first()
        enterprise = session.get_one(Enterprise, session.get_one(FinancingNeed, bank_proposal.need_id).enterprise_id)
        number = next(_fresh)
        loan_product, draft = (
            create_product(session, bank_proposal.bank_id, ProductSchema().load(body), actor=officer)
            for body in (product(f"M{number}"), product(f"D{number}", status="draft"))
        )
        pending, granted = (
            propose(session, create_need(session, enterprise, NeedSchema().load(ASKED)), loan_product) for _ in range(2)
        )
        loan = grant(session, granted, officer, 30 * WAN, 4.0, 12, china_today(), "new_loan")
        return Objects(
            product=loan_product.id,
            draft=draft.id,
            need=pending.need_id,
            proposal=pending.id,
            loan=loan.id,
            round=pending.round_id,
            sme_uscc=world.sme_login["uscc"],
            tokens=world.tokens,
        )


@dataclass
class Caller:
    """A caller's browser (the session cookie signed in as the caller) and bearer header."""

    client: FlaskClient
    headers: dict[str, str] = field(default_factory=dict)
    _csrf: str | None = None

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = csrf_token(self.client, "/login")
        return self._csrf


@pytest.fixture
def clients(shared_app: Flask, objects: Objects) -> dict[str, Caller]:
    """Every caller's browser, signed in on a session token of this test's own (signing out revokes it),
    and bearer header."""
    signed_in = {ANONYMOUS: Caller(shared_app.test_client())}
    with shared_app.extensions["session_factory"]() as session, session.begin():
        for name in ROLE_OF:
            token = objects.tokens[name]
            account = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one().account
            client = shared_app.test_client()
            with client.session_transaction() as cookie:
                cookie["token_id"] = new_session_token(session, account).id
            signed_in[name] = Caller(client, auth(token))
    return signed_in


def send(call: Call, caller: Caller, objects: Objects) -> Any:
    url = call.path.format(**call.params(objects))
    body = call.body(objects) if call.body else None
    if call.is_api:
        if isinstance(body, dict) and "file" in body:
            return caller.client.open(url, method=call.method, data=body, headers=caller.headers)
        return caller.client.open(url, method=call.method, json=body, headers=caller.headers)
    if call.method == "GET":
        return caller.client.get(url)
    return caller.client.open(url, method=call.method, data={"csrf_token": caller.csrf(), **(body or {})})


def check_answer(call: Call, objects: Objects, name: str, response: Any, expected: Expected) -> None:
    where = f"{call.id} as {name}"
    if isinstance(expected, Redirect):
        assert response.status_code == 302, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
        location = urlsplit(response.headers["Location"]).path
        assert location == expected.path.format(**call.params(objects)), f"{where}: {location}"
    else:
        assert response.status_code == expected, (
            f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
        )


@pytest.mark.parametrize("call", TABLE, ids=[call.id for call in TABLE])
def test_owners_succeed_and_everyone_else_is_refused_without_a_write(
    shared_app: Flask, objects: Objects, clients: dict[str, Caller], call: Call
) -> None:
    engine = shared_app.extensions["engine"]
    tables = sorted(name for name in inspect(engine).get_table_names() if name != "alembic_version")
    before = database_digest(engine, tables)
    # The refused callers first, then the owners (whose writes change the world).
    for name, expected in sorted(call.expected.items(), key=lambda item: not is_refusal(item[1])):
        response = send(call, clients[name], objects)
        check_answer(call, objects, name, response, expected)
        if is_refusal(expected):
            after = database_digest(engine, tables)
            changed = sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))
            assert not changed, f"{call.id} as {name} was refused but wrote to {changed}"
