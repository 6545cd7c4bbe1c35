"""The file to read for an export: the given one, or the one export inside a .zip/.gz.

A ``.gz`` holds one file, named like the archive without ``.gz`` (its content decides
the format when that name has no extension); a ``.zip`` must hold exactly one export
(folders and macOS/Windows clutter ignored), named ``archive.zip:member.csv`` in
messages and reports. Members are unpacked to a temporary folder that lives as long as
the ``open_source`` context, and never beyond ``max_bytes``.
"""

from __future__ import annotations

import gzip
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from flows import settings
from flows.read.files import (
    ARCHIVE_SUFFIXES,
    EXCEL_SUFFIXES,
    GZIP_MAGIC,
    HEAD_BYTES,
    OLE_MAGIC,
    REDOWNLOAD,
    TEXT_SUFFIXES,
    ZIP_MAGIC,
    check_content,
    check_file,
    kind_of,
    password_protected,
    suffix_of,
    too_large,
)
from flows.read.raw_tables import unreadable

SourceKind = Literal["text", "xlsx", "xls"]
COPY_BYTES = 1 << 20
MAX_RATIO = 100  # real exports pack 5-15x; a decompression bomb about 1000x
RATIO_FLOOR = 64 << 20  # a member up to this size may pack any ratio (uniform test files)
IGNORED_FOLDER = "__MACOSX/"
IGNORED_FILES = ("Thumbs.db", "desktop.ini")
ONE_EXPORT = "put one CSV, TSV or Excel export in the archive, or give the export itself"


class Readable(Protocol):
    """A binary stream to copy from (a file, a gzip or zip member)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes."""
        ...


@dataclass(frozen=True)
class Source:
    """A plain file to read: the given file, or a member unpacked from an archive."""

    file: Path
    name: str  # for messages and reports: "orders.csv", "x.zip:orders.csv"
    kind: SourceKind


@contextmanager
def open_source(path: Path, *, max_bytes: int, head_only: bool = False) -> Iterator[Source]:
    """The file to read for an export; archives are unpacked while the context is open.

    ``head_only`` unpacks only the first MiB of a text member (enough for its header).
    """
    name = path.name
    kind = kind_of(path, name, check_file(path, name, max_bytes))
    if kind != "zip" and kind != "gz":
        yield Source(path, name, kind)
        return
    with tempfile.TemporaryDirectory(prefix="uniload-") as folder:
        unpack = unpack_zip if kind == "zip" else unpack_gz
        yield unpack(path, Path(folder), max_bytes=max_bytes, head=head_only)


def member_source(file: Path, name: str, max_bytes: int) -> Source:
    """The Source of an unpacked member; archives inside archives are refused."""
    kind = kind_of(file, name, check_content(file, name, max_bytes))
    if kind == "zip" or kind == "gz":
        raise unreadable(name, "is an archive inside an archive", "unpack the outer archive")
    return Source(file, name, kind)


def unpack_stream(
    stream: Readable, target: Path, name: str, *, max_bytes: int, head: bool, packed: int
) -> None:
    """Copy an archive member to ``target``: all of it, or only the first MiB of text.

    The whole member stops at ``max_bytes`` and at ``MAX_RATIO`` times its ``packed`` size
    (in every mode, streaming too), so a decompression bomb never fills the disk or memory.
    """
    first = stream.read(HEAD_BYTES)
    text = not first.startswith((*ZIP_MAGIC, OLE_MAGIC, GZIP_MAGIC))
    ratio_limit = max(RATIO_FLOOR, MAX_RATIO * packed)
    whole = not (head and text)
    limit = min(max_bytes, ratio_limit) if whole else COPY_BYTES
    with target.open("wb") as out:
        out.write(first)
        copied = len(first)
        while copied < limit:
            block = stream.read(min(COPY_BYTES, limit - copied))
            if not block:
                return
            out.write(block)
            copied += len(block)
    if not whole or not stream.read(1):
        return
    if limit == max_bytes:
        raise too_large(name, "unpacks to more bytes", max_bytes)
    raise bomb(name, packed, limit)


def bomb(name: str, packed: int, limit: int) -> Exception:
    """The error for an archive member that unpacks far beyond its packed size."""
    return unreadable(
        name,
        f"unpacks to more than {limit:,} bytes from {packed:,} packed bytes (the limit "
        f"is {MAX_RATIO}x its packed size): it looks like a decompression bomb, so it "
        "was not read",
        "if the export is genuine, unpack it yourself and give the unpacked file "
        "(with --chunk-rows 50000 when it is large); otherwise download it again",
    )


def check_member_name(name: str, suffix: str) -> None:
    """Refuse an archive member that is no export by its extension."""
    if suffix in ARCHIVE_SUFFIXES:
        raise unreadable(name, "is an archive inside an archive", "unpack the outer archive")
    if suffix not in TEXT_SUFFIXES + EXCEL_SUFFIXES:
        raise unreadable(name, f"holds a {suffix or 'nameless'} file", ONE_EXPORT)


def unpack_gz(path: Path, folder: Path, *, max_bytes: int, head: bool) -> Source:
    """The file inside a .gz, unpacked into ``folder``."""
    inner = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    target = folder / (inner or "export")
    try:
        with gzip.open(path, "rb") as stream:
            packed = path.stat().st_size
            unpack_stream(stream, target, path.name, max_bytes=max_bytes, head=head, packed=packed)
    except (OSError, EOFError, zlib.error):
        raise unreadable(path.name, "is a damaged or incomplete .gz file", REDOWNLOAD) from None
    if suffix_of(inner):
        check_member_name(path.name, suffix_of(inner))
    return member_source(target, path.name, max_bytes)


def export_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members of a zip that may be exports (folders and OS clutter left out)."""
    return [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith(IGNORED_FOLDER)
        and not PurePosixPath(info.filename).name.startswith(".")
        and PurePosixPath(info.filename).name not in IGNORED_FILES
    ]


def unpack_zip(path: Path, folder: Path, *, max_bytes: int, head: bool) -> Source:
    """The one export inside a .zip, unpacked into ``folder``."""
    with zipfile.ZipFile(path) as archive:
        members = export_members(archive)
        if len(members) != 1:
            listed = ", ".join(info.filename for info in members) or "nothing"
            raise unreadable(
                path.name,
                f"holds {len(members)} files ({listed}); exactly one export is needed",
                "unzip it and give each export on its own (or the folder)",
            )
        info = members[0]
        name = f"{path.name}:{info.filename}"
        check_member_name(name, suffix_of(info.filename))
        if info.file_size > max_bytes:
            raise too_large(name, f"unpacks to {info.file_size:,} bytes", max_bytes)
        target = folder / (PurePosixPath(info.filename).name or "export")
        try:
            with archive.open(info) as stream:
                packed = info.compress_size
                unpack_stream(stream, target, name, max_bytes=max_bytes, head=head, packed=packed)
        except RuntimeError:  # zipfile's "File ... is encrypted, password required"
            raise password_protected(name) from None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError):
            raise unreadable(name, "is damaged inside the zip", REDOWNLOAD) from None
    return member_source(target, name, max_bytes)


def export_bytes(path: Path) -> int:
    """About how many bytes the export holds once unpacked, without unpacking it.

    A .zip lists its members' sizes; a .gz stores its size modulo 4 GiB in its last four
    bytes (the packed size is taken when larger). A file that cannot be looked at counts
    0: reading it says what is wrong.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(4)
            if head.startswith(GZIP_MAGIC) and size >= 4:
                stream.seek(-4, 2)
                return max(size, int.from_bytes(stream.read(4), "little"))
        if head.startswith(ZIP_MAGIC[0]) and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return max(size, sum(info.file_size for info in archive.infolist()))
    except (OSError, zipfile.BadZipFile):
        return 0
    return size


def block_rows_for(
    files: Sequence[Path], chunk_rows: int | None, *, above_bytes: int
) -> int | None:
    """Rows per block: ``chunk_rows`` (--chunk-rows) when given, else the default when a
    CSV/TSV export is over ``above_bytes`` once unpacked, else None: the run holds every row.

    Excel sheets are read whole either way, so their size does not decide.
    """
    if chunk_rows is not None:
        return chunk_rows
    text = [f for f in files if suffix_of(f.name) not in EXCEL_SUFFIXES]
    if any(export_bytes(f) > above_bytes for f in text):
        return settings.DEFAULT_BLOCK_ROWS
    return None
