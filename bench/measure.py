"""One measurement each: bare read, our dry run, the naive per-group loop, posting, rate, --help."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent

PEAK_MB = """
import resource
def peak_mb():
    # VmHWM: this process's own peak. ru_maxrss would carry the parent's peak over the exec.
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

DRY_RUN_SCRIPT = (
    PEAK_MB
    + """
import json, sys, time
from flows.pipeline import group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles
from flows.config import load_facility_map
from flows.settings import OKER_FACILITY_MAP
from transforms.stages import recording
profiles = load_profiles()
facility_map = load_facility_map(str(OKER_FACILITY_MAP))
with recording() as stages:
    start = time.perf_counter()
    exports = read_exports([sys.argv[1]], profiles, sheet=None).exports
    validated = validate_exports(exports, profiles, profile_name="oker")
    built = group_and_build(validated, facility_map=facility_map, target_zone="UTC").built
    orders = sum(1 for payload in built.payloads)  # built as posting reads them, a chunk at a time
    seconds = time.perf_counter() - start
rss = peak_mb()
stages["other"] = seconds - sum(stages.values())
print(json.dumps({"seconds": seconds, "peak_rss_mb": round(rss), "orders": orders,
                  "stages": {name: round(s, 3) for name, s in stages.items()}}))
"""
)


STREAM_SCRIPT = (
    PEAK_MB
    + """
import json, os, sys, tempfile, time
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
from flows.upload import upload_orders
with tempfile.TemporaryDirectory() as tmp:
    start = time.perf_counter()
    state = upload_orders(paths=[sys.argv[1]], profile="oker", dry_run=True,
                          chunk_rows=int(sys.argv[2]), report_dir=tmp, return_state=True)
    seconds = time.perf_counter() - start
summary = state.result()
rss = peak_mb()
print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mb": round(rss),
                  "rows": summary["rows_read"]}))
"""
)


def measure_streaming(path: Path, *, chunk_rows: int) -> dict[str, Any]:
    """A streaming dry run (the whole flow, Prefect included) in a fresh process: its peak RSS."""
    return _fresh_process(STREAM_SCRIPT, str(path), str(chunk_rows))


READ_SCRIPT = """
import json, sys, time
import pandas as pd
start = time.perf_counter()
pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def measure_read(path: Path) -> dict[str, float]:
    """A bare `pd.read_csv` of the file, all text, in a fresh process: the floor any pipeline
    stands on (measured as the dry run is, pandas imported before the clock starts)."""
    result = _fresh_process(READ_SCRIPT, str(path))
    return {"seconds": round(result["seconds"], 3)}


def measure_dry_run(path: Path) -> dict[str, Any]:
    """Read -> payloads in a fresh process (so its peak RSS is its own)."""
    result = _fresh_process(DRY_RUN_SCRIPT, str(path))
    result["seconds"] = round(result["seconds"], 3)
    return result


def measure_read_and_dry_run(
    path: Path, *, rounds: int = 3
) -> tuple[dict[str, float], dict[str, Any]]:
    """The bare read and the dry run, alternated over ``rounds`` fresh processes each: the
    best of each (the dry run's stages from its best round), so a slow moment of the machine
    moves neither side of their ratio alone. Peak RSS is the largest the dry run reached."""
    reads, dries = [], []
    for _ in range(rounds):
        reads.append(measure_read(path))
        dries.append(measure_dry_run(path))
    dry = min(dries, key=lambda d: d["seconds"])
    dry["peak_rss_mb"] = max(d["peak_rss_mb"] for d in dries)
    return min(reads, key=lambda r: r["seconds"]), dry


def _fresh_process(script: str, *args: str) -> dict[str, Any]:
    """Run a measuring script in a new interpreter; the JSON its last line prints."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_naive(path: Path, *, rows: int) -> dict[str, float]:
    """The trap DESIGN.md measured: `for key, group in df.groupby(...)` with per-group to_dict."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows)
    total = len(pd.read_csv(path, usecols=[0], dtype=str))
    start = time.perf_counter()
    payloads = []
    for order_id, group in df.groupby("Order ID", sort=False):
        records = group.to_dict("records")
        first = records[0]
        payloads.append(
            {
                "id": order_id,
                "orderDate": first["Order Date"],
                "orderItems": [
                    {
                        "orderItemId": r["Order Item ID"],
                        "sku": r["SKU"],
                        "quantity": int(float(r["Quantity"] or 0)),
                    }
                    for r in records
                ],
                "shippingAddress": {"name": first["Customer Name"], "pincode": first["Pincode"]},
            }
        )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "seconds_scaled": round(seconds * total / len(df), 3)}


def _payload(n: int) -> dict[str, Any]:
    address = {
        "name": "Bench Buyer",
        "addressLine1": "1 Bench Road",
        "city": "Pune",
        "state": "Maharashtra",
        "country": "India",
        "pincode": "411001",
        "phone": "9876543210",
    }
    return {
        "id": f"BENCH-{n:07d}",
        "orderDate": "2026-11-20 10:00:00",
        "orderStatus": "CREATED",
        "sla": "2026-11-22 10:00:00",
        "thirdPartyShipping": True,
        "orderItems": [
            {
                "orderItemId": f"BENCH-{n:07d}-1",
                "status": "CREATED",
                "productId": "P1",
                "variantId": "V1",
                "sku": "SKU-1",
                "title": "Bench item",
                "quantity": 1,
                "orderItemPrice": {"sellingPrice": 100.0, "totalPrice": 100.0},
            }
        ],
        "shippingAddress": address,
        "billingAddress": address,
    }


def _post(
    base_url: str, tmp: Path, orders: int, *, rate: float | None, concurrency: int, first: int = 0
) -> float:
    """Seconds to deliver `orders` through the run's own client, throttle and retry policy."""
    from flows.config import RunOptions
    from flows.post.posting import sending_through
    from uniware.config import UniwareConfig, demo_credentials
    from uniware.delivery import deliver_orders
    from uniware.ledger import Ledger

    config = UniwareConfig(base_url=base_url, credentials=demo_credentials())
    path = str(tmp / f"ledger-{time.monotonic_ns()}.db")
    options = RunOptions(rate=rate, concurrency=concurrency, ledger=path)
    payloads = [_payload(first + n) for n in range(orders)]

    async def go() -> float:
        ledger = Ledger.open(path)
        try:
            async with sending_through(config, options, ledger, "bench") as sending:
                start = time.perf_counter()
                await deliver_orders(payloads, sending)
                return time.perf_counter() - start
        finally:
            ledger.close()

    return asyncio.run(go())


def measure_posting(
    tmp: Path, *, orders: int, latency_ms: float, concurrency: int
) -> dict[str, float]:
    """Achieved orders/s against a sandbox answering after `latency_ms`, the bound C/latency,
    and what a bare raw-socket client reaches against the same sandbox (bench/floor.py)."""
    from bench.floor import post_floor
    from uniware.sandbox import Faults, SandboxProcess

    with SandboxProcess(faults=Faults(latency_ms=latency_ms)) as sandbox:
        seconds = _post(sandbox.base_url, tmp, orders, rate=None, concurrency=concurrency)
        one_by_one = _post(sandbox.base_url, tmp, 40, rate=None, concurrency=1, first=orders)
        floor = post_floor(
            sandbox.base_url, first=orders + 40, orders=orders, concurrency=concurrency
        )
    return {
        "orders_per_second": round(orders / seconds, 1),
        "bound": round(concurrency / (latency_ms / 1000), 1),
        "single_request_ms": round(one_by_one / 40 * 1000, 1),  # latency + everything else
        "floor_orders_per_second": round(floor, 1),
    }


SHARED_WORKER_SCRIPT = """
import json, sys
from bench.measure import _payload
from tests.flows.post.shared_limit_child import record_starts
from flows.config import RunOptions
from flows.post.posting import post_payloads
from uniware.batch_pacer import BatchPacer
from uniware.config import UniwareConfig, demo_credentials
base_url, limit, first, count, ledger = sys.argv[1:6]
config = UniwareConfig(base_url=base_url, credentials=demo_credentials())
options = RunOptions(rate=None, concurrency=8, shared_limit=limit, ledger=ledger)
payloads = [_payload(int(first) + n) for n in range(int(count))]
starts = []  # when the throttle lets each request go, on one clock for both
BatchPacer.acquire = record_starts(starts)
print("ready", flush=True)
sys.stdin.readline()  # both workers start posting together
done = post_payloads(payloads, config=config, options=options, run_id="bench-" + first)
accepted = sum(d.outcome == "accepted" for d in done)
print(json.dumps({"accepted": accepted, "starts": starts}), flush=True)
"""


def measure_rate(
    tmp: Path, *, orders: int, rate: float, workers: int = 2, api_url: str | None = None
) -> dict[str, float]:
    """Two worker processes posting disjoint orders under one Prefect global rate limit of
    `rate`/s (flows.post.shared_limit): their achieved rate together, and the busiest one-second
    window the sandbox saw. Starts its own `prefect server` unless given `api_url`."""
    if api_url is None:
        from tests.prefect_server import running_prefect_server

        with running_prefect_server(tmp / "prefect-home") as started:
            return measure_rate(tmp, orders=orders, rate=rate, workers=workers, api_url=started)
    from uniware.batch_pacer import recommended_capacity
    from uniware.sandbox import SandboxProcess

    name = f"bench-rate-{time.monotonic_ns()}"
    capacity = recommended_capacity(rate, round_trip=0.05, efficiency=0.95)
    body = {"name": name, "limit": capacity, "slot_decay_per_second": rate}
    httpx.post(f"{api_url}/v2/concurrency_limits/", json=body, timeout=30).raise_for_status()
    share = orders // workers
    with SandboxProcess() as sandbox:
        procs = [
            _rate_worker(tmp, api_url, sandbox.base_url, name, first=n * share, count=share)
            for n in range(workers)
        ]
        for proc in procs:  # every worker has imported and built its orders
            if proc.stdout is None or proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a rate worker failed: {proc.communicate()[1][-2000:]}")
        for proc in procs:  # go, all at once
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=orders / rate * 3 + 120) for proc in procs]
        log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=30).json()["requests"]
    if failed := [err for proc, (_, err) in zip(procs, outputs, strict=True) if proc.returncode]:
        raise RuntimeError(f"a rate worker failed: {failed[0][-2000:]}")
    times = sorted(r["t"] for r in log)
    starts = [t for out, _ in outputs for t in json.loads(out.splitlines()[-1])["starts"]]
    span = times[-1] - times[0]
    return {
        "achieved": round((len(times) - 1) / span, 2) if span else 0.0,
        "busiest_second": _busiest_second(times),  # as the sandbox logged them
        "busiest_second_started": _busiest_second(starts),  # as the workers let them go
        "requests": len(times),
        "capacity": capacity,
    }


def _busiest_second(times: list[float]) -> int:
    """The most events in any window [t, t + 1 s)."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered[i:] if u < t + 1.0) for i, t in enumerate(ordered))


def _rate_worker(
    tmp: Path, api_url: str, base_url: str, limit: str, *, first: int, count: int
) -> subprocess.Popen[str]:
    """One worker process of `measure_rate`: it says "ready", then posts once told to go."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(tmp / "prefect-client"))
    env.update(PREFECT_LOGGING_LEVEL="WARNING", PYTHONPATH=str(REPO_ROOT))
    ledger = str(tmp / f"rate-ledger-{limit}-{first}.db")
    command = [sys.executable, "-c", SHARED_WORKER_SCRIPT, base_url, limit, str(first)]
    return subprocess.Popen(
        [*command, str(count), ledger],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def measure_run_overhead(tmp: Path, *, api_url: str | None = None) -> float:
    """A whole `uniload run --dry-run` of a one-order export: start-up, Prefect, report.

    Against the Prefect server at ``api_url`` (as a worker or an operator with a server runs
    it); without one, the run starts Prefect's temporary server itself. Best of two."""
    from bench.exports import write_oker_export

    export = tmp / "one-order.csv"
    day = (datetime(2026, 11, 1), datetime(2026, 11, 2))  # one order: keep its date in the past
    write_oker_export(export, rows=1, seed=7, window=day)
    exe = Path(sys.executable).with_name("uniload")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api_url is not None:
        env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(tmp / "prefect-client"))
    best = float("inf")
    for n in range(2):
        start = time.perf_counter()
        done = subprocess.run(
            [str(exe), "run", str(export), "--dry-run", "--report-dir", str(tmp / f"r{n}")],
            capture_output=True,
            text=True,
            env=env,
        )
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"the one-order dry run failed: {done.stderr[-2000:]}")
    return round(best, 3)


def measure_validate_small(sample: Path) -> float:
    """Best of two whole `uniload validate` processes of the 300-row sample, in seconds."""
    exe = Path(sys.executable).with_name("uniload")
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="uniload-bench-") as tmp:
        for n in range(2):
            start = time.perf_counter()
            done = subprocess.run(
                [str(exe), "validate", str(sample), "--report-dir", f"{tmp}/r{n}"],
                capture_output=True,
                text=True,
            )
            best = min(best, time.perf_counter() - start)
            if done.returncode not in (0, 2):  # 2: the sample's bad rows were reported
                raise RuntimeError(f"validating the sample failed: {done.stderr[-2000:]}")
    return round(best, 3)


def measure_help() -> float:
    """Best of three `uniload --help` start-ups, in seconds."""
    exe = Path(sys.executable).with_name("uniload")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return round(best, 3)
