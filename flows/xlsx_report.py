"""The failure report as an XLSX workbook: one sheet per input, offending cells flagged."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from transforms.errors import RowError
from transforms.report import ERROR_COLUMNS, ERROR_PREFIX, cell_notes

XLSX_SHEET: Final = "failures"
SHEET_LIMIT: Final = 31
XLSX_MAX_ROWS: Final = 1_048_575  # Excel's rows per sheet, less the header
HIGHLIGHT: Final = PatternFill("solid", fgColor="FFC7CE")
BOLD: Final = Font(bold=True)
NOTE_AUTHOR: Final = "uniload"
NOTE_SIZE: Final = {"width": 320, "height": 120}
REASON_WIDTH: Final = 60
_SHEET_UNSAFE: Final = re.compile(r"[\\/?*:\[\]']+")
_XLSX_ILLEGAL: Final = "[\x00-\x08\x0b\x0c\x0e-\x1f]"


def render_failures_xlsx(
    tables: Sequence[tuple[str, pd.DataFrame]], errors: Sequence[RowError]
) -> bytes:
    """The failure tables as one workbook, one sheet per input, offending cells flagged.

    Each cell named by an error's field is filled light red and carries the reasons as a
    comment. Write-only mode keeps memory flat; Excel's row limit caps a sheet (the CSV
    has every row). About 10 µs per cell here: 50,000 rows of 46 columns take ~25 s.
    """
    book = Workbook(write_only=True)
    for sheet, (name, table) in zip(sheet_names([n for n, _ in tables]), tables, strict=True):
        _write_sheet(book.create_sheet(sheet), _xlsx_safe(table), cell_notes(errors, name))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_names(inputs: Sequence[str]) -> list[str]:
    """ "failures" for one input, else a safe unique name of at most 31 characters per input."""
    if len(inputs) == 1:
        return [XLSX_SHEET]
    stems = [_SHEET_UNSAFE.sub("_", Path(n.replace("\\", "/")).stem) for n in inputs]
    return unique_names(stems, SHEET_LIMIT)


def _write_sheet(sheet: Any, table: pd.DataFrame, notes: Mapping[int, Mapping[str, str]]) -> None:
    columns = [str(c) for c in table.columns]
    first = len(columns) - len(ERROR_COLUMNS)
    where = {name: i for i, name in reversed(list(enumerate(columns[:first])))}
    sheet.freeze_panes = "A2"
    reason = get_column_letter(columns.index("error_reason") + 1)
    sheet.column_dimensions[reason].width = REASON_WIDTH
    sheet.append([_header_cell(sheet, c) for c in columns])
    rows = table.head(XLSX_MAX_ROWS)
    for values, row in zip(rows.itertuples(index=False, name=None), rows["error_row"], strict=True):
        cells: list[Any] = list(values)
        for field, note in notes.get(int(row), {}).items():
            if field in where:
                cells[where[field]] = _flagged_cell(sheet, cells[where[field]], note)
        sheet.append(cells)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _header_cell(sheet: Any, name: str) -> Any:
    cell = WriteOnlyCell(sheet, name)
    if name.startswith(ERROR_PREFIX):
        cell.font = BOLD
    return cell


def _flagged_cell(sheet: Any, value: Any, note: str) -> Any:
    cell = WriteOnlyCell(sheet, value)
    cell.fill = HIGHLIGHT
    cell.comment = Comment(note, NOTE_AUTHOR, **NOTE_SIZE)
    return cell


def _xlsx_safe(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if pd.api.types.is_string_dtype(column):
            cleaned = column.fillna("").astype(str).str.replace(_XLSX_ILLEGAL, "", regex=True)
            out.isetitem(position, cleaned.array)
    return out


def unique_names(names: Sequence[str], limit: int, *, blank: str = "input") -> list[str]:
    """Names cut to `limit` characters, blanks replaced, repeats suffixed -2, -3, …"""
    taken: set[str] = set()
    out = []
    for name in names:
        base, candidate, n = name[:limit] or blank, name[:limit] or blank, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base[: limit - len(str(n)) - 1]}-{n}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out
