"""Fault test (issue 9): ``python -m bench.faults [--seconds 40] [--kill-every 4]``.

On a scratch PostgreSQL database (created on ``--pg-url``'s server, seeded by bench/load_data.py, dropped
afterwards) behind a real gunicorn (bench/server.py), writer threads register enterprises, send needs and grant
proposals (each grant with an ``Idempotency-Key``) and record every write the service acknowledged with 2xx. A
request that got no answer (the connection cut by a killed worker) or a 502/503 (the database restarting) is
sent again, the same body and the same key, until it gets an answer that is not one of those. Meanwhile:

- every ``--kill-every`` seconds one gunicorn worker is killed with SIGKILL (the master starts another);
- once, half-way, PostgreSQL itself is restarted (``pg_ctlcluster ... restart``; ``--no-db-restart`` skips it:
  the restart also cuts every other client of that server).

After each fault it measures how long until the service answers again (``GET /api/v1/products`` 200, which
needs the database) and, for a worker kill, until the master has replaced the worker. When the load stops it
checks, in the database:

1. every acknowledged registration, need and grant is there (the grant's loan on its proposal);
2. no grant was applied twice: at most one loan per proposal, one loan per acknowledged idempotency key;
3. every product's granted total equals its ledger sum (``matchmaker.ledger.reconcile`` is empty) and stays
   within its quota;
4. the service answered again within ``--recovery-limit`` seconds of each fault.

It prints the figures and PASS or FAIL for each; the exit status is 1 when an invariant was violated.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from bench.load_data import seed
from bench.load_payloads import grant_body, need, registration
from bench.round_db import scratch_database
from bench.server import Settings, answers, gunicorn, worker_pids
from db.engine import make_engine, make_session_factory
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.ledger import reconcile
from matchmaker.models import Loan
from products.models import LoanProduct

RETRIED_STATUSES = (502, 503)
RESEND_FOR = 60.0  # seconds a write is resent before the writer gives up on it


@dataclass
class Record:
    """What the writers saw and what the service acknowledged."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    retries: int = 0
    enterprises: list[str] = field(default_factory=list)  # credit codes answered 201
    needs: list[int] = field(default_factory=list)
    grants: list[tuple[str, int, int]] = field(default_factory=list)  # (key, proposal id, loan id) answered 201


class Writer(threading.Thread):
    """One client writing in a loop until ``stop`` is set; retries a write the service may not have received."""

    def __init__(self, base_url: str, bank_token: str, record: Record, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base_url, self.record, self.stop = base_url, record, stop
        self.bank = {"Authorization": f"Bearer {bank_token}"}
        self.http = requests.Session()
        self.products: dict[int, dict[str, Any]] = {}

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        """The first answer that is neither a cut connection, a 502/503 nor a 409 asking to retry (an
        idempotency key still in use); None after ``RESEND_FOR`` seconds of those. A write started before the
        run ends is resent after it too, so that every write ends acknowledged or refused."""
        deadline = time.monotonic() + RESEND_FOR
        while time.monotonic() < deadline:
            try:
                response = self.http.request(method, self.base_url + path, timeout=30, **kwargs)
            except requests.ConnectionError:
                response = None
            resend = (
                response is None
                or response.status_code in RETRIED_STATUSES
                or (response.status_code == 409 and "Retry-After" in response.headers)
            )
            with self.record.lock:
                self.record.statuses[response.status_code if response is not None else "no answer"] += 1
                self.record.retries += resend
            if not resend:
                return response
            time.sleep(0.2)
        return None

    def run(self) -> None:
        while not self.stop.is_set():
            self.register_and_need()
            self.grant()

    def register_and_need(self) -> None:
        body = registration()
        answer = self.send("POST", "/api/v1/enterprises", json=body)
        if answer is None or answer.status_code != 201:
            return  # a 409 after a retry: the first attempt was written, but its token was lost with the answer
        with self.record.lock:
            self.record.enterprises.append(body["uscc"])
        sme = {"Authorization": f"Bearer {answer.json()['token']}"}
        answer = self.send("POST", "/api/v1/needs", json=need(), headers=sme)
        if answer is not None and answer.status_code == 201:
            with self.record.lock:
                self.record.needs.append(answer.json()["id"])

    def grant(self) -> None:
        answer = self.send("GET", "/api/v1/proposals?status=pending&per_page=50", headers=self.bank)
        if answer is None or answer.status_code != 200 or not answer.json()["items"]:
            return
        proposal = random.choice(answer.json()["items"])
        product_id = proposal["product_id"]
        if product_id not in self.products:
            answer = self.send("GET", f"/api/v1/products/{product_id}", headers=self.bank)
            if answer is None or answer.status_code != 200:
                return
            self.products[product_id] = answer.json()
        key = str(uuid.uuid4())
        answer = self.send(
            "POST",
            f"/api/v1/proposals/{proposal['id']}/grant",
            json=grant_body(proposal, self.products[product_id]),
            headers=self.bank | {"Idempotency-Key": key},
        )
        if answer is not None and answer.status_code == 201:
            with self.record.lock:
                self.record.grants.append((key, proposal["id"], answer.json()["loan_id"]))


def seconds_until(check: Any, limit: float) -> float | None:
    """Seconds until ``check()`` is true, polling every 50 ms; None when it is still false after ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


@dataclass
class Fault:
    kind: str
    at: float  # seconds into the run
    answered_after: float | None  # seconds until GET /api/v1/products answered 200 again
    replaced_after: float | None = None  # a worker kill: seconds until the master had a new worker


def kill_worker(master: subprocess.Popen, base_url: str, workers: int, limit: float, start: float) -> Fault | None:
    pids = worker_pids(master.pid)
    if not pids:
        return None
    victim = random.choice(pids)
    os.kill(victim, signal.SIGKILL)
    at = time.monotonic()
    answered = seconds_until(lambda: answers(f"{base_url}/api/v1/products") == 200, limit)
    replaced = seconds_until(
        lambda: victim not in (now := worker_pids(master.pid)) and len(now) == workers, limit - (time.monotonic() - at)
    )
    return Fault("worker SIGKILL", at - start, answered, None if replaced is None else time.monotonic() - at)


def restart_postgresql(base_url: str, limit: float, start: float) -> Fault:
    cluster = sorted(os.listdir("/etc/postgresql"))[-1]
    at = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"], check=True, capture_output=True
    )
    restarted = time.monotonic() - at
    answered = seconds_until(lambda: answers(f"{base_url}/api/v1/products") == 200, limit)
    print(f"  PostgreSQL restarted at {time.strftime('%H:%M:%S')} (pg_ctlcluster took {restarted:.1f} s)")
    return Fault("PostgreSQL restart", at - start, None if answered is None else restarted + answered)


def check_database(url: str, record: Record) -> list[tuple[str, bool, str]]:
    """The invariants after the run: (what, held, figures)."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        usccs = set(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(record.enterprises))))
        needs = set(session.scalars(select(FinancingNeed.id).where(FinancingNeed.id.in_(record.needs))))
        loans = dict(session.execute(select(Loan.id, Loan.proposal_id)).all())
        twice = session.execute(
            select(Loan.proposal_id, func.count()).group_by(Loan.proposal_id).having(func.count() > 1)
        ).all()
        discrepancies = reconcile(session)
        over_quota = session.scalar(
            select(func.count()).select_from(LoanProduct).where(LoanProduct.granted_total > LoanProduct.quota)
        )
    engine.dispose()
    missing_grants = [loan for _, proposal, loan in record.grants if loans.get(loan) != proposal]
    acknowledged = {loan for _, _, loan in record.grants}
    unacknowledged = [loan for loan in loans if loan not in acknowledged]  # written, but the writer never knew
    keys = Counter(key for key, _, _ in record.grants)
    loans_per_key = Counter(loan for _, _, loan in record.grants)
    return [
        (
            "every acknowledged write is present",
            len(usccs) == len(set(record.enterprises)) and len(needs) == len(set(record.needs)) and not missing_grants,
            f"registrations {len(usccs)}/{len(set(record.enterprises))}, needs {len(needs)}/{len(set(record.needs))},"
            f" grants {len(record.grants) - len(missing_grants)}/{len(record.grants)}",
        ),
        (
            "no grant applied twice",
            not twice
            and not unacknowledged
            and max(keys.values(), default=1) == 1
            and max(loans_per_key.values(), default=1) == 1,
            f"{len(loans)} loans; proposals with more than one loan: {len(twice)}; loans no grant answer"
            f" acknowledged (a resent grant applied again would show here): {len(unacknowledged)}",
        ),
        (
            "granted totals equal the ledger, within quota",
            not discrepancies and over_quota == 0,
            f"reconcile: {len(discrepancies)} discrepancies; products over quota: {over_quota}",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=40, help="how long the writers run")
    parser.add_argument("--kill-every", type=float, default=4, help="seconds between worker kills")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--recovery-limit", type=float, default=10, help="seconds the service may take to answer")
    parser.add_argument("--no-db-restart", action="store_true", help="only kill workers")
    parser.add_argument("--enterprises", type=int, default=120, help="seeded besides the demo's")
    args = parser.parse_args()

    settings = Settings(args.workers, args.threads)
    with (
        tempfile.TemporaryDirectory(prefix="faults-") as temp,
        scratch_database(args.pg_url, Path(temp)) as url,
    ):
        directory = Path(temp)
        data = seed(url, directory, enterprises=args.enterprises)
        banks = [bank["token"] for bank in data["banks"]]
        print(f"seeded: {data['pending_proposals']} pending proposals; {settings.describe()}")
        record, stop, faults = Record(), threading.Event(), []
        with gunicorn(url, directory, settings) as (base_url, master):
            writers = [Writer(base_url, banks[i % len(banks)], record, stop) for i in range(args.writers)]
            start = time.monotonic()
            for writer in writers:
                writer.start()
            restart_at = None if args.no_db_restart else args.seconds / 2
            while time.monotonic() - start < args.seconds:
                time.sleep(args.kill_every)
                if restart_at is not None and time.monotonic() - start >= restart_at:
                    faults.append(restart_postgresql(base_url, args.recovery_limit, start))
                    restart_at = None
                elif fault := kill_worker(master, base_url, args.workers, args.recovery_limit, start):
                    faults.append(fault)
            stop.set()
            for writer in writers:
                writer.join(60)
        checks = check_database(url, record)

    print(f"\n== faults under load: {args.writers} writers for {args.seconds:g} s ==")
    print(f"  answers seen by the writers: {dict(sorted(record.statuses.items(), key=str))}; resent: {record.retries}")
    for fault in faults:
        replaced = f", worker replaced after {fault.replaced_after:.2f} s" if fault.replaced_after is not None else ""
        answered = f"{fault.answered_after:.2f} s" if fault.answered_after is not None else "NEVER"
        print(f"  {fault.at:6.1f} s  {fault.kind:<20} service answered after {answered}{replaced}")
    recovered = [fault.answered_after for fault in faults if fault.answered_after is not None]
    checks.append(
        (
            f"the service answered within {args.recovery_limit:g} s of each fault",
            bool(faults) and len(recovered) == len(faults) and max(recovered) <= args.recovery_limit,
            f"{len(faults)} faults; recovery median {statistics.median(recovered) if recovered else 0:.2f} s,"
            f" max {max(recovered, default=0):.2f} s",
        )
    )
    for what, held, figures in checks:
        print(f"  {'PASS' if held else 'FAIL'}  {what}: {figures}")
    failed = not all(held for _, held, _ in checks)
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
