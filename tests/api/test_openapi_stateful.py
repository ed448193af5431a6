"""Stateful fuzzing: schemathesis follows the OpenAPI links the document declares (api/v1/links.py), so that
one response feeds the next call — a product from the catalogue is read, changed and withdrawn, and its audit
trail read; a need is read and withdrawn; a saved profile leads to the score; a round leads to the banks'
proposals, which are accepted, rejected or granted, and a granted loan is read and gets its events — with
generated data at every step (valid, and at some steps invalid). Each call carries the token of a role the
operation serves (SERVED_BY in test_openapi.py), and every answer gets the stateless test's checks: no 5xx,
the documented status, content type and schema, and ``ignored_auth`` (a successful call is sent again
without its token and with a made-up one, and must be refused).

Only the declared links are followed (schemathesis' link inference is off), so the scenarios are the
documented workflows; hypothesis is seeded and the steps bounded, so a run is the same every time.

Left out, and fuzzed by test_openapi.py alone: registration (its answer's token names a new caller, and a
link cannot hand a credential on), the caller's own enterprise record, the export, the scoring models and
the statistics (no link leads to them and they feed none); and the two uploads, whose answers do link on,
but which could only start a scenario with a made-up file (see STARTS)."""

from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import APIStateMachine, StepInput, StepOutput, normalize_name
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

from reference.china_time import china_today
from tests.api.product_samples import product_body
from tests.api.test_openapi import ANONYMOUS, SEED_PROFILE, SEMANTIC_BODY, SERVED_BY
from tests.conftest import auth

# Scenarios of at most 8 steps: about 450 calls (and ignored_auth's probes), five or six seconds a database.
SCENARIOS = 50
MAX_SCENARIOS = 150
RUN = settings(
    stateful_step_count=8,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# DELETE /products/{id} withdraws the product (下架): it stays readable, as withdrawn, by design (the row and
# its history are kept), so reading it afterwards is no use after free.
NOT_CHECKED = [use_after_free]
# The operations that start scenarios (schemathesis names their rules "RANDOM -> <operation>", normalized): the
# lists, and running a round. A decision or a withdrawal on a made-up id, or an upload of a made-up file, would
# only get 404 or 422 (the stateless test sends those) and use up the steps.
STARTS = tuple(
    normalize_name(f"RANDOM -> {label}")
    for label in (
        "GET /api/v1/products",
        "GET /api/v1/enterprises/me/profiles",
        "GET /api/v1/needs",
        "GET /api/v1/matching/rounds",
        "POST /api/v1/matching/rounds",
        "GET /api/v1/proposals",
    )
)
# Operations only a link leads to: their 2xx answers show that the links were followed.
REACHED = {
    "GET /api/v1/products/{product_id}",
    "GET /api/v1/needs/{need_id}",
    "GET /api/v1/matching/rounds/{round_id}",
    "GET /api/v1/proposals/{proposal_id}",
    "GET /api/v1/loans/{loan_id}",
}


def caller_of(label: str) -> str:
    """The role whose token a call carries: the last role SERVED_BY lists (a regulator rather than an operator
    reads rounds and the audit log, so that both roles take part), anonymous for a public operation."""
    roles = SERVED_BY[label]
    return roles[-1] if roles else ANONYMOUS


@pytest.fixture
def tokens(app: Flask, make_token: Callable[..., str], active_model: str, tmp_path: Path) -> dict[str, str]:
    """A token per role, after giving the scenarios something to start from: bank B1's products, an SME's
    profile and two open needs, a round that proposed one product for each, and a loan granted on the first
    proposal, so that there are proposals to decide on and a loan to read."""
    app.config["ROUND_DIR"] = str(tmp_path)
    client = app.test_client()
    tokens = {role: make_token(role, bank_code="B1") for role in ("bank", "sme", "admin", "regulator")}
    needed_by = (china_today() + timedelta(days=30)).isoformat()
    need = {"amount": 500_000, "purpose": "working_capital", "term_months": 12, "needed_by": needed_by}
    seeds: list[tuple[str, str, str, dict[str, Any], int]] = [
        *[("bank", "POST", "/api/v1/products", product_body(code), 201) for code in ("SEED1", "SEED2", "SEED3")],
        ("sme", "PUT", f"/api/v1/enterprises/me/profiles/{china_today().year - 1}", SEED_PROFILE, 201),
        ("sme", "POST", "/api/v1/needs", need, 201),
        ("sme", "POST", "/api/v1/needs", need | {"amount": 800_000}, 201),
        ("admin", "POST", "/api/v1/matching/rounds", {"k": 1}, 201),
    ]
    for role, method, url, body, status in seeds:
        response = client.open(url, method=method, json=body, headers=auth(tokens[role]))
        assert response.status_code == status, response.json
    proposals = client.get("/api/v1/proposals", headers=auth(tokens["bank"])).json["items"]
    assert len(proposals) == 2, proposals
    grant = {"amount": 300_000, "rate": 4.0, "term_months": 12, "granted_on": china_today().isoformat()}
    response = client.post(
        f"/api/v1/proposals/{proposals[0]['id']}/grant",
        json=grant | {"kind": "first_loan"},
        headers=auth(tokens["bank"]),
    )
    assert response.status_code == 201, response.json
    return tokens


@dataclass
class Outcome:
    """What the scenarios met: how many ran, the calls (operation and status) in order, the failed checks."""

    scenarios: int = 0
    calls: list[tuple[str, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def succeeded(self) -> set[str]:
        return {label for label, status in self.calls if 200 <= status < 300}


def state_machine(app: Flask, tokens: dict[str, str]) -> tuple[type[APIStateMachine], Outcome]:
    """The state machine over the document's links, and the outcome it fills in as it runs. A failed check is
    recorded rather than raised: the database outlives a scenario, so hypothesis could not replay it to report
    it, and the run goes on to find the others."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(allow_extra_parameters=False)  # as in test_openapi.py
    schema.config.phases.stateful.inference.algorithms = []
    outcome = Outcome()
    base = schema.as_state_machine()
    idle_roots = {name for name in base.root_rules if not name.endswith(STARTS)}

    class Workflows(base):
        root_rules = base.root_rules - idle_roots

        def setup(self) -> None:
            outcome.scenarios += 1

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            caller = caller_of(case.operation.label)
            return {"headers": auth(tokens[caller])} if caller != ANONYMOUS else {}

        def step(self, input: StepInput) -> StepOutput:
            # A list read with valid data reads the list as a client first sees it, the first page unfiltered
            # (but for what a link sets, as status=pending), so that its links lead to the scenario's resources;
            # paging and filters are fuzzed by test_openapi.py.
            case = input.case
            if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE and case.query:
                linked = {name for location, name in input.applied_parameters if location is ParameterLocation.QUERY}
                case.query = {name: value for name, value in case.query.items() if name in linked}
            return super().step(input)

        def after_call(self, response: Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            outcome.calls.append((case.operation.label, response.status_code))

        def validate_response(
            self,
            response: Response,
            case: schemathesis.Case,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            # The token goes in as the caller's own headers, so that ignored_auth knows it for a real one.
            headers = kwargs.get("headers")
            excluded = NOT_CHECKED + ([positive_data_acceptance] if case.operation.label in SEMANTIC_BODY else [])
            try:
                case.validate_response(
                    response, headers=headers, excluded_checks=excluded, transport_kwargs=kwargs, recorder=self.recorder
                )
            except FailureGroup as group:
                outcome.failures += [f"{case.as_curl_command(headers=headers)}\n{error}" for error in group.exceptions]

    for name in idle_roots:
        setattr(Workflows, name, None)  # hypothesis collects the rules from the class: None is no rule
    return Workflows, outcome


def explore(machine: type[APIStateMachine], outcome: Outcome) -> None:
    """Run SCENARIOS scenarios, and more (up to MAX_SCENARIOS) until every operation of REACHED has answered
    2xx: what the scenarios draw depends on the data and ids that earlier tests left, so a fixed count may miss
    one. Hypothesis builds a scenario from the choices of earlier ones and expects the same choices to draw the
    same way; against data that earlier scenarios changed they may not, and it stops with ``Flaky``
    (schemathesis' own runner ends its stateful phase the same way). A new run, seeded anew, goes on from
    there."""
    run = 0
    while outcome.scenarios < SCENARIOS or (not outcome.succeeded() >= REACHED and outcome.scenarios < MAX_SCENARIOS):
        wanted = max(SCENARIOS, outcome.scenarios + 10) - outcome.scenarios
        with suppress(Flaky):
            seed(run)(machine).run(settings=settings(RUN, max_examples=wanted))
        run += 1


def test_the_workflows_keep_the_contract(app: Flask, tokens: dict[str, str]) -> None:
    machine, outcome = state_machine(app, tokens)
    explore(machine, outcome)
    assert not outcome.failures, "\n\n".join(outcome.failures)
    assert outcome.succeeded() >= REACHED, Counter(outcome.calls)


def test_the_document_links_the_workflows(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").json
    links = {
        (f"{method.upper()} {path}", status, name)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
        for status, response in operation["responses"].items()
        for name in response.get("links", {})
    }
    assert {
        ("GET /api/v1/products", "200", "ReadProduct"),
        ("POST /api/v1/products", "201", "WithdrawProduct"),
        ("PATCH /api/v1/products/{product_id}", "200", "ReadAuditTrail"),
        ("POST /api/v1/needs", "201", "ReadNeed"),
        ("PUT /api/v1/enterprises/me/profiles/{fiscal_year}", "201", "ReadScore"),
        ("POST /api/v1/matching/rounds", "201", "ReadPendingProposals"),
        ("POST /api/v1/proposals/{proposal_id}/accept", "200", "Grant"),
        ("POST /api/v1/proposals/{proposal_id}/grant", "201", "ReadLoan"),
        ("POST /api/v1/loans/{loan_id}/events", "201", "ReportLoanEvent"),
    } <= links
    # Every link names an operation and parameters that exist: schemathesis refuses to build the state machine
    # otherwise (InvalidStateMachine).
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.phases.stateful.inference.algorithms = []
    schema.as_state_machine()
    assert schema.statistic.transitions.total == len(links)
