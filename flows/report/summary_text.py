"""The run summary as a few terminal lines a seller can read at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOP_FIELDS = 8
MAX_MESSAGE = 300  # a state message is a line in the runs list, not the report


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """Headline counts, failures by stage and by column, warnings, and where the report is."""
    s = summary
    files = s.get("files", [])
    lines = [
        f"run {s['run_id']}{' (dry run: nothing posted)' if s.get('dry_run') else ''}",
        f"  rows read        {s['rows_read']:>8}  from {len(files)} file(s)",
    ]
    if s.get("dry_run"):
        lines.append(f"  rows ready       {s['rows_ready']:>8}  in {s['orders_built']} orders")
    else:
        earlier = s.get("rows_already_accepted", 0)
        note = f"  ({earlier} accepted in an earlier run)" if earlier else ""
        lines.append(f"  orders built     {s['orders_built']:>8}")
        lines.append(
            f"  rows accepted    {s['rows_accepted']:>8}  in {s['orders_accepted']} orders{note}"
        )
    by_stage = ", ".join(f"{k} {v}" for k, v in s.get("rows_failed_by_stage", {}).items() if v)
    lines.append(
        f"  rows failed      {s['rows_failed']:>8}  in {s['orders_failed']} orders"
        + (f"  ({by_stage})" if by_stage else "")
    )
    lines += sync_line(s)
    if s.get("rows_skipped"):
        lines.append(
            f"  rows skipped     {s['rows_skipped']:>8}  in {s['orders_skipped']} orders"
            "  (see skipped.csv)"
        )
        for reason, count in s.get("orders_skipped_by_reason", {}).items():
            lines.append(f"      {count:>6}  {reason}")
    fields = list(s.get("errors_by_field", {}).items())[:TOP_FIELDS]
    for field, count in fields:
        lines.append(f"      {count:>6}  {field or '(whole order)'}")
    if s.get("warnings"):
        lines.append(
            f"  values fixed     {s['warnings']:>8}  (counted as warnings, see summary.md)"
        )
    for f in files:
        if f.get("error"):
            lines.append(f"  {f['name']}: NOT READ, left out of this run: {f['error']}")
            continue
        lines.append(
            f"  {f['name']}: {f['rows_read']} rows, {f['rows_failed']} failed,"
            f" profile {f['profile']}"
        )
    if s.get("report"):
        lines.append(f"report: {s['report']}")
    return lines


def outcome_message(summary: Mapping[str, Any]) -> str:
    """One line for the run's state: ``12 of 300 rows failed: top reason …`` or all is well."""
    read, failed = summary.get("rows_read", 0), summary.get("rows_failed", 0)
    if summary.get("nothing_to_do"):
        return f"nothing to do: {summary.get('nothing_to_do')}"
    files = summary.get("files_failed", 0)
    unread = f"{files} file(s) could not be read; " if files else ""
    if failed:
        reasons = summary.get("top_reasons") or []
        top = f": top reason ({reasons[0]['rows']} rows) {reasons[0]['reason']}" if reasons else ""
        return f"{unread}{failed} of {read} rows failed{top}"[:MAX_MESSAGE]
    if files:
        return f"{unread}all {read} rows of the others accepted"
    verb = "valid (dry run)" if summary.get("dry_run") else "accepted"
    return f"all {read} rows {verb}"


SYNC_KEYS = (
    "cancelled",
    "returned",
    "cancel_failed",
    "return_failed",
    "changes_unanswered",
    "changed_after_posting",
)


def sync_line(summary: Mapping[str, Any]) -> list[str]:
    """What the sync step told Uniware about earlier orders (nothing when it had nothing)."""
    said = [f"{key.replace('_', ' ')} {summary[key]}" for key in SYNC_KEYS if summary.get(key)]
    return [f"  after posting    {', '.join(said)}"] if said else []
