"""The upload flow end to end: a real export file, a real Prefect run, a real sandbox over HTTP."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.upload import upload_orders
from tests.flows.runs import run_summary
from tests.flows.sandboxes import point_at
from tests.transforms.toy import FIXTURE_PROFILES, row, write_export
from uniware.config import demo_credentials
from uniware.sandbox import SandboxServer, running_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with running_sandbox(
        db_path=tmp_path / "sandbox.db",
        facility_map={"OKR-BLR-01": "BLR_FC1"},
        credentials=demo_credentials(),
    ) as server:
        yield server


@pytest.fixture
def env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, sandbox.base_url)
    monkeypatch.setenv("UNILOAD_PROFILES_DIR", str(FIXTURE_PROFILES))


def _run(tmp_path: Path, export: Path, **params: object) -> dict[str, Any]:
    state = upload_orders(
        paths=[str(export)],
        facility_map=str(tmp_path / "map.json"),
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        return_state=True,
        **params,
    )
    assert not state.is_failed(), state.message
    return run_summary(state)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness", "env")
def test_a_run_posts_good_orders_once_and_reports_every_bad_row(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    (tmp_path / "map.json").write_text(json.dumps({"OKR-BLR-01": "BLR_FC1"}))
    export = write_export(
        tmp_path / "orders.csv",
        [
            row("O1", "I1"),
            row("O1", "I2"),
            row("O2", "I3", Pincode="123"),
            row("O2", "I4"),
            row("O3", "I5", Warehouse_Code="OKR-HYD-09"),
            row("O4", "I6"),
        ],
    )
    summary = _run(tmp_path, export)
    assert summary["rows_read"] == 6
    assert summary["rows_accepted"] + summary["rows_failed"] == summary["rows_read"]
    assert (summary["orders_accepted"], summary["rows_failed"]) == (2, 3)
    held = httpx.get(f"{sandbox.base_url}/_sandbox/orders").json()
    assert sorted(held["ids"]) == ["O1", "O4"]
    report = Path(summary["report"]) / "failures.csv"
    failed = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert [(r["Order ID"], r["error_row"], r["error_stage"]) for r in failed] == [
        ("O2", "4", "validate"),
        ("O2", "5", "group"),
        ("O3", "6", "group"),
    ]

    again = _run(tmp_path, export)  # a rerun posts nothing twice
    assert again["rows_already_accepted"] == 3 and again["orders_accepted"] == 2
    requests = httpx.get(f"{sandbox.base_url}/_sandbox/requests").json()["requests"]
    assert sorted(r["id"] for r in requests) == ["O1", "O4"]
