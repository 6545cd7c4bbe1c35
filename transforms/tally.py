"""A streamed run's running totals: each block's counts, reasons and a few rows, folded in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
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
class Tally:
    """A streamed run's running totals; rows are kept only for the preview and a small XLSX."""

    counts: dict[str, Any] = field(default_factory=zero_counts)
    fields: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[Stage, str, str]] = field(default_factory=Counter)
    preview: list[pd.DataFrame] = field(default_factory=list)
    failed_rows: int = 0
    xlsx_errors: list[RowError] | None = field(default_factory=list)  # None: too many for XLSX
    xlsx_limit: int = XLSX_MAX_FAILURES  # past this many failed rows, no workbook
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
