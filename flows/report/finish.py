"""End of a run: map deliveries back to rows, count, write the report and publish artifacts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from flows.cli.progress import StageProgress
from flows.config import RunOptions
from flows.pipeline import Validated
from flows.report.artifacts import PREVIEW_ROWS, publish_run_artifacts
from flows.report.failure_csv import build_failure_tables
from flows.report.writer import ReportWriter, write_report
from schemas.changes import ChangeResult
from transforms.errors import ErrorTable
from transforms.failure_table import neutralise_formulas, skipped_table
from transforms.orders import mark_failed
from transforms.outcomes import count_run, post_errors, skipped_mask
from transforms.payloads import Built
from transforms.reasons import reason_entries, top_reasons
from transforms.sync_report import count_sync, sync_errors, sync_outcomes
from transforms.tally import FileTotals, Tally, run_summary

if TYPE_CHECKING:  # a local check (uniload validate) needs neither httpx nor the ledger
    from uniware.delivery import Delivery

NOT_SENT = "not sent: the run stopped before this order; run again to send it"


@dataclass
class RunReport:
    """Everything one run produced, for its report."""

    run_id: str
    options: RunOptions
    validated: Validated
    built: Built
    deliveries: list[Delivery]
    started: datetime
    seconds: float
    destination: str | None
    synced: list[ChangeResult] = field(default_factory=list)  # the sync step's results


def finish_run(run: RunReport, *, publish: bool = True) -> dict[str, Any]:
    """Write the run's report folder (and, in a flow run, its artifacts); return the summary.

    `run` is not changed: the rows failed by posting are marked on a new value.
    """
    outcomes: dict[str, tuple[str, str]] = {
        d.order_id: (d.outcome, d.message) for d in run.deliveries
    }
    if not run.options.dry_run:  # an order with no answer at all is never silently dropped
        for order_id in run.built.payloads.order_ids:
            outcomes.setdefault(order_id, ("not_sent", NOT_SENT))
    outcomes.update(sync_outcomes(run.synced))
    errors = run.validated.errors + post_errors(run.validated.lines, outcomes)
    errors += sync_errors(run.validated.lines, run.synced)
    validated = replace(run.validated, lines=mark_failed(run.validated.lines, errors))
    summary = _summary(replace(run, validated=validated), errors, outcomes)
    files = [(e.name, e.table) for e in validated.exports]
    tables, reasons = build_failure_tables(files, errors), top_reasons(errors)
    summary["top_reasons"] = reason_entries(reasons)
    skipped = neutralise_formulas(skipped_table(files, validated.lines))
    paths = write_report(
        run.options.report_dir,
        run.run_id,
        files,
        errors,
        summary,
        tables=tables,
        reasons=reasons,
        skipped=skipped,
    )
    summary["report"] = paths.folder
    preview = pd.concat([t.head(PREVIEW_ROWS) for _, t in tables]) if tables else pd.DataFrame()
    if publish:
        publish_run_artifacts(summary, preview, str(paths.folder), reasons)
    return summary


def nothing_to_do(run_id: str, options: RunOptions, *, source: str) -> dict[str, Any]:
    """The summary of a run that found no input (an empty inbox): every count zero."""
    summary = run_summary(
        Tally(),
        run_id=run_id,
        started=datetime.now(UTC),
        seconds=0.0,
        dry_run=options.dry_run,
        destination=None,
        sync=count_sync([]),
    )
    return {
        **summary,
        "top_reasons": [],
        "nothing_to_do": f"no settled export files in {source}",
        "report": None,
    }


def _summary(
    run: RunReport, errors: ErrorTable, outcomes: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """The whole run as one block: its totals, then the one summary builder."""
    validated = run.validated
    counts = count_run(
        validated.lines,
        errors,
        outcomes,
        orders_built=len(run.built.payloads),
        dry_run=run.options.dry_run,
    )
    tally = Tally(
        counts=counts,
        fields=Counter(errors.frame["field"]),
        warnings=Counter(validated.warnings),
        sent=sum(1 for d in run.deliveries if d.outcome in ("accepted", "failed")),
        blocks=1,
    )
    skipped = skipped_mask(validated.lines, outcomes)
    failed_by_file = errors.failed_rows()["file"].value_counts()
    for export in validated.exports:
        mine = validated.lines["_file"] == export.name
        tally.files[export.name] = FileTotals(
            rows_read=int(mine.sum()),
            rows_failed=int(failed_by_file.get(export.name, 0)),
            rows_skipped=int((mine & skipped).sum()),
            profile=validated.profiles.get(export.name),
        )
    for gone in validated.unread:
        tally.files[gone.name] = FileTotals(error=gone.error)
    return run_summary(
        tally,
        run_id=run.run_id,
        started=run.started,
        seconds=run.seconds,
        dry_run=run.options.dry_run,
        destination=run.destination,
        sync=count_sync(run.synced),
    )


def finish_stream(
    summary: dict[str, Any],
    tally: Tally,
    report: ReportWriter,
    block_rows: int,
    progress: StageProgress,
) -> dict[str, Any]:
    """End of a run block by block: failures.xlsx when small enough, summary.md and
    summary.json (last), then artifacts; the summary."""
    progress.start("report")
    reasons = tally.top_reasons()
    summary = {**summary, "top_reasons": reason_entries(reasons)}
    note = streaming_note(tally, block_rows)
    paths = report.finish(summary, reasons, xlsx_errors=tally.xlsx_errors, note=note)
    summary = {**summary, "report": paths.folder}
    preview = pd.concat(tally.preview) if tally.preview else pd.DataFrame()
    publish_run_artifacts(summary, preview, paths.folder, reasons)
    progress.finish("report")
    return summary


def streaming_note(tally: Tally, block_rows: int) -> str:
    """The lines summary.md adds for a run block by block."""
    lines = [
        "## Blocks",
        "",
        f"Read in chunks of {block_rows:,} rows, handled as {tally.blocks:,} blocks of whole "
        "orders.",
    ]
    if tally.xlsx_errors is None:
        lines.append(
            f"failures.xlsx was not written: {tally.failed_rows:,} rows failed, more than the "
            f"{tally.xlsx_limit:,} rows an Excel sheet holds. The failures CSV "
            "holds every failed row."
        )
    return "\n".join([*lines, ""])
