"""Report storage: the files a run leaves, listing and downloading runs, and the CLI."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from flows.cli import reports as reports_cli
from flows.exceptions import ConfigError
from flows.report.failure_csv import build_failure_tables
from flows.report.private_files import write_private
from flows.report.store import ReportStore
from flows.report.writer import write_report
from transforms.errors import RowError
from transforms.failure_table import ERROR_COLUMNS

FILE = "oker.csv"


def _raw(**columns: list[str]) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.Index(range(2, rows + 2), name="row"))


RAW = _raw(
    **{
        "Order ID": ["A", "B", "C"],
        "Pincode": ["395007", "-39500", "x"],
        "Note": ["", "₹ ok", "=1+1"],
    }
)
ERRORS = [
    RowError(FILE, 3, "validate", "Pincode", "-39500", "must have 6 digits, got '-39500'"),
    RowError(FILE, 4, "validate", "Pincode", "x", "must have 6 digits, got 'x'"),
    RowError(FILE, 4, "post", "", "", "INVALID_ITEM_SKU_CODE", order_id="C"),
]


def _summary(run_id: str, finished_at: str = "2025-01-01T10:00:00+00:00") -> dict[str, Any]:
    return {"run_id": run_id, "finished_at": finished_at, "rows_read": 3, "rows_failed": 2}


def _mode(path: Path | str) -> int:
    return os.stat(path).st_mode & 0o777


def _read_csv(path: Path | str) -> list[dict[str, str]]:
    return list(csv.DictReader(Path(path).open(encoding="utf-8-sig", newline="")))


def test_a_run_report_holds_csv_xlsx_and_summaries_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    store = ReportStore(str(tmp_path / "reports"))
    paths = write_report(store.location, "run1", [(FILE, RAW)], ERRORS, _summary("run1"))
    folder = Path(paths.folder)
    assert folder == tmp_path / "reports" / "run1"
    names = {"failures.csv", "failures.xlsx", "summary.json", "summary.md"}
    assert {p.name for p in folder.iterdir()} == names
    assert _mode(folder) == 0o700
    assert all(_mode(p) == 0o600 for p in folder.iterdir())
    assert json.loads(Path(paths.summary_json).read_text())["run_id"] == "run1"
    assert "INVALID_ITEM_SKU_CODE" in Path(paths.summary_md).read_text()


def test_the_csv_has_a_bom_neutralised_formulas_and_round_trips(tmp_path: Path) -> None:
    paths = write_report(str(tmp_path), "r", [(FILE, RAW)], ERRORS, _summary("r"))
    (csv_path,) = paths.failures_csv
    assert Path(csv_path).read_bytes().startswith(b"\xef\xbb\xbfOrder ID,Pincode,Note,error_file")
    rows = _read_csv(csv_path)
    assert [r["Order ID"] for r in rows] == ["B", "C"]
    assert [r["Note"] for r in rows] == ["₹ ok", "'=1+1"]
    assert rows[0]["Pincode"] == "'-39500"
    assert [r["Pincode"].removeprefix("'") for r in rows] == ["-39500", "x"]
    assert rows[1]["error_reason"] == "Pincode: must have 6 digits, got 'x'\nINVALID_ITEM_SKU_CODE"
    assert rows[1]["error_field"] == "Pincode\n-"  # one line per error, aligned


def test_the_xlsx_flags_each_offending_cell_with_its_reason(tmp_path: Path) -> None:
    paths = write_report(str(tmp_path), "r", [(FILE, RAW)], ERRORS, _summary("r"))
    sheet = load_workbook(paths.failures_xlsx)["failures"]
    header = [c.value for c in sheet[1]]
    pincode = sheet.cell(row=3, column=header.index("Pincode") + 1)
    assert pincode.value == "x"
    assert pincode.fill.fgColor.rgb.endswith("FFC7CE")
    assert pincode.comment.text == "must have 6 digits, got 'x'"
    untouched = sheet.cell(row=3, column=header.index("Order ID") + 1)
    assert untouched.comment is None
    assert untouched.fill.fill_type is None
    assert sheet.cell(row=3, column=header.index("Note") + 1).value == "'=1+1"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:I3"
    assert all(c.font.b for c in sheet[1]), "the whole header is bold"
    assert header[: len(ERROR_COLUMNS)] == list(ERROR_COLUMNS), "the reason on the first screen"
    widths = {
        c: sheet.column_dimensions[get_column_letter(header.index(c) + 1)].width for c in header
    }
    assert widths["error_reason"] > widths["Note"], "columns sized to their content"


def test_several_inputs_get_one_csv_and_one_sheet_each_with_safe_names(tmp_path: Path) -> None:
    long = "inbox/" + "x" * 40 + ".csv"
    files = [(FILE, RAW), ("a/oker.xlsx", RAW), ("../we:ird?[name].tsv", RAW), (long, RAW)]
    errors = [RowError(name, 3, "validate", "Pincode", "", "bad") for name, _ in files]
    paths = write_report(str(tmp_path), "r", files, errors, _summary("r"))
    names = [Path(p).name for p in paths.failures_csv]
    assert names == [
        "failures-oker-csv.csv",
        "failures-oker-xlsx.csv",
        "failures-we_ird_name.csv",
        f"failures-{'x' * 40}.csv",
    ]
    sheets = load_workbook(paths.failures_xlsx).sheetnames
    assert len(set(sheets)) == 4
    assert all(len(s) <= 31 for s in sheets)
    assert [_read_csv(p)[0]["error_file"] for p in paths.failures_csv] == [n for n, _ in files]


def test_header_only_failure_files_when_nothing_failed(tmp_path: Path) -> None:
    paths = write_report(str(tmp_path), "r", [(FILE, RAW)], [], _summary("r"))
    text = Path(paths.failures_csv[0]).read_text(encoding="utf-8-sig")
    assert text.strip().split(",")[:2] == ["Order ID", "Pincode"]
    assert len(text.strip().splitlines()) == 1
    assert load_workbook(paths.failures_xlsx)["failures"].max_row == 1


def test_rows_of_a_file_that_is_not_among_the_inputs_are_still_reported(tmp_path: Path) -> None:
    errors = [*ERRORS, RowError("lost.csv", 7, "read", "", "", "cannot decode line")]
    paths = write_report(str(tmp_path), "r", [(FILE, RAW)], errors, _summary("r"))
    lost = _read_csv(paths.failures_csv[1])
    assert (lost[0]["error_file"], lost[0]["error_row"]) == ("lost.csv", "7")


def test_writing_a_run_again_replaces_its_report(tmp_path: Path) -> None:
    store = ReportStore(str(tmp_path))
    write_report(store.location, "r", [(FILE, RAW), ("b.csv", RAW)], ERRORS, _summary("r"))
    paths = write_report(store.location, "r", [(FILE, RAW)], ERRORS, _summary("r"))
    assert {p.name for p in Path(paths.folder).iterdir()} == {
        "failures.csv",
        "failures.xlsx",
        "summary.json",
        "summary.md",
    }


def test_rewriting_a_file_makes_it_private_again(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert (_mode(path), path.read_bytes()) == (0o600, b"new")


def test_runs_are_listed_newest_finished_first_not_by_name(tmp_path: Path) -> None:
    store = ReportStore(str(tmp_path / "reports"))
    assert store.list_runs() == []
    write_report(
        store.location, "zzz", [(FILE, RAW)], ERRORS, _summary("zzz", "2025-01-01T10:00:00+00:00")
    )
    write_report(
        store.location, "aaa", [(FILE, RAW)], ERRORS, _summary("aaa", "2025-01-02T09:00:00+05:30")
    )
    write_report(
        store.location, "mmm", [(FILE, RAW)], ERRORS, _summary("mmm", "2025-01-01T23:00:00+00:00")
    )
    (tmp_path / "reports" / "incomplete").mkdir()
    runs = store.list_runs()
    assert [r.run_id for r in runs] == ["aaa", "mmm", "zzz"]
    assert (runs[0].rows_read, runs[0].rows_failed) == (3, 2)
    assert runs[0].path == str(tmp_path / "reports" / "aaa")


def test_download_copies_the_latest_run_or_a_named_one(tmp_path: Path) -> None:
    store = ReportStore(str(tmp_path / "reports"))
    write_report(
        store.location, "old", [(FILE, RAW)], ERRORS, _summary("old", "2025-01-01T00:00:00")
    )
    write_report(store.location, "new", [(FILE, RAW)], [], _summary("new", "2025-02-01T00:00:00"))
    latest = store.download(None, tmp_path / "latest")
    assert [p.name for p in latest] == [
        "failures.csv",
        "failures.xlsx",
        "summary.json",
        "summary.md",
    ]
    assert json.loads((tmp_path / "latest" / "summary.json").read_text())["run_id"] == "new"
    assert all(_mode(p) == 0o600 for p in latest)
    named = store.download("old", tmp_path / "old")
    assert len(_read_csv(named[0])) == 2


def test_an_unknown_run_id_names_the_latest_runs(tmp_path: Path) -> None:
    store = ReportStore(str(tmp_path))
    write_report(store.location, "run-a", [(FILE, RAW)], [], _summary("run-a"))
    with pytest.raises(ConfigError, match=r"No report for run 'nope'.*Latest runs: run-a"):
        store.download("nope", tmp_path / "out")
    with pytest.raises(ConfigError, match="Invalid run id"):
        store.prepare_run_folder("../etc")
    with pytest.raises(ConfigError, match="No run reports"):
        ReportStore(str(tmp_path / "empty")).download(None, tmp_path / "out")


def test_any_fsspec_location_works(tmp_path: Path) -> None:
    store = ReportStore(f"memory://uniload-{tmp_path.name}")
    paths = write_report(store.location, "r1", [(FILE, RAW)], ERRORS, _summary("r1"))
    assert paths.folder == f"memory:///uniload-{tmp_path.name}/r1"
    assert [r.run_id for r in store.list_runs()] == ["r1"]
    copied = store.download("r1", tmp_path / "out")
    assert [r["Order ID"] for r in _read_csv(copied[0])] == ["B", "C"]


def test_an_unusable_location_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Cannot open report location"):
        ReportStore("nosuchprotocol-xyz://bucket/reports")


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="uniload reports")
    reports_cli.configure_parser(parser)
    return reports_cli.run(parser.parse_args(argv))


def test_cli_lists_runs_as_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    location = str(tmp_path / "reports")
    assert _cli("list", "--report-dir", location) == 0
    assert "No run reports" in capsys.readouterr().out
    write_report(location, "run1", [(FILE, RAW)], ERRORS, _summary("run1"))
    assert _cli("list", "--report-dir", location) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["run", "id", "finished", "rows", "read", "failed", "path"]
    assert row.split() == ["run1", "2025-01-01T10:00:00+00:00", "3", "2", f"{location}/run1"]


def test_cli_downloads_into_a_run_named_folder_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNILOAD_REPORT_DIR", str(tmp_path / "elsewhere"))
    write_report(str(tmp_path / "elsewhere"), "run1", [(FILE, RAW)], [], _summary("run1"))
    assert _cli("download") == 0
    printed = capsys.readouterr().out.split()
    assert printed[0] == str(tmp_path / "uniload-report-run1" / "failures.csv")
    assert all(Path(p).is_file() for p in printed)
    assert _cli("download", "run1", "--to", str(tmp_path / "x")) == 0
    assert (tmp_path / "x" / "summary.md").is_file()


def test_cli_fails_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("download", "nope", "--report-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "No report for run 'nope'" in err
    assert "Traceback" not in err


def test_report_json_keeps_non_ascii_text(tmp_path: Path) -> None:
    summary = {**_summary("r"), "files": [{"name": "ऑर्डर.csv"}]}
    paths = write_report(str(tmp_path), "r", [("ऑर्डर.csv", RAW)], [], summary)
    assert "ऑर्डर.csv" in Path(paths.summary_json).read_text(encoding="utf-8")


def test_every_part_of_the_workbook_is_well_formed_with_unique_note_shapes(tmp_path: Path) -> None:
    import re
    import xml.etree.ElementTree as ET
    import zipfile

    from flows.report.xlsx import render_failures_xlsx

    rows = 1500  # past one block of 1024 VML shape ids
    raw = pd.DataFrame({"Order ID": [f"o{i}" for i in range(rows)], "Note": ["a<&>b"] * rows})
    raw.index = pd.RangeIndex(2, rows + 2)
    tables, errors = [], []
    for name in ("first.csv", "second.csv"):
        errs = [RowError(name, r, "validate", "Note", "x", "bad & <odd>") for r in raw.index]
        errors += errs
        tables.append((name, build_failure_tables([(name, raw)], errs)[0][1]))
    data = render_failures_xlsx(tables, errors)
    shape_ids: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for part in book.namelist():
            text = book.read(part).decode()
            if part.endswith(".vml"):
                shape_ids += re.findall(r'<v:shape id="([^"]+)"', text)
            else:
                ET.fromstring(text)  # well-formed XML
    assert len(shape_ids) == len(set(shape_ids)) == 2 * rows
    workbook = load_workbook(io.BytesIO(data))
    for sheet in workbook.worksheets:
        assert sheet.max_row == rows + 1
        header = [c.value for c in sheet[1]]
        note = sheet.cell(row=rows + 1, column=header.index("Note") + 1)
        assert note.value == "a<&>b" and note.comment.text == "bad & <odd>"
