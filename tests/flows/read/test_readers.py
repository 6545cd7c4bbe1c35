"""Reading exports as sellers download them: encodings, delimiters, rows, Excel cells."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.exceptions import UnreadableExport
from flows.read.exports import RawExport, iter_export_chunks, read_export, read_header
from tests.flows.bad_corpus import LEGACY_XLS, cells

# Header rows from /work/shared/formats.md.
SHOPIFY_LINE = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes"
)
AMAZON_LINE = (
    "order-id\torder-item-id\tpurchase-date\tpayments-date\tbuyer-email\tbuyer-name\t"
    "buyer-phone-number\tsku\tproduct-name\tquantity-purchased\tcurrency\titem-price\titem-tax\t"
    "shipping-price\tshipping-tax\tship-service-level\trecipient-name\tship-address-1\t"
    "ship-address-2\tship-address-3\tship-city\tship-state\tship-postal-code\tship-country"
)
FLIPKART_LINE = (
    "Ordered On,Shipment ID,ORDER ITEM ID,Order Id,HSN CODE,Order State,Order Type,FSN,SKU,"
    "Product,Invoice No.,CGST,IGST,SGST,Invoice Date (mm/dd/yy),Invoice Amount,"
    "Selling Price Per Item,Shipping and Handling Charges,Quantity,"
    "Price inc. FKMP Contribution & Subsidy,Buyer name,Ship to name,Address Line 1,"
    "Address Line 2,City,State,PIN Code"
)
SHOPIFY = SHOPIFY_LINE.split(",")
AMAZON = AMAZON_LINE.split("\t")
FLIPKART = FLIPKART_LINE.split(",")
WOO = [
    "Order Number", "Order Status", "Order Date", "Customer Note", "First Name (Billing)",
    "Last Name (Billing)", "Address 1&2 (Billing)", "City (Billing)", "Postcode (Billing)",
    "Item #", "SKU", "Name", "Quantity", "Item Cost",
]  # fmt: skip
HINT = frozenset(SHOPIFY + AMAZON + FLIPKART + WOO)


def write_table(
    path: Path,
    header: list[str],
    rows: list[dict[str, str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    line_end: str = "\n",
    before: str = "",
) -> Path:
    """Write an export as a marketplace would (csv quoting, given encoding and line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows([[row.get(column, "") for column in header] for row in rows])
    path.write_bytes((before + out.getvalue()).encode(encoding))
    return path


def shopify_rows() -> list[dict[str, str]]:
    """Two line items of one order, the second with blank order columns, and a note."""
    return [
        {"Name": "#1001", "Email": "a@example.com", "Lineitem quantity": "1",
         "Lineitem sku": "TEE-S", "Billing Zip": "'02134", "Notes": "leave at door\nring twice",
         "Billing Name": "  Asha Rao "},
        {"Name": "#1001", "Lineitem quantity": "2", "Lineitem sku": "TEE-M"},
        {"Name": "#1002", "Lineitem quantity": "1", "Lineitem sku": "CAP", "Notes": 'say "hi"'},
    ]  # fmt: skip


def test_shopify_csv_counts_a_multiline_note_as_one_row(tmp_path: Path) -> None:
    export = read_export(write_table(tmp_path / "shopify.csv", SHOPIFY, shopify_rows()))
    assert (export.header_row, export.delimiter, export.encoding) == (1, ",", "utf-8")
    assert export.table.index.tolist() == [2, 3, 4]
    assert export.table.loc[2, "Notes"] == "leave at door\nring twice"
    assert export.table.loc[4, "Lineitem sku"] == "CAP"
    assert export.table.loc[4, "Notes"] == 'say "hi"'


def test_leading_apostrophe_is_removed_and_whitespace_kept(tmp_path: Path) -> None:
    export = read_export(write_table(tmp_path / "shopify.csv", SHOPIFY, shopify_rows()))
    assert export.table.loc[2, "Billing Zip"] == "02134"
    assert export.table.loc[2, "Billing Name"] == "  Asha Rao "
    assert export.table.loc[3, "Billing Zip"] == ""


@pytest.mark.parametrize(
    ("value", "read"),
    [("'4423", "4423"), ("''x", "'x"), ("'", ""), ("O'Brien", "O'Brien"), (" 'x", " 'x")],
    ids=["marked", "doubled", "alone", "inside", "after-space"],
)
def test_only_one_leading_apostrophe_is_removed(tmp_path: Path, value: str, read: str) -> None:
    path = write_table(tmp_path / "f.csv", ["Order Id", "SKU"], [{"Order Id": "1", "SKU": value}])
    assert read_export(path).table.loc[2, "SKU"] == read


def test_header_cells_are_stripped_and_bom_removed(tmp_path: Path) -> None:
    path = tmp_path / "woo.csv"
    path.write_bytes(b'\xef\xbb\xbf"Order Number" , SKU ,"Quantity"\r\n 1 ,A,2\r\n')
    export = read_export(path)
    assert list(export.table.columns) == ["Order Number", "SKU", "Quantity"]
    assert export.table.loc[2, "Order Number"] == " 1 "
    assert export.encoding == "utf-8-sig"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"),
     ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")],
    ids=["utf8", "utf8-bom", "windows-1252", "utf16-bom", "utf16le-no-bom", "utf16be-no-bom"],
)  # fmt: skip
def test_amazon_report_in_every_encoding(tmp_path: Path, encoding: str, detected: str) -> None:
    rows = [{"order-id": "403-1234567-1234567", "recipient-name": "José Müller", "sku": "Ä-1"}]
    path = write_table(tmp_path / "amazon.txt", AMAZON, rows, delimiter="\t", encoding=encoding)
    export = read_export(path)
    assert (export.encoding, export.delimiter) == (detected, "\t")
    assert list(export.table.columns) == AMAZON
    assert export.table.loc[2, "recipient-name"] == "José Müller"


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"], ids=["comma", "tab", "semi", "pipe"])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_delimiter_is_sniffed_despite_delimiters_in_quoted_values(
    tmp_path: Path, delimiter: str, line_end: str
) -> None:
    tricky = "12, MG Road; Block | B\tFlat 3"
    rows = [{"Order Id": "OD1", "Address Line 1": tricky, "City": "Pune"}] * 3
    path = tmp_path / "flipkart.csv"
    write_table(path, FLIPKART, rows, delimiter=delimiter, line_end=line_end)
    export = read_export(path)
    assert export.delimiter == delimiter
    assert export.table.loc[4, "Address Line 1"] == tricky
    assert export.table.shape == (3, len(FLIPKART))


def test_notice_line_before_header_is_skipped_with_a_hint(tmp_path: Path) -> None:
    notice = "Self-ship orders, dispatch by the date below, or they are cancelled\n"
    rows = [{"Order Id": "OD1", "ORDER ITEM ID": "'44231", "PIN Code": "560001"}]
    path = write_table(tmp_path / "flipkart.csv", FLIPKART, rows, before=notice)
    export = read_export(path, header_hint=HINT)
    assert export.header_row == 2
    assert export.table.loc[3, "ORDER ITEM ID"] == "44231"
    assert read_header(path, header_hint=HINT) == FLIPKART


def test_blank_rows_are_dropped_without_renumbering(tmp_path: Path) -> None:
    path = tmp_path / "woo.csv"
    path.write_text('\n"Order Number",SKU,Quantity\n1,A,2\n\n,,\n,  ,\n2,B,1\n', newline="")
    export = read_export(path)
    assert export.header_row == 2
    assert export.table.index.tolist() == [3, 6, 7]
    assert export.table.loc[6, "SKU"] == "  "


def test_blank_header_cells_are_named_or_dropped(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Order Id,,SKU,,\nOD1,x,A,,\n")
    export = read_export(path)
    assert list(export.table.columns) == ["Order Id", "Column B", "SKU"]
    assert export.table.loc[2, "Column B"] == "x"


def test_header_only_file_is_an_empty_export(tmp_path: Path) -> None:
    path = write_table(tmp_path / "amazon.txt", AMAZON, [], delimiter="\t")
    export = read_export(path)
    assert export.table.empty
    assert list(export.table.columns) == AMAZON
    assert export.table.index.name == "row"


def test_values_are_strings_never_nan(tmp_path: Path) -> None:
    export = read_export(write_table(tmp_path / "shopify.csv", SHOPIFY, shopify_rows()))
    values = export.table.to_numpy().ravel()
    assert all(isinstance(value, str) for value in values)
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in export.table.dtypes)


def test_chunks_continue_row_numbers_across_multiline_records(tmp_path: Path) -> None:
    rows = [{"Name": f"#{i}", "Notes": "a\nb" if i % 3 == 0 else ""} for i in range(20)]
    path = write_table(tmp_path / "shopify.csv", SHOPIFY, rows)
    chunks = list(iter_export_chunks(path, chunk_rows=7))
    assert all(len(chunk.table) <= 7 for chunk in chunks)
    joined = pd.concat([chunk.table for chunk in chunks])
    assert joined.index.tolist() == list(range(2, 22))
    assert joined.equals(read_export(path).table)
    assert {chunk.name for chunk in chunks} == {"shopify.csv"}


def test_header_only_file_yields_one_empty_chunk(tmp_path: Path) -> None:
    path = write_table(tmp_path / "amazon.txt", AMAZON, [], delimiter="\t")
    chunks = list(iter_export_chunks(path, chunk_rows=100))
    assert len(chunks) == 1
    assert chunks[0].table.empty


def test_gz_and_zip_are_read_by_their_inner_name(tmp_path: Path) -> None:
    data = b"order-id\tsku\tquantity-purchased\n403-1\tA\t2\n"
    (tmp_path / "amazon.txt.gz").write_bytes(gzip.compress(data))
    with zipfile.ZipFile(tmp_path / "download.zip", "w") as archive:
        archive.writestr("reports/amazon.txt", data)
        archive.writestr("__MACOSX/reports/._amazon.txt", b"\x00\x05")
    gz = read_export(tmp_path / "amazon.txt.gz")
    zipped = read_export(tmp_path / "download.zip")
    assert (gz.name, zipped.name) == ("amazon.txt.gz", "download.zip:reports/amazon.txt")
    assert zipped.path == tmp_path / "download.zip"
    assert gz.table.equals(zipped.table)
    assert gz.table.loc[2, "quantity-purchased"] == "2"


PROBLEM_ROW_8 = [
    ("1,2,3" + ",x" * 200, "row 8 has 203 cells but the header has 3"),
    ('1,"2,3', "opened near row 8 is never closed"),
    ("1,2,3,x", "row 8 has a value beyond the last header column (C)"),
]


@pytest.mark.parametrize(("line", "words"), PROBLEM_ROW_8, ids=["wide", "quote", "extra"])
@pytest.mark.parametrize("chunk_rows", [None, 2], ids=["whole", "chunks"])
def test_problem_row_is_named_by_its_spreadsheet_row(
    tmp_path: Path, line: str, words: str, chunk_rows: int | None
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(f'note\na,b,c\n1,2,3\n4,5,6,\n7,"8\n8",9\n1,2,3\n1,2,3\n{line}\n1,2,3\n')
    with pytest.raises(UnreadableExport, match=re.escape(words)):
        read_all(path, chunk_rows)


def read_all(path: Path, chunk_rows: int | None) -> list[RawExport]:
    """Every RawExport of a file: one whole, or its chunks."""
    if chunk_rows is None:
        return [read_export(path)]
    return list(iter_export_chunks(path, chunk_rows=chunk_rows))


def test_large_file_with_multiline_notes_keeps_exact_row_numbers(tmp_path: Path) -> None:
    rows = [
        {"Name": f"#{i}", "Notes": f"gift\nfor {i}" if i % 3 == 0 else "", "Lineitem sku": "S"}
        for i in range(120_000)
    ]
    path = write_table(tmp_path / "shopify.csv", SHOPIFY, rows)
    assert path.stat().st_size > 6_000_000  # past pandas' parallel-read threshold
    table = read_export(path).table
    assert table.index[0] == 2 and table.index[-1] == 120_001
    assert table.loc[119_999, "Name"] == "#119997"
    assert table.loc[119_999, "Notes"] == "gift\nfor 119997"
    chunked = pd.concat(chunk.table for chunk in iter_export_chunks(path, chunk_rows=25_000))
    assert chunked.equals(table)


# --- Excel ----------------------------------------------------------------------------


def write_xlsx(path: Path, rows: list[list[object]], formats: dict[str, str] | None = None) -> Path:
    """An XLSX written with openpyxl; ``formats`` maps cells ("C2") to number formats."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    for row in rows:
        sheet.append(row)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    book.create_sheet("Returns").append(["Return Id", "Order Id"])
    book.save(path)
    return path


EXCEL_CELLS: list[tuple[object, str, str]] = [
    (560001, "General", "560001"),
    (12345678901234, "General", "12345678901234"),
    (12345678901234.0, "0", "12345678901234"),
    (499.5, "0.00", "499.5"),
    (0.1 + 0.2, "General", "0.3"),
    (1e-7, "General", "0.0000001"),
    (-2.5, "General", "-2.5"),
    (True, "General", "TRUE"),
    (False, "General", "FALSE"),
    (dt.datetime(2025, 8, 26), "yyyy-mm-dd", "2025-08-26"),
    (dt.datetime(2025, 8, 26), "yyyy-mm-dd hh:mm:ss", "2025-08-26 00:00:00"),
    (dt.datetime(2025, 8, 26, 23, 16, 23), "dd/mm/yyyy hh:mm", "2025-08-26 23:16:23"),
    (dt.datetime(2025, 8, 26, 9, 5, 59, 700_000), "yyyy-mm-dd hh:mm:ss", "2025-08-26 09:06:00"),
    (dt.time(10, 30), "h:mm", "10:30:00"),
    ("'OD-7", "@", "OD-7"),
    (" spaced ", "General", " spaced "),
    (None, "General", ""),
]


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    EXCEL_CELLS,
    ids=[
        "pincode", "long-id", "long-id-float", "price", "float-noise", "tiny", "negative",
        "true", "false", "date", "midnight-datetime", "datetime", "rounded-second", "time",
        "apostrophe", "spaces", "empty",
    ],
)  # fmt: skip
def test_xlsx_cells_read_as_the_text_a_seller_sees(
    tmp_path: Path, value: object, number_format: str, text: str
) -> None:
    rows: list[list[object]] = [["Order Id", "Value"], ["OD1", value]]
    path = write_xlsx(tmp_path / "orders.xlsx", rows, {"B2": number_format})
    export = read_export(path)
    assert (export.encoding, export.delimiter) == (None, None)
    assert export.table.loc[2, "Value"] == text


def test_xlsx_header_rows_and_sheets(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Orders between 1 and 7 Aug"], [], ["Order Id", "SKU", "Quantity"],
        ["OD1", "A", 1], [None, None, None], ["OD2", "B", 2],
    ]  # fmt: skip
    path = write_xlsx(tmp_path / "orders.xlsx", rows)
    export = read_export(path, header_hint=HINT)
    assert export.header_row == 3
    assert export.table.index.tolist() == [4, 6]
    assert read_header(path) == ["Order Id", "SKU", "Quantity"]
    returns = read_export(path, sheet="returns")
    assert list(returns.table.columns) == ["Return Id", "Order Id"]
    assert returns.table.empty


def test_xlsx_chunks_continue_row_numbers(tmp_path: Path) -> None:
    orders: list[list[object]] = [[f"OD{i}", "A"] for i in range(10)]
    rows: list[list[object]] = [["Order Id", "SKU"], *orders]
    path = write_xlsx(tmp_path / "orders.xlsx", rows)
    chunks = list(iter_export_chunks(path, chunk_rows=4))
    assert [chunk.table.index.tolist() for chunk in chunks] == [
        [2, 3, 4, 5], [6, 7, 8, 9], [10, 11],
    ]  # fmt: skip


def test_xls_cells_read_as_the_text_a_seller_sees() -> None:
    export = read_export(LEGACY_XLS, header_hint=HINT)
    assert export.header_row == 2
    assert export.table.index.tolist() == [3, 4, 6]
    first, second = export.table.loc[3], export.table.loc[4]
    assert first["Quantity"] == "2"
    assert first["Selling Price Per Item"] == "499.5"
    assert first["PIN Code"] == "560001"
    assert first["Ordered On"] == "2025-08-26"
    assert first["Dispatch by date"] == "2025-08-27 23:16:23"
    assert first["Packed at"] == "10:30:00"
    assert first["Gift"] == "TRUE"
    assert first["ORDER ITEM ID"] == "4423"
    assert first["Big Id"] == "12345678901234"
    assert second["SKU"] == " SKU-2 "
    assert second["Selling Price Per Item"] == "0.3"
    assert second["Ordered On"] == "2025-08-26 00:00:00"


# --- properties -----------------------------------------------------------------------

CELL_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(",;|\t\n\"' "),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
)
def test_any_written_table_reads_back(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], delimiter: str
) -> None:
    header = ["Order Id", "SKU", "Notes"]
    path = tmp_path_factory.mktemp("prop") / "orders.csv"
    records = [dict(zip(header, ["OD", *row[1:]], strict=True)) for row in rows]
    export = read_export(write_table(path, header, records, delimiter=delimiter))
    expected = {
        number: [value[1:] if value.startswith("'") else value for value in record.values()]
        for number, record in enumerate(records, start=2)
    }
    assert cells(export) == expected
