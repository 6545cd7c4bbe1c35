"""The CLI's commands: each turns options into a flow run or a lookup, and returns an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from flows import settings
from flows.config import RunOptions, Settings, load_facility_map, resolve_options
from flows.exceptions import RunFailed, UniloadError
from flows.report.summary_text import summary_lines
from uniware.exceptions import UniwareError

EXIT_OK, EXIT_RUN_FAILED, EXIT_ROWS_FAILED = 0, 1, 2
RUN_KEYS = (
    "profile",
    "facility_map",
    "report_dir",
    "ledger",
    "rate",
    "concurrency",
    "target_zone",
    "shared_limit",
    "sheet",
    "chunk_rows",
    "strict",
)
TASK_RUN_LOGGER = "prefect.task_runs"
EXPECTED_FAILURES = (UniloadError, UniwareError)


def _fail(message: str) -> int:
    from uniware.redact import redact

    print(f"uniload: {redact(message)}", file=sys.stderr)
    return EXIT_RUN_FAILED


PATH_KEYS = ("facility_map", "report_dir", "ledger")


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The options typed on the command line (paths made absolute: relative to where typed)."""
    given = {k: getattr(args, k) for k in RUN_KEYS if getattr(args, k, None) is not None}
    for key in PATH_KEYS:
        if key in given and "://" not in str(given[key]):
            given[key] = str(Path(given[key]).expanduser().absolute())
    return given


def upload(paths: Sequence[str], given: Mapping[str, Any], *, dry_run: bool) -> int:
    """Check the configuration, run the flow, print the summary; the exit code says how it went."""
    return _upload(paths, given, dry_run=dry_run)[0]


def _upload(
    paths: Sequence[str], given: Mapping[str, Any], *, dry_run: bool, local: bool = False
) -> tuple[int, dict[str, Any] | None]:
    """The exit code and the summary (None when the run failed as a whole).

    ``local``: a check of files (``uniload validate``), the same steps without Prefect.

    Only the options given explicitly travel as flow parameters; the flow run resolves the
    rest from the environment itself (flows.config.Settings), as a deployment run does.
    """
    try:
        options = resolve_options(
            given, Settings.from_env(), dry_run=dry_run, read_secret=_no_secret
        )
        if not options.dry_run:
            from uniware.config import UniwareConfig

            UniwareConfig.from_env()  # fail fast on missing credentials, before Prefect starts
        load_facility_map(options.facility_map)
        if options.profile is not None:  # a misspelt --profile fails before Prefect starts
            from flows.read.profiles import choose_profile, load_profiles

            choose_profile([], load_profiles(), name=options.profile, file="")
        for path in paths:
            if not Path(path).exists():
                return _fail(f"{path}: no such file or folder"), None
    except (UniloadError, UniwareError) as err:
        return _fail(str(err)), None
    from flows.cli.progress import progress

    inputs = [str(Path(p).absolute()) for p in paths]
    progress.enable()
    try:
        if local and not _large(inputs, options):
            summary = _check_locally(inputs, options)
        else:
            summary = _run_flow(inputs, given, dry_run=dry_run)
    except (UniloadError, UniwareError) as err:
        return _fail(str(err)), None
    finally:
        progress.stop()
    print("\n".join(summary_lines(summary)))
    failed = summary["rows_failed"] or summary.get("files_failed", 0)
    return (EXIT_ROWS_FAILED if failed else EXIT_OK), summary


def _large(inputs: Sequence[str], options: RunOptions) -> bool:
    """True when the run goes block by block (a large file, or --chunk-rows): a flow run."""
    from flows.pipeline import expand_paths
    from flows.read.sources import block_rows_for

    above = Settings.from_env().stream_above_bytes
    return block_rows_for(expand_paths(inputs), options.chunk_rows, above_bytes=above) is not None


def _check_locally(inputs: Sequence[str], options: RunOptions) -> dict[str, Any]:
    from flows.cli.validate import check_files

    return check_files(inputs, options)


def _run_flow(inputs: Sequence[str], given: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """One flow run of upload-orders; a run that failed as a whole raises RunFailed."""
    from flows.upload import upload_orders

    with _plain_failures():
        state = upload_orders(paths=list(inputs), dry_run=dry_run, return_state=True, **given)
    if state.is_failed():
        raise RunFailed(state.message or "the run failed")
    return cast("dict[str, Any]", state.result())


def _no_secret(name: str) -> str:
    """Before the flow runs, a ledger kept in a Secret block is not read (the flow reads it)."""
    return settings.DEFAULT_LEDGER


class _ExpectedFailure(logging.Filter):
    """Drops Prefect's traceback of a whole-run failure whose message the CLI prints anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, EXPECTED_FAILURES)


@contextmanager
def _plain_failures() -> Iterator[None]:
    """No traceback on the seller's screen for an unreadable file or a refused key."""
    logger = logging.getLogger(TASK_RUN_LOGGER)
    quiet = _ExpectedFailure()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def run(args: argparse.Namespace) -> int:
    """`uniload run` (or `validate`, a dry run that prints errors per column)."""
    local = args.command == "validate"
    dry_run = local or getattr(args, "dry_run", False)
    return _upload(args.paths, _given(args), dry_run=dry_run, local=local)[0]


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def demo(args: argparse.Namespace) -> int:
    """`uniload demo` (`make run`): the samples against a fresh local sandbox, then stop it."""
    import httpx

    from uniware.config import demo_credentials
    from uniware.sandbox import running_sandbox

    credentials = demo_credentials()
    facility_map = load_facility_map(str(settings.OKER_FACILITY_MAP))
    with (
        tempfile.TemporaryDirectory(prefix="uniload-demo-") as tmp,
        running_sandbox(
            db_path=Path(tmp) / "sandbox.db", facility_map=facility_map, credentials=credentials
        ) as sandbox,
    ):
        print(f"sandbox listening on {sandbox.base_url}")
        env = {
            "UNIWARE_BASE_URL": sandbox.base_url,
            "UNIWARE_CLIENT_ID": credentials.client_id,
            "UNIWARE_MERCHANT_ID": credentials.merchant_id,
            "UNIWARE_SECURITY_KEY": credentials.security_key,
        }
        given = {
            "facility_map": str(settings.OKER_FACILITY_MAP),
            "ledger": str(Path(tmp) / "ledger.db"),
        }
        with _environment(env):
            code, summary = _upload([str(settings.SAMPLES_DIR)], given, dry_run=False)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=30).json()["count"]
        print(f"sandbox now holds {held} orders; stopping it")
    if summary is None:
        return code
    # The samples hold deliberately bad rows: failed rows are the demonstration, not a failure.
    report = Path(str(summary["report"]))
    print(
        f"demo done: {summary['rows_accepted']} rows accepted, {summary['rows_failed']} failed "
        f"on purpose, {summary.get('rows_skipped', 0)} skipped (cancelled on the marketplace: "
        f"skipped.csv). Open {report / 'failures.xlsx'} to see each bad cell and its reason."
    )
    return EXIT_OK


def profiles(args: argparse.Namespace) -> int:
    """`uniload profiles list|detect FILE`."""
    from flows.read.exports import read_header
    from flows.read.profiles import choose_profile, known_headers, load_profiles

    try:
        loaded = load_profiles()
        if args.action == "list":
            for name, profile in loaded.items():
                print(f"{name:<14} {profile.description}")
            return EXIT_OK
        headers = read_header(Path(args.file), sheet=args.sheet, header_hint=known_headers(loaded))
        chosen = choose_profile(headers, loaded, name=None, file=args.file)
    except UniloadError as err:
        return _fail(str(err))
    print(chosen.name)
    return EXIT_OK


def ledger(args: argparse.Namespace) -> int:
    """`uniload ledger show ORDER_ID|summary|pending|init`."""
    from uniware.ledger import Ledger

    try:
        env = Settings.from_env()
        url = args.ledger or env.locate(env.ledger)
    except UniloadError as err:
        return _fail(str(err))
    if args.action != "init" and "://" not in url and not Path(url).expanduser().is_file():
        return _fail(f"no ledger at {url}: pass the --ledger (or UNILOAD_LEDGER) the runs used")
    try:
        book = Ledger.open(url)
    except RuntimeError as err:  # a ledger from a newer uniload
        return _fail(str(err))
    try:
        return _ledger_action(book, args, url)
    finally:
        book.close()


def _ledger_action(book: Any, args: argparse.Namespace, url: str) -> int:
    """Print what one `uniload ledger` action asks for."""
    from flows.cli.ledger_views import pending_line
    from uniware.ledger_schema import SCHEMA_VERSION
    from uniware.lifecycle_ledger import order_history
    from uniware.redact import redact

    if args.action == "init":
        print(f"ledger ready at {redact(url)} (schema version {SCHEMA_VERSION})")
    elif args.action == "pending":
        entries = book.pending()
        for entry in entries:
            print(json.dumps(pending_line(entry), default=str))
        if not entries:
            print("no order is pending: every order in the ledger has a final outcome")
    elif args.action == "show":
        entries = book.get(None, args.order_id)
        if not entries:
            return _fail(f"order {args.order_id} is not in the ledger {url}")
        for entry in entries:
            history = order_history(book, entry.destination, entry.order_id)
            print(json.dumps({**_jsonable(entry), **history}, default=str))
    else:
        for row in book.summary():
            print(json.dumps(_jsonable(row), default=str))
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return value


def serve(args: argparse.Namespace) -> int:
    """`uniload serve`: the nightly deployment, served by this process."""
    from flows.nightly.deployment import serve_nightly

    def absolute(path: str | None) -> str | None:  # typed here: relative to where typed
        return str(Path(path).expanduser().absolute()) if path and "://" not in path else path

    try:
        return serve_nightly(
            inbox=str(absolute(args.inbox)),
            cron=args.cron,
            facility_map=absolute(args.facility_map),
            report_dir=absolute(args.report_dir),
            timezone=args.timezone,
            reports_host=args.reports_host,
            reports_port=args.reports_port,
        )
    except UniloadError as err:  # a bad schedule, the report server's port taken, a bad URL
        return _fail(str(err))
