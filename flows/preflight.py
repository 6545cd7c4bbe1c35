"""Checks before the first request: the report folder takes files, the ledger takes writes.

A run that could not write its report or record what it sent must not post anything: every
problem here is one line naming the path and the fix, before any order leaves. A disk that
fails later, while the report is written, ends the run in one line too (`ReportNotWritten`),
saying the orders sent are in the ledger and that the same command finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from flows.config import RunOptions
from flows.exceptions import ConfigError, ReportNotWritten, UniloadError
from flows.report.store import ReportStore

PROBE_BYTES: Final = 1 << 20  # a report needs room: a disk without 1 MiB free is full


def check_report_location(location: str, run_id: str) -> None:
    """Create the run's report folder and write a probe file in it, or explain why not."""
    if "://" not in location and Path(location).expanduser().is_file():
        raise ConfigError(
            f"report folder {location} is a file, not a folder: give --report-dir a folder"
        )
    try:
        ReportStore(location).probe_run_folder(run_id, PROBE_BYTES)
    except UniloadError:
        raise
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(
            f"report folder {location}: cannot write the run's report there ({reason}); "
            "free disk space, fix its permissions or give another --report-dir, then run again"
        ) from None


def preflight(options: RunOptions, run_id: str) -> None:
    """Before anything is sent: report folder and ledger writable, the shared limit usable."""
    check_report_location(options.report_dir, run_id)
    if not options.dry_run:
        check_ledger(options.ledger)
        if options.shared_limit:
            check_shared_limit(options.shared_limit)


def check_ledger(location: str) -> None:
    """Open the ledger, check its columns and take a (rolled back) write, or explain why not."""
    from sqlalchemy.exc import SQLAlchemyError

    from uniware.exceptions import LedgerTooNew, NotALedger, ledger_reason
    from uniware.ledger import Ledger

    try:
        with Ledger.open(location) as ledger:
            ledger.check()
    except (NotALedger, LedgerTooNew) as err:
        raise ConfigError(f"ledger {location}: {err}") from None
    except (SQLAlchemyError, OSError) as err:
        raise ConfigError(
            f"ledger {location}: cannot be used ({ledger_reason(err)}); fix it (a folder you can "
            "write, free disk space, not another program's file) or give another --ledger"
        ) from None


def check_shared_limit(name: str) -> None:
    """The shared rate limit exists and can pace requests, or why not; warns if it wastes 10 %."""
    import asyncio

    from flows.post.shared_limit import advice, read_shared_limit
    from uniware.exceptions import SharedLimitFailed

    try:
        state = asyncio.run(read_shared_limit(name))
    except SharedLimitFailed as err:
        raise ConfigError(str(err)) from None
    if warning := advice(name, state):
        _run_logger().warning("%s", warning)


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (shown on screen and in the UI), or this module's outside a run."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@contextmanager
def report_writes(options: RunOptions, run_id: str) -> Iterator[None]:
    """Turn a disk failing while the report is written into `ReportNotWritten`."""
    try:
        yield
    except OSError as err:
        raise report_not_written(options, run_id, err) from None


def report_not_written(options: RunOptions, run_id: str, err: OSError) -> ReportNotWritten:
    """The one-line error for a report that failed mid-way; says what was sent and the rerun."""
    location, ledger, dry_run = options.report_dir, options.ledger, options.dry_run
    try:
        folder = ReportStore(location).run_folder(run_id)
    except UniloadError:
        folder = location
    local = "://" not in location and Path(location).expanduser().is_file()
    reason = "it is now a file, not a folder" if local else err.strerror or type(err).__name__
    done = (
        "nothing was posted (dry run)" if dry_run else f"the orders sent are in the ledger {ledger}"
    )
    again = "" if dry_run else ": it posts none of them twice and writes the report"
    return ReportNotWritten(
        f"report folder {folder}: the report could not be written ({reason}); {done}; free "
        "disk space or fix the folder (or give another --report-dir), then run the same "
        f"command again{again}"
    )
