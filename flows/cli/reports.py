"""`uniload reports list|download|serve`: see, fetch and serve past run reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from flows import settings
from flows.exceptions import UniloadError
from flows.report.hosting import report_location as report_location
from flows.report.hosting import serve_reports

if TYPE_CHECKING:  # flows.report.store imports pandas: only when a command runs, not for --help
    from flows.report.store import RunInfo

DOWNLOAD_PREFIX: Final = "uniload-report-"
LIST_HEADER: Final = ("run id", "finished", "rows read", "failed", "path")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the `list`, `download` and `serve` subcommands to the `reports` parser."""
    commands = parser.add_subparsers(dest="reports_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list past runs, newest first")
    _add_location(listing)
    fetch = commands.add_parser("download", help="copy one run's report files to a folder")
    fetch.add_argument("run_id", nargs="?", metavar="RUN_ID", help="run id (default: latest)")
    fetch.add_argument(
        "--to", type=Path, metavar="DIR", help=f"target folder (default: ./{DOWNLOAD_PREFIX}<id>)"
    )
    _add_location(fetch)
    serve = commands.add_parser("serve", help="serve the reports read-only over HTTP")
    serve.add_argument(
        "--host",
        default=settings.DEFAULT_REPORTS_HOST,
        help=f"address to listen on (default {settings.DEFAULT_REPORTS_HOST}: this machine only)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=settings.DEFAULT_REPORTS_PORT,
        help=f"port (default {settings.DEFAULT_REPORTS_PORT}; 0: any free port)",
    )
    _add_location(serve)


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir",
        metavar="LOCATION",
        help=f"report folder or fsspec URL (default: ${settings.ENV_REPORT_DIR} or "
        f"{settings.DEFAULT_REPORT_DIR}, relative to $UNILOAD_HOME)",
    )


def run(args: argparse.Namespace) -> int:
    """Run `reports list`, `download` or `serve`; 0 on success, 1 with a message on failure."""
    from flows.report.store import ReportStore

    try:
        if args.reports_command == "serve":
            return serve_reports(report_location(args.report_dir), host=args.host, port=args.port)
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
