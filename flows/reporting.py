"""End of a run: map deliveries back to rows, count, write the report and publish artifacts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from flows.artifacts import PREVIEW_ROWS, publish_run_artifacts
from flows.config import RunOptions
from flows.pipeline import Validated
from flows.reports import ReportStore, build_failure_tables, csv_bytes
from transforms.disposition import SKIPPED_CSV, to_post
from transforms.orders import mark_failed
from transforms.outcomes import count_run, post_errors
from transforms.payloads import Built
from transforms.report import neutralise_formulas, skipped_table, top_reasons
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


def finish_run(run: RunReport) -> dict[str, Any]:
    """Write the run's report folder and artifacts; return the summary (with `report` path)."""
    validated = run.validated
    outcomes: dict[str, tuple[str, str]] = {
        d.order_id: (d.outcome, d.message) for d in run.deliveries
    }
    if not run.options.dry_run:  # an order with no answer at all is never silently dropped
        for order_id in run.built.payloads.order_ids:
            outcomes.setdefault(order_id, ("not_sent", NOT_SENT))
    errors = validated.errors + post_errors(validated.lines, outcomes)
    mark_failed(validated.lines, errors)
    summary = _summary(run, errors, outcomes)
    store = ReportStore(run.options.report_dir)
    files = [(e.name, e.table) for e in validated.exports]
    tables, reasons = build_failure_tables(files, errors), top_reasons(errors)
    skipped = skipped_table(files, validated.lines)
    extra = {SKIPPED_CSV: csv_bytes(neutralise_formulas(skipped))} if len(skipped) else {}
    paths = store.write_run_report(
        run.run_id, files, errors, summary, tables=tables, reasons=reasons, extra=extra
    )
    summary["report"] = str(paths.folder)
    preview = pd.concat([t.head(PREVIEW_ROWS) for _, t in tables]) if tables else pd.DataFrame()
    publish_run_artifacts(summary, preview, str(paths.folder), reasons)
    return summary


def _summary(
    run: RunReport, errors: list[Any], outcomes: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    validated = run.validated
    counts = count_run(
        validated.lines,
        errors,
        outcomes,
        orders_built=len(run.built.payloads),
        dry_run=run.options.dry_run,
    )
    sent = sum(1 for d in run.deliveries if d.outcome in ("accepted", "failed"))
    files = []
    for export in validated.exports:
        mine = validated.lines["_file"] == export.name
        failed = {e.row for e in errors if e.file == export.name}
        files.append(
            {
                "name": export.name,
                "rows_read": int(mine.sum()),
                "rows_failed": len(failed),
                "rows_skipped": int((mine & ~to_post(validated.lines)).sum()),
                "profile": validated.profiles.get(export.name),
            }
        )
    for gone in validated.unread:
        files.append(
            {
                "name": gone.name,
                "rows_read": 0,
                "rows_failed": 0,
                "profile": None,
                "error": gone.error,
            }
        )
    return {
        "run_id": run.run_id,
        "started_at": run.started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_seconds": round(run.seconds, 3),
        **counts,
        "errors_by_field": dict(Counter(e.field for e in errors).most_common()),
        "warnings": sum(validated.warnings.values()),
        "warnings_by_reason": dict(validated.warnings.most_common()),
        "files": files,
        "files_failed": len(validated.unread),
        "dry_run": run.options.dry_run,
        "destination": run.destination,
        "throughput_orders_per_second": round(sent / run.seconds, 2) if run.seconds else 0.0,
    }
