"""`uniload reports list` and `uniload reports download`: see and fetch past run reports."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from flows import settings
from flows.config import Settings
from flows.exceptions import UniloadError

if TYPE_CHECKING:  # flows.reports imports pandas: only when a command runs, not for --help
    from flows.reports import RunInfo

DOWNLOAD_PREFIX: Final = "uniload-report-"
LIST_HEADER: Final = ("run id", "finished", "rows read", "failed", "path")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the `list` and `download` subcommands to the `reports` parser."""
    commands = parser.add_subparsers(dest="reports_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list past runs, newest first")
    _add_location(listing)
    fetch = commands.add_parser("download", help="copy one run's report files to a folder")
    fetch.add_argument("run_id", nargs="?", metavar="RUN_ID", help="run id (default: latest)")
    fetch.add_argument(
        "--to", type=Path, metavar="DIR", help=f"target folder (default: ./{DOWNLOAD_PREFIX}<id>)"
    )
    _add_location(fetch)


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir",
        metavar="LOCATION",
        help=f"report folder or fsspec URL (default: ${settings.ENV_REPORT_DIR} or "
        f"{settings.DEFAULT_REPORT_DIR}, relative to $UNILOAD_HOME)",
    )


def run(args: argparse.Namespace) -> int:
    """Run `reports list` or `reports download`; 0 on success, 1 with a message on failure."""
    from flows.reports import ReportStore

    try:
        store = ReportStore(report_location(args.report_dir))
        if args.reports_command == "list":
            print_runs(store.list_runs(), store.location)
        else:
            run_id = store.resolve_run(args.run_id)
            to = args.to or Path.cwd() / f"{DOWNLOAD_PREFIX}{run_id}"
            for path in store.download(run_id, to):
                print(path)
    except (UniloadError, OSError) as err:
        print(f"uniload: {err}", file=sys.stderr)
        return 1
    return 0


def report_location(given: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The report location: the option, else $UNILOAD_REPORT_DIR, else "reports" (in the home)."""
    if given:
        return given
    env = Settings.from_env(environ)
    return env.locate(env.report_dir)


def print_runs(runs: Sequence[RunInfo], location: str) -> None:
    """Print past runs as an aligned table (or say there are none)."""
    if not runs:
        print(f"No run reports in {location!r} yet.")
        return
    lines = [LIST_HEADER] + [
        (r.run_id, r.finished_at, f"{r.rows_read:,}", f"{r.rows_failed:,}", r.path) for r in runs
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(LIST_HEADER))]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
