"""Bad input at scale stays bounded: 200,000 rows that all fail, validated by the real CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.invalid import write_invalid_oker

ROWS = 200_000
PEAK_LIMIT_BYTES = 2 * 1024**3


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_200000_invalid_rows_are_all_reported_within_2_gb(tmp_path: Path) -> None:
    export = tmp_path / "broken-oker.csv"
    write_invalid_oker(export, rows=ROWS)
    reports = tmp_path / "reports"
    entry = Path(sys.executable).with_name("uniload")
    command = [str(entry)] if entry.exists() else [sys.executable, "-m", "flows.cli.main"]
    command += ["validate", str(export), "--profile", "oker", "--report-dir", str(reports)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read().decode()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, no other process's
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    assert child.returncode == 2, errors  # 2: rows failed
    assert usage.ru_maxrss * 1024 < PEAK_LIMIT_BYTES  # ru_maxrss is in KiB on Linux
    [folder] = reports.iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["rows_read"], summary["rows_failed"]) == (ROWS, ROWS)
    with (folder / "failures.csv").open(encoding="utf-8-sig", newline="") as report:
        rows = list(csv.DictReader(report))
    assert [int(r["error_row"]) for r in rows] == list(range(2, ROWS + 2))
    assert all("Order Item ID: required, but empty" in r["error_reason"] for r in rows)
    assert {r["Order ID"] for r in rows} == {f"OKR{n:09d}" for n in range(1, ROWS // 2 + 1)}
