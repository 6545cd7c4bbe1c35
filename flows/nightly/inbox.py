"""The nightly inbox: which files are ready, who claimed them, and where each goes once done.

A run claims a settled file by renaming it into ``processing/<run id>/`` (atomic on one
file system: of two runs, exactly one wins, the other finds the file gone). The claim's
heartbeat file names the claiming process (``host:pid``, uniware.owners). A claim is released
back into the inbox, and taken by the next run, once its heartbeat is older than the timeout
(its run died anywhere), or at once when its process is known to be gone (it ran on this
machine, and that pid is no longer alive: a killed run's files need not wait out the timeout).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Final, Literal

from flows.read.files import SUPPORTED_SUFFIXES
from uniware.owners import OWNER_SPACE, owner_gone, this_owner

SETTLE_SECONDS: Final = 60.0  # a file modified more recently may still be being written
ARCHIVE: Final = "archive"
FAILED: Final = "failed"
PROCESSING: Final = "processing"
HEARTBEAT: Final = ".heartbeat"
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
        if path.suffix.lower() in PARTIAL_SUFFIXES or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            continue  # another run claimed it while this one was listing
        if now - modified >= settle_seconds:
            ready.append(path)
    return ready


def lives_in(path: Path, inbox: Path) -> bool:
    """A regular file of the inbox itself: no link (to a file elsewhere or not), no folder."""
    if path.is_symlink() or not path.is_file():
        return False
    return path.resolve().parent == inbox.resolve()


def claim_files(
    inbox: Path, *, run_id: str, settle_seconds: float = SETTLE_SECONDS, limit: int | None = None
) -> list[Path]:
    """Move settled files (at most ``limit``) into ``processing/<run id>/``; taken ones skipped."""
    folder = inbox / PROCESSING / run_id
    claimed: list[Path] = []
    for path in ready_files(inbox, settle_seconds=settle_seconds):
        if limit is not None and len(claimed) >= limit:
            break
        folder.mkdir(parents=True, exist_ok=True)
        renew_claim(inbox, run_id=run_id)
        try:
            os.rename(path, folder / path.name)
        except FileNotFoundError:
            continue  # another run claimed it between the listing and the rename
        claimed.append(folder / path.name)
    return claimed


def renew_claim(inbox: Path, *, run_id: str) -> None:
    """The claiming run is alive: refresh its heartbeat, which names this process."""
    folder = inbox / PROCESSING / run_id
    if folder.is_dir():
        (folder / HEARTBEAT).write_text(f"{this_owner()}\n{OWNER_SPACE}\n")


def release_claim(inbox: Path, *, run_id: str) -> list[Path]:
    """Put a run's claimed files back in the inbox (never over a newer file of the same name)."""
    folder = inbox / PROCESSING / run_id
    released = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name == HEARTBEAT:
            continue
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            os.link(path, inbox / path.name)  # fails rather than overwrite
            path.unlink()
            released.append(inbox / path.name)
    _remove_if_empty(folder)
    return released


def release_stale_claims(
    inbox: Path, *, timeout_seconds: float, now: float | None = None
) -> list[Path]:
    """Release the claims whose heartbeat is older than the timeout, or whose process is
    gone (their run died)."""
    root = inbox / PROCESSING
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    released: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        beat = folder / HEARTBEAT
        try:
            seen = (beat if beat.exists() else folder).stat().st_mtime
        except FileNotFoundError:
            continue  # released by another run just now
        if now - seen >= timeout_seconds or _claimer_gone(beat):
            released += release_claim(inbox, run_id=folder.name)
    return released


def _claimer_gone(beat: Path) -> bool:
    """The heartbeat names a process of this machine that is no longer alive."""
    try:
        owner, space = [*beat.read_text().splitlines(), "", ""][:2]
    except OSError:  # missing (released just now, or from before owners were written)
        return False
    return owner_gone(owner or None, space or None)


def finish_claim(inbox: Path, *, run_id: str) -> None:
    """Drop a run's claim folder once every file in it was filed away."""
    _remove_if_empty(inbox / PROCESSING / run_id)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (folder / HEARTBEAT).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def file_away(
    path: Path,
    *,
    inbox: Path | None = None,
    run_id: str,
    to: Literal["archive", "failed"],
    note: str = "",
) -> Path:
    """Move a processed file to the inbox's archive/ (or failed/) as `<run id>-<name>`.

    Never overwrites; ``inbox`` defaults to the file's own folder.
    """
    folder = (inbox or path.parent) / (ARCHIVE if to == "archive" else FAILED)
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
