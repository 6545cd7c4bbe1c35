"""Broken disks: report folder and ledger are checked before the first request, and a ledger
failing mid-run stops posting with a one-line message naming the path and the rerun."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.report.store import ReportStore
from tests.flows.runs import (
    OKER_MAP,
    Result,
    held,
    oker_export,
    uniload,
)
from tests.uniware.deliveries import deliver, order
from uniware.delivery import Delivery
from uniware.exceptions import LedgerFailed
from uniware.ledger import Ledger
from uniware.sandbox import SandboxServer, running_sandbox

pytestmark = pytest.mark.usefixtures("quiet_prefect")


def run_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reports: Path, ledger: Path
) -> Result:
    export = oker_export(tmp_path / "orders.csv")
    options = [
        "--facility-map",
        str(OKER_MAP),
        "--report-dir",
        str(reports),
        "--ledger",
        str(ledger),
    ]
    return uniload(capsys, "run", str(export), *options)


def assert_refused_before_posting(result: Result, server: SandboxServer, *words: str) -> None:
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    [said] = [line for line in result.err.splitlines() if line.startswith("uniload: ")]
    for word in words:
        assert word in said, said
    assert held(server.base_url, "orders")["count"] == 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_report_dir_that_is_a_file_is_refused_before_posting(
    tmp_path: Path, oker_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    reports.write_text("not a folder")
    result = run_with(tmp_path, capsys, reports, tmp_path / "ledger.db")
    assert_refused_before_posting(result, oker_server, str(reports), "a file, not a folder")


@pytest.mark.usefixtures("prefect_harness")
def test_a_full_disk_under_the_report_dir_is_refused_before_posting(
    tmp_path: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full(self: ReportStore, run_id: str, size: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ReportStore, "probe_run_folder", full)
    result = run_with(tmp_path, capsys, tmp_path / "reports", tmp_path / "ledger.db")
    assert_refused_before_posting(result, oker_server, "No space left on device", "free disk space")


def write_other_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE uniload_ledger (order_id TEXT PRIMARY KEY, note TEXT)")


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.mkdir(), "--ledger"),
        (lambda p: p.write_bytes(b"\x13\x37" * 4096), "not a database"),
        (write_other_schema, "not a uniload ledger"),
    ],
    ids=["a-folder", "corrupt", "other-schema"],
)
def test_an_unusable_ledger_is_refused_before_posting(
    tmp_path: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], object],
    words: str,
) -> None:
    ledger = tmp_path / "ledger.db"
    make(ledger)
    result = run_with(tmp_path, capsys, tmp_path / "reports", ledger)
    assert_refused_before_posting(result, oker_server, f"ledger {ledger}", words)


class DeletingLedgerAfterFirst(list[Delivery]):
    """Deliveries seen; the ledger's files are deleted once the first one is in."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def append(self, delivery: Delivery) -> None:
        super().append(delivery)
        if len(self) == 1:
            for file in self.folder.glob("ledger.db*"):
                file.unlink()


def test_a_ledger_deleted_mid_run_stops_posting_naming_the_path_and_the_rerun(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    seen = DeletingLedgerAfterFirst(tmp_path)
    payloads = [order(n) for n in range(6)]
    with running_sandbox() as sandbox, Ledger.open(str(path)) as ledger:
        with pytest.raises(LedgerFailed) as stopped:
            deliver(sandbox.base_url, payloads, ledger, concurrency=1, seen=seen)
        held_ids = held(sandbox.base_url, "orders")["ids"]
    message = str(stopped.value)
    assert str(path) in message and "run the same command again" in message
    assert "\n" not in message
    assert [d.outcome for d in seen] == ["accepted"] + ["not_sent"] * 5
    assert held_ids == ["ORD-0"]
