"""The inbox flow end to end in this process: settled files claimed, posted, reported, filed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from flows.upload import upload_orders
from tests.flows.runs import OKER_MAP, SAMPLE_ORDERS, held, oker_export, read_csv, run_summary
from uniware.sandbox import SandboxServer

SETTLED = time.time() - 600  # older than the inbox's settle time: the file is complete
BAD_PINCODE = {"OKI00000000301": {"Pincode": "7000"}}  # order OKR000000003: rows 7 and 8


def settled(path: Path) -> Path:
    os.utime(path, (SETTLED, SETTLED))
    return path


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("blocks", [False, True], ids=["whole", "block by block"])
def test_an_inbox_run_posts_reports_and_files_away_each_settled_file(
    tmp_path: Path, oker_server: SandboxServer, monkeypatch: pytest.MonkeyPatch, blocks: bool
) -> None:
    if blocks:  # every file counts as large: the run goes block by block
        monkeypatch.setenv("UNILOAD_STREAM_ABOVE_BYTES", "1")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    orders = settled(oker_export(inbox / "orders.csv", BAD_PINCODE))
    stranger = inbox / "stock.csv"
    stranger.write_text("Warehouse,Item,On Hand\nBLR,shirt,4\n", encoding="utf-8")
    settled(stranger)
    fresh = oker_export(inbox / "still-copying.csv")  # modified just now: not claimed

    state = upload_orders(
        inbox=str(inbox),
        facility_map=str(OKER_MAP),
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        return_state=True,
    )

    assert state.is_completed(), state.message
    assert state.name == "Completed with failures"
    summary = run_summary(state)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_failed"]) == (7, 5, 2)
    assert sorted(held(oker_server.base_url, "orders")["ids"]) == SAMPLE_ORDERS[:2]
    failed = read_csv(Path(summary["report"]) / "failures.csv")
    assert sorted({(r["Order Item ID"], r["error_row"]) for r in failed}) == [
        ("OKI00000000301", "7"),
        ("OKI00000000302", "8"),
    ]
    [archived] = (inbox / "archive").iterdir()
    assert archived.name.endswith("-orders.csv") and not orders.exists()
    assert archived.read_bytes() == oker_export(tmp_path / "same.csv", BAD_PINCODE).read_bytes()
    [refused] = (inbox / "failed").glob("*-stock.csv")
    reason = refused.with_name(refused.name + ".reason.txt").read_text(encoding="utf-8")
    assert "stock.csv" in reason and "--profile" in reason, reason
    assert fresh.is_file(), "a file still being written stays for the next run"
    note = (Path(summary["report"]) / "summary.md").read_text(encoding="utf-8")
    assert ("blocks of whole orders" in note) == blocks
    assert not list((inbox / "processing").rglob("*.csv"))
