"""The nightly inbox: which files are ready, and where each goes once processed."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Final, Literal

from flows.settings import EXPORT_SUFFIXES

SETTLE_SECONDS: Final = 60.0  # a file modified more recently may still be being written
ARCHIVE: Final = "archive"
FAILED: Final = "failed"
PARTIAL_SUFFIXES: Final = (".part", ".tmp", ".crdownload", ".partial", ".download")


def ready_files(
    inbox: Path, *, settle_seconds: float = SETTLE_SECONDS, now: float | None = None
) -> list[Path]:
    """Exports in the inbox that nobody is writing any more (old enough, not a partial download)."""
    if not inbox.is_dir():
        return []
    now = time.time() if now is None else now
    ready = []
    for path in sorted(inbox.iterdir()):
        if not lives_in(path, inbox) or path.name.startswith((".", "~$")):
            continue
        if path.suffix.lower() in PARTIAL_SUFFIXES or path.suffix.lower() not in EXPORT_SUFFIXES:
            continue
        if now - path.stat().st_mtime >= settle_seconds:
            ready.append(path)
    return ready


def lives_in(path: Path, inbox: Path) -> bool:
    """A regular file of the inbox itself: no link (to a file elsewhere or not), no folder."""
    if path.is_symlink() or not path.is_file():
        return False
    return path.resolve().parent == inbox.resolve()


def file_away(path: Path, *, run_id: str, to: Literal["archive", "failed"], note: str = "") -> Path:
    """Move a processed file to archive/ (or failed/) as `<run id>-<name>`; never overwrite."""
    folder = path.parent / (ARCHIVE if to == "archive" else FAILED)
    folder.mkdir(exist_ok=True)
    target = folder / f"{run_id}-{path.name}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{run_id}-{n}-{path.name}"
    shutil.move(str(path), target)
    if note:
        target.with_name(target.name + ".reason.txt").write_text(note + "\n", encoding="utf-8")
    return target
