"""Streaming mode (--chunk-rows): one export chunk by chunk, memory bounded by the chunk size.

Each block of whole orders (transforms.chunks) goes validate -> group/build -> post, its
failed rows are appended to failures.csv, and only counts are kept: never all lines,
payloads or raw rows. The summary has the keys of a normal run. failures.xlsx is written
when at most XLSX_MAX_FAILURES rows failed (else summary.md says why it is missing).
Once Uniware stops answering, later blocks are still checked and reported, not posted.
CSV/TSV (also inside .gz/.zip) stream from disk; an Excel sheet is read whole, then cut.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish_run_artifacts
from flows.config import RunOptions, load_facility_map
from flows.exceptions import ConfigError, UniloadError
from flows.pipeline import expand_paths, group_and_build, validate_exports
from flows.profiles import choose_profile, known_headers, load_profiles
from flows.progress import progress
from flows.readers import RawExport, iter_export_chunks
from flows.reporting import NOT_SENT
from flows.reports import (
    CSV_ENCODING,
    CSV_LINE_END,
    FAILURES_XLSX,
    FILE_MODE,
    FOLDER_MODE,
    SUMMARY_JSON,
    SUMMARY_MD,
    ReportStore,
    csv_names,
    render_failures_xlsx,
    write_private,
)
from schemas.profile import Profile
from transforms.chunks import Block, OrderBoundaries, order_keys
from transforms.columns import MissingColumns, resolve_columns
from transforms.errors import STAGES, RowError, Stage
from transforms.lines import FAILED
from transforms.orders import mark_failed
from transforms.outcomes import count_run, post_errors
from transforms.report import (
    TOP_REASONS,
    ReasonCount,
    failure_table,
    neutralise_formulas,
    summary_markdown,
    top_reasons,
)
from uniware.config import UniwareConfig
from uniware.delivery import Delivery
from uniware.exceptions import UniwareError

XLSX_MAX_FAILURES: Final = 100_000  # the workbook is built in memory: ~25 s per 50k rows
PREVIEW_ROWS: Final = 50
REASONS_KEPT: Final = 1_000  # distinct reasons tallied; past twice this, the rarest go
SENT_OUTCOMES: Final = frozenset({"accepted", "failed"})


class StreamStopped(UniloadError):
    """Posting stopped early in streaming mode (Uniware unreachable or refusing the keys)."""


@dataclass(frozen=True)
class BlockOutcome:
    """What one block produced: counts and its failed rows, nothing else."""

    counts: dict[str, Any]
    errors: list[RowError]
    failures: pd.DataFrame  # formula-safe failure rows (report columns)
    warnings: Counter[str]
    sent: int
    stopped: str | None


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
    built = group_and_build(validated, facility_map=facility_map, target_zone=target_zone)
    deliveries, stopped = post_block(built.payloads, ctx, stopped)
    outcomes = {d.order_id: (d.outcome, d.message) for d in deliveries}
    if ctx.config is not None:  # an order with no answer at all is never silently dropped
        for payload in built.payloads:
            outcomes.setdefault(payload["id"], ("not_sent", NOT_SENT))
    errors = validated.errors + post_errors(validated.lines, outcomes)
    mark_failed(validated.lines, errors)
    orders = len(built.payloads)
    counts = count_run(
        validated.lines, errors, outcomes, orders_built=orders, dry_run=ctx.options.dry_run
    )
    lines = validated.lines
    failed_ids = set(lines.loc[lines[FAILED] & lines["order_id"].notna(), "order_id"])
    counts["orders_failed"] = len(failed_ids | held_ids)
    sent = sum(1 for d in deliveries if d.outcome in SENT_OUTCOMES)
    return BlockOutcome(counts, errors, pd.DataFrame(), validated.warnings, sent, stopped)


@task(name="run-block", cache_policy=NO_CACHE, persist_result=False)
def run_block_task(
    block: Block, export: RawExport, ctx: BlockContext, stopped: str | None
) -> BlockOutcome:
    """Validate, build, post and report one block of whole orders."""
    outcome = run_block(block, export, ctx, stopped)
    progress.advance("validate", len(block.table))
    return outcome


def post_block(
    payloads: list[dict[str, Any]], ctx: BlockContext, stopped: str | None
) -> tuple[list[Delivery], str | None]:
    """Post a block's orders; after a stop, report them not sent without posting."""
    if ctx.config is None or not payloads:
        return [], stopped
    if stopped:
        return [Delivery(p["id"], "not_sent", NOT_SENT) for p in payloads], stopped
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
    progress.advance("post", len(seen))
    return seen, stopped


def zero_counts() -> dict[str, Any]:
    """The counts of a run that read nothing (the keys of `count_run`)."""
    counts = count_run(
        pd.DataFrame({"order_id": [], FAILED: []}), [], {}, orders_built=0, dry_run=False
    )
    return counts


def add_counts(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one block's counts to the run's (numbers add, per-stage counts add per stage)."""
    for key, value in part.items():
        if isinstance(value, dict):
            into = total.setdefault(key, {})
            for name, n in value.items():
                into[name] = into.get(name, 0) + n
        else:
            total[key] = total.get(key, 0) + value


@dataclass
class Tally:
    """A streamed run's running totals; rows are kept only for the preview and a small XLSX."""

    counts: dict[str, Any] = field(default_factory=zero_counts)
    fields: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[Stage, str, str]] = field(default_factory=Counter)
    preview: list[pd.DataFrame] = field(default_factory=list)
    failed_rows: int = 0
    xlsx_errors: list[RowError] | None = field(default_factory=list)  # None: too many for XLSX
    sent: int = 0
    blocks: int = 0

    def add(self, outcome: BlockOutcome) -> None:
        """Fold one block's outcome in."""
        add_counts(self.counts, outcome.counts)
        self.fields.update(e.field for e in outcome.errors)
        self.warnings.update(outcome.warnings)
        for reason in top_reasons(outcome.errors, n=len(outcome.errors)):
            self.reasons[(reason.stage, reason.field, reason.reason)] += reason.rows
        if len(self.reasons) > 2 * REASONS_KEPT:
            self.reasons = Counter(dict(self.reasons.most_common(REASONS_KEPT)))
        shown = sum(len(p) for p in self.preview)
        if shown < PREVIEW_ROWS and len(outcome.failures):
            self.preview.append(outcome.failures.head(PREVIEW_ROWS - shown))
        self.failed_rows += len(outcome.failures)
        if self.xlsx_errors is not None:
            if self.failed_rows <= XLSX_MAX_FAILURES:
                self.xlsx_errors.extend(outcome.errors)
            else:
                self.xlsx_errors = None
        self.sent += outcome.sent
        self.blocks += 1

    def top_reasons(self, n: int = TOP_REASONS) -> list[ReasonCount]:
        """The reasons that failed the most rows, ranked as `transforms.report.top_reasons`."""
        ranked = sorted(
            self.reasons.items(), key=lambda kv: (-kv[1], STAGES.index(kv[0][0]), kv[0][1:])
        )
        return [ReasonCount(s, f, r, rows) for (s, f, r), rows in ranked[:n]]


class StreamedReport:
    """One run's report folder, written as the run goes: failures.csv grows block by block.

    Same layout, encoding and permissions as `flows.reports.ReportStore`; for a location
    that is not a local folder, failures.csv is spooled to a private temporary folder
    and uploaded when the run ends. summary.json is written last.
    """

    def __init__(self, location: str, run_id: str, input_name: str) -> None:
        self.folder = ReportStore(location).run_folder(run_id)  # checks location and run id
        self._fs, self._root = fsspec.core.url_to_fs(self.folder)
        self._local = isinstance(self._fs, LocalFileSystem)
        self._spool = None if self._local else tempfile.TemporaryDirectory(prefix="uniload-")
        self._csv = csv_names([input_name])[0]
        where = self._root if self._spool is None else self._spool.name
        self.failures_csv = Path(where) / self._csv
        self._make_folder()
        self._out: IO[bytes] = open_private(self.failures_csv)
        self._started = False

    def append(self, failures: pd.DataFrame) -> None:
        """Add failed rows (the first call writes the header and the BOM)."""
        text = failures.to_csv(index=False, header=not self._started, lineterminator=CSV_LINE_END)
        self._out.write(text.encode(CSV_ENCODING if not self._started else "utf-8"))
        self._started = True

    def close_failures(self) -> None:
        """Finish failures.csv (and upload it when the location is not local)."""
        self._out.close()
        if self._spool is not None:
            self._fs.put_file(str(self.failures_csv), f"{self._root}/{self._csv}")

    def write(self, name: str, data: bytes) -> None:
        """Write one more file of the report."""
        if self._local:
            write_private(Path(self._root) / name, data)
        else:
            self._fs.pipe_file(f"{self._root}/{name}", data)

    def __enter__(self) -> StreamedReport:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close failures.csv (a failed run leaves no summary.json) and drop the spool."""
        self._out.close()
        if self._spool is not None:
            self._spool.cleanup()

    def _make_folder(self) -> None:
        if self._local:
            os.makedirs(os.path.dirname(self._root), mode=FOLDER_MODE, exist_ok=True)
            os.makedirs(self._root, mode=FOLDER_MODE, exist_ok=True)
            os.chmod(self._root, FOLDER_MODE)
        else:
            self._fs.makedirs(self._root, exist_ok=True)
        for entry in self._fs.ls(self._root, detail=True):  # a retried run replaces its report
            if entry["type"] == "file":
                self._fs.rm_file(entry["name"])


def open_private(path: Path) -> IO[bytes]:
    """A new file readable by its owner only (0o600), open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    out = os.fdopen(os.open(path, flags, FILE_MODE), "wb")
    os.fchmod(out.fileno(), FILE_MODE)
    return out


def failures_xlsx(path: Path, name: str, errors: list[RowError]) -> bytes:
    """The workbook of a small streamed failure report, read back from its CSV."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=CSV_ENCODING)
    table["error_row"] = table["error_row"].astype("int64")
    return render_failures_xlsx([(name, table)], errors)


def streaming_note(tally: Tally, chunk_rows: int) -> str:
    """The lines summary.md adds in streaming mode."""
    lines = [
        "## Streaming",
        "",
        f"Read in chunks of {chunk_rows:,} rows, handled as {tally.blocks:,} blocks of whole "
        "orders.",
    ]
    if tally.xlsx_errors is None:
        lines.append(
            f"failures.xlsx was not written: {tally.failed_rows:,} rows failed, more than the "
            f"{XLSX_MAX_FAILURES:,} a workbook is made for in streaming mode. failures.csv "
            "holds every failed row."
        )
    return "\n".join([*lines, ""])


def stream_export(
    paths: Sequence[str],
    options: RunOptions,
    *,
    run_id: str,
    config: UniwareConfig | None,
    inbox: str | None = None,
) -> dict[str, Any]:
    """Run one export chunk by chunk (inside the upload flow); returns the run summary."""
    started, clock = datetime.now(UTC), time.perf_counter()
    chunk_rows = options.chunk_rows or 0
    path = streamable_file(paths, inbox)
    profiles = load_profiles()
    with ExitStack() as stack:
        chunks = iter_export_chunks(
            path, chunk_rows=chunk_rows, sheet=options.sheet, header_hint=known_headers(profiles)
        )
        stack.callback(close_iterator, chunks)
        first = next(chunks)
        headers = [str(c) for c in first.table.columns]
        profile = choose_profile(headers, profiles, name=options.profile, file=first.name)
        facility_map = load_facility_map(options.facility_map)
        ctx = BlockContext(
            first.name, tuple(headers), profile, options, facility_map, config, run_id, started
        )
        report = stack.enter_context(StreamedReport(options.report_dir, run_id, first.name))
        report.append(neutralise_formulas(failure_table(first.table.iloc[:0], [], first.name)))
        tally, stopped = stream_blocks(itertools.chain([first], chunks), ctx, report)
        summary = stream_summary(tally, ctx, started=started, seconds=time.perf_counter() - clock)
        summary = finish_stream_task(summary, tally, report, chunk_rows)
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
    tally, stopped = Tally(), None
    boundaries = OrderBoundaries(file=ctx.file, field=order_label(ctx))
    progress.start("validate", total=None)
    if ctx.config is not None:
        progress.start("post", total=None)
    chunk = None
    for chunk in chunks:
        block = boundaries.feed(chunk.table, order_keys(chunk.table, ctx.profile))
        stopped = take_block(block, chunk, ctx, stopped, tally, report)
    last = boundaries.finish()
    if last is not None and chunk is not None:
        stopped = take_block(last, chunk, ctx, stopped, tally, report)
    progress.finish("validate")
    progress.finish("post")
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
    return outcome.stopped


def stream_summary(
    tally: Tally, ctx: BlockContext, *, started: datetime, seconds: float
) -> dict[str, Any]:
    """The run summary, with the keys of a normal run."""
    counts = dict(tally.counts)
    read, failed = counts["rows_read"], counts["rows_failed"]
    counts["rows_ready"] = read - failed if ctx.options.dry_run else 0
    return {
        "run_id": ctx.run_id,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_seconds": round(seconds, 3),
        **counts,
        "errors_by_field": dict(tally.fields.most_common()),
        "warnings": sum(tally.warnings.values()),
        "warnings_by_reason": dict(tally.warnings.most_common()),
        "files": [
            {
                "name": ctx.file,
                "rows_read": read,
                "rows_failed": failed,
                "profile": ctx.profile.name,
            }
        ],
        "dry_run": ctx.options.dry_run,
        "destination": ctx.config.base_url if ctx.config else None,
        "throughput_orders_per_second": round(tally.sent / seconds, 2) if seconds else 0.0,
    }


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def finish_stream_task(
    summary: dict[str, Any], tally: Tally, report: StreamedReport, chunk_rows: int
) -> dict[str, Any]:
    """failures.xlsx when small enough, summary.md and summary.json (last), then artifacts."""
    progress.start("report")
    reasons = tally.top_reasons()
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
