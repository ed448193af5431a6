"""The mixed workload: SMEs, banks and regulators at once, against a running server (bench/load.py starts one).

``locust -f bench/locustfile.py --host http://127.0.0.1:8000 --headless -u 50 -r 10 -t 60s`` with
``MATCHMAKER_LOAD_TOKENS`` naming the tokens.json that bench/load_data.py wrote for the server's database.

- SMEs (weight 6) browse the catalogue (API and pages), register an enterprise, send a financial profile and a
  need, and read their needs; now and then one registers another enterprise.
- banks (weight 3) list their pending proposals, grant one (with an ``Idempotency-Key``) within the product's
  ranges, and report a repayment on a loan they granted.
- regulators (weight 1) read the credit totals and the funnel grouped by a random dimension.

A grant that finds its proposal already decided or the quota used up (another officer was faster) answers 409:
that is the service working, so it counts as a success, reported on its own line ``... (409)``. Every other
non-2xx answer is a failure.
"""

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any, ClassVar

from load_payloads import china_today, grant_body, need, profile, registration
from locust import HttpUser, between, task

TOKENS_FILE = Path(os.environ.get("MATCHMAKER_LOAD_TOKENS", "instance/load/tokens.json"))
GROUPINGS = (None, "bank", "product_type", "industry", "region", "size_class", "month")


def tokens() -> dict[str, Any]:
    return json.loads(TOKENS_FILE.read_text())


class Browsing:
    """Catalogue reads shared by the SMEs (who read it most) and anyone else."""

    client: Any
    product_ids: ClassVar[list[int]] = []

    def load_product_ids(self) -> None:
        if not Browsing.product_ids:
            answer = self.client.get("/api/v1/products?per_page=100", name="/api/v1/products").json()
            Browsing.product_ids = [item["id"] for item in answer["items"]]

    def browse(self) -> None:
        self.client.get(f"/api/v1/products?page={random.randint(1, 3)}&per_page=20", name="/api/v1/products")
        product_id = random.choice(Browsing.product_ids)
        self.client.get(f"/api/v1/products/{product_id}", name="/api/v1/products/[id]")

    def browse_pages(self) -> None:
        self.client.get("/products", name="/products")
        self.client.get(f"/products/{random.choice(Browsing.product_ids)}", name="/products/[id]")


class SmeUser(Browsing, HttpUser):
    weight = 6
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.load_product_ids()
        self.register()

    def register(self) -> None:
        """A new enterprise: registration, a profile for last year and a first need."""
        answer = self.client.post("/api/v1/enterprises", json=registration(), name="/api/v1/enterprises")
        if answer.status_code != 201:
            self.headers: dict[str, str] = {}
            return
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        self.put_profile()
        self.post_need()

    @task(5)
    def browse_catalogue(self) -> None:
        self.browse()

    @task(3)
    def browse_catalogue_pages(self) -> None:
        self.browse_pages()

    @task(2)
    def read_needs(self) -> None:
        if self.headers:
            self.client.get("/api/v1/needs", headers=self.headers, name="/api/v1/needs")

    @task(1)
    def put_profile(self) -> None:
        if self.headers:
            year = int(china_today()[:4]) - 1  # the last fiscal year, as in China
            self.client.put(
                f"/api/v1/enterprises/me/profiles/{year}",
                json=profile(),
                headers=self.headers,
                name="/api/v1/enterprises/me/profiles/[year]",
            )

    @task(1)
    def post_need(self) -> None:
        if self.headers:
            self.client.post("/api/v1/needs", json=need(), headers=self.headers, name="/api/v1/needs")

    @task(1)
    def another_enterprise(self) -> None:
        self.register()


class BankUser(HttpUser):
    weight = 3
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        bank = random.choice(tokens()["banks"])
        self.headers = {"Authorization": f"Bearer {bank['token']}"}
        self.products: dict[int, dict[str, Any]] = {}
        self.loans: list[tuple[int, int]] = []  # (loan id, amount granted)

    def pending(self) -> list[dict[str, Any]]:
        answer = self.client.get(
            "/api/v1/proposals?status=pending&per_page=20", headers=self.headers, name="/api/v1/proposals"
        )
        return answer.json()["items"] if answer.status_code == 200 else []

    def product(self, product_id: int) -> dict[str, Any]:
        if product_id not in self.products:
            self.products[product_id] = self.client.get(
                f"/api/v1/products/{product_id}", headers=self.headers, name="/api/v1/products/[id]"
            ).json()
        return self.products[product_id]

    @task(3)
    def list_proposals(self) -> None:
        self.pending()

    @task(2)
    def grant(self) -> None:
        proposals = self.pending()
        if not proposals:
            return
        proposal = random.choice(proposals)
        body = grant_body(proposal, self.product(proposal["product_id"]))
        with self.client.post(
            f"/api/v1/proposals/{proposal['id']}/grant",
            json=body,
            headers=self.headers | {"Idempotency-Key": str(uuid.uuid4())},
            name="/api/v1/proposals/[id]/grant",
            catch_response=True,
        ) as answer:
            if answer.status_code == 201:
                self.loans.append((answer.json()["loan_id"], body["amount"]))
            elif answer.status_code == 409:  # decided by another officer meanwhile, or the quota used up
                answer.request_meta["name"] += " (409)"
                answer.success()
            elif answer.status_code == 422:  # a failure, on its own line naming the refused fields
                fields = ",".join(sorted(answer.json().get("errors", {}).get("json", {})))
                answer.request_meta["name"] += f" (422 {fields})"

    @task(1)
    def report_repayment(self) -> None:
        if not self.loans:
            return
        loan_id, amount = random.choice(self.loans)
        self.client.post(
            f"/api/v1/loans/{loan_id}/events",
            json={"kind": "repaid", "amount": max(1, amount // 100), "occurred_on": china_today()},
            headers=self.headers | {"Idempotency-Key": str(uuid.uuid4())},
            name="/api/v1/loans/[id]/events",
        )


class RegulatorUser(HttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {tokens()['regulator']}"}

    def grouped(self, path: str) -> None:
        group_by = random.choice(GROUPINGS)
        query = f"?group_by={group_by}" if group_by else ""
        self.client.get(f"{path}{query}", headers=self.headers, name=path)

    @task(2)
    def totals(self) -> None:
        self.grouped("/api/v1/stats/totals")

    @task(1)
    def funnel(self) -> None:
        self.grouped("/api/v1/stats/funnel")
