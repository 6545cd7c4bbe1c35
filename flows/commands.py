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
from flows.config import RunOptions, env_defaults, load_facility_map
from flows.exceptions import UniloadError
from flows.summary_text import summary_lines
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
    print(f"uniload: {message}", file=sys.stderr)
    return EXIT_RUN_FAILED


def _options(args: argparse.Namespace, *, dry_run: bool) -> RunOptions:
    """Explicit options win over UNILOAD_* environment variables, which win over defaults."""
    chosen: dict[str, Any] = dict(env_defaults())
    chosen.update({k: getattr(args, k) for k in RUN_KEYS if getattr(args, k, None) is not None})
    return RunOptions(dry_run=dry_run, **chosen)


def upload(paths: Sequence[str], options: RunOptions) -> int:
    """Check the configuration, run the flow, print the summary; the exit code says how it went."""
    try:
        if not options.dry_run:
            from uniware.config import UniwareConfig

            UniwareConfig.from_env()  # fail fast on missing credentials, before Prefect starts
        load_facility_map(options.facility_map)
        if options.profile is not None:  # a misspelt --profile fails before Prefect starts
            from flows.profiles import choose_profile, load_profiles

            choose_profile([], load_profiles(), name=options.profile, file="")
        for path in paths:
            if not Path(path).exists():
                return _fail(f"{path}: no such file or folder")
    except (UniloadError, UniwareError) as err:
        return _fail(str(err))
    from flows.progress import progress
    from flows.upload import upload_orders

    params = {k: getattr(options, k) for k in (*RUN_KEYS, "dry_run")}
    progress.enable()
    try:
        with _plain_failures():
            state = upload_orders(paths=list(paths), return_state=True, **params)
    finally:
        progress.stop()
    if state.is_failed():
        return _fail(state.message or "the run failed")
    summary = cast("dict[str, Any]", state.result())
    print("\n".join(summary_lines(summary)))
    failed = summary["rows_failed"] or summary.get("files_failed", 0)
    return EXIT_ROWS_FAILED if failed else EXIT_OK


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
    try:
        options = _options(
            args, dry_run=args.command == "validate" or getattr(args, "dry_run", False)
        )
    except UniloadError as err:
        return _fail(str(err))
    return upload(args.paths, options)


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
        options = RunOptions(
            facility_map=str(settings.OKER_FACILITY_MAP),
            ledger=str(Path(tmp) / "ledger.db"),
            **{k: v for k, v in env_defaults().items() if k == "report_dir"},  # type: ignore[arg-type]
        )
        with _environment(env):
            code = upload([str(settings.SAMPLES_DIR)], options)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=30).json()["count"]
        print(f"sandbox now holds {held} orders; stopping it")
    return code


def profiles(args: argparse.Namespace) -> int:
    """`uniload profiles list|detect FILE`."""
    from flows.profiles import choose_profile, known_headers, load_profiles
    from flows.readers import read_header

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
    """`uniload ledger show ORDER_ID|summary`."""
    from uniware.ledger import Ledger

    try:
        url = str(args.ledger or env_defaults().get("ledger") or settings.DEFAULT_LEDGER)
    except UniloadError as err:
        return _fail(str(err))
    if "://" not in url and not Path(url).expanduser().is_file():  # never create one to look
        return _fail(f"no ledger at {url}: pass the --ledger (or UNILOAD_LEDGER) the runs used")
    book = Ledger.open(url)
    try:
        if args.action == "show":
            entries = book.get(None, args.order_id)
            if not entries:
                return _fail(f"order {args.order_id} is not in the ledger {url}")
            for entry in entries:
                print(json.dumps(_jsonable(entry), default=str))
        else:
            for row in book.summary():
                print(json.dumps(_jsonable(row), default=str))
    finally:
        book.close()
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return value


def serve(args: argparse.Namespace) -> int:
    """`uniload serve`: the nightly deployment, served by this process."""
    from flows.nightly import serve_nightly

    return serve_nightly(
        inbox=args.inbox, cron=args.cron, facility_map=args.facility_map, report_dir=args.report_dir
    )
