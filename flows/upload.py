"""The `upload-orders` flow: read -> validate -> group/build -> post -> report."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE  # tables pass between tasks in memory: never hash
from prefect.client.schemas.objects import State
from prefect.states import Failed

from flows import settings
from flows.config import RunOptions, load_facility_map
from flows.exceptions import UniloadError
from flows.inbox import file_away, ready_files
from flows.pipeline import Unread, Validated, group_and_build, read_exports, validate_exports
from flows.profiles import load_profiles
from flows.progress import progress
from flows.readers import RawExport
from flows.reporting import RunReport, finish_run
from transforms.payloads import Built
from uniware.config import UniwareConfig
from uniware.delivery import Delivery
from uniware.exceptions import UniwareError


@task(name="read-exports", cache_policy=NO_CACHE, persist_result=False)
def read_task(paths: list[str], options: RunOptions) -> tuple[list[RawExport], list[Unread]]:
    """Read every export as text (rows keep their numbers); unreadable ones unless strict."""
    progress.start("read")
    unread: list[Unread] | None = None if options.strict else []
    exports = read_exports(paths, load_profiles(), sheet=options.sheet, unread=unread)
    progress.finish("read")
    return exports, unread or []


@task(name="read-inbox", cache_policy=NO_CACHE, persist_result=False)
def read_inbox_task(inbox: str, options: RunOptions, run_id: str) -> list[RawExport]:
    """Read the inbox's settled files; an unreadable one goes to failed/ with its reason."""
    profiles = load_profiles()
    exports = []
    for path in ready_files(Path(inbox)):
        try:
            exports += read_exports([str(path)], profiles, sheet=options.sheet)
        except UniloadError as err:
            moved = file_away(path, run_id=run_id, to="failed", note=str(err))
            get_run_logger().warning("%s: unreadable, moved to %s", path.name, moved)
    return exports


@task(name="validate-lines", cache_policy=NO_CACHE, persist_result=False)
def validate_task(
    exports: list[RawExport], options: RunOptions, unread: list[Unread] | None = None
) -> Validated:
    """Map each export through its profile and validate every cell (lazy: all errors at once).

    `unread` (files left out while reading) None: a file no profile fits fails the run.
    """
    progress.start("validate", total=sum(len(e.table) for e in exports) or 1)
    kept = None if options.strict or unread is None else list(unread)
    profiles = load_profiles()
    validated = validate_exports(exports, profiles, profile_name=options.profile, unread=kept)
    progress.finish("validate")
    return validated


@task(name="group-and-build", cache_policy=NO_CACHE, persist_result=False)
def build_task(validated: Validated, options: RunOptions) -> Built:
    """Group lines into orders, map facilities and build contract-checked payloads."""
    facility_map = load_facility_map(options.facility_map)
    progress.start("build")
    built = group_and_build(validated, facility_map=facility_map, target_zone=options.target_zone)
    progress.finish("build")
    return built


@dataclass(frozen=True)
class Posted:
    """Each order's delivery; `stopped` says why posting stopped early (run-level failure)."""

    deliveries: list[Delivery]
    stopped: str | None = None


@task(name="post-orders", cache_policy=NO_CACHE, persist_result=False)
def post_task(
    payloads: Sequence[dict[str, Any]], config: UniwareConfig, options: RunOptions, run_id: str
) -> Posted:
    """Post each order once, throttled and retried; the ledger makes reruns safe."""
    from flows.posting import post_payloads

    progress.start("post", total=len(payloads))
    seen: list[Delivery] = []

    def delivered(delivery: Delivery) -> None:
        seen.append(delivery)
        progress.advance("post")

    try:
        deliveries = post_payloads(
            payloads, config=config, options=options, run_id=run_id, on_delivery=delivered
        )
    except UniwareError as err:
        return Posted(seen, stopped=str(err))
    progress.finish("post")
    return Posted(deliveries)


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def report_task(run: RunReport) -> dict[str, Any]:
    """Failure report (CSV + XLSX), summary (JSON + Markdown) and Prefect artifacts."""
    progress.start("report")
    summary = finish_run(run)
    progress.finish("report")
    return summary


class RunStopped(UniloadError):
    """Posting stopped early (Uniware unreachable or refusing the credentials)."""


def current_run_id() -> str:
    """The Prefect flow run id when there is one, else a fresh id."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else uuid.uuid4().hex


@flow(name="upload-orders", validate_parameters=True)
def upload_orders(
    paths: list[str],
    profile: str | None = None,
    facility_map: str | None = None,
    dry_run: bool = False,
    report_dir: str = settings.DEFAULT_REPORT_DIR,
    ledger: str = settings.DEFAULT_LEDGER,
    rate: float | None = settings.DEFAULT_RATE,
    concurrency: int = settings.DEFAULT_CONCURRENCY,
    target_zone: str = settings.DEFAULT_TARGET_ZONE,
    shared_limit: str | None = None,
    sheet: str | None = None,
    inbox: str | None = None,
    chunk_rows: int | None = None,
    strict: bool = False,
) -> dict[str, Any] | State[Any]:
    """Upload marketplace order exports to Uniware; returns the run summary.

    Expected failures of the whole run (bad configuration, unreadable file, Uniware
    unreachable or refusing the credentials) end the run Failed with a plain message.
    With `inbox`, the settled files of that folder are the input (the nightly deployment),
    each moved to `archive/` once its rows are all accepted or reported.
    """
    logger = get_run_logger()
    try:
        options = RunOptions(
            profile=profile,
            facility_map=facility_map,
            dry_run=dry_run,
            report_dir=report_dir,
            ledger=ledger,
            rate=rate,
            concurrency=concurrency,
            target_zone=target_zone,
            shared_limit=shared_limit,
            sheet=sheet,
            chunk_rows=chunk_rows,
            strict=strict,
        )
        return _run(paths, options, logger, inbox)
    except (UniloadError, UniwareError) as err:
        logger.error(str(err))
        return Failed(message=str(err))


def _run(
    paths: Sequence[str], options: RunOptions, logger: Any, inbox: str | None
) -> dict[str, Any]:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    run_id = current_run_id()
    config = None if options.dry_run else UniwareConfig.from_env()
    load_facility_map(options.facility_map)  # fail on a bad map before reading anything
    if options.chunk_rows is not None:  # streaming mode: one export file, chunk by chunk
        from flows.streaming import stream_export

        return stream_export(paths, options, run_id=run_id, config=config, inbox=inbox)
    unread: list[Unread] | None = None  # inbox: every read file is archived after the run
    if inbox:
        exports = read_inbox_task(inbox, options, run_id)
        if not exports:
            logger.info("inbox %s: no settled export files", inbox)
    else:
        exports, unread = read_task(list(paths), options)
    validated = validate_task(exports, options, unread)
    built = build_task(validated, options)
    logger.info(
        "%d rows read, %d orders ready, %d rows failed before posting",
        len(validated.lines),
        len(built.payloads),
        len({(e.file, e.row) for e in validated.errors}),
    )
    posted = Posted([])
    if config is not None and built.payloads:
        posted = post_task(built.payloads, config, options, run_id)
    run = RunReport(
        run_id=run_id,
        options=options,
        validated=validated,
        built=built,
        deliveries=posted.deliveries,
        started=started,
        seconds=time.perf_counter() - clock,
        destination=config.base_url if config else None,
    )
    summary = report_task(run)
    if posted.stopped:
        raise RunStopped(
            f"{posted.stopped}\nPosting stopped; what was sent is in the ledger and the report "
            f"{summary['report']}. Nothing is lost: run again once this is fixed."
        )
    if inbox:
        for export in exports:
            file_away(export.path, run_id=run_id, to="archive")
    return summary
