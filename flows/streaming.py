"""A run block by block: memory bounded by the block size, whatever the size of the files.

Each input file is read in chunks of `block_rows` rows; each block of whole orders
(transforms.chunks) goes validate -> group/build -> post, its failed rows are appended to
the file's failures CSV, and only totals are kept (transforms.tally): never all lines,
payloads or raw rows. Files run one after the other into one report. The flow runs a file
this way when it is large (flows.upload) or when --chunk-rows is given; the summary is the
one every run writes (transforms.tally.run_summary). Once Uniware stops answering, later
blocks are still checked and reported, not posted. The sync step does not run here (yet).
CSV/TSV (also inside .gz/.zip) stream from disk; an Excel sheet is read whole, then cut.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.block import BlockContext, run_block_task
from flows.cli.progress import StageProgress
from flows.config import RunOptions, load_facility_map
from flows.exceptions import ConfigError, ProfileNotDetected, StreamStopped, UnreadableExport
from flows.preflight import report_writes
from flows.read.exports import RawExport, iter_export_chunks
from flows.read.profiles import choose_profile, known_headers, load_profiles
from flows.report.finish import finish_stream
from flows.report.writer import ReportWriter
from transforms.chunks import Block, CompletedOrders, OrderBoundaries, order_keys
from transforms.columns import resolve_columns
from transforms.exceptions import MissingColumns
from transforms.failure_table import failure_table, neutralise_formulas
from transforms.sync_report import count_sync
from transforms.tally import FileTotals, Tally, run_summary
from uniware.config import UniwareConfig


@dataclass
class BlockRun:
    """One run block by block: what its files share, its totals and its report."""

    options: RunOptions
    config: UniwareConfig | None
    run_id: str
    started: datetime
    block_rows: int
    leave_out: bool  # an unreadable file is left out with its reason (else the run fails)
    report: ReportWriter
    facility_map: dict[str, str] | None
    progress: StageProgress  # the run's reporter: blocks advance its stages
    tally: Tally = field(default_factory=Tally)
    completed: CompletedOrders = field(default_factory=CompletedOrders)  # across files
    stopped: str | None = None  # why posting stopped (later blocks are reported, not sent)


def stream_exports(
    files: Sequence[Path],
    options: RunOptions,
    *,
    run_id: str,
    config: UniwareConfig | None,
    block_rows: int,
    progress: StageProgress,
    inbox: bool = False,
) -> dict[str, Any]:
    """Run the files one after the other, block by block, into one report; the summary.

    An unreadable file is left out with its reason when there are others and the run is not
    strict; in an `inbox` run always, and none readable is then no error here (the inbox
    run files them away first).
    """
    started, clock = datetime.now(UTC), time.perf_counter()
    check_names(files)
    progress.start("validate", total=None)
    if config is not None:
        progress.start("post", total=None)
    with ExitStack() as stack:
        stack.enter_context(report_writes(options, run_id))  # a disk failing mid-run
        report = stack.enter_context(ReportWriter(options.report_dir, run_id))
        facility_map = load_facility_map(options.facility_map)
        leave_out = inbox or (not options.strict and len(files) > 1)
        run = BlockRun(
            options, config, run_id, started, block_rows, leave_out, report, facility_map, progress
        )
        for path in files:
            stream_file(path, run)
        tally = run.tally
        if not inbox and all(t.error is not None for t in tally.files.values()):
            raise UnreadableExport("\n".join(str(t.error) for t in tally.files.values()))
        progress.finish("validate")
        progress.finish("post")
        summary = run_summary(
            tally,
            run_id=run_id,
            started=started,
            seconds=time.perf_counter() - clock,
            dry_run=options.dry_run,
            destination=config.base_url if config else None,
            sync=count_sync([]),  # the sync step does not run block by block (yet)
        )
        finished = finish_stream_task(summary, tally, report, block_rows, progress)
        if isinstance(finished, OSError):
            raise finished  # report_writes says which folder and how to finish
    if run.stopped:
        raise StreamStopped(
            f"{run.stopped}\nPosting stopped; the rows after it were checked and reported, not "
            f"sent. What was sent is in the ledger and the report {finished['report']}. "
            "Nothing is lost: run again once this is fixed."
        )
    return finished


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def finish_stream_task(
    summary: dict[str, Any],
    tally: Tally,
    report: ReportWriter,
    block_rows: int,
    progress: StageProgress,
) -> dict[str, Any] | OSError:
    """failures.xlsx when small enough, summary.md and summary.json (last), then artifacts.

    A disk failing now is returned, not raised: the flow raises it (one line, no traceback).
    """
    try:
        return finish_stream(summary, tally, report, block_rows, progress)
    except OSError as err:
        return err


def stream_file(path: Path, run: BlockRun) -> None:
    """One input file, block by block, into the run's totals and report.

    A file that cannot be read, or that no profile fits, is left out with its reason (named
    by its path) when the run allows it (`BlockRun.leave_out`).
    """
    options, profiles = run.options, load_profiles()
    with ExitStack() as stack:
        chunks = iter_export_chunks(
            path,
            chunk_rows=run.block_rows,
            sheet=options.sheet,
            header_hint=known_headers(profiles),
        )
        stack.callback(close_iterator, chunks)
        try:
            first = next(chunks)
            headers = [str(c) for c in first.table.columns]
            profile = choose_profile(headers, profiles, name=options.profile, file=first.name)
        except (UnreadableExport, ProfileNotDetected) as err:
            if not run.leave_out:
                raise
            run.tally.files[path.name] = FileTotals(error=str(err))
            return
        ctx = BlockContext(
            first.name,
            tuple(headers),
            profile,
            options,
            run.facility_map,
            run.config,
            run.run_id,
            run.started,
            run.progress,
        )
        run.tally.files[first.name] = FileTotals(profile=profile.name)
        run.report.start_file(first.name)
        run.report.append(neutralise_formulas(failure_table(first.table.iloc[:0], [], first.name)))
        stream_blocks(itertools.chain([first], chunks), ctx, run)


def stream_blocks(chunks: Iterator[RawExport], ctx: BlockContext, run: BlockRun) -> None:
    """Every chunk, cut into blocks of whole orders, through the pipeline into the run."""
    boundaries = OrderBoundaries(file=ctx.file, field=order_label(ctx), completed=run.completed)
    chunk = None
    for chunk in chunks:
        take_block(
            boundaries.feed(chunk.table, order_keys(chunk.table, ctx.profile)), chunk, ctx, run
        )
    last = boundaries.finish()
    if last is not None and chunk is not None:
        take_block(last, chunk, ctx, run)


def close_iterator(chunks: Iterator[RawExport]) -> None:
    """Close the reader (its file and any unpacked copy) when the run ends or fails."""
    if isinstance(chunks, Generator):
        chunks.close()


def check_names(files: Sequence[Path]) -> None:
    """Refuse two inputs of the same name (their reports would mix)."""
    twice = [n for n, count in Counter(f.name for f in files).items() if count > 1]
    if twice:
        raise ConfigError(f"the same file name is given twice: {', '.join(twice)}")


def order_label(ctx: BlockContext) -> str:
    """The export's name for the order id column (for the report)."""
    try:
        return resolve_columns(list(ctx.headers), ctx.profile).label("order_id")
    except MissingColumns:  # validation fails the file with the whole list
        return "order_id"


def take_block(block: Block, export: RawExport, ctx: BlockContext, run: BlockRun) -> None:
    """Run one block (when it holds rows), fold its outcome in and append its failures."""
    if not len(block.table):
        return
    outcome = run_block_task(block, export, ctx, run.stopped)
    run.tally.add(outcome, file=ctx.file, profile=ctx.profile.name)
    run.report.append(outcome.failures)
    run.report.append_skipped(outcome.skipped)
    run.stopped = outcome.stopped
