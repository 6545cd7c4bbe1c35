"""Two `uniload run` processes on one export at once, one sandbox, one shared ledger.

As two workers handed the same export would: each run is a separate process using a real
Prefect server, on an SQLite ledger file and on a PostgreSQL database. Every valid order lands
once and is requested once, no row is reported failed that was not bad in the file, each
report accounts for every row, and the two runs' fresh acceptances add up to the sandbox's count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.exports import write_oker_export
from flows.settings import OKER_FACILITY_MAP
from tests.prefect_server import PrefectServer
from uniware.config import demo_credentials, uniware_env
from uniware.sandbox import Faults, SandboxProcess

pytestmark = pytest.mark.slow

ROWS = 160
RUNS = 2
UNILOAD = Path(sys.executable).with_name("uniload")


def start_run(
    server: PrefectServer, export: Path, ledger: str, home: Path, base_url: str
) -> subprocess.Popen[str]:
    """One `uniload run` of ``export`` with its own report directory."""
    creds = demo_credentials()
    env = server.env(
        UNILOAD_HOME=str(home),
        **uniware_env(base_url, creds),
    )
    command = [
        str(UNILOAD), "run", str(export), "--profile", "oker",
        "--facility-map", str(OKER_FACILITY_MAP), "--ledger", ledger,
        "--report-dir", str(home / "reports"), "--concurrency", "6",
    ]  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def summary_of(home: Path) -> dict[str, Any]:
    """The one run summary written under ``home``."""
    [path] = list((home / "reports").glob("*/summary.json"))
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


def test_two_runs_of_one_export_post_each_order_once(
    prefect_server: PrefectServer, ledger_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=ROWS, seed=31, bad_share=0.03)
    valid_orders = facts.posted_orders
    bad_rows = len({cell.row for cell in facts.bad})
    with SandboxProcess(faults=Faults(latency_ms=20), facility_map=OKER_FACILITY_MAP) as sandbox:
        homes = [tmp_path / f"worker-{n}" for n in range(RUNS)]
        runs = [
            start_run(prefect_server, export, ledger_url, home, sandbox.base_url) for home in homes
        ]
        for run in runs:
            out, err = run.communicate(timeout=240)
            assert run.returncode == 2, out + err  # 2: some rows failed (the bad ones)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=10).json()
        requests = httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=10).json()
    per_id = Counter(record["id"] for record in requests["requests"])
    assert held["count"] == len(set(held["ids"])) == valid_orders
    assert max(per_id.values()) == 1  # no order requested twice
    summaries = [summary_of(home) for home in homes]
    for summary in summaries:
        assert summary["rows_read"] == facts.rows
        assert (
            summary["rows_accepted"] + summary["rows_failed"] + summary["rows_skipped"]
            == summary["rows_read"]
        )
        assert summary["rows_failed_by_stage"]["post"] == 0  # no false failures at posting
        assert summary["orders_accepted"] == valid_orders
        assert summary["rows_failed"] >= bad_rows  # the bad cells' rows, and their orders' rows
    assert summaries[0]["rows_failed"] == summaries[1]["rows_failed"]
    fresh = sum(s["orders_accepted"] - s["orders_already_accepted"] for s in summaries)
    assert fresh == held["count"]
