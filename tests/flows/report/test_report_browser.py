"""In a real browser: from a run's page in the Prefect UI to its failures.xlsx, opened."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows import settings
from flows.report.server import start_report_server
from tests.prefect_server import PrefectServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SAMPLE = settings.SAMPLES_DIR / "oker-orders.csv"  # its bad rows are the demonstration
WAIT_MS = 30_000


def _dry_run(api_url: str, reports_url: str, reports: Path, cwd: Path) -> str:
    """`uniload run --dry-run` of the sample against the server; returns the flow run id."""
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        settings.ENV_REPORTS_URL: reports_url,
        "PYTHONPATH": str(settings.REPO),
    }
    command = [sys.executable, "-m", "flows.cli.main", "run", "--dry-run", str(SAMPLE)]
    done = subprocess.run(
        [*command, "--report-dir", str(reports)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2, done.stdout + done.stderr  # 2: some rows failed
    (folder,) = reports.iterdir()
    return folder.name


def _download_from_ui(ui: str, run_id: str, to: Path) -> Path:
    """Run page -> Artifacts tab -> uniload-report -> its link -> failures.xlsx, saved."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 1000}
            )
            context.set_default_timeout(WAIT_MS)
            page = context.new_page()
            page.goto(f"{ui}/runs/flow-run/{run_id}")
            page.get_by_text("Artifacts", exact=True).first.click()
            page.get_by_text("Task runs", exact=True).wait_for()
            page.mouse.move(700, 650)
            page.mouse.wheel(0, 2000)  # the task runs' artifact cards load once scrolled to
            page.get_by_text("uniload-report", exact=True).last.click()
            link = page.get_by_role("link", name=f"Failure report and summary of run {run_id}")
            with context.expect_page() as opened:  # the UI opens links in a new tab
                link.click()
            report_page = opened.value
            report_page.wait_for_load_state()
            with report_page.expect_download() as download:
                report_page.get_by_role("link", name="failures.xlsx").click()
            saved = to / download.value.suggested_filename
            download.value.save_as(saved)
        finally:
            browser.close()
    return saved


def _source_rows() -> list[list[str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as source:
        return list(csv.reader(source))


@pytest.mark.slow
def test_a_person_downloads_the_failure_report_from_the_prefect_ui(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        absent = f"{CHROMIUM} is absent: install Debian's chromium to run the browser test"
        if os.environ.get("CI"):
            pytest.fail(absent)  # .ci/run installs it: a skip there would hide the browser test
        pytest.skip(absent)
    reports = tmp_path / "reports"
    server = start_report_server(reports, port=0)
    try:
        run_id = _dry_run(prefect_server.api_url, server.url, reports, tmp_path)
        saved = _download_from_ui(prefect_server.ui_url, run_id, tmp_path)
    finally:
        server.stop()
    assert saved.name == f"{run_id}-failures.xlsx"
    assert saved.read_bytes() == (reports / run_id / "failures.xlsx").read_bytes()
    summary = json.loads((reports / run_id / "summary.json").read_text())
    header, *rows = list(load_workbook(saved)["failures"].iter_rows(values_only=True))
    assert len(rows) == summary["rows_failed"] > 0
    source = _source_rows()
    at = {name: header.index(name) for name in ("Order ID", "Order Item ID", "error_row")}
    for row in rows:
        line = source[int(str(row[at["error_row"]])) - 1]  # row numbers as a spreadsheet shows
        assert (row[at["Order ID"]] or "") == line[0]
        assert (row[at["Order Item ID"]] or "") == line[1]
        assert row[header.index("error_reason")]
