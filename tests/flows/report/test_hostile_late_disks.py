"""Disks that fail after the preflight passed: the report cannot be written once orders went out.

The run must end in one line naming the report folder, saying the orders sent are in the ledger
and that running the same command again writes the report; the rerun posts nothing twice.
"""

from __future__ import annotations

import errno
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.post import posting
from flows.report.store import FAILURES_XLSX, ReportStore
from flows.report.writer import ReportWriter
from tests.flows.runs import OKER_MAP, Result, held, oker_export, uniload
from uniware.sandbox import SandboxServer

pytestmark = pytest.mark.usefixtures("prefect_harness", "quiet_prefect")


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Result:
    export = tmp_path / "orders.csv"
    if not export.exists():
        oker_export(export)
    reports, ledger = tmp_path / "reports", tmp_path / "ledger.db"
    return uniload(
        capsys, "run", str(export), "--facility-map", str(OKER_MAP),
        "--report-dir", str(reports), "--ledger", str(ledger), *extra,
    )  # fmt: skip


def last_word(result: Result) -> str:
    """The run's closing message (the progress lines before it start with "uniload:" too)."""
    return [line for line in result.err.splitlines() if line.startswith("uniload: ")][-1]


def assert_each_order_sent_once(server: SandboxServer) -> None:
    """Across both runs, the sandbox saw one request per order: the rerun re-posted nothing."""
    sent = Counter(r["id"] for r in held(server.base_url, "requests")["requests"])
    assert sent and set(sent.values()) == {1}, sent


def disk_full_at_xlsx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """failures.csv is written, then the disk is full (the preflight's probe still passes)."""
    write = ReportStore.write_file

    def full(self: ReportStore, run_id: str, name: str, data: bytes) -> str:
        if name == FAILURES_XLSX:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, run_id, name, data)

    monkeypatch.setattr(ReportStore, "write_file", full)


def folder_becomes_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Once the orders are posted, someone replaces the report folder by a file."""
    post = posting.post_payloads

    def post_then_break(*args: Any, **kwargs: Any) -> Any:
        sent = post(*args, **kwargs)
        shutil.rmtree(tmp_path / "reports")
        (tmp_path / "reports").write_text("not a folder any more")
        return sent

    monkeypatch.setattr(posting, "post_payloads", post_then_break)


@pytest.mark.parametrize(
    ("breaking", "reason"),
    [
        (disk_full_at_xlsx, "No space left on device"),
        (folder_becomes_a_file, "a file, not a folder"),
    ],
    ids=["disk-full", "folder-is-a-file"],
)
def test_a_report_that_cannot_be_written_after_posting_says_how_to_finish(
    tmp_path: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    breaking: Callable[[pytest.MonkeyPatch, Path], None],
    reason: str,
) -> None:
    with monkeypatch.context() as patch:
        breaking(patch, tmp_path)
        broken = run(tmp_path, capsys)
    assert broken.code == 1, broken.text
    assert "Traceback" not in broken.text
    said = last_word(broken)
    folder = tmp_path / "reports"
    assert str(folder) in said and reason in said, said
    assert f"ledger {tmp_path / 'ledger.db'}" in said and "run the same command again" in said
    posted = held(oker_server.base_url, "orders")["count"]
    assert posted > 0  # the orders did go out before the report failed

    if folder.is_file():
        folder.unlink()
    again = run(tmp_path, capsys)
    assert again.code == 0, again.text
    assert held(oker_server.base_url, "orders")["count"] == posted
    assert_each_order_sent_once(oker_server)
    [summary] = folder.glob("*/summary.json")
    assert '"rows_already_accepted": 7' in summary.read_text()


def test_a_dry_run_whose_report_fails_says_nothing_was_posted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full_at_xlsx(monkeypatch, tmp_path)
    result = run(tmp_path, capsys, "--dry-run")
    assert result.code == 1 and "Traceback" not in result.text, result.text
    said = last_word(result)
    assert "No space left on device" in said and "nothing was posted" in said, said


@pytest.mark.parametrize("at", ["append", "write"], ids=["mid-run", "summary"])
def test_a_streamed_report_that_cannot_be_written_says_how_to_finish(
    tmp_path: Path,
    oker_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    at: str,
) -> None:
    calls = {"n": 0}
    original = getattr(ReportWriter, at)

    def full(self: ReportWriter, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # append: the first block's failures; write: the summary
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(ReportWriter, at, full)
        broken = run(tmp_path, capsys, "--chunk-rows", "3")
    assert broken.code == 1 and "Traceback" not in broken.text, broken.text
    said = last_word(broken)
    assert str(tmp_path / "reports") in said and "No space left on device" in said, said
    assert f"ledger {tmp_path / 'ledger.db'}" in said and "run the same command again" in said
    first = held(oker_server.base_url, "orders")["ids"]
    assert first  # the first block's orders went out before the disk failed
    again = run(tmp_path, capsys, "--chunk-rows", "3")
    assert again.code == 0, again.text
    assert_each_order_sent_once(oker_server)
