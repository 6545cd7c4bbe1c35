"""The failure report as an XLSX workbook: one sheet per input, offending cells flagged."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
import xlsxwriter

from transforms.errors import RowError
from transforms.report import ERROR_COLUMNS, ERROR_PREFIX, cell_notes

XLSX_SHEET: Final = "failures"
SHEET_LIMIT: Final = 31
XLSX_MAX_ROWS: Final = 1_048_575  # Excel's rows per sheet, less the header
HIGHLIGHT: Final = "#FFC7CE"
NOTE_OPTIONS: Final = {"author": "uniload", "x_scale": 2.2, "y_scale": 1.6}
MIN_WIDTH: Final = 6
MAX_WIDTH: Final = 60
WIDTH_SAMPLE_ROWS: Final = 1000
WORKBOOK_OPTIONS: Final = {
    "constant_memory": True,  # rows stream to a temporary file: flat memory
    "strings_to_formulas": False,  # a cell "=1+1" stays text (no formula injection)
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
_SHEET_UNSAFE: Final = re.compile(r"[\\/?*:\[\]']+")
_XLSX_ILLEGAL: Final = "[\x00-\x08\x0b\x0c\x0e-\x1f]"


def render_failures_xlsx(
    tables: Sequence[tuple[str, pd.DataFrame]], errors: Sequence[RowError]
) -> bytes:
    """The failure tables as one workbook, one sheet per input, offending cells flagged.

    The ``error_*`` columns come first (the reason is on the first screen; feeding the file
    back matches columns by name), the header is bold, frozen and filtered, columns are
    sized to their content, and each cell named by an error's field is filled light red with
    the reasons as a comment. XlsxWriter in constant-memory mode streams rows to disk, so
    memory stays flat up to Excel's row limit (the CSV has every row beyond it).
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    styles = _Styles(
        header=book.add_format({"bold": True}),
        flagged=book.add_format({"bg_color": HIGHLIGHT}),
    )
    for sheet, (name, table) in zip(sheet_names([n for n, _ in tables]), tables, strict=True):
        worksheet = book.add_worksheet(sheet)
        _write_sheet(worksheet, _xlsx_safe(_errors_first(table)), cell_notes(errors, name), styles)
    book.close()
    return buffer.getvalue()


def sheet_names(inputs: Sequence[str]) -> list[str]:
    """ "failures" for one input, else a safe unique name of at most 31 characters per input."""
    if len(inputs) == 1:
        return [XLSX_SHEET]
    stems = [_SHEET_UNSAFE.sub("_", Path(n.replace("\\", "/")).stem) for n in inputs]
    return unique_names(stems, SHEET_LIMIT)


@dataclass(frozen=True)
class _Styles:
    header: Any
    flagged: Any


def _write_sheet(
    sheet: Any, table: pd.DataFrame, notes: Mapping[int, Mapping[str, str]], styles: _Styles
) -> None:
    columns = [str(c) for c in table.columns]
    where = {name: i for i, name in reversed(list(enumerate(columns)))}
    rows = table.head(XLSX_MAX_ROWS)
    for i, width in enumerate(_widths(rows, columns)):
        sheet.set_column(i, i, width)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    sheet.write_row(0, 0, columns, styles.header)
    write = sheet.write_string
    for r, (values, row) in enumerate(
        zip(rows.itertuples(index=False, name=None), rows["error_row"], strict=True), start=1
    ):
        for c, value in enumerate(values):
            if value != "":
                write(r, c, value)
        for field, note in notes.get(int(row), {}).items():
            if field in where and not field.startswith(ERROR_PREFIX):
                c = where[field]
                write(r, c, values[c], styles.flagged)
                sheet.write_comment(r, c, note, NOTE_OPTIONS)


def _errors_first(table: pd.DataFrame) -> pd.DataFrame:
    errors = [c for c in ERROR_COLUMNS if c in table.columns]
    return table.loc[:, errors + [c for c in table.columns if c not in errors]]


def _widths(rows: pd.DataFrame, columns: Sequence[str]) -> list[float]:
    """Each column as wide as its header or its longest value in the first rows, within limits."""
    sample = rows.head(WIDTH_SAMPLE_ROWS)
    widths: list[float] = []
    for position, name in enumerate(columns):
        longest = sample.iloc[:, position].str.len().max() if len(sample) else 0
        chars = max(len(name), int(longest) if pd.notna(longest) else 0)
        widths.append(min(max(chars + 2, MIN_WIDTH), MAX_WIDTH))
    return widths


def _xlsx_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text without the control characters XML cannot hold; blanks as ""."""
    out = table.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position].astype("string").fillna("")
        cleaned = column.str.replace(_XLSX_ILLEGAL, "", regex=True)
        out.isetitem(position, cleaned.to_numpy(dtype=object))
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
