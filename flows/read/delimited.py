"""CSV/TSV layout: encoding, delimiter and header found from the first MiB of the file.

The delimiter (comma, tab, semicolon or pipe) is the one under which a header row is
found (with hinted names first), the following rows have as many cells as the header,
and the header has the most cells, in that order; ties go to comma, then tab. The file
is parsed with quoting for this, so a comma inside a quoted field never fools it.
Row numbers count records as a spreadsheet shows them: a quoted field holding line
breaks is one row, a blank line is a row (later dropped, but counted).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flows.read.encodings import TextEncoding, decode_sample, detect_encoding, looks_binary
from flows.read.raw_tables import hinted_header, no_columns, plain_header, unreadable

Delimiter = Literal[",", "\t", ";", "|"]
DELIMITERS: tuple[Delimiter, ...] = (",", "\t", ";", "|")
SAMPLE_BYTES = 1 << 20
TAIL_BYTES = 1 << 16
SCAN_RECORDS = 60
CONSISTENCY_ROWS = 20
LINE_BREAK = re.compile(r"\r\n|\r|\n")

Score = tuple[bool, float, int]


@dataclass(frozen=True)
class TextLayout:
    """Where the table of a delimited text file is."""

    encoding: TextEncoding
    delimiter: Delimiter
    header_index: int  # 0-based record index of the header (spreadsheet row - 1)
    header_cells: tuple[str, ...]  # as parsed, before any stripping


def read_sample(path: Path) -> bytes:
    """The first ``SAMPLE_BYTES`` of a file."""
    with path.open("rb") as stream:
        return stream.read(SAMPLE_BYTES)


def sniff_layout(path: Path, name: str, hint: frozenset[str]) -> TextLayout:
    """The encoding, delimiter and header of a delimited text file."""
    sample = read_sample(path)
    encoding = detect_encoding(sample)
    text = decode_sample(sample, encoding)
    if looks_binary(encoding, sample, text):
        raise unreadable(
            name,
            "is not a text export: it holds binary data (NUL or control bytes)",
            "export the orders again as CSV, TSV or Excel",
        )
    if not text.strip():
        raise unreadable(name, "holds no text, only blank lines or spaces", "export it again")
    return choose_delimiter(text, hint, name, whole=len(sample) < SAMPLE_BYTES, encoding=encoding)


def choose_delimiter(
    text: str, hint: frozenset[str], name: str, *, whole: bool, encoding: TextEncoding
) -> TextLayout:
    """The layout under the delimiter that scores best (see the module docstring)."""
    best: tuple[Score, Delimiter, int, list[str]] | None = None
    for delimiter in DELIMITERS:
        rows = parse_records(text, delimiter, whole=whole)
        found = score_delimiter(rows, hint)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], delimiter, found[1], rows[found[1]])
    if best is None:
        raise no_columns(name)
    _, delimiter, index, cells = best
    return TextLayout(encoding, delimiter, index, tuple(cells))


def parse_records(text: str, delimiter: Delimiter, *, whole: bool) -> list[list[str]]:
    """The first records of the sample (a record cut by the end of the sample dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > SCAN_RECORDS:
                return rows[:SCAN_RECORDS]
    except csv.Error:  # a field larger than the csv module's limit: stop the sample there
        return rows
    return rows if whole else rows[:-1]


def score_delimiter(rows: list[list[str]], hint: frozenset[str]) -> tuple[Score, int] | None:
    """How well a delimiter's records look like a table, and where its header is."""
    hinted = hinted_header(rows, hint) if hint else None
    index = plain_header(rows) if hinted is None else hinted
    if index is None:
        return None
    header = rows[index]
    data = [row for row in rows[index + 1 :] if any(cell.strip() for cell in row)]
    data = data[:CONSISTENCY_ROWS]
    fitting = sum(fits(row, header) for row in data) / len(data) if data else 1.0
    return (hinted is not None, fitting, len(trimmed(header))), index


def fits(row: list[str], header: list[str]) -> bool:
    """A data row fits a header with as many cells (trailing empty cells aside)."""
    return len(row) == len(header) or len(trimmed(row)) == len(trimmed(header))


def trimmed(cells: list[str]) -> list[str]:
    """Cells without the empty ones at the end."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def unterminated_cells(path: Path, layout: TextLayout) -> int | None:
    """Cells on the last line when the file ends without a line break (else None).

    Returns None too when that line holds a quote: it may end a multi-line record.
    """
    start = max(0, path.stat().st_size - TAIL_BYTES)
    with path.open("rb") as stream:
        stream.seek(start - start % 2)
        tail = stream.read()
    return last_line_cells(
        decode_sample(tail, tail_encoding(layout.encoding, path)), layout.delimiter
    )


def tail_encoding(encoding: TextEncoding, path: Path) -> TextEncoding:
    """The encoding to decode the end of a file with (UTF-16 byte order from the BOM)."""
    if encoding != "utf-16":
        return "utf-8" if encoding == "utf-8-sig" else encoding
    with path.open("rb") as stream:
        return "utf-16-le" if stream.read(2) == b"\xff\xfe" else "utf-16-be"


def last_line_cells(text: str, delimiter: Delimiter) -> int | None:
    """Cells on the last line of ``text`` unless it ends with a line break or holds a quote."""
    if not text or text.endswith(("\n", "\r")):
        return None
    line = LINE_BREAK.split(text)[-1]
    if '"' in line or not line.strip():
        return None
    return len(next(csv.reader([line], delimiter=delimiter)))
