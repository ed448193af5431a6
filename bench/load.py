"""Load test against a real gunicorn (issue 9): ``python -m bench.load [--backend sqlite postgresql]``.

For each database (SQLite in a temporary directory; PostgreSQL: a scratch database created on ``--pg-url``'s
server and dropped afterwards) it seeds the data (bench/load_data.py: the SYNTHETIC demo plus load-test banks,
enterprises and a matching round), starts gunicorn with the settings it prints (bench/server.py; rate limits
off), then runs:

1. the catalogue-only scenario with wrk (``--wrk-connections`` connections for ``--wrk-seconds``): GET
   /api/v1/products (a page of 20) and /api/v1/products/<id>, alternately, over every product. wrk is a C
   client that needs little CPU; locust's Python users would take much of the 2 cores they share with the
   server, and measure themselves.
   Targets: ≥ 1,000 requests/s, p99 < 50 ms, measured after ``--wrk-warmup`` seconds of the same reads (printed,
   not counted), in which every gunicorn worker fills its catalogue cache (api/catalogue_cache.py). As a
   baseline, in the same run and with the same settings, wrk also measures ``GET /healthz`` (one ``SELECT 1``):
   the rate this server and machine allow at all.
2. the mixed workload with locust, headless (bench/locustfile.py: SMEs, banks, regulators at once), ``--users``
   users spawned at ``--spawn-rate`` per second for ``--seconds``. Targets on PostgreSQL: no 5xx, p95 < 200 ms.

It prints requests/s, p50/p95/p99 per endpoint and the errors (4xx and 5xx apart) for each database; the
locust CSV files and the gunicorn log are kept under ``--out``.
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.load_data import seed
from bench.round_db import scratch_database
from bench.server import ROOT, CpuMeter, Settings, gunicorn

CATALOGUE_RPS_TARGET = 1000
CATALOGUE_P99_TARGET_MS = 50
MIXED_P95_TARGET_MS = 200
BASELINE_PATH = "/healthz"  # the cheapest answer that touches the database: what the machine allows at all

WRK_MISSING = (
    "bench.load: wrk is not installed (the catalogue scenario needs it). Install it with"
    " `sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk` (macOS), or build it from"
    " https://github.com/wg/wrk;"
    " or run only the mixed workload with --skip-catalogue."
)
WRK_SCRIPT = """
local ids = {%s}
local i = 0
request = function()
  i = i + 1
  if i %% 2 == 0 then
    return wrk.format("GET", "/api/v1/products?page=" .. (i %% 3 + 1) .. "&per_page=20")
  end
  return wrk.format("GET", "/api/v1/products/" .. ids[(i %% #ids) + 1])
end
"""


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def locust_rows(stats_csv: Path) -> list[Row]:
    with stats_csv.open() as handle:
        return [
            Row(
                f"{r['Type']} {r['Name']}".strip(),
                int(r["Request Count"]),
                int(r["Failure Count"]),
                float(r["Requests/s"]),
                float(r["50%"] or 0),
                float(r["95%"] or 0),
                float(r["99%"] or 0),
            )
            for r in csv.DictReader(handle)
        ]


def failure_counts(failures_csv: Path) -> dict[str, int]:
    """Failures by kind: "5xx", "4xx" and "connection" (no HTTP answer)."""
    counts = {"5xx": 0, "4xx": 0, "connection": 0}
    with failures_csv.open() as handle:
        for r in csv.DictReader(handle):
            status = re.search(r"\b([45])\d\d (?:Client|Server) Error", r["Error"])
            kind = f"{status.group(1)}xx" if status else "connection"
            counts[kind] += int(r["Occurrences"])
    return counts


def run_mixed(base_url: str, directory: Path, out: Path, args: argparse.Namespace) -> tuple[list[Row], dict]:
    prefix = out / "mixed"
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--host",
        base_url,
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.seconds}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
    ]
    env = os.environ | {"MATCHMAKER_LOAD_TOKENS": str(directory / "tokens.json")}
    subprocess.run(command, env=env, cwd=ROOT, check=False, capture_output=True)
    return locust_rows(Path(f"{prefix}_stats.csv")), failure_counts(Path(f"{prefix}_failures.csv"))


def product_ids(base_url: str) -> list[int]:
    with urllib.request.urlopen(f"{base_url}/api/v1/products?per_page=100") as response:
        return [item["id"] for item in json.load(response)["items"]]


def run_wrk(
    base_url: str, out: Path, connections: int, seconds: int, path: str | None = None, label: str | None = None
) -> dict[str, float]:
    """wrk over the catalogue (or ``GET path`` alone); requests/s, p50/p99 (ms) and the non-2xx count. Its
    output is kept as ``out/<label>_wrk.txt`` (by default "catalogue" or "baseline")."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if path is None:
        script = out / "catalogue.lua"
        script.write_text(WRK_SCRIPT % ", ".join(map(str, product_ids(base_url))))
        command += ["-s", str(script), base_url]
    else:
        command.append(base_url + path)
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    (out / f"{label or ('catalogue' if path is None else 'baseline')}_wrk.txt").write_text(text)

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50": latency("50"),
        "p99": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
    }


def report_catalogue(figures: dict[str, float], connections: int) -> None:
    met = figures["rps"] >= CATALOGUE_RPS_TARGET and figures["p99"] < CATALOGUE_P99_TARGET_MS
    print(f"  catalogue reads (wrk, {connections} connections): {figures['rps']:,.0f} requests/s")
    print(
        f"    p50 {figures['p50']:.1f} ms  p99 {figures['p99']:.1f} ms  non-2xx {figures['non_2xx']}"
        f"  socket errors: {figures['socket_errors']}"
    )
    print(
        f"    target ≥ {CATALOGUE_RPS_TARGET} requests/s and p99 < {CATALOGUE_P99_TARGET_MS} ms:"
        f" {'met' if met else 'NOT met'}"
    )


def report_cpu(seconds: float, requests: int) -> None:
    per_request = seconds / max(requests, 1) * 1000
    print(
        f"    server CPU (gunicorn and the database's processes): {per_request:.2f} ms per request;"
        f" two idle cores would serve about {2000 / per_request:,.0f} requests/s of this mix"
    )


def report_mixed(rows: list[Row], failures: dict[str, int], users: int, backend: str) -> None:
    total = next(row for row in rows if row.name == "Aggregated")
    print(f"  mixed workload (locust, {users} users): {total.rps:,.1f} requests/s, {total.requests:,} requests")
    print(f"    {'endpoint':<58} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for row in rows:
        print(f"    {row.name:<58} {row.requests:>8} {row.failures:>5} {row.p50:>6.0f} {row.p95:>6.0f} {row.p99:>6.0f}")
    print(f"    errors: 5xx {failures['5xx']}, 4xx {failures['4xx']}, no answer {failures['connection']}")
    met = failures["5xx"] == 0 and total.p95 < MIXED_P95_TARGET_MS
    target = "the target" if backend == "postgresql" else "PostgreSQL's target, here on SQLite"
    print(f"    {target} (no 5xx, p95 < {MIXED_P95_TARGET_MS} ms): {'met' if met else 'NOT met'}")


def load_averages() -> str:
    """Other work on the machine slows every figure but CPU per request: say how busy it was."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def run_backend(backend: str, args: argparse.Namespace) -> None:
    settings = Settings(args.workers, args.threads)
    out = args.out / backend
    out.mkdir(parents=True, exist_ok=True)
    server_url = args.pg_url if backend == "postgresql" else None
    with (
        tempfile.TemporaryDirectory(prefix="load-bench-") as temp,
        scratch_database(server_url, Path(temp)) as url,
    ):
        directory = Path(temp)
        data = seed(url, directory, enterprises=args.enterprises)
        print(f"\n== {backend}: seeded, {data['pending_proposals']:,} pending proposals; {settings.describe()} ==")
        print(f"  machine load averages (1, 5, 15 min) at the start: {load_averages()}")
        with gunicorn(url, directory, settings) as (base_url, master):
            meter = CpuMeter(master.pid, url)
            if not args.skip_catalogue:
                meter.start()
                baseline = run_wrk(base_url, out, args.wrk_connections, args.wrk_seconds, BASELINE_PATH)
                baseline_cpu = meter.seconds() / max(baseline["requests"], 1) * 1000
                if args.wrk_warmup:
                    warm = run_wrk(base_url, out, args.wrk_connections, args.wrk_warmup, label="warmup")
                    print(
                        f"  warm-up, not counted ({args.wrk_warmup} s of the same reads: each worker fills its cache):"
                        f" {warm['rps']:,.0f} requests/s, p50 {warm['p50']:.1f} ms, p99 {warm['p99']:.1f} ms"
                    )
                meter.start()
                figures = run_wrk(base_url, out, args.wrk_connections, args.wrk_seconds)
                report_catalogue(figures, args.wrk_connections)
                report_cpu(meter.seconds(), figures["requests"])
                print(
                    f"    baseline in the same run, GET {BASELINE_PATH} (one SELECT 1): {baseline['rps']:,.0f}"
                    f" requests/s, p99 {baseline['p99']:.1f} ms, {baseline_cpu:.2f} ms CPU per request; the"
                    f" catalogue served {figures['rps'] / baseline['rps']:.0%} of its rate"
                )
            if not args.skip_mixed:
                meter.start()
                rows, failures = run_mixed(base_url, directory, out, args)
                report_mixed(rows, failures, args.users, backend)
                report_cpu(meter.seconds(), rows[-1].requests)
        (out / "gunicorn.log").write_bytes((directory / "gunicorn.log").read_bytes())
        print(f"  machine load averages at the end: {load_averages()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--enterprises", type=int, default=300, help="seeded besides the demo's")
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--wrk-seconds", type=int, default=20)
    parser.add_argument(
        "--wrk-warmup", type=int, default=5, help="seconds of catalogue reads before the measured ones (0: none)"
    )
    parser.add_argument("--skip-catalogue", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "instance" / "load", help="CSV files and logs")
    args = parser.parse_args()
    if not args.skip_catalogue and shutil.which("wrk") is None:
        sys.exit(WRK_MISSING)
    for backend in args.backend:
        run_backend(backend, args)


if __name__ == "__main__":
    main()
