"""One shared inbox drained by several flow runs on two workers, a Postgres ledger.

A real `prefect server start`, a process work pool and two `prefect worker start` processes
(one run at a time each, so two runs land on two workers), one sandbox, one inbox folder both
workers see. Fan-out: one run given ``fan_out=2`` starts a second run of its deployment and
the two split the files. The bar case: two runs of the inbox deployment submitted 1 s apart
over an inbox of two files. Either way every file is archived once, every order is once in
the sandbox, no order is requested twice and no row is reported failed.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.exports import write_oker_export
from flows.nightly.fan_out import FAN_OUT_TAG
from flows.settings import OKER_FACILITY_MAP
from tests.flows.work_pools import deploy, submit, wait_finished, worker, worker_env
from tests.postgres import PostgresServer
from tests.prefect_server import PrefectServer, api_post
from uniware.sandbox import Faults, SandboxProcess

pytestmark = pytest.mark.slow

POOL = "uniload-inbox-pool-test"
DEPLOYMENT = "inbox-pool-test"
ROWS = 120  # per file: about 60 orders


@dataclass(frozen=True)
class Pool:
    """The running pool: server API, deployment, sandbox, the workers' homes and logs."""

    api: str
    deployment_id: str
    sandbox_url: str
    homes: list[Path]
    logs: list[Path]

    def summaries(self) -> dict[str, dict[str, Any]]:
        """Every run's summary.json on either worker, by run id."""
        paths = [p for h in self.homes for p in h.glob("reports/*/summary.json")]
        return {p.parent.name: json.loads(p.read_text()) for p in paths}

    def where(self, run_id: str) -> list[int]:
        """Which workers (0, 1) hold the run's report."""
        return [n for n, h in enumerate(self.homes) if (h / "reports" / run_id).is_dir()]


@pytest.fixture(scope="module")
def pool(
    prefect_server: PrefectServer,
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pool]:
    """The deployment, a sandbox and two workers (one run at a time) on a fresh Postgres ledger."""
    root = tmp_path_factory.mktemp("inbox-pool")
    deployment_id = deploy(prefect_server, POOL, DEPLOYMENT)
    ledger = postgres_server.fresh_url()
    with SandboxProcess(faults=Faults(latency_ms=20), facility_map=OKER_FACILITY_MAP) as sandbox:
        homes = [root / f"host-{n}" for n in range(2)]
        logs = [home.with_suffix(".log") for home in homes]
        envs = [worker_env(prefect_server, h, ledger, sandbox.base_url) for h in homes]
        with worker(envs[0], logs[0], POOL, limit=1), worker(envs[1], logs[1], POOL, limit=1):
            yield Pool(prefect_server.api_url, deployment_id, sandbox.base_url, homes, logs)


def settled_inbox(inbox: Path, files: int, first_order: int) -> int:
    """An inbox of `files` Oker exports (distinct orders), settled; how many orders to post."""
    inbox.mkdir()
    orders = 0
    then = time.time() - 600
    for n in range(files):
        path = inbox / f"oker-{n}.csv"
        facts = write_oker_export(path, rows=ROWS, seed=100 + n, start_order=first_order + 1000 * n)
        os.utime(path, (then, then))
        orders += facts.posted_orders
    return orders


def assert_drained_once(pool: Pool, inbox: Path, files: int, orders: int) -> None:
    """Each file archived once, each order once in the sandbox, requested once, none failed."""
    archived = sorted(p.name for p in (inbox / "archive").iterdir())
    assert sorted(n.split("-oker-")[1] for n in archived) == [f"{i}.csv" for i in range(files)]
    left = [p for p in inbox.rglob("*") if p.is_file() and p.parent.name != "archive"]
    assert left == [], "nothing left in the inbox, claimed or failed"
    held = httpx.get(f"{pool.sandbox_url}/_sandbox/orders", timeout=10).json()
    log = httpx.get(f"{pool.sandbox_url}/_sandbox/requests", timeout=10).json()["requests"]
    assert held["count"] == len(set(held["ids"])) == orders
    assert max(Counter(record["id"] for record in log).values()) == 1


def reset_sandbox(pool: Pool) -> None:
    """Forget the orders of earlier tests (their ids differ: the ledger needs no reset)."""
    api_post(f"{pool.sandbox_url}/_sandbox/reset", {})


def fan_out_runs(api: str, deployment_id: str) -> list[str]:
    """The runs of the deployment that a fan-out started."""
    body = {
        "flow_runs": {"tags": {"all_": [FAN_OUT_TAG]}},
        "deployments": {"id": {"any_": [deployment_id]}},
    }
    runs = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()
    return [str(run["id"]) for run in runs]


def test_a_fanned_out_inbox_is_drained_by_two_runs_on_two_workers(
    pool: Pool, tmp_path: Path
) -> None:
    reset_sandbox(pool)
    inbox = tmp_path / "inbox"
    orders = settled_inbox(inbox, files=4, first_order=1)
    parameters = {
        "paths": [],
        "inbox": str(inbox),
        "facility_map": str(OKER_FACILITY_MAP),
        "fan_out": 2,
    }
    first = submit(pool.api, pool.deployment_id, parameters)
    wait_finished(pool.api, [first], 240, pool.logs)
    started = fan_out_runs(pool.api, pool.deployment_id)
    assert len(started) == 1, "fan_out 2: one more run"
    runs = wait_finished(pool.api, [first, *started], 240, pool.logs)
    assert [run["state"]["type"] for run in runs] == ["COMPLETED", "COMPLETED"]
    summaries = pool.summaries()
    for run_id in (first, *started):
        summary = summaries[run_id]
        assert len(summary["files"]) == 2, "each run of the group took its share: 2 of 4 files"
        assert summary["rows_read"] == 2 * ROWS
        assert summary["rows_failed"] == 0
    assert {w for r in (first, *started) for w in pool.where(r)} == {0, 1}, "two workers"
    assert_drained_once(pool, inbox, files=4, orders=orders)


def test_two_runs_over_a_shared_inbox_of_two_files_post_each_order_once(
    pool: Pool, tmp_path: Path
) -> None:
    reset_sandbox(pool)
    inbox = tmp_path / "inbox"
    orders = settled_inbox(inbox, files=2, first_order=100_001)
    parameters = {"paths": [], "inbox": str(inbox), "facility_map": str(OKER_FACILITY_MAP)}
    run_ids = []
    for _ in range(2):  # the nightly run twice, within 3 s
        run_ids.append(submit(pool.api, pool.deployment_id, parameters))
        time.sleep(1)
    runs = wait_finished(pool.api, run_ids, 240, pool.logs)
    assert [run["state"]["type"] for run in runs] == ["COMPLETED", "COMPLETED"]
    summaries = pool.summaries()
    reported = [summaries[run_id] for run_id in run_ids if run_id in summaries]
    idle = [run for run in runs if run["id"] not in summaries]  # found the inbox empty
    assert all(run["state"]["message"].startswith("nothing to do") for run in idle), idle
    assert sum(len(s["files"]) for s in reported) == 2, "each file read by one run only"
    assert sum(s["rows_read"] for s in reported) == 2 * ROWS
    assert all(s["rows_failed"] == 0 for s in reported)
    assert_drained_once(pool, inbox, files=2, orders=orders)
