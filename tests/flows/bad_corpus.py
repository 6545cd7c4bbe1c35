"""Writers of awkward export files into a test folder (large and binary ones are generated)."""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from flows.read.exports import RawExport

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bad"
LEGACY_XLS = FIXTURES / "legacy-orders.xls"  # a real BIFF8 workbook written by xlwt 1.3.0

Writer = Callable[[Path], Path]

FLIPKART_HEADER = "Order Id,ORDER ITEM ID,SKU,Quantity,Selling Price Per Item,City,PIN Code"
FLIPKART_ROW = "OD101,'4423,SKU-1,1,499.00,Bengaluru,560001"


def cells(export: RawExport) -> dict[int, list[str]]:
    """Row number -> values of an export, for compact assertions."""
    table = export.table
    return {int(row): list(values) for row, values in zip(table.index, table.values, strict=True)}


def text_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` encoded as given (no newline translation)."""
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def bytes_file(folder: Path, name: str, data: bytes) -> Path:
    """Write raw bytes."""
    path = folder / name
    path.write_bytes(data)
    return path


def workbook_bytes(rows: list[list[object]], *, title: str = "Orders") -> bytes:
    """An XLSX written by openpyxl holding ``rows`` on one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite_zip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of a zip archive with some members' contents replaced."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip archive holding ``members``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- files that must be refused -------------------------------------------------------


def missing(folder: Path) -> Path:
    """A path where no file is."""
    return folder / "orders-missing.csv"


def dangling_link(folder: Path) -> Path:
    """A symbolic link whose target is gone."""
    link = folder / "orders-link.csv"
    link.symlink_to(folder / "gone.csv")
    return link


def folder_named_csv(folder: Path) -> Path:
    """A directory, named like an export."""
    path = folder / "orders-folder.csv"
    path.mkdir()
    return path


def fifo(folder: Path) -> Path:
    """A named pipe: not a regular file (reading it would block)."""
    path = folder / "orders-pipe.csv"
    os.mkfifo(path)
    return path


def empty(folder: Path) -> Path:
    """Zero bytes."""
    return bytes_file(folder, "orders-empty.csv", b"")


def whitespace_only(folder: Path) -> Path:
    """Only spaces, tabs and line breaks."""
    return text_file(folder, "orders-blank.csv", "  \r\n\t\n\n   \n")


def random_binary(folder: Path) -> Path:
    """Random bytes with a .csv name."""
    return bytes_file(folder, "orders-garbage.csv", random.Random(7).randbytes(4096))


def zero_filled(folder: Path) -> Path:
    """A CSV header, then 4 KiB of zero bytes (a copy cut short by a crash): binary."""
    return bytes_file(folder, "orders-zeros.csv", f"{FLIPKART_HEADER}\n".encode() + bytes(4096))


def nul_bytes(folder: Path) -> Path:
    """A CSV with a few stray NUL bytes inside its values (damage in one cell, not binary)."""
    data = f"{FLIPKART_HEADER}\nOD1\x00\x00,'1,S,1,1,C,1\n".encode()
    return bytes_file(folder, "orders-nul.csv", data)


def png_as_csv(folder: Path) -> Path:
    """An image saved with a .csv name."""
    return bytes_file(
        folder, "orders-image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    )


def pdf_document(folder: Path) -> Path:
    """A PDF invoice given instead of the export."""
    return bytes_file(folder, "orders.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")


def pdf_as_csv(folder: Path) -> Path:
    """A PDF with a .csv name."""
    return bytes_file(folder, "orders-pdf.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")


def json_export(folder: Path) -> Path:
    """A JSON API dump."""
    return text_file(folder, "orders.json", '[{"order_id": "OD1"}]')


def numbers_name(folder: Path) -> Path:
    """An Apple Numbers file name."""
    return bytes_file(folder, "orders.numbers", zip_of({"Index/Document.iwa": b"x"}))


def no_extension(folder: Path) -> Path:
    """A CSV without an extension."""
    return text_file(folder, "orders", f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\n")


def single_column(folder: Path) -> Path:
    """A list of order ids, one per line: no columns to map."""
    return text_file(folder, "orders-ids.csv", "Order Id\nOD1\nOD2\n")


def shifted_row(folder: Path) -> Path:
    """An unquoted comma in a city shifts row 3 one cell right."""
    text = f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\nOD102,'4424,SKU-2,1,10,Navi Mumbai, MH,400703\n"
    return text_file(folder, "orders-shifted.csv", text)


def very_wide_row(folder: Path) -> Path:
    """A row of hundreds of cells under a 7-column header."""
    return text_file(folder, "orders-wide.csv", f"{FLIPKART_HEADER}\n{',x' * 500}\n")


def cut_off(folder: Path) -> Path:
    """A download cut in the middle of its last row."""
    return text_file(folder, "orders-cut.csv", f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\nOD102,'44")


def open_quote(folder: Path) -> Path:
    """A quote opened in the last row and never closed."""
    text = f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\nOD102,'4424,\"SKU-2,1,10,Pune,411001\n"
    return text_file(folder, "orders-quote.csv", text)


def duplicate_headers(folder: Path) -> Path:
    """Two columns named SKU (B and E)."""
    return text_file(folder, "orders-dup.csv", "Order Id,SKU,Qty,Price,SKU\nOD1,A,1,2,A\n")


def duplicate_headers_xlsx(folder: Path) -> Path:
    """An XLSX whose columns A and AB are both "Order Id"."""
    header: list[object] = ["Order Id", *[f"c{i}" for i in range(26)], "Order Id"]
    data = workbook_bytes([header, ["OD1", *range(26), "OD1"]])
    return bytes_file(folder, "orders-dup.xlsx", data)


def zip_bomb_xlsx(folder: Path) -> Path:
    """An XLSX whose sheet XML unpacks 20 MB from a few KB."""
    data = workbook_bytes([["Order Id", "SKU"], ["OD1", "A"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * 20_000_000)
    return bytes_file(
        folder, "orders-bomb.xlsx", rewrite_zip(data, {"xl/worksheets/sheet1.xml": padded})
    )


def truncated_xlsx(folder: Path) -> Path:
    """The first half of an XLSX (an interrupted download)."""
    data = workbook_bytes([["Order Id", "SKU"], ["OD1", "A"]])
    return bytes_file(folder, "orders-half.xlsx", data[: len(data) // 2])


def blank_sheet_xlsx(folder: Path) -> Path:
    """An XLSX whose only sheet is empty."""
    return bytes_file(folder, "orders-blank.xlsx", workbook_bytes([]))


def encrypted_xlsx(folder: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE file with EncryptedPackage."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = (
        "EncryptionInfo".encode("utf-16-le") + bytes(50) + "EncryptedPackage".encode("utf-16-le")
    )
    return bytes_file(folder, "orders-locked.xlsx", ole + directory + bytes(1024))


def opendocument_as_xlsx(folder: Path) -> Path:
    """A LibreOffice spreadsheet renamed .xlsx."""
    data = zip_of(
        {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}
    )
    return bytes_file(folder, "orders-ods.xlsx", data)


def html_as_xls(folder: Path) -> Path:
    """An HTML table served as an .xls download."""
    return text_file(
        folder, "orders-web.xls", "<html><body><table><tr><td>Order Id</td></tr></table>"
    )


def login_page_as_csv(folder: Path) -> Path:
    """The marketplace's login page saved instead of the export (expired session)."""
    return text_file(folder, "orders-login.csv", "\n<!DOCTYPE html>\n<html><title>Sign in</title>")


def several_members_zip(folder: Path) -> Path:
    """A zip holding two exports."""
    row = f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\n".encode()
    data = zip_of({"april.csv": row, "may.csv": row})
    return bytes_file(folder, "orders-two.zip", data)


def clutter_only_zip(folder: Path) -> Path:
    """A zip holding only macOS clutter."""
    return bytes_file(
        folder, "orders-clutter.zip", zip_of({"__MACOSX/._a.csv": b"x", ".DS_Store": b"x"})
    )


def zip_in_zip(folder: Path) -> Path:
    """A zip whose one member is another zip."""
    inner = zip_of({"orders.csv": f"{FLIPKART_HEADER}\n".encode()})
    return bytes_file(folder, "orders-nested.zip", zip_of({"inner.zip": inner}))


def encrypted_zip_member(folder: Path) -> Path:
    """A zip whose member is marked encrypted (password-protected archive)."""
    data = bytearray(zip_of({"orders.csv": f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\n".encode()}))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 1
    return bytes_file(folder, "orders-locked.zip", bytes(data))


def truncated_gz(folder: Path) -> Path:
    """A .gz cut in the middle."""
    data = gzip.compress(f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\n".encode() * 200)
    return bytes_file(folder, "orders-cut.csv.gz", data[: len(data) // 2])


def tar_gz(folder: Path) -> Path:
    """A .tar.gz of two exports."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name in ("a.csv", "b.csv"):
            data = f"{FLIPKART_HEADER}\n".encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return bytes_file(folder, "orders.tar.gz", out.getvalue())


def large_gz(folder: Path) -> Path:
    """A .gz unpacking to 3 MB (read with max_bytes=1 MB)."""
    data = (f"{FLIPKART_HEADER}\n" + f"{FLIPKART_ROW}\n" * 70_000).encode()
    return bytes_file(folder, "orders-big.csv.gz", gzip.compress(data))


def large_csv(folder: Path) -> Path:
    """A 3 MB CSV (read with max_bytes=1 MB)."""
    return text_file(
        folder, "orders-big.csv", f"{FLIPKART_HEADER}\n" + f"{FLIPKART_ROW}\n" * 70_000
    )


def unreadable_file(folder: Path) -> Path:
    """A CSV its reader has no permission to open."""
    path = text_file(folder, "orders-private.csv", f"{FLIPKART_HEADER}\n{FLIPKART_ROW}\n")
    path.chmod(0)
    return path


def copy_legacy_xls(folder: Path, name: str) -> Path:
    """The committed XLS fixture under another name."""
    path = folder / name
    shutil.copyfile(LEGACY_XLS, path)
    return path


# --- awkward files that must be read correctly ----------------------------------------


def header_only(folder: Path) -> Path:
    """A valid export of a day without orders."""
    return text_file(folder, "orders-none.csv", f"{FLIPKART_HEADER}\r\n")


def ten_mb_cell(folder: Path) -> Path:
    """A quoted 10 MB gift message (over the csv module's default field limit)."""
    text = f'{FLIPKART_HEADER},Note\n{FLIPKART_ROW},"{"x" * 10_000_000}"\nOD2,1,S,1,1,C,1,short\n'
    return text_file(folder, "orders-huge-cell.csv", text)


def mixed_encodings(folder: Path) -> Path:
    """UTF-8 rows and a row pasted from a Windows-1252 file."""
    data = (
        f"{FLIPKART_HEADER}\nOD1,1,S,1,1,Kraków ₹,1\n".encode() + b"OD2,2,S,1,1,Z\xfcrich \x80,2\n"
    )
    return bytes_file(folder, "orders-mixed.csv", data)


def utf16_le_without_bom(folder: Path) -> Path:
    """A tab-separated report in UTF-16 LE without a byte-order mark."""
    text = "order-id\tsku\tquantity-purchased\n403-1\tSKU-é\t2\n"
    return bytes_file(folder, "orders-u16le.txt", text.encode("utf-16-le"))


def utf16_be_without_bom(folder: Path) -> Path:
    """The same in UTF-16 BE."""
    text = "order-id\tsku\tquantity-purchased\n403-1\tSKU-é\t2\n"
    return bytes_file(folder, "orders-u16be.txt", text.encode("utf-16-be"))


def xlsx_named_csv(folder: Path) -> Path:
    """An Excel workbook saved with a .csv name."""
    data = workbook_bytes([["Order Id", "SKU", "PIN Code"], ["OD1", "A", 560001]])
    return bytes_file(folder, "orders-really-xlsx.csv", data)


def formulas_xlsx(folder: Path) -> Path:
    """Formula cells: one with the value Excel saved (2), one saved without a value."""
    data = workbook_bytes([["Order Id", "Total", "Check"], ["OD1", "=1+1", "=A2&A2"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    cached = sheet.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>", 1)
    assert cached != sheet
    return bytes_file(
        folder, "orders-formulas.xlsx", rewrite_zip(data, {"xl/worksheets/sheet1.xml": cached})
    )


def xls_named_xlsx(folder: Path) -> Path:
    """A real (BIFF8) XLS with an .xlsx name."""
    return copy_legacy_xls(folder, "orders-old.xlsx")


def tsv_named_xls(folder: Path) -> Path:
    """Tab-separated text served as .xls (common "Excel" downloads)."""
    return text_file(folder, "orders-tsv.xls", "Order Id\tSKU\tQty\r\nOD1\tA\t1\r\n")


def trailing_delimiters(folder: Path) -> Path:
    """Data rows ending in an extra comma the header does not have."""
    return text_file(folder, "orders-trailing.csv", "Order Id,SKU,Qty\nOD1,A,1,\nOD2,B,2,,\n")


def short_middle_row(folder: Path) -> Path:
    """A row missing its last cells in the middle of the file."""
    return text_file(folder, "orders-short.csv", "Order Id,SKU,Qty\nOD1,A\nOD2,B,2\n")


def old_mac_line_ends(folder: Path) -> Path:
    """Lines ended by CR only, with a blank line."""
    return text_file(folder, "orders-cr.csv", "Order Id,SKU,Qty\rOD1,A,1\r\rOD2,B,2\r")


def cp1252_undefined_byte(folder: Path) -> Path:
    """Windows-1252 text holding 0x81, a byte cp1252 leaves undefined."""
    return bytes_file(folder, "orders-81.csv", b"Order Id,SKU,Qty\nOD1,caf\xe9\x81,1\n")


def german_excel(folder: Path) -> Path:
    """Excel on a German Windows: BOM, semicolons, CRLF, decimal commas, quoted semicolon."""
    text = '\ufeffOrder Id;SKU;Price;Address\r\nOD1;A;"499,50";"Hauptstr. 1; Hinterhaus"\r\n'
    return text_file(folder, "orders-de.csv", text)


def gz_without_inner_extension(folder: Path) -> Path:
    """orders.gz: the inner name has no extension, the content decides."""
    data = gzip.compress(b"Order Id\tSKU\tQty\nOD1\tA\t1\n")
    return bytes_file(folder, "orders.gz", data)


def ebay_with_trailer(folder: Path) -> Path:
    """eBay: a blank line before the header and a record-count trailer after the data."""
    text = (
        '\n"Sales Record Number","Order Number","Item Title"\n"1","12-1","Lamp"\n'
        '\n"1 record(s) downloaded"\n'
    )
    return text_file(folder, "orders-ebay.csv", text)


def xlsx_values_beyond_header(folder: Path) -> Path:
    """An XLSX with a note typed to the right of the last header cell."""
    data = workbook_bytes([["Order Id", "SKU"], ["OD1", "A", None, "call first"]])
    return bytes_file(folder, "orders-note.xlsx", data)


def notice_before_header(folder: Path) -> Path:
    """Flipkart self-ship: a notice line before the header."""
    text = f"Self Ship orders - dispatch before the SLA,,,\n{FLIPKART_HEADER}\n{FLIPKART_ROW}\n"
    return text_file(folder, "orders-notice.csv", text)
