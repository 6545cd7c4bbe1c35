"""A run's totals and the one builder of its summary.

A run folds each block's counts, reasons and a few rows into a `Tally` (a small file is one
block); `run_summary` turns the totals into the summary every run writes (summary.json).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from transforms.errors import STAGES, RowError, Stage
from transforms.lines import FAILED
from transforms.outcomes import count_run
from transforms.reasons import TOP_REASONS, ReasonCount, top_reasons

XLSX_MAX_FAILURES: Final = 1_048_575  # Excel's rows per sheet, less the header
PREVIEW_ROWS: Final = 50
REASONS_KEPT: Final = 1_000  # distinct reasons tallied; past twice this, the rarest go


@dataclass(frozen=True)
class BlockOutcome:
    """What one block produced: counts and its failed rows, nothing else."""

    counts: dict[str, Any]
    errors: Sequence[RowError]  # a list, or an ErrorTable (a sequence of its rows)
    failures: pd.DataFrame  # formula-safe failure rows (report columns)
    warnings: Counter[str]
    sent: int
    stopped: str | None
    skipped: pd.DataFrame = field(default_factory=pd.DataFrame)  # skipped rows (skipped.csv)


def zero_counts() -> dict[str, Any]:
    """The counts of a run that read nothing (the keys of `count_run`)."""
    counts = count_run(
        pd.DataFrame(
            {"order_id": pd.Series([], dtype="object"), FAILED: pd.Series([], dtype=bool)}
        ),
        [],
        {},
        orders_built=0,
        dry_run=False,
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
class FileTotals:
    """One input file's rows; `error` says why a file was left out of the run."""

    rows_read: int = 0
    rows_failed: int = 0
    rows_skipped: int = 0
    profile: str | None = None
    error: str | None = None


def _xlsx_limit() -> int:
    return XLSX_MAX_FAILURES  # read when a run starts, so a test can lower it here


@dataclass
class Tally:
    """A run's running totals; rows are kept only for the preview and a small XLSX."""

    counts: dict[str, Any] = field(default_factory=zero_counts)
    files: dict[str, FileTotals] = field(default_factory=dict)  # input name -> its rows
    fields: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[Stage, str, str]] = field(default_factory=Counter)
    preview: list[pd.DataFrame] = field(default_factory=list)
    failed_rows: int = 0
    xlsx_errors: list[RowError] | None = field(default_factory=list)  # None: too many for XLSX
    xlsx_limit: int = field(default_factory=_xlsx_limit)  # past this many failed rows: none
    sent: int = 0
    blocks: int = 0

    def add(self, outcome: BlockOutcome, *, file: str, profile: str) -> None:
        """Fold one block (of input `file`, read with `profile`) in."""
        add_counts(self.counts, outcome.counts)
        mine = self.files.setdefault(file, FileTotals(profile=profile))
        mine.rows_read += outcome.counts["rows_read"]
        mine.rows_failed += outcome.counts["rows_failed"]
        mine.rows_skipped += outcome.counts["rows_skipped"]
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
            if self.failed_rows <= self.xlsx_limit:
                self.xlsx_errors.extend(outcome.errors)
            else:
                self.xlsx_errors = None
        self.sent += outcome.sent
        self.blocks += 1

    def top_reasons(self, n: int = TOP_REASONS) -> list[ReasonCount]:
        """The reasons that failed the most rows, ranked as `transforms.reasons.top_reasons`."""
        ranked = sorted(
            self.reasons.items(), key=lambda kv: (-kv[1], STAGES.index(kv[0][0]), kv[0][1:])
        )
        return [ReasonCount(s, f, r, rows) for (s, f, r), rows in ranked[:n]]


def run_summary(
    tally: Tally,
    *,
    run_id: str,
    started: datetime,
    seconds: float,
    dry_run: bool,
    destination: str | None,
    sync: Mapping[str, int],
) -> dict[str, Any]:
    """The run summary (summary.json) from the run's totals: the one place it is built.

    Every row is counted once: rows_read == rows_accepted + rows_ready + rows_failed +
    rows_skipped (rows_ready is 0 on a real run).
    """
    counts = dict(tally.counts)
    left = counts["rows_read"] - counts["rows_failed"] - counts["rows_skipped"]
    counts["rows_ready"] = left if dry_run else 0
    return {
        "run_id": run_id,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_seconds": round(seconds, 3),
        **counts,
        **sync,
        "errors_by_field": dict(tally.fields.most_common()),
        "warnings": sum(tally.warnings.values()),
        "warnings_by_reason": dict(tally.warnings.most_common()),
        "files": [file_entry(name, totals) for name, totals in tally.files.items()],
        "files_failed": sum(1 for t in tally.files.values() if t.error is not None),
        "dry_run": dry_run,
        "destination": destination,
        "throughput_orders_per_second": round(tally.sent / seconds, 2) if seconds else 0.0,
        "blocks": tally.blocks,  # 1: the run held every row at once; more: block by block
    }


def file_entry(name: str, totals: FileTotals) -> dict[str, Any]:
    """One input file's entry in the summary (a file left out: its error, no rows)."""
    if totals.error is not None:
        return {
            "name": name,
            "rows_read": 0,
            "rows_failed": 0,
            "profile": None,
            "error": totals.error,
        }
    return {
        "name": name,
        "rows_read": totals.rows_read,
        "rows_failed": totals.rows_failed,
        "rows_skipped": totals.rows_skipped,
        "profile": totals.profile,
    }
