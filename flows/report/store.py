"""Run reports in a folder or any fsspec location: run folders, listing past runs, download.

One folder per run, ``<location>/<run id>/``, written by `flows.report.writer` (its
docstring has the layout). A run folder without ``summary.json`` is incomplete and not
listed. Local folders are created 0o700 and files 0o600: reports hold customers' personal
data.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import fsspec
from fsspec.implementations.local import LocalFileSystem

from flows import settings
from flows.exceptions import ConfigError
from flows.report.private_files import FOLDER_MODE, write_private

DEFAULT_LOCATION: Final = settings.DEFAULT_REPORT_DIR
FAILURES_XLSX: Final = "failures.xlsx"
SUMMARY_JSON: Final = "summary.json"
SUMMARY_MD: Final = "summary.md"
LATEST_SHOWN: Final = 5
_RUN_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One past run, as `uniload reports list` shows it."""

    run_id: str
    finished_at: str
    rows_read: int
    rows_failed: int
    path: str


class ReportStore:
    """Run reports under one location: a local folder (default "reports") or an fsspec URL."""

    def __init__(self, location: str = DEFAULT_LOCATION) -> None:
        self.location = location
        try:
            self._fs, self._root = fsspec.core.url_to_fs(location)
        except (ImportError, ValueError) as err:
            raise ConfigError(f"Cannot open report location {location!r}: {err}") from err
        self._local = isinstance(self._fs, LocalFileSystem)

    def run_folder(self, run_id: str) -> str:
        """The folder of one run's report (a local path, or a URL for other locations)."""
        return self._display(self._folder(run_id))

    def prepare_run_folder(self, run_id: str) -> str:
        """Create one run's folder (0o700 when local), emptied of an earlier try's files."""
        return self._display(self._make_folder(run_id))

    def local_folder(self, run_id: str) -> Path | None:
        """One run's folder as a local path; None when the location is not a local folder."""
        return Path(self._folder(run_id)) if self._local else None

    def write_file(self, run_id: str, name: str, data: bytes) -> str:
        """Write one file into a run's folder (0o600 when local); its path or URL."""
        path = posixpath.join(self._folder(run_id), name)
        if self._local:
            write_private(Path(path), data)
        else:
            self._fs.pipe_file(path, data)
        return self._display(path)

    def upload(self, run_id: str, source: Path) -> str:
        """Copy a local file into a run's folder under its own name; its path or URL."""
        path = posixpath.join(self._folder(run_id), source.name)
        self._fs.put_file(str(source), path)
        return self._display(path)

    def list_runs(self) -> list[RunInfo]:
        """Every complete run report under the location, newest (by finished_at) first."""
        if not self._fs.isdir(self._root):
            return []
        runs = []
        for entry in self._fs.ls(self._root, detail=True):
            summary = self._read_summary(entry["name"]) if entry["type"] == "directory" else None
            if summary is not None:
                runs.append(_run_info(entry["name"], summary, self._display(entry["name"])))
        return sorted(runs, key=lambda r: (_finish_time(r.finished_at), r.run_id), reverse=True)

    def resolve_run(self, run_id: str | None) -> str:
        """The given run id when its report exists, else the latest run's id when None."""
        if run_id is None:
            runs = self.list_runs()
            if not runs:
                raise ConfigError(f"No run reports in {self.location!r} yet.")
            return runs[0].run_id
        if not self._fs.isdir(self._folder(run_id)):
            latest = ", ".join(r.run_id for r in self.list_runs()[:LATEST_SHOWN]) or "none"
            raise ConfigError(
                f"No report for run {run_id!r} in {self.location!r}. Latest runs: {latest}."
            )
        return run_id

    def probe_run_folder(self, run_id: str, size: int) -> None:
        """Create one run's folder and write then remove a ``size``-byte probe file in it."""
        folder = self._make_folder(run_id)
        self.write_file(run_id, ".write-probe", b"\0" * size)
        self._fs.rm_file(posixpath.join(folder, ".write-probe"))

    def download(self, run_id: str | None, to: Path) -> list[Path]:
        """Copy one run's report files (the latest run's when None) into the folder `to`."""
        folder = self._folder(self.resolve_run(run_id))
        self._check_inside(folder)
        to.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        copied = []
        for entry in sorted(self._fs.ls(folder, detail=True), key=lambda e: str(e["name"])):
            if entry["type"] == "file" and not entry.get("islink"):
                target = to / posixpath.basename(entry["name"])
                write_private(target, self._fs.cat_file(entry["name"]))
                copied.append(target)
        return copied

    def _check_inside(self, folder: str) -> None:
        """Refuse a local run folder that is a link or leads outside the report store."""
        if not self._local:
            return
        root = os.path.realpath(self._root)
        if os.path.islink(folder) or os.path.dirname(os.path.realpath(folder)) != root:
            raise ConfigError(
                f"Run folder {folder!r} is a link or leads outside {self.location!r}: "
                "not copied. Remove the link, or copy the report from where it really is."
            )

    def _folder(self, run_id: str) -> str:
        if not _RUN_ID.fullmatch(run_id):
            raise ConfigError(f"Invalid run id {run_id!r}: use letters, digits, '.', '_', '-'.")
        return posixpath.join(self._root, run_id)

    def _make_folder(self, run_id: str) -> str:
        folder = self._folder(run_id)
        if self._local:
            os.makedirs(self._root, mode=FOLDER_MODE, exist_ok=True)
            os.makedirs(folder, mode=FOLDER_MODE, exist_ok=True)
            os.chmod(folder, FOLDER_MODE)
        else:
            self._fs.makedirs(folder, exist_ok=True)
        for entry in self._fs.ls(folder, detail=True):  # a retried run replaces its report
            if entry["type"] == "file":
                self._fs.rm_file(entry["name"])
        return folder

    def _read_summary(self, folder: str) -> dict[str, Any] | None:
        try:
            found = json.loads(self._fs.cat_file(posixpath.join(folder, SUMMARY_JSON)))
        except (FileNotFoundError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def _display(self, path: str) -> str:
        return path if self._local else str(self._fs.unstrip_protocol(path))


def _run_info(folder: str, summary: Mapping[str, Any], path: str) -> RunInfo:
    return RunInfo(
        run_id=posixpath.basename(folder.rstrip("/")),
        finished_at=str(summary.get("finished_at", "")),
        rows_read=_count(summary.get("rows_read")),
        rows_failed=_count(summary.get("rows_failed")),
        path=path,
    )


def _count(value: Any) -> int:
    """A count from a summary someone may have edited: anything but a whole number is 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        return int(value)
    except (ValueError, OverflowError):
        return 0


def _finish_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return _EARLIEST
    return when if when.tzinfo else when.replace(tzinfo=UTC)
