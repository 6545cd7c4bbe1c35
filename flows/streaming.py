"""Streaming mode (--chunk-rows): one export chunk by chunk, memory bounded by the chunk size.

Each block of whole orders (transforms.chunks) goes validate -> group/build -> post, its
failed rows are appended to failures.csv, and only counts are kept: never all lines,
payloads or raw rows. The summary has the keys of a normal run. failures.xlsx is written
when at most XLSX_MAX_FAILURES rows failed (Excel's sheet limit; else summary.md says why).
Once Uniware stops answering, later blocks are still checked and reported, not posted.
CSV/TSV (also inside .gz/.zip) stream from disk; an Excel sheet is read whole, then cut.
The report writer lives in flows.report.streamed and the totals in transforms.tally; both
are re-exported here for callers that imported them from this module.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.config import RunOptions, load_facility_map
from flows.exceptions import ConfigError, StreamStopped
from flows.pipeline import expand_paths, group_and_build, validate_exports
from flows.preflight import report_writes
from flows.read.exports import RawExport, iter_export_chunks
from flows.read.profiles import choose_profile, known_headers, load_profiles
from flows.report.artifacts import publish_run_artifacts
from flows.report.finish import NOT_SENT
from flows.report.private_files import open_private as open_private
from flows.report.store import FAILURES_XLSX, SUMMARY_JSON, SUMMARY_MD
from flows.report.streamed import StreamedReport as StreamedReport
from flows.report.streamed import failures_xlsx as failures_xlsx
from flows.report.streamed import streaming_note as streaming_note
from schemas.profile import Profile
from transforms.chunks import Block, OrderBoundaries, order_keys
from transforms.columns import resolve_columns
from transforms.exceptions import MissingColumns
from transforms.failure_table import failure_table, neutralise_formulas, skipped_table
from transforms.lines import FAILED
from transforms.markdown import summary_markdown
from transforms.orders import mark_failed
from transforms.outcomes import count_run, post_errors
from transforms.payloads import Payloads
from transforms.reasons import reason_entries
from transforms.sync_report import count_sync
from transforms.tally import PREVIEW_ROWS as PREVIEW_ROWS
from transforms.tally import REASONS_KEPT as REASONS_KEPT
from transforms.tally import XLSX_MAX_FAILURES as XLSX_MAX_FAILURES
from transforms.tally import BlockOutcome as BlockOutcome
from transforms.tally import Tally as Tally
from transforms.tally import add_counts as add_counts
from transforms.tally import zero_counts as zero_counts
from uniware.config import UniwareConfig
from uniware.delivery import Delivery
from uniware.exceptions import UniwareError

SENT_OUTCOMES: Final = frozenset({"accepted", "failed"})


@dataclass(frozen=True)
class BlockContext:
    """What every block of one run shares."""

    file: str
    headers: tuple[str, ...]
    profile: Profile
    options: RunOptions
    facility_map: dict[str, str] | None
    config: UniwareConfig | None
    run_id: str
    now: datetime
    progress: StageProgress  # the run's reporter: blocks advance its stages


def run_block(
    block: Block, export: RawExport, ctx: BlockContext, stopped: str | None
) -> BlockOutcome:
    """One block through validate -> group/build -> post (unless stopped) -> its failed rows."""
    held_ids = {e.order_id for e in block.errors}
    if len(block.sound):
        done = run_orders(replace(export, table=block.sound), ctx, stopped, held_ids)
    else:
        done = BlockOutcome(zero_counts(), [], pd.DataFrame(), Counter(), 0, stopped)
        done.counts["orders_failed"] = len(held_ids)
    counts = done.counts
    for key in ("rows_read", "rows_failed"):
        counts[key] += len(block.held_out)
    counts["rows_failed_by_stage"]["group"] += len(block.held_out)
    errors = [*block.errors, *done.errors]
    failures = neutralise_formulas(failure_table(block.table, errors, ctx.file))
    return replace(done, counts=counts, errors=errors, failures=failures)


def run_orders(
    export: RawExport, ctx: BlockContext, stopped: str | None, held_ids: set[str]
) -> BlockOutcome:
    """Whole orders through validate -> group/build -> post; `held_ids` failed already."""
    profiles = {ctx.profile.name: ctx.profile}
    validated = validate_exports([export], profiles, profile_name=ctx.profile.name, now=ctx.now)
    target_zone, facility_map = ctx.options.target_zone, ctx.facility_map
    grouped = group_and_build(validated, facility_map=facility_map, target_zone=target_zone)
    validated, built = grouped.validated, grouped.built
    deliveries, stopped = post_block(built.payloads, ctx, stopped)
    outcomes = {d.order_id: (d.outcome, d.message) for d in deliveries}
    if ctx.config is not None:  # an order with no answer at all is never silently dropped
        for order_id in built.payloads.order_ids:
            outcomes.setdefault(order_id, ("not_sent", NOT_SENT))
    errors = validated.errors + post_errors(validated.lines, outcomes)
    lines = mark_failed(validated.lines, errors)
    orders = len(built.payloads)
    counts = count_run(lines, errors, outcomes, orders_built=orders, dry_run=ctx.options.dry_run)
    failed_ids = set(lines.loc[lines[FAILED] & lines["order_id"].notna(), "order_id"])
    counts["orders_failed"] = len(failed_ids | held_ids)
    sent = sum(1 for d in deliveries if d.outcome in SENT_OUTCOMES)
    skipped = neutralise_formulas(skipped_table([(ctx.file, export.table)], lines))
    return BlockOutcome(counts, errors, pd.DataFrame(), validated.warnings, sent, stopped, skipped)


@task(name="run-block", cache_policy=NO_CACHE, persist_result=False)
def run_block_task(
    block: Block, export: RawExport, ctx: BlockContext, stopped: str | None
) -> BlockOutcome:
    """Validate, build, post and report one block of whole orders."""
    outcome = run_block(block, export, ctx, stopped)
    ctx.progress.advance("validate", len(block.table))
    return outcome


def post_block(
    payloads: Payloads, ctx: BlockContext, stopped: str | None
) -> tuple[list[Delivery], str | None]:
    """Post a block's orders; after a stop, report them not sent without posting."""
    if ctx.config is None or not payloads:
        return [], stopped
    if stopped:
        return [Delivery(i, "not_sent", NOT_SENT) for i in payloads.order_ids], stopped
    from flows.posting import post_payloads

    seen: list[Delivery] = []
    try:
        post_payloads(
            payloads,
            config=ctx.config,
            options=ctx.options,
            run_id=ctx.run_id,
            on_delivery=seen.append,
        )
    except UniwareError as err:
        stopped = str(err)
    ctx.progress.advance("post", len(seen))
    return seen, stopped


def stream_export(
    paths: Sequence[str],
    options: RunOptions,
    *,
    run_id: str,
    config: UniwareConfig | None,
    inbox: str | None = None,
    progress: StageProgress,
) -> dict[str, Any]:
    """Run one export chunk by chunk (inside the upload flow); returns the run summary."""
    started, clock = datetime.now(UTC), time.perf_counter()
    chunk_rows = options.chunk_rows or 0
    path = streamable_file(paths, inbox)
    profiles = load_profiles()
    with ExitStack() as stack:
        stack.enter_context(report_writes(options, run_id))  # a disk failing mid-run
        chunks = iter_export_chunks(
            path, chunk_rows=chunk_rows, sheet=options.sheet, header_hint=known_headers(profiles)
        )
        stack.callback(close_iterator, chunks)
        first = next(chunks)
        headers = [str(c) for c in first.table.columns]
        profile = choose_profile(headers, profiles, name=options.profile, file=first.name)
        facility_map = load_facility_map(options.facility_map)
        ctx = BlockContext(
            first.name,
            tuple(headers),
            profile,
            options,
            facility_map,
            config,
            run_id,
            started,
            progress,
        )
        report = stack.enter_context(StreamedReport(options.report_dir, run_id, first.name))
        report.append(neutralise_formulas(failure_table(first.table.iloc[:0], [], first.name)))
        tally, stopped = stream_blocks(itertools.chain([first], chunks), ctx, report)
        summary = stream_summary(tally, ctx, started=started, seconds=time.perf_counter() - clock)
        finished = finish_stream_task(summary, tally, report, chunk_rows, progress)
        if isinstance(finished, OSError):
            raise finished  # report_writes says which folder and how to finish
        summary = finished
    if stopped:
        raise StreamStopped(
            f"{stopped}\nPosting stopped; the rows after it were checked and reported, not "
            f"sent. What was sent is in the ledger and the report {summary['report']}. "
            "Nothing is lost: run again once this is fixed."
        )
    return summary


def stream_blocks(
    chunks: Iterator[RawExport], ctx: BlockContext, report: StreamedReport
) -> tuple[Tally, str | None]:
    """Every chunk, cut into blocks of whole orders, through the pipeline; the run's totals."""
    tally, stopped = Tally(xlsx_limit=XLSX_MAX_FAILURES), None  # read here: tests lower it
    boundaries = OrderBoundaries(file=ctx.file, field=order_label(ctx))
    ctx.progress.start("validate", total=None)
    if ctx.config is not None:
        ctx.progress.start("post", total=None)
    chunk = None
    for chunk in chunks:
        block = boundaries.feed(chunk.table, order_keys(chunk.table, ctx.profile))
        stopped = take_block(block, chunk, ctx, stopped, tally, report)
    last = boundaries.finish()
    if last is not None and chunk is not None:
        stopped = take_block(last, chunk, ctx, stopped, tally, report)
    ctx.progress.finish("validate")
    ctx.progress.finish("post")
    return tally, stopped


def close_iterator(chunks: Iterator[RawExport]) -> None:
    """Close the reader (its file and any unpacked copy) when the run ends or fails."""
    if isinstance(chunks, Generator):
        chunks.close()


def streamable_file(paths: Sequence[str], inbox: str | None) -> Path:
    """The one export file a streamed run reads; more files or an inbox is a config error."""
    if inbox:
        raise ConfigError("--chunk-rows streams one export file and cannot drain an inbox")
    files = expand_paths(paths)
    if len(files) != 1:
        given = ", ".join(f.name for f in files)
        raise ConfigError(
            f"--chunk-rows streams one export file, got {len(files)} ({given}): give one "
            "file, or run without --chunk-rows"
        )
    return files[0]


def order_label(ctx: BlockContext) -> str:
    """The export's name for the order id column (for the report)."""
    try:
        return resolve_columns(list(ctx.headers), ctx.profile).label("order_id")
    except MissingColumns:  # validation fails the file with the whole list
        return "order_id"


def take_block(
    block: Block,
    export: RawExport,
    ctx: BlockContext,
    stopped: str | None,
    tally: Tally,
    report: StreamedReport,
) -> str | None:
    """Run one block (when it holds rows), fold its outcome in and append its failures."""
    if not len(block.table):
        return stopped
    outcome = run_block_task(block, export, ctx, stopped)
    tally.add(outcome)
    report.append(outcome.failures)
    report.append_skipped(outcome.skipped)
    return outcome.stopped


def stream_summary(
    tally: Tally, ctx: BlockContext, *, started: datetime, seconds: float
) -> dict[str, Any]:
    """The run summary, with the keys of a normal run."""
    counts = dict(tally.counts)
    read, failed = counts["rows_read"], counts["rows_failed"]
    skipped = counts.get("rows_skipped", 0)
    counts["rows_ready"] = read - failed - skipped if ctx.options.dry_run else 0
    return {
        "run_id": ctx.run_id,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_seconds": round(seconds, 3),
        **counts,
        **count_sync([]),  # the sync step does not run in streaming mode (yet)
        "errors_by_field": dict(tally.fields.most_common()),
        "warnings": sum(tally.warnings.values()),
        "warnings_by_reason": dict(tally.warnings.most_common()),
        "files": [
            {
                "name": ctx.file,
                "rows_read": read,
                "rows_failed": failed,
                "rows_skipped": skipped,
                "profile": ctx.profile.name,
            }
        ],
        "files_failed": 0,
        "dry_run": ctx.options.dry_run,
        "destination": ctx.config.base_url if ctx.config else None,
        "throughput_orders_per_second": round(tally.sent / seconds, 2) if seconds else 0.0,
    }


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def finish_stream_task(
    summary: dict[str, Any],
    tally: Tally,
    report: StreamedReport,
    chunk_rows: int,
    progress: StageProgress,
) -> dict[str, Any] | OSError:
    """failures.xlsx when small enough, summary.md and summary.json (last), then artifacts.

    A disk failing now is returned, not raised: the flow raises it (one line, no traceback).
    """
    try:
        return finish_stream(summary, tally, report, chunk_rows, progress)
    except OSError as err:
        return err


def finish_stream(
    summary: dict[str, Any],
    tally: Tally,
    report: StreamedReport,
    chunk_rows: int,
    progress: StageProgress,
) -> dict[str, Any]:
    """The body of `finish_stream_task`."""
    progress.start("report")
    reasons = tally.top_reasons()
    summary = {**summary, "top_reasons": reason_entries(reasons)}
    report.close_failures()
    if tally.xlsx_errors is not None:
        name = str(summary["files"][0]["name"])
        report.write(FAILURES_XLSX, failures_xlsx(report.failures_csv, name, tally.xlsx_errors))
    text = summary_markdown(summary, reasons) + "\n" + streaming_note(tally, chunk_rows)
    report.write(SUMMARY_MD, text.encode())
    data = json.dumps(summary, indent=2, ensure_ascii=False, default=str)
    report.write(SUMMARY_JSON, data.encode())  # last: the report is complete
    summary = {**summary, "report": report.folder}
    preview = pd.concat(tally.preview) if tally.preview else pd.DataFrame()
    publish_run_artifacts(summary, preview, report.folder, reasons)
    progress.finish("report")
    return summary
