"""The bad-input corpus: every awkward file is read right or refused with a fix, never a crash."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.exceptions import UnreadableExport
from flows.read.exports import RawExport, iter_export_chunks, read_export, read_header
from tests.flows import bad_corpus as corpus
from tests.flows.bad_corpus import cells

# (writer, words the message must contain besides the file name and a fix)
REFUSED: list[tuple[corpus.Writer, str]] = [
    (corpus.missing, "not found"),
    (corpus.dangling_link, "not found"),
    (corpus.folder_named_csv, "folder"),
    (corpus.fifo, "not a regular file"),
    (corpus.empty, "empty (0 bytes)"),
    (corpus.whitespace_only, "no text"),
    (corpus.random_binary, "binary"),
    (corpus.zero_filled, "binary"),
    (corpus.png_as_csv, "binary"),
    (corpus.pdf_document, "unsupported type (.pdf)"),
    (corpus.pdf_as_csv, "PDF"),
    (corpus.json_export, "unsupported type (.json)"),
    (corpus.numbers_name, "unsupported type (.numbers)"),
    (corpus.no_extension, "no extension"),
    (corpus.single_column, "could not find the columns"),
    (corpus.shifted_row, "row 3 has a value beyond the last header column (G)"),
    (corpus.very_wide_row, "row 2 has 501 cells but the header has 7"),
    (corpus.cut_off, "row 3"),
    (corpus.open_quote, "never closed"),
    (corpus.duplicate_headers, 'header "SKU" appears twice, in columns B and E'),
    (corpus.duplicate_headers_xlsx, 'header "Order Id" appears twice, in columns A and AB'),
    (corpus.zip_bomb_xlsx, "zip bomb"),
    (corpus.truncated_xlsx, "damaged"),
    (corpus.blank_sheet_xlsx, "no header row"),
    (corpus.encrypted_xlsx, "password-protected"),
    (corpus.opendocument_as_xlsx, "OpenDocument"),
    (corpus.html_as_xls, "web page"),
    (corpus.login_page_as_csv, "web page"),
    (corpus.several_members_zip, "holds 2 files (april.csv, may.csv)"),
    (corpus.clutter_only_zip, "holds 0 files"),
    (corpus.zip_in_zip, "archive inside an archive"),
    (corpus.encrypted_zip_member, "password-protected"),
    (corpus.truncated_gz, "damaged or incomplete .gz"),
    (corpus.tar_gz, "holds a .tar file"),
]


def refusal(path: Path, **options: object) -> str:
    """The message of the UnreadableExport that reading ``path`` raises."""
    with pytest.raises(UnreadableExport) as caught:
        read_export(path, **options)  # type: ignore[arg-type]  # each case's own options
    return str(caught.value)


def assert_actionable(message: str, path: Path, words: str) -> None:
    """The message names the file, the problem and a fix."""
    assert path.name in message
    assert words in message
    assert "Fix: " in message


@pytest.mark.parametrize(("write", "words"), REFUSED, ids=[w.__name__ for w, _ in REFUSED])
def test_bad_file_is_refused_with_a_fix(tmp_path: Path, write: corpus.Writer, words: str) -> None:
    path = write(tmp_path)
    assert_actionable(refusal(path), path, words)


@pytest.mark.parametrize(("write", "words"), REFUSED, ids=[w.__name__ for w, _ in REFUSED])
def test_bad_file_is_refused_by_every_entry_point(
    tmp_path: Path, write: corpus.Writer, words: str
) -> None:
    path = write(tmp_path)
    with pytest.raises(UnreadableExport, match="Fix: "):
        list(iter_export_chunks(path, chunk_rows=1))
    if write not in (corpus.shifted_row, corpus.very_wide_row, corpus.cut_off, corpus.open_quote):
        with pytest.raises(UnreadableExport, match="Fix: "):
            read_header(path)


@pytest.mark.parametrize(
    ("write", "words"),
    [(corpus.large_csv, "over the limit of 1,000,000 bytes"), (corpus.large_gz, "unpacks")],
    ids=["large_csv", "large_gz"],
)
def test_file_over_max_bytes_is_refused(tmp_path: Path, write: corpus.Writer, words: str) -> None:
    path = write(tmp_path)
    assert_actionable(refusal(path, max_bytes=1_000_000), path, words)


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = corpus.copy_legacy_xls(tmp_path, "orders.xls")
    assert_actionable(refusal(path, sheet="Sheet9"), path, '"Orders", "Returns"')


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_file_without_read_permission_is_refused(tmp_path: Path) -> None:
    path = corpus.unreadable_file(tmp_path)
    assert_actionable(refusal(path), path, "permission denied")


# --- read correctly -------------------------------------------------------------------


def check_header_only(export: RawExport) -> None:
    assert export.table.empty
    assert list(export.table.columns)[:2] == ["Order Id", "ORDER ITEM ID"]


def check_ten_mb_cell(export: RawExport) -> None:
    assert len(str(export.table.loc[2, "Note"])) == 10_000_000
    assert export.table.loc[3, "Note"] == "short"


def check_mixed_encodings(export: RawExport) -> None:
    assert export.table["City"].tolist() == ["Kraków ₹", "Zürich €"]


def check_utf16(export: RawExport) -> None:
    assert export.delimiter == "\t"
    assert cells(export) == {2: ["403-1", "SKU-é", "2"]}


def check_xlsx_named_csv(export: RawExport) -> None:
    assert export.encoding is None
    assert cells(export) == {2: ["OD1", "A", "560001"]}


def check_formulas(export: RawExport) -> None:
    assert cells(export) == {2: ["OD1", "2", ""]}


def check_xls_named_xlsx(export: RawExport) -> None:
    assert export.table.loc[3, "Order Id"] == "OD1"
    assert export.table.loc[3, "PIN Code"] == "560001"


def check_three_columns(export: RawExport) -> None:
    assert list(export.table.columns) == ["Order Id", "SKU", "Qty"]
    assert export.table.loc[2, "Order Id"] == "OD1"


def check_trailing_delimiters(export: RawExport) -> None:
    assert cells(export) == {2: ["OD1", "A", "1"], 3: ["OD2", "B", "2"]}


def check_short_row(export: RawExport) -> None:
    assert cells(export) == {2: ["OD1", "A", ""], 3: ["OD2", "B", "2"]}


def check_cr_lines(export: RawExport) -> None:
    assert cells(export) == {2: ["OD1", "A", "1"], 4: ["OD2", "B", "2"]}


def check_undefined_byte(export: RawExport) -> None:
    assert export.encoding == "cp1252"
    assert export.table.loc[2, "SKU"] == "café\x81"


def check_german_excel(export: RawExport) -> None:
    assert (export.encoding, export.delimiter) == ("utf-8-sig", ";")
    assert cells(export) == {2: ["OD1", "A", "499,50", "Hauptstr. 1; Hinterhaus"]}


def check_ebay(export: RawExport) -> None:
    assert export.header_row == 2
    assert cells(export) == {3: ["1", "12-1", "Lamp"], 5: ["1 record(s) downloaded", "", ""]}


def check_beyond_header(export: RawExport) -> None:
    assert cells(export) == {2: ["OD1", "A", "", "call first"]}
    assert list(export.table.columns) == ["Order Id", "SKU", "Column C", "Column D"]


def check_notice(export: RawExport) -> None:
    assert export.header_row == 2
    assert export.table.loc[3, "ORDER ITEM ID"] == "4423"


def check_nul_bytes(export: RawExport) -> None:
    assert export.table.loc[2, "Order Id"] == "OD1"  # the stray NULs removed from the cell
    assert export.cleaned_rows == (2,)


READ: list[tuple[corpus.Writer, Callable[[RawExport], None]]] = [
    (corpus.nul_bytes, check_nul_bytes),
    (corpus.header_only, check_header_only),
    (corpus.ten_mb_cell, check_ten_mb_cell),
    (corpus.mixed_encodings, check_mixed_encodings),
    (corpus.utf16_le_without_bom, check_utf16),
    (corpus.utf16_be_without_bom, check_utf16),
    (corpus.xlsx_named_csv, check_xlsx_named_csv),
    (corpus.formulas_xlsx, check_formulas),
    (corpus.xls_named_xlsx, check_xls_named_xlsx),
    (corpus.tsv_named_xls, check_three_columns),
    (corpus.trailing_delimiters, check_trailing_delimiters),
    (corpus.short_middle_row, check_short_row),
    (corpus.old_mac_line_ends, check_cr_lines),
    (corpus.cp1252_undefined_byte, check_undefined_byte),
    (corpus.german_excel, check_german_excel),
    (corpus.gz_without_inner_extension, check_three_columns),
    (corpus.ebay_with_trailer, check_ebay),
    (corpus.xlsx_values_beyond_header, check_beyond_header),
    (corpus.notice_before_header, check_notice),
]


@pytest.mark.parametrize(("write", "check"), READ, ids=[w.__name__ for w, _ in READ])
def test_awkward_file_is_read_right(
    tmp_path: Path, write: corpus.Writer, check: Callable[[RawExport], None]
) -> None:
    path = write(tmp_path)
    export = read_export(path)
    check(export)
    assert export.table.index.name == "row"
    assert all(value == value for value in export.table.to_numpy().ravel())  # no NaN


@pytest.mark.parametrize(("write", "check"), READ, ids=[w.__name__ for w, _ in READ])
def test_awkward_file_reads_the_same_in_chunks(
    tmp_path: Path, write: corpus.Writer, check: Callable[[RawExport], None]
) -> None:
    path = write(tmp_path)
    whole = read_export(path)
    chunks = list(iter_export_chunks(path, chunk_rows=1))
    assert cells(whole) == {row: v for chunk in chunks for row, v in cells(chunk).items()}
    assert read_header(path) == [c for c in whole.table.columns if not c.startswith("Column ")]


def test_permission_denied_is_refused_even_for_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = corpus.unreadable_file(tmp_path)
    real_open = Path.open

    def open_unless_private(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]  # Path.open's overloads, passed through

    monkeypatch.setattr(Path, "open", open_unless_private)
    assert_actionable(refusal(path), path, "permission denied")
