"""The failure report writers against openpyxl's write-only workbook, on the same failed rows."""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from transforms.errors import RowError
from transforms.failure_table import cell_notes

FILE = "orders.csv"


def failed_rows(rows: int, columns: int) -> tuple[pd.DataFrame, list[RowError]]:
    """A failure table of `rows` rows: `columns` text columns then the error_* columns."""
    data = {f"Column {c}": [f"value {r % 997} of {c}" for r in range(rows)] for c in range(columns)}
    table = pd.DataFrame(data)
    errors = [
        RowError(FILE, r + 2, "validate", f"Column {r % columns}", "bad", "must be good")
        for r in range(rows)
    ]
    table["error_file"] = FILE
    table["error_row"] = [e.row for e in errors]
    table["error_stage"] = "validate"
    table["error_field"] = [e.field for e in errors]
    table["error_reason"] = "must be good"
    return table, errors


def openpyxl_workbook(table: pd.DataFrame, notes: Mapping[int, Mapping[str, str]]) -> bytes:
    """The baseline: openpyxl write-only, the same highlighting and comments per flagged cell."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    book = Workbook(write_only=True)
    sheet = book.create_sheet("failures")
    fill = PatternFill("solid", fgColor="FFC7CE")
    columns = [str(c) for c in table.columns]
    where = {name: i for i, name in enumerate(columns)}
    sheet.append(columns)
    for values, row in zip(
        table.itertuples(index=False, name=None), table["error_row"], strict=True
    ):
        cells: list[Any] = list(values)
        for field, note in notes.get(int(row), {}).items():
            cell = WriteOnlyCell(sheet, cells[where[field]])
            cell.fill = fill
            cell.comment = Comment(note, "uniload")
            cells[where[field]] = cell
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def measure_report_writers(*, rows: int = 100_000, columns: int = 45) -> dict[str, float]:
    """Rows per second of our CSV + XLSX writers and of openpyxl's workbook, same rows."""
    from flows.report.failure_csv import csv_bytes
    from flows.report.xlsx import render_failures_xlsx

    table, errors = failed_rows(rows, columns)
    tables: Sequence[tuple[str, pd.DataFrame]] = [(FILE, table)]
    start = time.perf_counter()
    csv_bytes(table)
    render_failures_xlsx(tables, errors)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    openpyxl_workbook(table, cell_notes(errors, FILE))
    baseline = time.perf_counter() - start
    return {
        "report_rows": rows,
        "report_columns": columns + 5,
        "report_rows_per_second": round(rows / ours),
        "report_openpyxl_rows_per_second": round(rows / baseline),
        "report_vs_openpyxl": round(baseline / ours, 1),
    }
