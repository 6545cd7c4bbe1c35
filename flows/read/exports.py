"""Read order exports exactly as sellers download them into all-text tables.

Formats: CSV/TSV/TXT (delimiter and encoding detected: ``flows.read.delimited``,
``flows.read.encodings``), XLSX/XLSM/XLS (``flows.read.workbooks``), recognised by their bytes
(``flows.read.files``), and any of those alone inside a ``.zip`` or ``.gz``
(``flows.read.sources``). Header, names, blank rows and the leading-apostrophe text mark
follow ``flows.read.raw_tables``; short and over-long CSV rows follow ``flows.read.text_frames``.
Every file that cannot be read raises ``UnreadableExport`` naming the file, the problem
and "Fix: ..."; a header-only file is a valid, empty export. ``sheet`` is ignored for
text files. A 1,000,000-row, 260 MB CSV reads in about 3-4 s (one pass of pandas' C
parser plus a 1 MiB sample and a 64 KiB tail).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from flows.exceptions import UnreadableExport
from flows.read.byte_scan import scan_bytes
from flows.read.delimited import Delimiter, TextLayout, sniff_layout
from flows.read.encodings import TextEncoding
from flows.read.files import password_protected, too_large
from flows.read.raw_tables import (
    HEADER_SCAN_ROWS,
    find_header,
    finish_table,
    header_names,
    hint_set,
    no_columns,
    strip_control_bytes,
    unreadable,
)
from flows.read.sources import Source, open_source
from flows.read.text_frames import read_text_tables
from flows.read.workbooks import Rows, check_xlsx_size, read_xls, read_xlsx

DEFAULT_MAX_BYTES = 2 << 30  # read whole: the table must fit in memory
# Streamed text keeps memory bounded by the chunk; this only stops an archive unpacking
# without end. Excel sheets are read whole even when streamed, so they keep the first limit.
STREAM_MAX_BYTES = 256 << 30
DAMAGED_EXCEL = "is damaged or not a valid Excel workbook"


@dataclass(frozen=True, eq=False)
class RawExport:
    """One export (or one chunk of it) as read: every value text, rows numbered as seen.

    ``table`` has the header cells as columns, ``str`` values ("" for blank cells) and
    the spreadsheet row number as its index, named ``row`` (header on row 1: first data
    row 2). ``encoding`` and ``delimiter`` are None for Excel. Compared by identity
    (``eq=False``): comparing DataFrames with ``==`` has no single truth value.
    """

    path: Path
    name: str
    table: pd.DataFrame
    header_row: int
    encoding: TextEncoding | None
    delimiter: Delimiter | None
    cleaned_rows: tuple[int, ...] = ()  # rows whose cells had stray control bytes removed


def read_export(
    path: Path,
    *,
    sheet: str | None = None,
    header_hint: Collection[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawExport:
    """The whole export at ``path`` (see the module docstring)."""
    chunks = iterate_exports(path, None, sheet=sheet, header_hint=header_hint, max_bytes=max_bytes)
    return next(chunks)


def iter_export_chunks(
    path: Path,
    *,
    chunk_rows: int,
    sheet: str | None = None,
    header_hint: Collection[str] = (),
    max_bytes: int = STREAM_MAX_BYTES,
) -> Iterator[RawExport]:
    """The export in chunks of at most ``chunk_rows`` rows; row numbers run on across them.

    CSV/TSV files stream (for files larger than memory); Excel sheets are read whole and
    sliced. At least one chunk is yielded (an empty one for a header-only file). A
    problem found late in a file (a row with extra values) raises after earlier chunks.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    yield from iterate_exports(
        path, chunk_rows, sheet=sheet, header_hint=header_hint, max_bytes=max_bytes
    )


def read_header(
    path: Path,
    *,
    sheet: str | None = None,
    header_hint: Collection[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[str]:
    """The column names of an export, reading only its first rows (for detection)."""
    hint = hint_set(header_hint)
    with open_source(path, max_bytes=max_bytes, head_only=True) as source:
        if source.kind == "text":
            layout = sniff_layout(source.file, source.name, hint)
            return header_names(layout.header_cells, source.name)
        rows = read_sheet(source, sheet, max_bytes, HEADER_SCAN_ROWS)
        return header_names(rows[excel_header(rows, hint, source.name)], source.name)


def iterate_exports(
    path: Path,
    chunk_rows: int | None,
    *,
    sheet: str | None,
    header_hint: Collection[str],
    max_bytes: int,
) -> Iterator[RawExport]:
    """RawExports of one file: a single one when ``chunk_rows`` is None."""
    hint = hint_set(header_hint)
    with open_source(path, max_bytes=max_bytes) as source:
        if source.kind == "text":
            yield from text_exports(path, source, hint, chunk_rows)
            return
        excel_max = min(max_bytes, DEFAULT_MAX_BYTES)
        size = source.file.stat().st_size
        if size > excel_max:
            raise too_large(source.name, f"is {size:,} bytes", excel_max)
        whole = excel_export(path, source, sheet, hint, excel_max)
        if chunk_rows is None or len(whole.table) <= chunk_rows:
            yield whole
            return
        for start in range(0, len(whole.table), chunk_rows):
            yield replace(whole, table=whole.table.iloc[start : start + chunk_rows])


def text_exports(
    path: Path, source: Source, hint: frozenset[str], chunk_rows: int | None
) -> Iterator[RawExport]:
    """RawExports of a delimited text file."""
    layout: TextLayout = sniff_layout(source.file, source.name, hint)
    names = header_names(layout.header_cells, source.name)
    scan = scan_bytes(source.file, layout.encoding)  # most files: no cell needs looking at
    tables = read_text_tables(
        source.file, source.name, layout, names, chunk_rows, marks=scan.apostrophe
    )
    for table in tables:
        table, cleaned = strip_control_bytes(table) if scan.control else (table, [])
        header_row = layout.header_index + 1
        yield RawExport(
            path, source.name, table, header_row, layout.encoding, layout.delimiter, tuple(cleaned)
        )


def excel_export(
    path: Path, source: Source, sheet: str | None, hint: frozenset[str], max_bytes: int
) -> RawExport:
    """The RawExport of an Excel sheet."""
    rows = read_sheet(source, sheet, max_bytes, None)
    index = excel_header(rows, hint, source.name)
    data = rows[index + 1 :]
    width = max((len(trim_row(row)) for row in data), default=0)
    names = header_names(rows[index], source.name, width=width)
    frame = pd.DataFrame(
        [row[: len(names)] + [""] * (len(names) - len(row)) for row in data],
        columns=range(len(names)),
        dtype=str,
    )
    table = finish_table(frame, names, index + 2)
    return RawExport(path, source.name, table, index + 1, None, None)


def trim_row(row: list[str]) -> list[str]:
    """A row without its empty cells at the end."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


def excel_header(rows: Rows, hint: frozenset[str], name: str) -> int:
    """Index of the header row of a sheet; a sheet without one is refused."""
    index = find_header(rows, hint)
    if index is not None:
        return index
    if any(any(cell.strip() for cell in row) for row in rows[:HEADER_SCAN_ROWS]):
        raise no_columns(name)
    raise unreadable(name, "has no header row: its first sheet rows are blank", "check the sheet")


def read_sheet(source: Source, sheet: str | None, max_bytes: int, limit: int | None) -> Rows:
    """Text rows of an Excel sheet; any parsing failure is an ``UnreadableExport``."""
    try:
        if source.kind == "xlsx":
            check_xlsx_size(source.file, source.name, max_bytes)
            return read_xlsx(source.file, source.name, sheet, limit)
        return read_xls(source.file, source.name, sheet, limit)
    except (UnreadableExport, MemoryError):
        raise
    except Exception as error:  # openpyxl/xlrd raise many types on damaged files
        if "encrypted" in str(error).lower():
            raise password_protected(source.name) from None
        raise unreadable(source.name, f"{DAMAGED_EXCEL} ({error})", "download it again") from None
