"""Excel sheets (XLSX with openpyxl, XLS with xlrd) as rows of the text a seller sees.

Cells become text this way:
- integers, and floats with no fraction, without ".0" (pincode 560001 -> "560001",
  12345678901234 -> "12345678901234"); other numbers rounded to Excel's 15 significant
  digits and written without exponent or float noise (499.5 -> "499.5");
- dates and times as "YYYY-MM-DD HH:MM:SS" (to the nearest second); "YYYY-MM-DD" when
  the time is midnight and the cell's number format shows no time; times as "HH:MM:SS";
- booleans as "TRUE"/"FALSE"; error cells as their text ("#N/A"); empty cells as "".
- formulas are never evaluated nor read as formulas: a formula cell gives the value
  Excel saved with it, and "" when none was saved (files written by some tools).

Every row the sheet's XML holds is read, whatever its ``<dimension>`` element claims
(some applications write it wrong, and openpyxl's read-only mode would trust it and
drop rows or columns past it). Rows listed out of order or twice, or two cells at one
position, make the sheet refused rather than half-read.

The first sheet is read unless ``sheet`` names another (exact name first, then ignoring
case). Before parsing an XLSX its zip entries are checked (zip bomb guard): more than
1 GiB uncompressed, or an entry over 1 MiB compressed more than 100 times, is refused.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flows.read.raw_tables import unreadable

GiB = 1 << 30
MiB = 1 << 20
XLSX_MAX_UNCOMPRESSED = GiB
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR = MiB
EXCEL_DIGITS = 15
TIME_CODES = re.compile(r"[hs]|am/pm|a/p", re.IGNORECASE)
FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')

Rows = list[list[str]]


def number_text(value: float) -> str:
    """A number as Excel shows it in General format, without exponent or float noise."""
    if value.is_integer():
        return str(int(value))
    rounded = float(f"{value:.{EXCEL_DIGITS}g}")
    if rounded.is_integer():
        return str(int(rounded))
    return format(Decimal(repr(rounded)), "f")


def shows_time(number_format: str) -> bool:
    """True when an Excel number format displays a time of day."""
    return bool(TIME_CODES.search(FORMAT_LITERALS.sub("", number_format)))


def datetime_text(value: datetime, number_format: str) -> str:
    """A date/time cell as "YYYY-MM-DD HH:MM:SS", or "YYYY-MM-DD" (see module docstring)."""
    if value.microsecond >= 500_000:
        value += timedelta(seconds=1)
    value = value.replace(microsecond=0)
    if value.time() == time(0) and not shows_time(number_format):
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def cell_text(value: Any, number_format: str = "General") -> str:
    """The text of one cell value (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, datetime):
        return datetime_text(value, number_format)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).strftime("%H:%M:%S")
    return str(value)


def pick_sheet(names: Sequence[str], sheet: str | None, name: str) -> int:
    """Index of the sheet to read; unknown names are refused, listing the sheets."""
    if not names:
        raise unreadable(name, "has no worksheet", "save it from Excel with the orders sheet")
    if sheet is None:
        return 0
    for wanted in (sheet, sheet.strip().casefold()):
        for index, title in enumerate(names):
            if title == wanted or title.strip().casefold() == wanted:
                return index
    listed = ", ".join(f'"{title}"' for title in names)
    raise unreadable(name, f'has no sheet "{sheet}"; its sheets are {listed}', "pick one of those")


def check_xlsx_size(path: Path, name: str, max_bytes: int) -> None:
    """Refuse a workbook whose entries unpack too large or too compressed (zip bomb)."""
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    limit = min(max_bytes, XLSX_MAX_UNCOMPRESSED)
    total = sum(entry.file_size for entry in entries)
    bomb = any(
        entry.file_size > XLSX_RATIO_FLOOR
        and entry.file_size > XLSX_MAX_RATIO * max(entry.compress_size, 1)
        for entry in entries
    )
    if total > limit or bomb:
        raise unreadable(
            name,
            f"unpacks to {total:,} bytes of sheet data (limit {limit:,}, at most "
            f"{XLSX_MAX_RATIO}x compression): it is too large or a zip bomb",
            "split the export into smaller date ranges, or export it as CSV",
        )


def read_xlsx(path: Path, name: str, sheet: str | None, limit: int | None) -> Rows:
    """Rows of an XLSX sheet as text (row i is spreadsheet row i + 1); ``limit`` rows."""
    import openpyxl  # here, not at the top: checking a CSV need not load it (0.3 s)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions
        with path.open("rb") as stream:  # a file object: openpyxl checks no file extension
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
            try:
                index = pick_sheet([ws.title for ws in book.worksheets], sheet, name)
                return list(xlsx_rows(book.worksheets[index], limit))
            finally:
                book.close()


def xlsx_rows(worksheet: Any, limit: int | None) -> Iterator[list[str]]:
    """Text rows of an openpyxl read-only worksheet, every row its XML holds (see above)."""
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.worksheet._reader import WorkSheetParser

    book = worksheet.parent
    with worksheet._get_source() as source:  # the sheet XML, without trusting <dimension>
        parser = WorkSheetParser(
            source,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        expected = 1
        for number, cells in parser.parse():
            if limit is not None and number > limit:
                return
            if number < expected:
                raise ValueError(f"sheet row {number} is listed out of order or twice")
            for _ in range(expected, number):
                yield []  # rows the XML leaves out are empty
            yield row_text(worksheet, number, cells, ReadOnlyCell)
            expected = number + 1


def row_text(worksheet: Any, number: int, cells: list[dict[str, Any]], cell_type: Any) -> list[str]:
    """The text of one sheet row's cells, placed by column; a doubled cell is refused."""
    texts: dict[int, str] = {}
    for cell in cells:
        column = cell["column"]
        if column < 1 or column in texts:
            raise ValueError(f"sheet row {number} holds column {column} twice or out of range")
        read = cell_type(worksheet, **cell)  # openpyxl's ReadOnlyCell
        texts[column] = cell_text(read.value, read.number_format)
    width = max(texts, default=0)
    return [texts.get(column, "") for column in range(1, width + 1)]


def read_xls(path: Path, name: str, sheet: str | None, limit: int | None) -> Rows:
    """Rows of an XLS sheet as text (row i is spreadsheet row i + 1); ``limit`` rows."""
    import xlrd  # here, not at the top, as openpyxl in `read_xlsx`

    book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    try:
        index = pick_sheet(book.sheet_names(), sheet, name)
        worksheet = book.sheet_by_index(index)
        count = worksheet.nrows if limit is None else min(limit, worksheet.nrows)
        return [[xls_cell_text(book, cell) for cell in worksheet.row(r)] for r in range(count)]
    finally:
        book.release_resources()


def xls_cell_text(book: Any, cell: Any) -> str:
    """The text of one xlrd cell (dates decoded with the workbook's date mode)."""
    import xlrd

    kind = cell.ctype
    if kind == xlrd.XL_CELL_DATE:
        number_format = book.format_map[book.xf_list[cell.xf_index].format_key].format_str
        moment = xlrd.xldate_as_datetime(cell.value, book.datemode)
        if cell.value < 1:  # a time of day without a date
            return cell_text(moment.time())
        return datetime_text(moment, number_format)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return cell_text(bool(cell.value))
    if kind == xlrd.XL_CELL_ERROR:
        return str(xlrd.error_text_from_code.get(cell.value, "#ERROR"))
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return cell_text(cell.value)
