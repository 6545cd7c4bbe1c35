"""The report server over real HTTP: runs listed, one run's page, files downloaded, nothing else."""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from openpyxl import load_workbook

from flows.report.server import ReportServer, start_report_server
from flows.report.writer import write_report
from transforms.errors import RowError

FILE = "oker.csv"
RAW = pd.DataFrame(
    {"Order ID": ["A", "B"], "Pincode": ["395007", "x"]},
    index=pd.Index([2, 3], name="row"),
)
ERRORS = [RowError(FILE, 3, "validate", "Pincode", "x", "must have 6 digits, got 'x'")]
SECRET = b"outside the store: never served"


def _summary(run_id: str, finished_at: str, failed: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "finished_at": finished_at,
        "rows_read": 2,
        "rows_accepted": 2 - failed,
        "rows_failed": failed,
        "orders_accepted": 0,
        "dry_run": True,
    }


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with two complete runs, one broken summary, one stray file; a secret beside it."""
    root = tmp_path / "reports"
    write_report(
        str(root), "older", [(FILE, RAW)], ERRORS, _summary("older", "2026-11-01T02:00:00+00:00", 1)
    )
    write_report(
        str(root), "newer", [(FILE, RAW)], ERRORS, _summary("newer", "2026-11-27T02:00:00+00:00", 1)
    )
    broken = root / "broken"
    broken.mkdir()
    (broken / "summary.json").write_text('{"run_id": "broken", "rows_read": ')
    os.utime(broken, (1_700_000_000, 1_700_000_000))  # 2023: sorted by its folder's time
    (root / "notes.txt").write_text("not a run")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "summary.json").write_bytes(SECRET)
    return root


@pytest.fixture
def server(store: Path) -> Iterator[ReportServer]:
    running = start_report_server(store, host="127.0.0.1", port=0)
    yield running
    running.stop()


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_index_lists_runs_newest_first_and_tolerates_a_broken_summary(
    server: ReportServer,
) -> None:
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert _links(page.text) == ["runs/newer/", "runs/older/", "runs/broken/"]
    assert "summary.json unreadable" in page.text
    assert "notes.txt" not in page.text


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    running = start_report_server(tmp_path / "not-yet", port=0)
    try:
        assert "No run reports yet." in httpx.get(f"{running.url}/").text
    finally:
        running.stop()


def test_a_run_page_shows_counts_and_links_every_report_file(
    server: ReportServer, store: Path
) -> None:
    page = httpx.get(f"{server.url}/runs/newer/")
    assert page.status_code == 200
    assert "<th>rows failed</th><td>1</td>" in page.text
    assert "2026-11-27T02:00:00+00:00" in page.text
    files = ["failures.xlsx", "failures.csv", "summary.md", "summary.json"]
    assert _links(page.text) == [*files, "../../"]
    for name in files:
        got = httpx.get(f"{server.url}/runs/newer/{name}")
        assert got.status_code == 200
        assert got.content == (store / "newer" / name).read_bytes()


def test_a_run_without_readable_summary_still_has_a_page(server: ReportServer) -> None:
    page = httpx.get(f"{server.url}/runs/broken/")
    assert page.status_code == 200
    assert "No readable summary.json" in page.text
    assert _links(page.text) == ["summary.json", "../../"]


def test_the_workbook_downloads_as_an_attachment_and_opens(
    server: ReportServer, store: Path, tmp_path: Path
) -> None:
    got = httpx.get(f"{server.url}/runs/older/failures.xlsx")
    assert got.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert got.headers["content-disposition"] == 'attachment; filename="older-failures.xlsx"'
    assert got.headers["cache-control"] == "no-store"
    saved = tmp_path / "downloaded.xlsx"
    saved.write_bytes(got.content)
    sheet = load_workbook(saved)["failures"]
    row = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    assert row["error_file"] == "oker.csv"
    assert [v for k, v in row.items() if not str(k).startswith("error_")][:2] == ["B", "x"]
    csv = httpx.get(f"{server.url}/runs/older/failures.csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == 'attachment; filename="older-failures.csv"'
    summary = httpx.get(f"{server.url}/runs/older/summary.json")
    assert summary.headers["content-type"] == "application/json"
    assert "content-disposition" not in summary.headers
    assert summary.json()["rows_failed"] == 1


def test_head_sends_the_headers_of_get_and_no_body(server: ReportServer, store: Path) -> None:
    head = httpx.head(f"{server.url}/runs/newer/failures.xlsx")
    assert head.status_code == 200
    assert head.content == b""
    size = (store / "newer" / "failures.xlsx").stat().st_size
    assert int(head.headers["content-length"]) == size
    assert head.headers["content-disposition"].startswith("attachment")
    assert httpx.head(f"{server.url}/runs/nope/").status_code == 404


def test_a_run_without_its_slash_is_redirected(server: ReportServer) -> None:
    got = httpx.get(f"{server.url}/runs/newer")
    assert got.status_code == 301
    assert got.headers["location"] == "newer/"
    assert httpx.get(f"{server.url}/runs/newer", follow_redirects=True).url.path == "/runs/newer/"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head_are_allowed(server: ReportServer, store: Path, method: str) -> None:
    got = httpx.request(method, f"{server.url}/runs/newer/summary.json", content=b"x")
    assert got.status_code == 405
    assert got.headers["allow"] == "GET, HEAD"
    assert json.loads((store / "newer" / "summary.json").read_text())["run_id"] == "newer"


TRAVERSALS = [
    "/runs/../secret.txt",
    "/runs/newer/../../secret.txt",
    "/runs/newer/..%2f..%2fsecret.txt",
    "/runs/newer/..%2F..%2Fsecret.txt",
    "/runs/%2e%2e/secret.txt",
    "/runs/newer%2fsummary.json",
    "/runs/newer/..%5c..%5csecret.txt",
    "/runs/newer/summary.json%00",
    "/%2e%2e/secret.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/runs//etc/passwd",
    "/runs/newer//etc/passwd",
    "/runs/escape/summary.json",
    "/runs/escape/",
    "/runs/newer/failures-leak.csv",
    "/runs/newer/notes.txt",
    "/secret.txt",
    "/runs/",
    "/runs/newer/failures.xlsx/x",
]


def test_nothing_outside_the_store_or_beside_the_report_files_is_served(
    server: ReportServer, store: Path, tmp_path: Path
) -> None:
    (store / "escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (store / "newer" / "failures-leak.csv").symlink_to(tmp_path / "secret.txt")
    (store / "newer" / "notes.txt").write_text("a file that is no report file")
    host, port = server.httpd.server_address[:2]
    for path in TRAVERSALS:
        connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
        connection.request("GET", path)  # sent as is: no client-side normalising
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert (path, response.status) == (path, 404)
        assert SECRET not in body


def test_the_served_folder_is_resolved_once_and_absolute(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.parent)
    running = start_report_server(Path("reports"), port=0)
    try:
        monkeypatch.chdir(os.sep)  # a later chdir does not move what is served
        assert httpx.get(f"{running.url}/runs/newer/summary.json").status_code == 200
    finally:
        running.stop()
