"""The `upload-orders` flow: read -> validate -> group/build -> post -> report."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE  # tables pass between tasks in memory: never hash
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed
from prefect.utilities.annotations import quote

from flows.cli.progress import StageProgress, stage_progress
from flows.config import RunOptions, Settings, load_facility_map, read_secret_block, resolve_options
from flows.exceptions import ReportNotWritten, RunStopped, UniloadError
from flows.naming import current_run_id, run_name
from flows.nightly.inbox_run import Inbox, inbox_split, run_inbox
from flows.pipeline import (
    Grouped,
    Unread,
    Validated,
    expand_paths,
    group_and_build,
    read_exports,
    validate_exports,
)
from flows.post.posting import Posted, post_task
from flows.post.syncing import Synced, sync_task
from flows.preflight import preflight, report_not_written
from flows.read.exports import RawExport
from flows.read.profiles import load_profiles
from flows.read.sources import block_rows_for
from flows.report.finish import RunReport, finish_run
from flows.report.summary_text import outcome_message
from flows.streaming import stream_exports
from uniware.config import UniwareConfig
from uniware.exceptions import UniwareError
from uniware.redact import redact


@task(name="read-exports", cache_policy=NO_CACHE, persist_result=False)
def read_task(
    paths: list[str], options: RunOptions, progress: StageProgress
) -> tuple[list[RawExport], list[Unread]]:
    """Read every export as text (rows keep their numbers); unreadable ones unless strict."""
    progress.start("read")
    read = read_exports(paths, load_profiles(), sheet=options.sheet, strict=options.strict)
    progress.finish("read")
    return read.exports, read.unread


@task(name="validate-lines", cache_policy=NO_CACHE, persist_result=False)
def validate_task(
    exports: list[RawExport],
    options: RunOptions,
    progress: StageProgress,
    unread: list[Unread] | None = None,
) -> Validated:
    """Map each export through its profile and validate every cell (lazy: all errors at once).

    `unread` (files left out while reading) None: a file no profile fits fails the run.
    """
    progress.start("validate", total=sum(len(e.table) for e in exports) or 1)
    kept = None if options.strict else unread
    profiles = load_profiles()
    validated = validate_exports(exports, profiles, profile_name=options.profile, unread=kept)
    progress.finish("validate")
    return validated


@task(name="group-and-build", cache_policy=NO_CACHE, persist_result=False)
def build_task(validated: Validated, options: RunOptions, progress: StageProgress) -> Grouped:
    """Group lines into orders, map facilities and build contract-checked payloads."""
    facility_map = load_facility_map(options.facility_map)
    progress.start("build")
    grouped = group_and_build(validated, facility_map=facility_map, target_zone=options.target_zone)
    progress.finish("build")
    return grouped


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def report_task(run: RunReport, progress: StageProgress) -> dict[str, Any] | ReportNotWritten:
    """Failure report (CSV + XLSX), summary (JSON + Markdown) and Prefect artifacts.

    A disk failing now is returned, not raised: the flow raises it (one line, no traceback).
    """
    progress.start("report")
    try:
        summary = finish_run(run)
    except OSError as err:
        return report_not_written(run.options, run.run_id, err)
    progress.finish("report")
    return summary


@flow(name="upload-orders", flow_run_name=run_name, validate_parameters=True)
def upload_orders(
    paths: list[str] | None = None,
    profile: str | None = None,
    facility_map: str | None = None,
    dry_run: bool = False,
    report_dir: str | None = None,
    ledger: str | None = None,
    rate: float | None = None,
    concurrency: int | None = None,
    target_zone: str | None = None,
    shared_limit: str | None = None,
    sheet: str | None = None,
    inbox: str | None = None,
    chunk_rows: int | None = None,
    strict: bool = False,
    fan_out: int | None = None,
    max_files: int | None = None,
    show_progress: bool = False,
) -> dict[str, Any] | State[Any]:
    """Upload marketplace order exports to Uniware; returns the run summary.

    A parameter left out (None) takes the value of the environment of the process running
    the flow (UNILOAD_*, see flows.config.Settings), else the default. With ``paths`` those
    files are the input; without, the inbox's settled files are (the nightly deployment),
    each claimed, then moved to ``archive/`` once its rows are all accepted or reported.
    One unreadable file is reported and the others go on, unless ``strict``.
    ``fan_out`` N (else ``UNILOAD_FAN_OUT``; inbox runs of a deployment) starts N-1 more runs
    of this deployment that share the inbox; ``max_files`` caps the files one run claims.
    ``show_progress`` (the CLI's runs) shows each stage's progress on this process's console.
    Expected failures of the whole run end it Failed with a plain message; a run with failed
    rows ends Completed, named "Completed with failures", its message saying how many and why.
    """
    logger = get_run_logger()
    try:
        env = Settings.from_env()
        given = {
            "profile": profile,
            "facility_map": facility_map,
            "report_dir": report_dir,
            "ledger": ledger,
            "rate": rate,
            "concurrency": concurrency,
            "target_zone": target_zone,
            "shared_limit": shared_limit,
            "sheet": sheet,
            "chunk_rows": chunk_rows,
            "strict": strict,
        }
        options = resolve_options(given, env, dry_run=dry_run, read_secret=read_secret_block)
        group, limit = inbox_split(paths, fan_out, max_files, env)
        with stage_progress(show_progress) as progress:
            if paths:
                summary = _run(paths, options, logger, progress, env.stream_above_bytes)
            else:
                where = Inbox(Path(env.locate(inbox or env.inbox)), env, fan_out=group, limit=limit)
                run_id = current_run_id()
                summary = run_inbox(where, options, run_id, logger, progress, _run_exports)
    except (UniloadError, UniwareError) as err:
        message = redact(str(err))  # no key, no URL password (e.g. a ledger URL's)
        logger.error(message)
        return Failed(message=message)
    return final_state(summary)


def final_state(summary: dict[str, Any]) -> State[Any]:
    """Completed; named "Completed with failures" (a distinct state in the UI) when rows failed."""
    message = outcome_message(summary)
    failed = summary.get("rows_failed") or summary.get("files_failed")
    name = "Completed with failures" if failed else "Completed"
    return Completed(data=summary, name=name, message=message)


def _run(
    paths: Sequence[str], options: RunOptions, logger: Any, progress: StageProgress, above: int
) -> dict[str, Any]:
    """The given files: whole when small, block by block when one is large (or --chunk-rows)."""
    run_id = current_run_id()
    load_facility_map(options.facility_map)  # fail on a bad map before reading anything
    preflight(options, run_id)
    files = expand_paths(paths)
    block_rows = block_rows_for(files, options.chunk_rows, above_bytes=above)
    if block_rows is not None:
        logger.info("running %d file(s) block by block, %d rows a block", len(files), block_rows)
        config = None if options.dry_run else UniwareConfig.from_env()
        return stream_exports(
            files, options, run_id=run_id, config=config, block_rows=block_rows, progress=progress
        )
    exports, unread = read_task(list(paths), options, progress)
    return _run_exports(exports, options, logger, run_id, unread, progress)


def _run_exports(
    exports: list[RawExport],
    options: RunOptions,
    logger: Any,
    run_id: str,
    unread: list[Unread] | None,
    progress: StageProgress,
) -> dict[str, Any]:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    config = None if options.dry_run else UniwareConfig.from_env()
    load_facility_map(options.facility_map)
    preflight(options, run_id)
    logger.info("read %d file(s): %d rows", len(exports), sum(len(e.table) for e in exports))
    validated = validate_task(exports, options, progress, unread)
    # quote(): Prefect does not walk every row and error of a task's inputs (issue 17)
    grouped = build_task(quote(validated), options, progress, return_state=False)
    validated, built = grouped.validated, grouped.built  # the lines marked, every error so far
    logger.info(
        "validated and built: %d rows, %d orders ready, %d rows failed before posting",
        len(validated.lines),
        len(built.payloads),
        len(validated.errors.failed_rows()),
    )
    posted = Posted([])
    if config is not None and built.payloads:
        posted = post_task(quote(built.payloads), config, options, run_id, progress)
        outcomes = Counter(d.outcome for d in posted.answers)
        logger.info("posted: %s", ", ".join(f"{n} {k}" for k, n in outcomes.items()) or "none")
    synced = Synced([])
    if config is not None and not posted.stopped:
        inputs = quote(validated), quote(built), quote(posted)
        synced = sync_task(*inputs, config, options, run_id, progress, return_state=False)
    run = RunReport(
        run_id=run_id,
        options=options,
        validated=validated,
        built=built,
        deliveries=posted.answers,
        started=started,
        seconds=time.perf_counter() - clock,
        destination=config.base_url if config else None,
        synced=synced.answers,
    )
    summary = report_task(quote(run), progress, return_state=False)
    if isinstance(summary, ReportNotWritten):
        raise summary
    logger.info("%s; report: %s", outcome_message(summary), summary["report"])
    stopped = posted.stopped or synced.stopped
    if stopped:
        raise RunStopped(
            f"{stopped}\nPosting stopped; what was sent is in the ledger and the report "
            f"{summary['report']}. Nothing is lost: run again once this is fixed."
        )
    return summary
