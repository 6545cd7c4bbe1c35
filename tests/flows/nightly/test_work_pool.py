"""Two real `prefect worker start` processes on one process work pool, a Postgres ledger.

The deployment comes from prefect.yaml (its pull step enters each worker's UNILOAD_HOME); the
same export is submitted twice within 3 s, so each worker runs it: every valid order reaches the
sandbox once, none is requested twice, and neither run reports a failure at posting.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.exports import write_oker_export
from flows.settings import OKER_FACILITY_MAP
from tests.flows.work_pools import deploy, submit, wait_finished, worker, worker_env
from tests.prefect_server import PrefectServer
from uniware.sandbox import Faults, SandboxProcess

pytestmark = pytest.mark.slow

POOL = "uniload-pool-test"
DEPLOYMENT = "pool-test"
ROWS = 200


def test_two_workers_given_one_export_twice_post_each_order_once(
    prefect_server: PrefectServer, postgres_url: str, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=ROWS, seed=41, bad_share=0.03)
    valid_orders = facts.posted_orders
    deployment_id = deploy(prefect_server, POOL, DEPLOYMENT)
    faults = Faults(latency_ms=20)
    with SandboxProcess(faults=faults, facility_map=OKER_FACILITY_MAP) as sandbox:
        homes = [tmp_path / f"host-{n}" for n in range(2)]
        logs = [home.with_suffix(".log") for home in homes]
        envs = [worker_env(prefect_server, h, postgres_url, sandbox.base_url) for h in homes]
        with worker(envs[0], logs[0], POOL), worker(envs[1], logs[1], POOL):
            parameters = {"paths": [str(export)], "facility_map": str(OKER_FACILITY_MAP)}
            run_ids = []
            for _ in range(2):  # the same export twice, within 3 s
                run_ids.append(submit(api, deployment_id, parameters))
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
