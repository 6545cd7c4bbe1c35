"""Crash and restart: a delivery run SIGKILLed three times mid-way still posts each order once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.uniware.crash_child import CONCURRENCY
from uniware.config import Destination, demo_credentials
from uniware.ledger import Ledger
from uniware.ledger_entries import LedgerCount
from uniware.sandbox import Faults, SandboxProcess

ORDERS = int(os.environ.get("UNILOAD_CRASH_ORDERS", "300"))
KILLS = 3
REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_SECONDS = 0.02
RUN_TIMEOUT_SECONDS = 120.0


def start_run(base_url: str, ledger_path: Path, run_id: str) -> subprocess.Popen[bytes]:
    """Start one delivery run in a child process."""
    command = [sys.executable, "-m", "tests.uniware.crash_child", base_url, str(ledger_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([*command, str(ORDERS), run_id], cwd=REPO_ROOT, env=env)


def held_count(base_url: str) -> int:
    """How many orders the sandbox holds."""
    count: int = httpx.get(base_url + "/_sandbox/orders").json()["count"]
    return count


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (pytest-timeout bounds the wait)."""
    while not condition():
        time.sleep(POLL_SECONDS)


def kill_after(child: subprocess.Popen[bytes], base_url: str, landed: int) -> None:
    """SIGKILL ``child`` as soon as the sandbox holds ``landed`` orders."""
    wait_for(lambda: held_count(base_url) >= landed or child.poll() is not None)
    assert child.poll() is None, "the run ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL


@pytest.mark.faults
@pytest.mark.slow
def test_killed_runs_restarted_to_completion_post_each_order_once(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.db"
    with SandboxProcess(faults=Faults(latency_ms=40)) as sandbox:
        url = sandbox.base_url
        for kill in range(1, KILLS + 1):
            kill_after(start_run(url, ledger_path, f"run-{kill}"), url, ORDERS * kill // 4)
        final = start_run(url, ledger_path, "run-final")
        assert final.wait(RUN_TIMEOUT_SECONDS) == 0
        held: dict[str, Any] = httpx.get(url + "/_sandbox/orders").json()
        stats: dict[str, Any] = httpx.get(url + "/_sandbox/stats").json()
    assert held["count"] == ORDERS
    assert set(held["ids"]) == {f"CRASH-{n}" for n in range(ORDERS)}
    key = Destination(base_url=url, merchant_id=demo_credentials().merchant_id).key
    with Ledger.open(str(ledger_path)) as ledger:
        assert ledger.summary() == [LedgerCount(key, "accepted", ORDERS)]
        confirmed = [ledger.get(None, order_id)[0] for order_id in stats["duplicate_ids_received"]]
    # Only orders in flight at a kill reach Uniware twice, and each such DUPLICATE answer
    # resolved an intent the killed run had left in "sending".
    assert 1 <= len(confirmed) <= KILLS * CONCURRENCY
    assert all("answer was lost" in entry.message for entry in confirmed)
