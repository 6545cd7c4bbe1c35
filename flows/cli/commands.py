"""The CLI's commands: each turns options into a flow run or a lookup, and returns an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
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


def fail(message: str) -> int:
    """Print a whole-run failure (secrets redacted) and return the run-failed exit code."""
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
    return run_upload(paths, given, dry_run=dry_run)[0]


def run_upload(
    paths: Sequence[str], given: Mapping[str, Any], *, dry_run: bool, local: bool = False
) -> tuple[int, dict[str, Any] | None]:
    """The exit code and the summary (None when the run failed as a whole).

    ``local``: a check of files (``uniload validate``), the same steps without Prefect.

    Only the options given explicitly travel as flow parameters; the flow run resolves the
    rest from the environment itself (flows.config.Settings), as a deployment run does.
    """
    with _without_test_data_synthesis():
        return _run_upload(paths, given, dry_run=dry_run, local=local)


@contextmanager
def _without_test_data_synthesis() -> Iterator[None]:
    """Keep pandera from loading hypothesis (0.1 s of start-up, when it is installed at all):
    pandera imports it only to synthesise test data, which no command does. A process that
    has imported either already is left as it is; afterwards hypothesis imports as usual."""
    if "hypothesis" in sys.modules or "pandera" in sys.modules:
        yield
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        yield
    finally:
        if "hypothesis" in sys.modules and sys.modules["hypothesis"] is None:
            del sys.modules["hypothesis"]


def _run_upload(
    paths: Sequence[str], given: Mapping[str, Any], *, dry_run: bool, local: bool
) -> tuple[int, dict[str, Any] | None]:
    try:
        env = Settings.from_env()  # a bad UNILOAD_* value fails here, with its message
        options = resolve_options(given, env, dry_run=dry_run, read_secret=_no_secret)
        if not options.dry_run:
            from uniware.config import UniwareConfig

            UniwareConfig.from_env()  # fail fast on missing credentials, before Prefect starts
        load_facility_map(options.facility_map)
        if options.profile is not None:  # a misspelt --profile fails before Prefect starts
            from flows.read.profiles import choose_profile, load_profiles

            choose_profile([], load_profiles(), name=options.profile, file="")
        for path in paths:
            if not Path(path).exists():
                return fail(f"{path}: no such file or folder"), None
    except (UniloadError, UniwareError) as err:
        return fail(str(err)), None
    inputs = [str(Path(p).absolute()) for p in paths]
    try:
        if local and not _large(inputs, options, above_bytes=env.stream_above_bytes):
            summary = _check_locally(inputs, options)
        else:
            summary = _run_flow(inputs, given, dry_run=dry_run)
    except (UniloadError, UniwareError) as err:
        return fail(str(err)), None
    print("\n".join(summary_lines(summary)))
    failed = summary["rows_failed"] or summary.get("files_failed", 0)
    return (EXIT_ROWS_FAILED if failed else EXIT_OK), summary


def _large(inputs: Sequence[str], options: RunOptions, *, above_bytes: int) -> bool:
    """True when the run goes block by block (a large file, or --chunk-rows): a flow run."""
    from flows.pipeline import expand_paths
    from flows.read.sources import block_rows_for

    rows = block_rows_for(expand_paths(inputs), options.chunk_rows, above_bytes=above_bytes)
    return rows is not None


def _check_locally(inputs: Sequence[str], options: RunOptions) -> dict[str, Any]:
    from flows.cli.progress import stage_progress
    from flows.cli.validate import check_files

    with stage_progress(show=True) as progress:
        return check_files(inputs, options, progress)


def _run_flow(inputs: Sequence[str], given: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """One flow run of upload-orders (its progress shown here); a failed run raises RunFailed."""
    from flows.upload import upload_orders

    with _plain_failures():
        state = upload_orders(
            paths=list(inputs), dry_run=dry_run, show_progress=True, return_state=True, **given
        )
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
    return run_upload(args.paths, _given(args), dry_run=dry_run, local=local)[0]


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
        return fail(str(err))
    print(chosen.name)
    return EXIT_OK


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
        return fail(str(err))
