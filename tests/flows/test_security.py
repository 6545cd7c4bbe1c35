"""Secrets and personal data: a canary security key never leaves the request headers."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.upload import upload_orders
from tests.flows.runs import prefect_artifacts, run_summary
from tests.flows.sandboxes import point_at
from tests.transforms.toy import FIXTURE_PROFILES, row, write_export
from uniware.config import Credentials
from uniware.sandbox import SandboxServer, running_sandbox

CANARY = "CANARY-5ec2e7-d0-n0t-l3ak"


@pytest.fixture
def canary_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    credentials = Credentials(client_id="c1", merchant_id="m1", security_key=CANARY)
    with running_sandbox(db_path=tmp_path / "sandbox.db", credentials=credentials) as server:
        point_at(monkeypatch, server.base_url, credentials)
        monkeypatch.setenv("UNILOAD_PROFILES_DIR", str(FIXTURE_PROFILES))
        yield server


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness", "canary_sandbox")
def test_the_security_key_is_never_in_logs_reports_artifacts_or_ledger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    export = write_export(tmp_path / "orders.csv", [row("O1", "I1"), row("O2", "I2", Pincode="1")])
    state = upload_orders(
        paths=[str(export)],
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        return_state=True,
    )
    summary = run_summary(state)
    assert summary["orders_accepted"] == 1  # the key did work on the wire
    seen = [caplog.text, *capsys.readouterr()]
    seen += [
        p.read_bytes().decode("utf-8", "replace")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != "sandbox.db"
    ]
    seen.append(json.dumps(prefect_artifacts(), default=str))
    assert all(CANARY not in text for text in seen)
    report = Path(summary["report"])
    assert (report.stat().st_mode & 0o077) == 0
    for file in report.iterdir():
        assert (file.stat().st_mode & 0o077) == 0, file
    failures = list(csv.DictReader((report / "failures.csv").open(encoding="utf-8-sig")))
    assert [r["error_row"] for r in failures] == ["3"]
