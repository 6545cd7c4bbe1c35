"""The issue's bar for each benchmark key, the baseline measured beside it, and the table."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

# key -> (comparison, target: a number or another key, the baseline's key and what it is)
Check = tuple[str, float | str, str | None]
TARGETS: Final[dict[str, Check]] = {
    "help_seconds": ("<=", 0.3, None),
    "validate_small_seconds": ("<=", 2.0, None),
    "run_overhead_seconds": ("", "", None),  # against a running Prefect server
    "run_overhead_temporary_server_seconds": ("", "", None),
    "dry_run_vs_read": ("<=", 4.0, "read_seconds"),
    "dry_run_vs_naive": (">=", 25.0, "naive_seconds_scaled"),
    "post_vs_bound": (">=", 0.95, "post_floor_vs_bound"),  # a bare client, same sandbox
    "post_vs_bound_32": (">=", 0.95, "post_floor_vs_bound_32"),
    "report_vs_openpyxl": (">=", 5.0, "report_openpyxl_rows_per_second"),
    "rate_vs_limit": (">=", 0.95, "rate_limit"),
    "busiest_second": ("<=", "rate_limit", None),
}
_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {"<=": operator.le, ">=": operator.ge}


def verdict(key: str, results: Mapping[str, Any]) -> str:
    """ "met", "MISSED", or "" for a key without a target (or not measured)."""
    compare, target, _ = TARGETS[key]
    if not compare or key not in results:
        return ""
    bound = results.get(target) if isinstance(target, str) else target
    if bound is None:
        return ""
    return "met" if _COMPARE[compare](results[key], bound) else "MISSED"


def table(results: Mapping[str, Any]) -> list[str]:
    """One line per key with a target: value, target, verdict, and the baseline beside it."""
    rows = [("key", "measured", "target", "", "baseline (same run)")]
    for key, (compare, target, baseline) in TARGETS.items():
        shown = f"{compare} {results.get(target, target) if isinstance(target, str) else target}"
        base = f"{baseline} = {results[baseline]}" if baseline and baseline in results else ""
        rows.append((key, str(results.get(key, "-")), shown.strip(), verdict(key, results), base))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[4]]).rstrip()
        for row in rows
    ]
