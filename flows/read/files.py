"""Export files on disk: checked (exists, readable, not empty, not too large) and recognised.

The extension decides whether a file is taken (``SUPPORTED_SUFFIXES``); its first bytes
decide how it is read, so a ``.csv`` that is really an XLSX is read as XLSX, a real XLS
named ``.xlsx`` as XLS, and an ``.xls`` that is really tab-separated text as text. A web
page (a failed download), a PDF, an OpenDocument/Numbers file and a password-protected
workbook are refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Literal

from flows.read.raw_tables import unreadable

FileKind = Literal["text", "xlsx", "xls", "zip", "gz"]
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
ARCHIVE_SUFFIXES = (".zip", ".gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + EXCEL_SUFFIXES + ARCHIVE_SUFFIXES
SUPPORTED_TEXT = (
    "CSV (.csv), TSV (.tsv, .txt) or Excel (.xlsx, .xlsm, .xls), also inside .zip or .gz"
)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MARKUP_STARTS = ("<!doctype", "<html", "<?xml", "<table")
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
ENCRYPTION_SCAN_BYTES = 64 << 20
HEAD_BYTES = 512
REDOWNLOAD = "download the export again"
EXPORT_AGAIN = f"export the orders as {SUPPORTED_TEXT}"


def suffix_of(name: str) -> str:
    """The lower-case extension of a file name ("" when none)."""
    return PurePosixPath(name).suffix.lower()


def check_file(path: Path, name: str, max_bytes: int) -> bytes:
    """Refuse what is not a readable, non-empty, supported file; its first bytes."""
    if path.is_dir():
        raise unreadable(name, "is a folder, not a file", "give the export file inside it")
    if not path.exists():
        raise unreadable(name, f"was not found (looked for {path})", "check the path and name")
    if not path.is_file():
        raise unreadable(name, "is not a regular file", "give an export file")
    if suffix_of(name) not in SUPPORTED_SUFFIXES:
        kind = suffix_of(name) or "no extension"
        raise unreadable(
            name, f"has an unsupported type ({kind})", f"export it as {SUPPORTED_TEXT}"
        )
    return check_content(path, name, max_bytes)


def check_content(path: Path, name: str, max_bytes: int) -> bytes:
    """Refuse an unreadable, empty or too large file; its first bytes."""
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except PermissionError:
        raise unreadable(
            name, "cannot be opened: permission denied", "give your user read access to it"
        ) from None
    except OSError as error:
        raise unreadable(
            name, f"cannot be read ({error.strerror})", "copy it to a local folder"
        ) from None
    if size == 0:
        raise unreadable(name, "is empty (0 bytes)", REDOWNLOAD)
    if size > max_bytes:
        raise too_large(name, f"is {size:,} bytes", max_bytes)
    return head


def too_large(name: str, size: str, max_bytes: int) -> Exception:
    """The error for a file over the size limit (``size``: "is 5,000 bytes")."""
    return unreadable(
        name,
        f"{size}, over the limit of {max_bytes:,} bytes",
        "stream it with --chunk-rows 50000 (CSV/TSV), or split it into smaller date ranges",
    )


def kind_of(path: Path, name: str, head: bytes) -> FileKind:
    """How to read a file, from its first bytes (see the module docstring)."""
    if head.startswith(ZIP_MAGIC):
        return zip_kind(path, name)
    if head.startswith(GZIP_MAGIC):
        return "gz"
    if head.startswith(OLE_MAGIC):
        return ole_kind(path, name)
    if head.startswith(b"%PDF"):
        raise unreadable(
            name, "is a PDF document, not an order export", f"export it as {SUPPORTED_TEXT}"
        )
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(tuple(mark.encode() for mark in MARKUP_STARTS)):
        raise unreadable(
            name,
            "is a web page or XML file, not an export (a failed download, or an "
            "HTML table saved with an Excel name)",
            f"{REDOWNLOAD}; if it opens in Excel, save it there as .xlsx or CSV",
        )
    return "text"


def zip_kind(path: Path, name: str) -> FileKind:
    """An XLSX workbook, or a zip archive of exports."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in members else b""
    except (zipfile.BadZipFile, OSError, EOFError):
        raise unreadable(name, "is a damaged or incomplete zip/Excel file", REDOWNLOAD) from None
    if "xl/workbook.xml" in members:
        return "xlsx"
    if b"opendocument" in mimetype or "Index/Document.iwa" in members:
        raise unreadable(
            name, "is an OpenDocument or Numbers spreadsheet", "save it as .xlsx or CSV"
        )
    if suffix_of(name) in (".xlsx", ".xlsm"):
        raise unreadable(name, "is not a valid Excel workbook (damaged?)", REDOWNLOAD)
    return "zip"


def ole_kind(path: Path, name: str) -> FileKind:
    """An XLS workbook; a password-protected XLSX (an encrypted OLE file) is refused."""
    with path.open("rb") as stream:
        head = stream.read(ENCRYPTION_SCAN_BYTES)
    if ENCRYPTED_MARK in head:
        raise password_protected(name)
    return "xls"


def password_protected(name: str) -> Exception:
    """The error for an encrypted workbook or archive."""
    return unreadable(
        name,
        "is password-protected",
        "open it, remove the password (Excel: File > Info > Protect Workbook) and save it",
    )
