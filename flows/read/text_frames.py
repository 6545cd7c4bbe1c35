"""CSV/TSV records into all-text tables with pandas' C parser, whole or in chunks.

Rows with fewer cells than the header are padded with "" (the schema then reports the
missing values on that row). Two cases refuse the file instead, because the values of
the row cannot be trusted:

- a row with a value beyond the last header cell (usually an unquoted comma in a value
  shifted the row), naming the rows; empty extra cells (a trailing delimiter) are fine;
- a file ending without a line break whose last row has fewer cells than the header
  (but at least two): the download was cut off, and the last value may be cut too.

Trailer lines after the data (eBay's "12 record(s) downloaded") are kept as rows: the
schema rejects them with their row number, so nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from pandas.errors import ParserError

from flows.read.delimited import TextLayout, unterminated_cells
from flows.read.encodings import FALLBACK_ERRORS, codec_of
from flows.read.raw_tables import column_letter, finish_table, listed_rows, unreadable

FIELD_COUNT_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
OPEN_QUOTE_ERROR = re.compile(r"EOF inside string starting at row (\d+)")
MAX_EXTRA_CELLS = 64
MIN_CUT_CELLS = 2  # a one-cell last line is a trailer ("12 record(s) downloaded")

RawFrame = tuple[int, pd.DataFrame]  # (spreadsheet row of the first record, its records)


def read_text_tables(
    path: Path,
    name: str,
    layout: TextLayout,
    names: list[str],
    chunk_rows: int | None,
    *,
    marks: bool = True,
) -> Iterator[pd.DataFrame]:
    """Finished tables of the data rows (one, or one per non-empty chunk; at least one).

    ``marks=False``: the file holds no apostrophe, so no cell is looked at for a text mark.
    """
    header_row = layout.header_index + 1
    pending: pd.DataFrame | None = None
    last_row = header_row
    for first_row, frame in read_records(path, name, layout, len(names), chunk_rows):
        if first_row == header_row:
            frame, first_row = frame.iloc[1:], first_row + 1
        last_row = first_row + len(frame) - 1 if len(frame) else last_row
        check_extra_cells(frame, len(names), first_row, name)
        table = finish_table(frame.iloc[:, : len(names)], names, first_row, marks=marks)
        if table.empty:
            continue
        if pending is not None:
            yield pending
        pending = table
    check_cut_off(path, name, layout, len(names), last_row)
    if pending is None:
        empty = pd.DataFrame({i: [] for i in range(len(names))}, dtype=str)
        pending = finish_table(empty, names, header_row + 1)
    yield pending


def read_records(
    path: Path, name: str, layout: TextLayout, columns: int, chunk_rows: int | None
) -> Iterator[RawFrame]:
    """Records from the header on, widening the table when a row has more cells."""
    width = len(layout.header_cells)
    start = layout.header_index
    while True:
        try:
            for frame in parse_frames(path, layout, width, start, chunk_rows):
                yield start + 1, frame
                start += len(frame)
            return
        except ParserError as error:
            wide = wider(error, columns, name)
            if wide <= width:  # not a row with more cells: nothing to retry
                raise unreadable(
                    name, f"could not be parsed ({error})", "export it again"
                ) from None
            width = wide


def parse_frames(
    path: Path, layout: TextLayout, width: int, start: int, chunk_rows: int | None
) -> Iterator[pd.DataFrame]:
    """pandas frames of ``width`` text columns from record ``start`` (0-based) on.

    pandas gets an open file, not a path: that keeps it off its parallel reader, which
    splits files at line breaks without regard to quoted fields and decodes as UTF-8.
    """
    with path.open("rb") as stream:
        reader = pd.read_csv(
            stream,
            sep=layout.delimiter,
            header=None,
            names=list(range(width)),
            index_col=False,
            skiprows=start,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            encoding=codec_of(layout.encoding),
            encoding_errors=FALLBACK_ERRORS,
            chunksize=chunk_rows,
        )
        if isinstance(reader, pd.DataFrame):
            yield reader
            return
        with reader:
            yield from reader


def wider(error: ParserError, columns: int, name: str) -> int:
    """The width to read again with after a row with more cells than ``columns``.

    Refuses a quote never closed, and a row with far more cells than the header.
    """
    message = str(error)
    quote = OPEN_QUOTE_ERROR.search(message)
    if quote:
        raise unreadable(
            name,
            f'a quote (") opened near row {int(quote.group(1)) + 1} is never closed',
            "the file looks cut off: download it again; or remove the stray quote",
        )
    fields = FIELD_COUNT_ERROR.search(message)
    if fields is None:
        raise unreadable(name, f"could not be parsed as CSV ({message})", "export it again")
    seen, row = int(fields.group(3)), int(fields.group(2))
    if seen > columns + MAX_EXTRA_CELLS:
        raise unreadable(
            name,
            f"row {row} has {seen} cells but the header has {columns}",
            "check the delimiter of that row, or quote its values",
        )
    return seen


def check_extra_cells(frame: pd.DataFrame, width: int, first_row: int, name: str) -> None:
    """Refuse rows with a value beyond the last header cell (see the module docstring)."""
    if frame.shape[1] <= width:
        return
    extra = (frame.iloc[:, width:] != "").any(axis=1).to_numpy()
    if not extra.any():
        return
    rows = [first_row + int(i) for i in extra.nonzero()[0]]
    raise unreadable(
        name,
        f"row {listed_rows(rows)} {'has' if len(rows) == 1 else 'have'} a value beyond "
        f"the last header column ({column_letter(width - 1)}), so the values of "
        f"{'that row' if len(rows) == 1 else 'those rows'} may be shifted",
        'put values that contain the delimiter in double quotes ("..."), '
        "or add a header for the extra column",
    )


def check_cut_off(path: Path, name: str, layout: TextLayout, width: int, row: int) -> None:
    """Refuse a file whose unterminated last line has fewer cells than the header."""
    cells = unterminated_cells(path, layout)
    if cells is None or not MIN_CUT_CELLS <= cells < width or row <= layout.header_index + 1:
        return
    raise unreadable(
        name,
        f"the last row (row {row}) has only {cells} of the {width} columns and the file "
        "ends without a line break: the download looks cut off",
        "download the export again (or complete that row)",
    )
