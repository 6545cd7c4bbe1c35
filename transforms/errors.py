"""Per-row failures as data: what failed, where in the seller's file, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stage = Literal["read", "validate", "group", "build", "post", "sync"]
STAGES: tuple[Stage, ...] = ("read", "validate", "group", "build", "post", "sync")


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason one source row failed.

    ``row`` is the row number as the seller sees it in a spreadsheet (header = 1).
    ``field`` is the export's own column name where one applies, else a canonical or
    payload field name, else "".
    """

    file: str
    row: int
    stage: Stage
    field: str
    value: str
    reason: str
    order_id: str = ""
    item_id: str = ""
    code: str = ""  # a stable code where one applies ("value.unmapped")


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A value normalised without guessing (counted in the summary, never fails a row)."""

    file: str
    row: int
    field: str
    value: str
    fixed: str
    reason: str
