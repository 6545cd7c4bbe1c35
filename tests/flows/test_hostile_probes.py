"""Probes of issue 17 that had no test yet: a read-only ledger, a ledger disk filling mid-run,
an unreadable file in the inbox. Each ends in one line (or is counted), never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.flows.runs import OKER_MAP, Result, held, oker_export, uniload
from uniware.ledger import Ledger
from uniware.sandbox import SandboxServer

pytestmark = pytest.mark.usefixtures("prefect_harness", "quiet_prefect")


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *more: str) -> Result:
    export = tmp_path / "orders.csv"
    if not export.exists():
        oker_export(export)
    return uniload(
        capsys, "run", str(export), "--facility-map", str(OKER_MAP),
        "--report-dir", str(tmp_path / "reports"), "--ledger", str(tmp_path / "ledger.db"), *more,
    )  # fmt: skip


def closing_line(result: Result, word: str) -> str:
    """The one "uniload:" line holding ``word`` (progress lines start with "uniload:" too)."""
    said = [line for line in result.err.splitlines() if line.startswith("uniload: ")]
    [line] = [line for line in said if word in line]
    return line


@pytest.fixture
def read_only_ledger(tmp_path: Path) -> Iterator[Path]:
    """A real ledger nobody may write: immutable for root (chattr +i), mode 0444 for others."""
    path = tmp_path / "ledger.db"
    Ledger.open(str(path)).close()
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield path
        return
    if shutil.which("chattr") is None:
        pytest.skip("root without chattr: cannot make a file read-only")
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_ledger_is_refused_before_posting(
    tmp_path: Path,
    read_only_ledger: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run(tmp_path, capsys)
    assert result.code == 1 and "Traceback" not in result.text, result.text
    said = closing_line(result, "uniload: ledger")
    assert f"ledger {read_only_ledger}" in said and "readonly" in said, said
    assert held(oker_server.base_url, "orders")["count"] == 0


def test_a_ledger_disk_filling_mid_run_stops_posting_and_the_rerun_finishes(
    tmp_path: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim_many, claims = Ledger.claim_many, [0]

    def claim_until_full(self: Ledger, wanted: Any, **kwargs: Any) -> Any:
        claims[0] += len(wanted)  # one at a time: the run below has one request in flight
        if claims[0] > 2:
            full = sqlite3.OperationalError("database or disk is full")
            raise OperationalError("INSERT INTO uniload_ledger ...", {}, full)
        return claim_many(self, wanted, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "claim_many", claim_until_full)
        broken = run(tmp_path, capsys, "--concurrency", "1")
    assert broken.code == 1 and "Traceback" not in broken.text, broken.text
    said = closing_line(broken, "database or disk is full")
    assert f"the ledger {tmp_path / 'ledger.db'} failed" in said, said
    assert "posting stopped" in said and "run the same command again" in said
    assert held(oker_server.base_url, "orders")["count"] == 2  # no order sent unrecorded

    again = run(tmp_path, capsys)
    assert again.code == 0, again.text
    sent = Counter(r["id"] for r in held(oker_server.base_url, "requests")["requests"])
    assert sent and set(sent.values()) == {1}, sent  # nothing posted twice


def test_an_unreadable_inbox_file_counts_as_a_failed_input(tmp_path: Path) -> None:
    from flows.upload import upload_orders

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    oker_export(inbox / "a-orders.csv")
    (inbox / "b-photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    old = time.time() - 600
    for path in inbox.iterdir():
        os.utime(path, (old, old))
    state = upload_orders(
        inbox=str(inbox),
        dry_run=True,
        facility_map=str(OKER_MAP),
        report_dir=str(tmp_path / "reports"),
        return_state=True,
    )
    summary = state.result()
    assert isinstance(summary, dict) and summary["files_failed"] == 1, summary
    [gone] = [f for f in summary["files"] if f.get("error")]
    assert gone["name"] == "b-photo.csv" and "binary" in gone["error"]
    assert state.name == "Completed with failures", state
    assert (inbox / "failed").is_dir() and list((inbox / "failed").glob("*b-photo.csv"))
