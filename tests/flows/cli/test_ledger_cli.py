"""`uniload ledger init` and `uniload ledger pending` on a real ledger file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli.main import main
from uniware.config import Destination
from uniware.ledger import Ledger
from uniware.ledger_schema import SCHEMA_VERSION, schema_version

SHOP = Destination(base_url="https://demo.unicommerce.com", merchant_id="demo-seller")


def test_init_creates_the_ledger_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shared" / "ledger.db"
    assert main(["ledger", "--ledger", str(path), "init"]) == 0
    assert main(["ledger", "--ledger", str(path), "init"]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
    with Ledger.open(str(path)) as ledger:
        assert schema_version(ledger._engine) == SCHEMA_VERSION


def test_pending_lists_orders_of_a_dead_run_and_of_a_live_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.db"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with Ledger.open(str(path)) as ledger:
        dead = f"{socket.gethostname()}:{child.pid}"
        ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="killed-run", owner=dead)
        ledger.claim(SHOP, "OKR-2", payload_hash="h2", run_id="this-run")
        done = ledger.claim(SHOP, "OKR-3", payload_hash="h3", run_id="this-run")
        assert done.token is not None
        ledger.settle(
            SHOP,
            "OKR-3",
            token=done.token,
            state="accepted",
            message="ok",
            attempts=1,
            http_status=200,
        )
    assert main(["ledger", "--ledger", str(path), "pending"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_id = {line["order_id"]: line for line in lines}
    assert set(by_id) == {"OKR-1", "OKR-2"}
    assert by_id["OKR-1"]["run_id"] == "killed-run"
    assert by_id["OKR-1"]["lease"].startswith("owner process gone")
    assert by_id["OKR-2"]["lease"].startswith("in flight")
    assert by_id["OKR-2"]["owner"].endswith(f":{os.getpid()}")


def test_pending_on_a_settled_ledger_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(str(path)).close()
    assert main(["ledger", "--ledger", str(path), "pending"]) == 0
    assert "no order is pending" in capsys.readouterr().out
