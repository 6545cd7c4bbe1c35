"""Shared helpers for the flow tests: `uniload` in this process, the Oker sample, the reports.

Test modules import these from here (never from one another).
"""

from __future__ import annotations

import asyncio
import csv
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
from prefect.client.schemas.objects import State
from prefect.logging.handlers import PrefectConsoleHandler

from flows import settings
from flows.cli.main import main

SAMPLE = settings.SAMPLES_DIR / "oker-orders.csv"
OKER_MAP = settings.OKER_FACILITY_MAP
SAMPLE_ROWS = 7  # rows 2-8 of the sample: orders OKR000000001 (1 row), 002 (4), 003 (2)
SAMPLE_ORDERS = ["OKR000000001", "OKR000000002", "OKR000000003"]


@dataclass(frozen=True)
class Result:
    """What one `uniload` command printed and returned."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def uniload(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """Run `uniload ARGS` in this process (the Prefect test server is reused)."""
    with prefect_console_on(sys.stderr):
        code = main(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@contextmanager
def prefect_console_on(stream: TextIO) -> Iterator[None]:
    """Prefect's console log goes to `stream`, as it would to the seller's screen.

    Prefect's console handler keeps the stream it was built with: an earlier test's capture.
    """
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    found = {h for lg in loggers for h in getattr(lg, "handlers", [])}
    saved = [(h, h.stream) for h in found if isinstance(h, PrefectConsoleHandler)]
    for handler, _ in saved:
        handler.stream = handler.console.file = stream
    try:
        yield
    finally:
        for handler, old in saved:
            handler.stream = handler.console.file = old


def assert_run_failed(result: Result, *words: str) -> None:
    """Exit 1, the words in the message, and no traceback anywhere on screen."""
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    for word in words:
        assert word in result.err


def report_folder(result: Result) -> Path:
    """The report folder a run printed as `report: PATH`."""
    found = re.search(r"^report: (.+)$", result.out, re.MULTILINE)
    assert found, result.text
    return Path(found.group(1))


def read_csv(path: Path) -> list[dict[str, str]]:
    """A report CSV (UTF-8 with BOM) as dicts."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def oker_export(path: Path, changes: dict[str, dict[str, str]] | None = None) -> Path:
    """Rows 2-8 of the Oker sample (all valid), with cells changed per Order Item ID."""
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:SAMPLE_ROWS]
    for row in rows:
        row.update((changes or {}).get(row["Order Item ID"], {}))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_options(tmp_path: Path) -> list[str]:
    """Facility map, report folder and ledger of a test run."""
    reports, ledger = str(tmp_path / "reports"), str(tmp_path / "ledger.db")
    return ["--facility-map", str(OKER_MAP), "--report-dir", reports, "--ledger", ledger]


def held(sandbox_url: str, what: str) -> dict[str, Any]:
    """One of the sandbox's inspection answers (orders, requests, stats)."""
    answer: dict[str, Any] = httpx.get(f"{sandbox_url}/_sandbox/{what}", timeout=10).json()
    return answer


def run_summary(state: State[Any]) -> dict[str, Any]:
    """The summary an `upload_orders` run returned (its flow may also end in a State)."""
    summary = state.result()
    assert isinstance(summary, dict), summary
    return summary


def prefect_artifacts() -> list[object]:
    """Every artifact the current Prefect API holds, as plain dicts."""
    from prefect.client.orchestration import get_client

    async def read() -> list[object]:
        async with get_client() as client:
            return [a.model_dump() for a in await client.read_artifacts()]

    return asyncio.run(read())
