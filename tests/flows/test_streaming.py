"""Runs block by block: they match a whole-file run, and the report is written as they go."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from bench.exports import write_oker_export
from flows import settings
from flows.config import RunOptions
from flows.exceptions import ConfigError
from flows.report.writer import ReportWriter
from flows.settings import OKER_FACILITY_MAP
from flows.upload import upload_orders
from tests.flows.runs import run_summary
from tests.flows.sandboxes import point_at
from transforms import tally
from uniware.config import demo_credentials
from uniware.sandbox import SandboxServer, running_sandbox

FILE = "orders.csv"
CHUNK_ROWS = 97  # small and odd: chunk boundaries cut through many orders
ROWS = 2000
SAME_COUNTS = (
    "rows_read",
    "rows_accepted",
    "rows_already_accepted",
    "rows_failed",
    "rows_ready",
    "rows_skipped",
    "orders_skipped_by_reason",
    "rows_failed_by_stage",
    "orders_built",
    "orders_accepted",
    "orders_failed",
    "errors_by_field",
    "warnings",
    "warnings_by_reason",
    "files",
)


def test_a_block_has_at_least_one_row() -> None:
    with pytest.raises(ConfigError, match="--chunk-rows must be at least 1"):
        RunOptions(chunk_rows=0)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A generated Oker export of a few thousand rows, about 3% of them bad."""
    path = tmp_path / FILE
    facts = write_oker_export(path, rows=ROWS, seed=11, bad_share=0.03)
    assert facts.bad and facts.orders > 500
    return path


def _run(export: Path, folder: Path, **params: Any) -> dict[str, Any]:
    state = upload_orders(
        paths=[str(export)],
        facility_map=str(OKER_FACILITY_MAP),
        report_dir=str(folder / "reports"),
        ledger=str(folder / "ledger.db"),
        rate=0,
        return_state=True,
        **params,
    )
    assert not state.is_failed(), state.message
    return run_summary(state)


def _failures(summary: dict[str, Any]) -> bytes:
    return (Path(summary["report"]) / "failures.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_streamed_dry_run_reports_what_a_normal_dry_run_reports(
    export: Path, tmp_path: Path
) -> None:
    normal = _run(export, tmp_path / "normal", dry_run=True)
    streamed = _run(export, tmp_path / "streamed", dry_run=True, chunk_rows=CHUNK_ROWS)
    assert {k: streamed[k] for k in SAME_COUNTS} == {k: normal[k] for k in SAME_COUNTS}
    assert streamed["rows_ready"] + streamed["rows_failed"] + streamed["rows_skipped"] == ROWS
    assert streamed["rows_skipped"] > 0  # the generated export has cancelled orders
    assert streamed["rows_failed_by_stage"]["group"] > 0  # orders sent whole across chunks
    assert _failures(streamed) == _failures(normal)  # same rows, reasons, columns and bytes
    report = Path(streamed["report"])
    assert (report / "failures.xlsx").stat().st_size > 0
    assert json.loads((report / "summary.json").read_text())["rows_read"] == ROWS
    assert "blocks of whole orders" in (report / "summary.md").read_text()


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[tuple[SandboxServer, SandboxServer]]:
    """Two fresh sandboxes: one for the normal run, one for the streamed run."""
    facility_map = json.loads(OKER_FACILITY_MAP.read_text())
    kwargs = {"facility_map": facility_map, "credentials": demo_credentials()}
    with (
        running_sandbox(db_path=tmp_path / "normal.db", **kwargs) as first,
        running_sandbox(db_path=tmp_path / "streamed.db", **kwargs) as second,
    ):
        yield first, second


def _use(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, sandbox.base_url)


def _held(sandbox: SandboxServer) -> list[str]:
    return sorted(httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=30).json()["ids"])


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_streamed_run_posts_the_orders_a_normal_run_posts(
    export: Path,
    tmp_path: Path,
    sandboxes: tuple[SandboxServer, SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(sandboxes[0], monkeypatch)
    normal = _run(export, tmp_path / "normal")
    _use(sandboxes[1], monkeypatch)
    streamed = _run(export, tmp_path / "streamed", chunk_rows=CHUNK_ROWS)
    assert _held(sandboxes[1]) == _held(sandboxes[0])
    assert len(_held(sandboxes[1])) == streamed["orders_accepted"] > 500
    assert {k: streamed[k] for k in SAME_COUNTS} == {k: normal[k] for k in SAME_COUNTS}
    done = streamed["rows_accepted"] + streamed["rows_failed"] + streamed["rows_skipped"]
    assert done == streamed["rows_read"] == ROWS
    assert _failures(streamed) == _failures(normal)

    again = _run(export, tmp_path / "streamed", chunk_rows=CHUNK_ROWS)  # nothing posted twice
    assert again["orders_already_accepted"] == streamed["orders_accepted"]
    assert again["orders_accepted"] == streamed["orders_accepted"]


def _move_to_end(export: Path, order_row: int) -> list[str]:
    """Move one data row (spreadsheet number) to the end of the file; returns its cells."""
    with export.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    moved = rows.pop(order_row - 1)
    with export.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([*rows, moved])
    return moved


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_row_away_from_its_order_fails_and_says_how_to_fix_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / FILE
    write_oker_export(export, rows=400, seed=5)
    order_ids = pd.read_csv(export, dtype=str)["Order ID"]
    second = int(order_ids[order_ids.duplicated()].index[0])  # 0-based: a second item's row
    order = order_ids[second]
    moved = _move_to_end(export, second + 2)
    after = pd.read_csv(export, dtype=str)["Order ID"].iloc[:-1]
    complete = int(after[after == order].index.max()) + 2  # the order's last row in place
    monkeypatch.setattr(tally, "XLSX_MAX_FAILURES", 0)
    summary = _run(export, tmp_path, dry_run=True, chunk_rows=CHUNK_ROWS)
    assert (summary["rows_read"], summary["rows_failed"]) == (400, 1)
    assert summary["rows_failed_by_stage"]["group"] == 1
    with (Path(summary["report"]) / "failures.csv").open(encoding="utf-8-sig") as f:
        (failed,) = list(csv.DictReader(f))
    assert failed["Order Item ID"] == moved[1]
    assert failed["error_row"] == "401"
    assert failed["error_reason"] == (
        f"Order ID: order {order} appeared again at row 401 after its order was complete at "
        f"row {complete}; sort the file by order id: a large file is read in blocks, so an "
        "order's rows must stand together"
    )
    report = Path(summary["report"])
    assert not (report / "failures.xlsx").exists()
    assert "failures.xlsx was not written" in (report / "summary.md").read_text()


@pytest.mark.parametrize("where", ["folder", "memory"], ids=["local folder", "fsspec url"])
def test_a_streamed_report_has_one_header_and_private_files(tmp_path: Path, where: str) -> None:
    import fsspec

    location = str(tmp_path / "reports") if where == "folder" else f"memory://s-{tmp_path.name}"
    part = pd.DataFrame({"Order ID": ["=A"], "error_row": [2]})
    with ReportWriter(location, "run-1") as report:
        report.start_file(FILE)
        report.append(part.iloc[:0])
        report.append(part)
        report.append(part.assign(error_row=[9]))
        report.close_failures()
        report.write("summary.json", b"{}")
    fs, root = fsspec.core.url_to_fs(report.folder)
    text = fs.cat_file(f"{root}/failures.csv").decode("utf-8")
    # one BOM and one header; cells as given (run_block neutralises them before)
    assert text == "\ufeffOrder ID,error_row\r\n=A,2\r\n=A,9\r\n"
    assert fs.cat_file(f"{root}/summary.json") == b"{}"
    if where == "folder":
        assert {p.stat().st_mode & 0o777 for p in Path(root).iterdir()} == {0o600}
        assert Path(root).stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_stopped_streamed_run_still_reports_every_row(
    export: Path,
    tmp_path: Path,
    sandboxes: tuple[SandboxServer, SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(sandboxes[0], monkeypatch)
    monkeypatch.setenv("UNIWARE_SECURITY_KEY", "not-the-key")
    state = upload_orders(
        paths=[str(export)],
        facility_map=str(OKER_FACILITY_MAP),
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        chunk_rows=CHUNK_ROWS,
        return_state=True,
    )
    assert state.is_failed()
    assert "Posting stopped" in str(state.message)
    assert _held(sandboxes[0]) == []
    (summary_file,) = (tmp_path / "reports").glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["rows_failed"] + summary["rows_skipped"] == summary["rows_read"] == ROWS
    assert summary["rows_failed_by_stage"]["post"] > ROWS / 2  # later blocks: not sent
    with (summary_file.parent / "failures.csv").open(encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == summary["rows_failed"]
    with (summary_file.parent / "skipped.csv").open(encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == summary["rows_skipped"] > 0  # cancelled orders


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_large_file_runs_block_by_block_without_asking_and_reports_as_a_whole_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, small = tmp_path / "in" / "big.csv", tmp_path / "in" / "small.csv"
    big.parent.mkdir()
    write_oker_export(big, rows=ROWS, seed=11, bad_share=0.03)
    write_oker_export(small, rows=300, seed=12, bad_share=0.05, start_order=900_000)
    assert small.stat().st_size < 200_000 < big.stat().st_size
    monkeypatch.setenv("UNILOAD_STREAM_ABOVE_BYTES", str(10**9))
    whole = _run(big.parent, tmp_path / "whole", dry_run=True)
    monkeypatch.setenv("UNILOAD_STREAM_ABOVE_BYTES", "200000")  # big.csv is over it
    monkeypatch.setattr(settings, "DEFAULT_BLOCK_ROWS", CHUNK_ROWS)  # many blocks, few rows
    blocks = _run(big.parent, tmp_path / "blocks", dry_run=True)
    assert whole["blocks"] == 1
    assert blocks["blocks"] > ROWS / CHUNK_ROWS  # both files, block by block
    assert {k: blocks[k] for k in SAME_COUNTS} == {k: whole[k] for k in SAME_COUNTS}
    assert [f["name"] for f in blocks["files"]] == ["big.csv", "small.csv"]
    assert blocks["rows_read"] == ROWS + 300
    for name in ("failures-big.csv", "failures-small.csv"):
        got = (Path(blocks["report"]) / name).read_bytes()
        assert got == (Path(whole["report"]) / name).read_bytes()
        assert got.count(b"\r\n") > 1  # a header and failed rows
    assert "blocks of whole orders" in (Path(blocks["report"]) / "summary.md").read_text()
    assert not list(Path(blocks["report"]).glob("*.part"))
