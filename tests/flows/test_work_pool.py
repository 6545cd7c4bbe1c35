"""Two real `prefect worker start` processes on one process work pool, a Postgres ledger.

The deployment comes from prefect.yaml (its pull step enters each worker's UNILOAD_HOME); the
same export is submitted twice within 3 s, so each worker runs it: every valid order reaches the
sandbox once, none is requested twice, and neither run reports a failure at posting.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.exports import write_oker_export
from flows.settings import OKER_FACILITY_MAP
from tests.prefect_server import PrefectServer, api_post, background
from uniware.config import demo_credentials
from uniware.sandbox import Faults, SandboxProcess

pytestmark = pytest.mark.slow

POOL = "uniload-pool-test"
DEPLOYMENT = "pool-test"
ROWS = 200
REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).with_name("prefect")
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def prefect(env: dict[str, str], *args: str) -> str:
    """Run the prefect CLI from the repository root; its output."""
    done = subprocess.run(
        [str(PREFECT), "--no-prompt", *args], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[None]:
    """A `prefect worker start` process on the pool, stopped on exit."""
    command = [str(PREFECT), "worker", "start", "--pool", POOL, "--type", "process"]
    with background(command, env=env, log=log, cwd=REPO_ROOT):
        yield


def worker_env(server: PrefectServer, home: Path, ledger: str, sandbox_url: str) -> dict[str, str]:
    """A worker's environment: its own reports, the shared ledger, the sandbox.

    No UNILOAD_HOME: the pull step then enters this checkout, where the entrypoint is (a home
    that is not a checkout would not hold ``flows/upload.py``).
    """
    creds = demo_credentials()
    home.mkdir(parents=True, exist_ok=True)
    return server.env(
        UNIWARE_BASE_URL=sandbox_url,
        UNIWARE_CLIENT_ID=creds.client_id,
        UNIWARE_MERCHANT_ID=creds.merchant_id,
        UNIWARE_SECURITY_KEY=creds.security_key,
        UNILOAD_LEDGER=ledger,
        UNILOAD_REPORT_DIR=str(home / "reports"),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PYTHONPATH=str(REPO_ROOT),
    )


def wait_finished(api: str, run_ids: list[str], seconds: float, logs: list[Path]) -> list[Any]:
    """The flow runs once all have finished."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = [httpx.get(f"{api}/flow_runs/{r}", timeout=10).json() for r in run_ids]
        if all(run["state"]["type"] in FINAL for run in runs):
            return runs
        time.sleep(1)
    tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
    pytest.fail(f"flow runs not finished in {seconds} s; workers said:\n{tails}")


def test_two_workers_given_one_export_twice_post_each_order_once(
    prefect_server: PrefectServer, postgres_url: str, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=ROWS, seed=41, bad_share=0.03)
    valid_orders = facts.posted_orders
    base = prefect_server.env(PYTHONPATH=str(REPO_ROOT))
    prefect(base, "work-pool", "create", POOL, "--type", "process", "--overwrite")
    prefect(base, "deploy", "flows/upload.py:upload_orders", "--name", DEPLOYMENT, "--pool", POOL)
    deployment = httpx.get(f"{api}/deployments/name/upload-orders/{DEPLOYMENT}", timeout=10)
    deployment_id = deployment.json()["id"]
    faults = Faults(latency_ms=20)
    with SandboxProcess(faults=faults, facility_map=OKER_FACILITY_MAP) as sandbox:
        homes = [tmp_path / f"host-{n}" for n in range(2)]
        logs = [home.with_suffix(".log") for home in homes]
        envs = [worker_env(prefect_server, h, postgres_url, sandbox.base_url) for h in homes]
        with worker(envs[0], logs[0]), worker(envs[1], logs[1]):
            parameters = {"paths": [str(export)], "facility_map": str(OKER_FACILITY_MAP)}
            run_ids = []
            for _ in range(2):  # the same export twice, within 3 s
                url = f"{api}/deployments/{deployment_id}/create_flow_run"
                run_ids.append(api_post(url, {"parameters": parameters})["id"])
                time.sleep(1)
            runs = wait_finished(api, run_ids, 240, logs)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=10).json()
        log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=10).json()["requests"]
    assert [run["state"]["type"] for run in runs] == ["COMPLETED", "COMPLETED"]
    per_id = Counter(record["id"] for record in log)
    assert held["count"] == len(set(held["ids"])) == valid_orders
    assert max(per_id.values()) == 1
    summaries = [json.loads(p.read_text()) for h in homes for p in h.glob("reports/*/summary.json")]
    assert len(summaries) == 2, "each run reported (on whichever worker ran it)"
    for summary in summaries:
        assert summary["rows_read"] == facts.rows
        assert (
            summary["rows_accepted"] + summary["rows_failed"] + summary["rows_skipped"]
            == summary["rows_read"]
        )
        assert summary["rows_failed_by_stage"]["post"] == 0
    fresh = sum(s["orders_accepted"] - s["orders_already_accepted"] for s in summaries)
    assert fresh == valid_orders
