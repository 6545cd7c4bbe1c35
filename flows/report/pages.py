"""What the report server reads and shows: run folders, their summaries, small HTML pages."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

RUN_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
REPORT_FILE: Final = re.compile(
    r"failures\.xlsx|failures(-[A-Za-z0-9._-]{1,80})?\.csv|summary\.md|summary\.json"
)
SUMMARY_JSON: Final = "summary.json"
STYLE: Final = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
)


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One run folder as the index shows it; `summary` is None when missing or unreadable."""

    run_id: str
    summary: dict[str, Any] | None
    modified: float

    def finished(self) -> str:
        """The summary's finish time, or an empty string."""
        return str((self.summary or {}).get("finished_at", ""))

    def sort_key(self) -> tuple[float, str]:
        """Newest first: the finish time, else the folder's modification time."""
        try:
            when = datetime.fromisoformat(self.finished())
        except ValueError:
            return (self.modified, self.run_id)
        return ((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp(), self.run_id)


def read_summary(folder: Path) -> dict[str, Any] | None:
    """A run folder's summary.json as a dict, or None when absent or not a JSON object."""
    try:
        found = json.loads((folder / SUMMARY_JSON).read_bytes())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def list_runs(root: Path) -> list[RunEntry]:
    """Every run folder directly under `root`, newest first (no folder: no runs)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    runs = [_run_entry(e) for e in entries if RUN_ID.fullmatch(e.name)]
    return sorted((r for r in runs if r is not None), key=RunEntry.sort_key, reverse=True)


def _run_entry(entry: os.DirEntry[str]) -> RunEntry | None:
    try:  # a folder removed while listing is simply not listed
        if not entry.is_dir(follow_symlinks=False):
            return None
        modified = entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return None
    return RunEntry(entry.name, read_summary(Path(entry.path)), modified)


def report_files(folder: Path) -> list[str]:
    """The report files present in a run folder: xlsx first, then CSVs, summary.md, .json."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    order = {"failures.xlsx": 0, "summary.md": 2, "summary.json": 3}
    return sorted(
        (n for n in names if REPORT_FILE.fullmatch(n)), key=lambda n: (order.get(n, 1), n)
    )


def _count(summary: dict[str, Any] | None, key: str) -> str:
    value = (summary or {}).get(key)
    return f"{value:,}" if isinstance(value, int) else "?"


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    ).encode()


def index_page(root: Path) -> bytes:
    """The list of runs, newest first, each linking to its page."""
    runs = list_runs(root)
    if not runs:
        return _page("uniload run reports", "<p>No run reports yet.</p>")
    rows = "".join(
        f'<tr><td><a href="runs/{quote(r.run_id)}/">{escape(r.run_id)}</a></td>'
        f"<td>{escape(r.finished() or _state(r))}</td><td>{_count(r.summary, 'rows_read')}</td>"
        f"<td>{_count(r.summary, 'rows_failed')}</td></tr>"
        for r in runs
    )
    head = "<tr><th>run</th><th>finished</th><th>rows read</th><th>rows failed</th></tr>"
    return _page("uniload run reports", f"<table>{head}{rows}</table>")


def _state(run: RunEntry) -> str:
    return "summary.json unreadable" if run.summary is None else "unknown"


def run_page(run_id: str, folder: Path) -> bytes:
    """One run: its counts from summary.json and a link to each report file."""
    summary = read_summary(folder)
    if summary is None:
        facts = "<p>No readable summary.json: the run is still writing, or it broke off.</p>"
    else:
        facts = "".join(
            f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
            for label, value in (
                ("finished", str(summary.get("finished_at", ""))),
                ("rows read", _count(summary, "rows_read")),
                ("rows accepted", _count(summary, "rows_accepted")),
                ("rows failed", _count(summary, "rows_failed")),
                ("orders accepted", _count(summary, "orders_accepted")),
                ("dry run", str(summary.get("dry_run", ""))),
            )
        )
        facts = f"<table>{facts}</table>"
    links = "".join(
        f'<li><a href="{quote(name)}">{escape(name)}</a></li>' for name in report_files(folder)
    )
    back = '<p><a href="../../">all runs</a></p>'
    return _page(f"Run {run_id}", f"{facts}<h2>Files</h2><ul>{links}</ul>{back}")
