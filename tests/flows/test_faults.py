"""The fault suite at the seller's level: `uniload run` killed mid-posting, faults on, run again.

The three killed runs report to the session's real `prefect server start` (a temporary server
takes 10-30 s to start, three times over); the final run is the seller's default, with its own
temporary Prefect server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.exports import write_oker_export
from flows.settings import OKER_FACILITY_MAP
from tests.prefect_server import PrefectServer
from uniware.config import demo_credentials, uniware_env
from uniware.sandbox import Faults, SandboxProcess

ROWS = int(os.environ.get("UNILOAD_FAULT_ROWS", "400"))
KILL_AT = (0.25, 0.5, 0.75)
UNILOAD = Path(sys.executable).with_name("uniload")


def _env(base_url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **(os.environ if base is None else base),
        **uniware_env(base_url, demo_credentials()),
        "UNIWARE_TIMEOUT_SECONDS": "1",
    }


def _held(base_url: str) -> int:
    return int(httpx.get(f"{base_url}/_sandbox/orders", timeout=10).json()["count"])


def _command(export: Path, tmp: Path) -> list[str]:
    return [
        str(UNILOAD), "run", str(export), "--profile", "oker",
        "--facility-map", str(OKER_FACILITY_MAP), "--ledger", str(tmp / "ledger.db"),
        "--report-dir", str(tmp / "reports"), "--rate", "60", "--concurrency", "8",
    ]  # fmt: skip


def _run_and_kill(command: list[str], env: dict[str, str], base_url: str, at: int) -> None:
    """Start a run and SIGKILL it once the sandbox holds `at` orders (or when it ends).

    The run is killed with its whole process group (a temporary Prefect server included, if
    it has one), as a crashed machine would lose them, and so that no orphan outlives the test.
    """
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if _held(base_url) >= at:
                break
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


@pytest.mark.faults
@pytest.mark.slow
def test_killed_three_times_under_faults_every_valid_order_lands_exactly_once(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=ROWS, seed=23, bad_share=0.03)
    faults = Faults(
        latency_ms=10, p5xx=0.10, p429=0.05, phang=0.02, pdrop=0.01, hang_seconds=2,
        retry_after=1, seed=5,
    )  # fmt: skip
    map_file = tmp_path / "map.json"
    map_file.write_text(OKER_FACILITY_MAP.read_text())
    valid_orders = facts.posted_orders
    with SandboxProcess(faults=faults, facility_map=map_file) as sandbox:
        killed_env = _env(sandbox.base_url, prefect_server.env())
        command = _command(export, tmp_path)
        for share in KILL_AT:
            _run_and_kill(command, killed_env, sandbox.base_url, at=int(valid_orders * share))
        env = _env(sandbox.base_url)  # no PREFECT_API_URL: a temporary server, as a seller's
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert final.returncode in (0, 2), final.stderr
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=10).json()
        stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
    assert held["count"] == len(set(held["ids"])) == valid_orders
    summary_path = sorted((tmp_path / "reports").glob("*/summary.json"))
    summaries = [json.loads(p.read_text()) for p in summary_path]
    last = max(summaries, key=lambda s: s["finished_at"])
    assert last["rows_read"] == facts.rows
    assert last["rows_accepted"] + last["rows_failed"] + last["rows_skipped"] == last["rows_read"]
    assert last["orders_accepted"] == valid_orders
    assert stats["accepted"] == valid_orders
