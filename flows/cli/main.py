"""`uniload`: the command line. Heavy imports happen inside commands so `--help` stays fast."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from flows import settings

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_ROWS_FAILED = 2

# Prefect's own chatter stays off the seller's screen (the run prints its own summary), but the
# run's INFO lines still reach the Prefect server, so the UI shows the run's log. A run beats
# every 30 s (Prefect's floor; its default is 180 s), so the automation recipe
# data/automations/crash-silent-runs.json marks a killed run Crashed within 90 s.
QUIET_PREFECT = {
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}

Command = Callable[[argparse.Namespace], int]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="export files or folders of exports")
    p.add_argument("--profile", help="marketplace profile (default: detected from the header row)")
    p.add_argument("--facility-map", metavar="FILE", help="warehouse -> facility JSON map")
    p.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    p.add_argument(
        "--report-dir", metavar="LOCATION", help="where run reports go (default: reports)"
    )
    p.add_argument("--ledger", metavar="URL", help="ledger database: a path or SQLAlchemy URL")
    p.add_argument(
        "--rate", type=float, help=f"requests per second (default {settings.DEFAULT_RATE:g})"
    )
    p.add_argument("--concurrency", type=int, help="requests in flight at once (default 8)")
    p.add_argument("--target-zone", help="time zone of dates sent to Uniware (default UTC)")
    p.add_argument(
        "--shared-limit", metavar="NAME", help="Prefect global rate limit shared by workers"
    )
    p.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="run block by block, N rows a block (default: 50000 when a CSV/TSV is over "
        "UNILOAD_STREAM_ABOVE_BYTES, 256 MiB; an order's rows must stand together)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="fail the whole run when one input file cannot be read (default: report it, "
        "go on with the others, exit 2)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree (imports nothing heavy)."""
    parser = argparse.ArgumentParser(
        prog="uniload",
        description="Marketplace order exports into Uniware: validate, group, post once, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="upload exports to Uniware (exit 0 all accepted, 2 some rows failed, 1 run failed)",
    )
    _add_run_options(run)
    run.add_argument(
        "--dry-run", action="store_true", help="check every row and order, post nothing"
    )
    validate = sub.add_parser(
        "validate", help="check exports and write the failure report, post nothing"
    )
    _add_run_options(validate)
    sub.add_parser("demo", help="run the sample exports end to end against a local sandbox")
    sandbox = sub.add_parser("sandbox", help="start the local Uniware sandbox")
    from uniware.sandbox.cli import configure_parser as configure_sandbox

    configure_sandbox(sandbox)
    _add_profiles(sub)
    _add_reports(sub)
    _add_ledger(sub)
    _add_automations(sub)
    serve = sub.add_parser("serve", help="serve the nightly deployment (drains an inbox folder)")
    serve.add_argument(
        "--inbox", default=settings.DEFAULT_INBOX, help="folder sellers drop exports in"
    )
    serve.add_argument(
        "--cron", default=settings.DEFAULT_CRON, help="schedule (default 02:00 daily)"
    )
    serve.add_argument(
        "--timezone",
        default=settings.DEFAULT_TIMEZONE,
        help=f"time zone of the schedule (default {settings.DEFAULT_TIMEZONE})",
    )
    serve.add_argument("--facility-map", metavar="FILE")
    serve.add_argument("--report-dir", metavar="LOCATION")
    serve.add_argument(
        "--reports-host",
        metavar="HOST",
        default=settings.DEFAULT_REPORTS_HOST,
        help="address the report server listens on (default: this machine only)",
    )
    serve.add_argument(
        "--reports-port",
        metavar="PORT",
        type=int,
        default=settings.DEFAULT_REPORTS_PORT,
        help=f"report server port (default {settings.DEFAULT_REPORTS_PORT}; 0: no server)",
    )
    return parser


def _add_profiles(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profiles = sub.add_parser("profiles", help="list marketplace profiles, or detect a file's")
    actions = profiles.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every profile with its description")
    detect = actions.add_parser("detect", help="which profile fits a file's header row")
    detect.add_argument("file")
    detect.add_argument("--sheet")


def _add_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reports = sub.add_parser("reports", help="list run reports, or download one")
    from flows.cli.reports import configure_parser as configure_reports

    configure_reports(reports)


def _add_ledger(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = sub.add_parser("ledger", help="what was delivered: one order, or a summary")
    ledger.add_argument(
        "--ledger", metavar="URL", help="ledger database (default .uniload/ledger.db)"
    )
    actions = ledger.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="every delivery of one order id")
    show.add_argument("order_id")
    actions.add_parser("summary", help="counts per destination and state")
    actions.add_parser("init", help="create (or upgrade) the ledger's tables, then exit")
    actions.add_parser(
        "pending", help="orders left 'sending': in flight now, or in doubt after a run died"
    )


def _add_automations(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    automations = sub.add_parser(
        "automations", help="install the bundled Prefect automations (data/automations/)"
    )
    actions = automations.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser(
        "install", help="create or update them on the server of PREFECT_API_URL"
    )
    install.add_argument(
        "names", nargs="*", metavar="NAME", help="recipes, e.g. crash-silent-runs (default: all)"
    )


def _dispatch(args: argparse.Namespace) -> int:
    from flows.cli import commands

    table: dict[str, Command] = {
        "run": commands.run,
        "validate": commands.run,
        "profiles": commands.profiles,
        "serve": commands.serve,
    }
    if args.command == "demo":
        from flows.cli.demo import demo

        return demo(args)
    if args.command == "ledger":
        from flows.cli.ledger_views import ledger

        return ledger(args)
    if args.command == "sandbox":
        from uniware.sandbox.cli import run as run_sandbox

        return run_sandbox(args)
    if args.command == "automations":
        from flows.cli.automations import run as run_automations

        return run_automations(args)
    if args.command == "reports":
        from flows.cli.reports import run as run_reports

        return run_reports(args)
    return table[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `uniload` console script."""
    args = build_parser().parse_args(argv)
    for key, value in QUIET_PREFECT.items():
        os.environ.setdefault(key, value)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
