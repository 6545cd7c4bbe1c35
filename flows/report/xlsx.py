"""The failure report as an XLSX workbook: one sheet per input, offending cells flagged."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from flows.report import xlsx_parts as package
from transforms.errors import ErrorTable, RowError, factorize_together
from transforms.failure_table import ERROR_COLUMNS, ERROR_PREFIX, JOIN, joined_runs

XLSX_SHEET: Final = "failures"
SHEET_LIMIT: Final = 31
XLSX_MAX_ROWS: Final = 1_048_575  # Excel's rows per sheet, less the header
MIN_WIDTH: Final = 6
MAX_WIDTH: Final = 60
WIDTH_SAMPLE_ROWS: Final = 1000
BLOCK_ROWS: Final = 20_000  # rows of sheet XML built and compressed at a time
ZIP_LEVEL: Final = 1  # fast deflate: the report is written once, opened a few times
CELL_OPEN: Final = '" t="inlineStr"><is><t xml:space="preserve">'
FLAGGED_OPEN: Final = '" s="2" t="inlineStr"><is><t xml:space="preserve">'
CELL_CLOSE: Final = "</t></is></c>"
_SHEET_UNSAFE: Final = re.compile(r"[\\/?*:\[\]']+")
_XLSX_ILLEGAL: Final = "[\x00-\x08\x0b\x0c\x0e-\x1f]"


def render_failures_xlsx(
    tables: Sequence[tuple[str, pd.DataFrame]], errors: Sequence[RowError] | ErrorTable
) -> bytes:
    """The failure tables as one workbook, one sheet per input, offending cells flagged.

    The ``error_*`` columns come first (the reason is on the first screen; feeding the file
    back matches columns by name), the header is bold, frozen and filtered, columns are
    sized to their content, and each cell named by an error's field is filled light red with
    the reasons as a note. Every cell is an inline string (no formula, whatever it starts
    with). The sheet XML is built a block of rows at a time from whole columns and streamed
    into the zip, so time and memory grow with the data, not with Python calls per cell.
    """
    names = sheet_names([n for n, _ in tables])
    errors = ErrorTable.of(errors)
    buffer = io.BytesIO()
    filters, with_notes, block = [], [], 1
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as book:
        for index, (name, table) in enumerate(tables, start=1):
            table = _xlsx_safe(_errors_first(table)).head(XLSX_MAX_ROWS)
            notes = note_cells(table, errors, name)
            filters.append(_write_sheet(book, index, table, notes))
            with_notes.append(bool(len(notes)))
            if len(notes):
                rows = notes.rows
                parts = package.comment_parts(rows, notes.columns, notes.texts)
                _stream(book, f"xl/comments{index}.xml", parts)
                shapes = package.vml_parts(rows, notes.columns, block)
                _stream(book, f"xl/drawings/vmlDrawing{index}.vml", shapes)
                book.writestr(
                    f"xl/worksheets/_rels/sheet{index}.xml.rels", package.sheet_rels(index)
                )
                block += package.shape_blocks(len(notes))
        book.writestr("[Content_Types].xml", package.content_types(len(tables), with_notes))
        book.writestr("_rels/.rels", package.ROOT_RELS)
        book.writestr("xl/workbook.xml", package.workbook(names, filters))
        book.writestr("xl/_rels/workbook.xml.rels", package.workbook_rels(len(tables)))
        book.writestr("xl/styles.xml", package.STYLES)
    return buffer.getvalue()


def sheet_names(inputs: Sequence[str]) -> list[str]:
    """ "failures" for one input, else a safe unique name of at most 31 characters per input."""
    if len(inputs) == 1:
        return [XLSX_SHEET]
    stems = [_SHEET_UNSAFE.sub("_", Path(n.replace("\\", "/")).stem) for n in inputs]
    return unique_names(stems, SHEET_LIMIT)


def _write_sheet(book: zipfile.ZipFile, index: int, table: pd.DataFrame, notes: Notes) -> str:
    """Stream one worksheet into the zip; returns its filter range (A1:Xn)."""
    columns = [str(c) for c in table.columns]
    last = f"{package.column_letter(len(columns) - 1)}{len(table) + 1}"
    widths = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(_widths(table, columns), start=1)
    )
    flagged = np.zeros(table.shape, dtype=bool)
    flagged[notes.rows - 1, notes.columns] = True
    with book.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as out:
        out.write(
            (
                package.DECLARATION + f'<worksheet xmlns="{package.MAIN}" '
                f'xmlns:r="{package.REL}"><dimension ref="A1:{last}"/>'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
                '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                f"<cols>{widths}</cols><sheetData>{_header_row(columns)}"
            ).encode()
        )
        for start in range(0, len(table), BLOCK_ROWS):
            part = table.iloc[start : start + BLOCK_ROWS]
            out.write(_rows_xml(part, flagged[start : start + BLOCK_ROWS], start + 2).encode())
        drawing = '<legacyDrawing r:id="rId1"/>' if len(notes) else ""
        out.write(f'</sheetData><autoFilter ref="A1:{last}"/>{drawing}</worksheet>'.encode())
    return f"A1:{last}"


def _header_row(columns: Sequence[str]) -> str:
    cells = "".join(
        f'<c r="{package.column_letter(i)}1" s="1" t="inlineStr"><is><t xml:space="preserve">'
        f"{escape(name)}</t></is></c>"
        for i, name in enumerate(columns)
    )
    return f'<row r="1">{cells}</row>'


def _rows_xml(part: pd.DataFrame, flagged: np.ndarray, first_row: int) -> str:
    """The <row> elements of a block, built from whole columns and joined once."""
    n, width = part.shape
    numbers = np.array([str(r) for r in range(first_row, first_row + n)], dtype=object)
    pieces = np.empty((n, 2 + 5 * width), dtype=object)
    pieces[:, 0] = '<row r="' + numbers + '">'
    pieces[:, -1] = "</row>"
    for j in range(width):
        values = _escaped(part.iloc[:, j])
        flag = flagged[:, j]
        present = (values != "") | flag
        base = 1 + 5 * j
        pieces[:, base] = np.where(present, f'<c r="{package.column_letter(j)}', "")
        pieces[:, base + 1] = np.where(present, numbers, "")
        pieces[:, base + 2] = np.where(flag, FLAGGED_OPEN, np.where(present, CELL_OPEN, ""))
        pieces[:, base + 3] = values
        pieces[:, base + 4] = np.where(present, CELL_CLOSE, "")
    return "".join(pieces.ravel().tolist())


def _escaped(column: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
    return _escaped_distinct(pd.Series(uniques, dtype=object))[codes]  # once per distinct cell


def _escaped_distinct(column: pd.Series) -> np.ndarray:
    text = column
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if text.str.contains(raw, regex=False).any():
            text = text.str.replace(raw, entity, regex=False)
    return text.to_numpy(dtype=object)


@dataclass(frozen=True)
class Notes:
    """The flagged cells of a sheet, in sheet order: 0-based sheet row, column, note text."""

    rows: np.ndarray
    columns: np.ndarray
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def note_cells(table: pd.DataFrame, errors: ErrorTable, file: str) -> Notes:
    """Every cell of `table` named by an error's field, with its reasons (see `cell_notes`).

    Sheet order: by sheet row, then by the field's first mention among the row's errors.
    """
    frame = errors.frame
    mine = frame[(frame["file"] == file) & (frame["field"] != "")]
    mine = mine[["row", "field", "reason"]].drop_duplicates()
    where = {name: i for i, name in reversed(list(enumerate(map(str, table.columns))))}
    shown = [f for f in mine["field"].unique().tolist() if f in where]
    mine = mine[mine["field"].isin([f for f in shown if not f.startswith(ERROR_PREFIX)])]
    sheet_rows = table["error_row"].astype("int64").to_numpy()  # text after _xlsx_safe
    positions = pd.Series(np.arange(1, len(table) + 1), index=sheet_rows)
    mine = mine[mine["row"].isin(positions.index)]
    cells, _ = factorize_together(mine["row"], mine["field"])
    order = np.argsort(cells, kind="stable")
    grouped = mine.iloc[order]
    texts = joined_runs(pd.Series(cells[order]), grouped["reason"], JOIN)
    firsts = grouped.drop_duplicates(["row", "field"]).assign(_text=texts.to_numpy())
    firsts = firsts.assign(_at=positions.reindex(firsts["row"].to_numpy()).to_numpy())
    firsts = firsts.sort_values("_at", kind="stable")
    columns = firsts["field"].map(where).to_numpy(dtype="int64")
    return Notes(firsts["_at"].to_numpy(dtype="int64"), columns, firsts["_text"].tolist())


def _stream(book: zipfile.ZipFile, name: str, parts: Iterable[str]) -> None:
    """Write one zip member from text pieces (a block of notes each, never the whole text)."""
    with book.open(name, "w", force_zip64=True) as out:
        for part in parts:
            out.write(part.encode())


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
        column = out.iloc[:, position]
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
        distinct = pd.Series(uniques, dtype=object).astype("string").fillna("")
        cleaned = distinct.str.replace(_XLSX_ILLEGAL, "", regex=True)  # once per distinct cell
        out.isetitem(position, cleaned.to_numpy(dtype=object)[codes])
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
