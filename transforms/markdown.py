"""The run summary as Markdown: readable in a terminal and in Prefect's UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from transforms.errors import STAGES
from transforms.reasons import ReasonCount


def summary_markdown(summary: Mapping[str, Any], top_reasons: Sequence[ReasonCount]) -> str:
    """The run summary as Markdown: readable in a terminal and in Prefect's UI."""
    return "\n".join(
        [
            *_headline(summary),
            *_counts(summary),
            *_sync(summary),
            *_by_stage(summary),
            *_by_file(summary),
            *_reasons(top_reasons),
        ]
    )


def _headline(summary: Mapping[str, Any]) -> list[str]:
    mode = "dry run: validated and built, nothing posted" if summary.get("dry_run") else "posted"
    return [
        f"# uniload run {summary.get('run_id', '?')}",
        "",
        f"- Mode: {mode}",
        f"- Destination: {_without_credentials(str(summary.get('destination', '')))}",
        f"- Started: {summary.get('started_at', '?')}, finished: {summary.get('finished_at', '?')}",
        f"- Duration: {float(summary.get('duration_seconds', 0)):,.1f} s, throughput: "
        f"{float(summary.get('throughput_orders_per_second', 0)):,.1f} orders/s",
        f"- Warnings (values normalised): {_n(summary.get('warnings'))}",
        "",
    ]


def _sync(summary: Mapping[str, Any]) -> list[str]:
    """Cancellations and returns of earlier orders, when the run had any."""
    keys = ("cancelled", "returned", "cancel_failed", "return_failed", "changes_unanswered")
    said = [f"{key.replace('_', ' ')} {_n(summary.get(key))}" for key in keys if summary.get(key)]
    if summary.get("changed_after_posting"):
        said.append(
            f"changed after posting (update in Uniware) {_n(summary['changed_after_posting'])}"
        )
    return [f"- After posting: {', '.join(said)}", ""] if said else []


def _counts(summary: Mapping[str, Any]) -> list[str]:
    def line(what: str, total: str) -> str:
        cells = [summary.get(f"{what}_{k}") for k in ("accepted", "already_accepted", "failed")]
        return _row([what, _n(summary.get(total)), *map(_n, cells)])

    return [
        _row(["", "read / built", "accepted", "already accepted", "failed"]),
        _row(["---"] * 5),
        line("rows", "rows_read"),
        line("orders", "orders_built"),
        "",
        *_skipped(summary),
    ]


def _skipped(summary: Mapping[str, Any]) -> list[str]:
    if not summary.get("rows_skipped"):
        return []
    reasons: Mapping[str, Any] = summary.get("orders_skipped_by_reason") or {}
    head = (
        f"Skipped, not posted (listed in skipped.csv): {_n(summary.get('rows_skipped'))} rows "
        f"in {_n(summary.get('orders_skipped'))} orders"
    )
    return [head, "", *(f"- {_n(n)} orders {reason}" for reason, n in reasons.items()), ""]


def _by_stage(summary: Mapping[str, Any]) -> list[str]:
    stages: Mapping[str, Any] = summary.get("rows_failed_by_stage") or {}
    ordered = [s for s in STAGES if s in stages] + [s for s in stages if s not in STAGES]
    body = [_row([s, _n(stages[s])]) for s in ordered]
    return ["## Failed rows by stage", "", _row(["stage", "rows"]), _row(["---"] * 2), *body, ""]


def _by_file(summary: Mapping[str, Any]) -> list[str]:
    files: Sequence[Mapping[str, Any]] = summary.get("files") or []
    body = [
        _row(
            [
                f.get("name", ""),
                f.get("profile") or "",
                _n(f.get("rows_read")),
                _n(f.get("rows_failed")),
            ]
        )
        if not f.get("error")
        else _row([f.get("name", ""), "", "not read", str(f.get("error"))])
        for f in files
    ]
    head = _row(["file", "profile", "rows read", "rows failed"])
    return ["## Files", "", head, _row(["---"] * 4), *body, ""]


def _reasons(reasons: Sequence[ReasonCount]) -> list[str]:
    if not reasons:
        return ["## Top reasons", "", "No row failed.", ""]
    body = [_row([_n(r.rows), r.stage, r.field, r.reason]) for r in reasons]
    head = _row(["rows", "stage", "field", "reason"])
    return ["## Top reasons", "", head, _row(["---"] * 4), *body, ""]


def _row(cells: Sequence[object]) -> str:
    text = (str(c).replace("|", "\\|").replace("\r", " ").replace("\n", " ") for c in cells)
    return "| " + " | ".join(text) + " |"


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "0" if value is None else str(value)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))
