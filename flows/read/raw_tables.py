"""Shared by every format: the header row, the column names and the finished all-text table.

Rules (the same for CSV, TSV and Excel):

- Header row: with a header hint, the first of the first 20 rows holding at least 3
  hinted names (case and surrounding spaces ignored), so a notice line or a blank line
  before the header is skipped. Without a hint, or when no row has 3 hinted names, the
  first row with at least 2 non-blank cells.
- Column names: header cells with surrounding whitespace stripped; blank header cells
  after the last named column are dropped; a blank header cell between named columns
  is named ``Column <letter>`` (``Column C``). A name appearing twice refuses the file,
  naming both column letters.
- Rows: blank rows are dropped without renumbering the others; the index is the row
  number as the seller sees it in a spreadsheet, named ``row``.
- Values: text exactly as read (whitespace kept), except a single leading apostrophe,
  the spreadsheet/Shopify/Flipkart mark for "this is text", which is removed, and stray
  control bytes (NUL...) in CSV/TSV cells, removed and their rows reported.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import pandas as pd

from flows.exceptions import UnreadableExport
from transforms.columns import header_key

HEADER_SCAN_ROWS = 20
MIN_HINTED_CELLS = 3
MIN_HEADER_CELLS = 2
ROW_INDEX_NAME = "row"
TEXT_MARK = "'"
MAX_LISTED = 5
STRAY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not tab, CR, LF


def unreadable(name: str, problem: str, fix: str) -> UnreadableExport:
    """The error for a file that cannot be read: the file, what is wrong, and the fix."""
    return UnreadableExport(f"{name}: {problem}. Fix: {fix}.")


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column: 0 -> A, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def hint_set(header_hint: Collection[str]) -> frozenset[str]:
    """Hinted header names, compared case-insensitively and without surrounding spaces."""
    return frozenset(name.strip().casefold() for name in header_hint if name.strip())


def hinted_header(rows: Sequence[Sequence[str]], hint: frozenset[str]) -> int | None:
    """Index of the first of the first rows holding at least 3 hinted names."""
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        if sum(cell.strip().casefold() in hint for cell in cells) >= MIN_HINTED_CELLS:
            return index
    return None


def plain_header(rows: Sequence[Sequence[str]]) -> int | None:
    """Index of the first of the first rows with at least 2 non-blank cells."""
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        if sum(bool(cell.strip()) for cell in cells) >= MIN_HEADER_CELLS:
            return index
    return None


def find_header(rows: Sequence[Sequence[str]], hint: frozenset[str]) -> int | None:
    """Index of the header row (see the module docstring), or None when there is none."""
    found = hinted_header(rows, hint) if hint else None
    return plain_header(rows) if found is None else found


def no_columns(name: str) -> UnreadableExport:
    """The error for a file whose first rows have fewer than two columns."""
    return unreadable(
        name,
        "could not find the columns: the first rows hold a single column",
        "check that this is an order export; if it is, save it with commas, tabs, "
        "semicolons or pipes between the columns",
    )


def header_names(cells: Sequence[str], name: str, *, width: int = 0) -> list[str]:
    """Column names from the header cells; at least ``width`` columns are kept."""
    names = [cell.strip() for cell in cells] + [""] * max(0, width - len(cells))
    while len(names) > width and names and not names[-1]:
        names.pop()
    names = [text or f"Column {column_letter(i)}" for i, text in enumerate(names)]
    seen: dict[str, int] = {}
    for index, text in enumerate(names):
        key = header_key(text)
        if key in seen:
            raise twice(name, names[seen[key]], seen[key], text, index)
        seen[key] = index
    return names


def twice(name: str, first: str, first_index: int, second: str, second_index: int) -> Exception:
    """Two header cells naming one column (exactly, or but for case, spaces, look-alikes)."""
    where = f"columns {column_letter(first_index)} and {column_letter(second_index)}"
    if first == second:
        problem = f'the header "{first}" appears twice, in {where}'
    else:
        problem = (
            f"the headers {first!r} and {second!r} ({where}) differ only in case, spaces or "
            "invisible or look-alike characters: which one is meant is ambiguous"
        )
    return unreadable(
        name, problem, "rename or delete one of the two columns and save the file again"
    )


def listed_rows(rows: Sequence[int]) -> str:
    """Row numbers for a message: "7, 9 and 12" (at most 5, then "and N more")."""
    shown = [str(row) for row in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        return f"{', '.join(shown)} and {len(rows) - MAX_LISTED} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def finish_table(
    frame: pd.DataFrame, names: Sequence[str], first_row: int, *, marks: bool = True
) -> pd.DataFrame:
    """Name the columns, number the rows from ``first_row``, drop blank rows, unmark text
    (``marks=False``: the caller knows no cell holds an apostrophe)."""
    table = frame.set_axis(list(names), axis=1)
    table.index = pd.RangeIndex(first_row, first_row + len(table), name=ROW_INDEX_NAME)
    if len(table) and len(table.columns):
        table = drop_blank_rows(table)
        if marks:
            table = remove_text_marks(table)
    return table


def strip_control_bytes(table: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Cells without stray control bytes (NUL...; tab and line breaks kept); the rows changed.

    Each column is searched once as a whole; only a column holding such a byte is
    cleaned cell by cell, so a clean million-row file costs one scan.
    """
    changed = pd.Series(False, index=table.index)
    for column in table.columns:
        values = table[column]
        if not STRAY_CONTROL.search("\n".join(values.to_numpy())):
            continue
        hit = values.str.contains(STRAY_CONTROL, regex=True)
        table[column] = values.where(~hit, values.str.replace(STRAY_CONTROL, "", regex=True))
        changed |= hit
    return table, [int(r) for r in table.index[changed.to_numpy()]]


def drop_blank_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The table without rows whose every cell is empty (other rows keep their numbers)."""
    candidates = table[table.iloc[:, 0] == ""]
    if candidates.empty:
        return table
    blank = (candidates == "").all(axis=1)
    return table.drop(index=candidates.index[blank.to_numpy()])


def remove_text_marks(table: pd.DataFrame) -> pd.DataFrame:
    """Values without a single leading apostrophe (only columns holding one are touched)."""
    for column in table.columns:
        values = table[column]
        joined = "\n".join(values.to_numpy())
        if joined.startswith(TEXT_MARK) or f"\n{TEXT_MARK}" in joined:
            marked = values.str.startswith(TEXT_MARK)
            table[column] = values.where(~marked, values.str.slice(1))
    return table
