"""Per-row failures as data: what failed, where in the seller's file, and why.

Failures travel as an `ErrorTable` (one pandas row per failure, built by column operations),
never as one Python object per failed cell; `RowError` is the view of one of its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, overload

import numpy as np
import pandas as pd

Stage = Literal["read", "validate", "group", "build", "post", "sync"]
STAGES: tuple[Stage, ...] = ("read", "validate", "group", "build", "post", "sync")
COLUMNS: Final = ("file", "row", "stage", "field", "value", "reason", "order_id", "item_id", "code")
TEXT_COLUMNS: Final = tuple(c for c in COLUMNS if c != "row")


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason one source row failed.

    ``row`` is the row number as the seller sees it in a spreadsheet (header = 1).
    ``field`` is the export's own column name where one applies, else a canonical or
    payload field name, else "". ``code`` is stable and machine-readable ("value.unmapped").
    """

    file: str
    row: int
    stage: Stage
    field: str
    value: str
    reason: str
    order_id: str = ""
    item_id: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A value normalised without guessing (counted in the summary, never fails a row)."""

    file: str
    row: int
    field: str
    value: str
    fixed: str
    reason: str


class ErrorTable(Sequence[RowError]):
    """Failures as one table (columns `COLUMNS`); reads as a sequence of `RowError` views."""

    __slots__ = ("frame",)
    __hash__ = None  # type: ignore[assignment]  # unhashable, as == compares contents

    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        if frame is None:
            frame = _EMPTY  # shared: pandas copies on write, so no table changes another
        self.frame = frame.reset_index(drop=True)

    @classmethod
    def of(cls, errors: Iterable[RowError] | ErrorTable) -> ErrorTable:
        """A table of `errors` (the same table when it is one already)."""
        if isinstance(errors, ErrorTable):
            return errors
        found = list(errors)
        if not found:
            return cls()
        columns = {c: [getattr(e, c) for e in found] for c in COLUMNS}
        return cls(pd.DataFrame(_typed(columns)))

    def __len__(self) -> int:
        return len(self.frame)

    @overload
    def __getitem__(self, index: int) -> RowError: ...
    @overload
    def __getitem__(self, index: slice) -> ErrorTable: ...
    def __getitem__(self, index: int | slice) -> RowError | ErrorTable:
        if isinstance(index, slice):
            return ErrorTable(self.frame.iloc[index])
        return _view(self.frame.iloc[index].tolist())

    def __iter__(self) -> Iterator[RowError]:
        for values in self.frame.itertuples(index=False, name=None):
            yield _view(list(values))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ErrorTable, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __add__(self, other: Iterable[RowError] | ErrorTable) -> ErrorTable:
        return concat([self, ErrorTable.of(other)])

    def __radd__(self, other: Iterable[RowError]) -> ErrorTable:
        return concat([ErrorTable.of(other), self])

    def __repr__(self) -> str:
        return f"ErrorTable({len(self)} errors)"

    def where(self, mask: pd.Series | np.ndarray[Any, Any]) -> ErrorTable:
        """The errors where `mask` holds."""
        return ErrorTable(self.frame[np.asarray(mask, dtype=bool)])

    def failed_rows(self) -> pd.DataFrame:
        """Every (file, row) named, once each, in order of first mention."""
        return self.frame[["file", "row"]].drop_duplicates()


def concat(tables: Sequence[ErrorTable]) -> ErrorTable:
    """The errors of `tables`, in order."""
    frames = [t.frame for t in tables if len(t)]
    if not frames:
        return ErrorTable()
    return ErrorTable(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))


def error_table(
    file: str,
    rows: Iterable[int] | pd.Index | np.ndarray[Any, Any],
    stage: Stage,
    field: str,
    values: Iterable[str] | pd.Series,
    reasons: Iterable[str] | pd.Series | str,
    code: str,
) -> ErrorTable:
    """Errors of one rule on one field: a row each, one value and reason per row."""
    numbers = np.asarray(list(rows) if not hasattr(rows, "__array__") else rows, dtype="int64")
    n = len(numbers)
    if not n:
        return ErrorTable()
    texts = pd.Series(values).astype(str).to_numpy(dtype=object)
    why = [reasons] * n if isinstance(reasons, str) else pd.Series(reasons).to_numpy(dtype=object)
    columns = {
        "file": [file] * n,
        "row": numbers,
        "stage": [stage] * n,
        "field": [field] * n,
        "value": texts,
        "reason": why,
        "order_id": [""] * n,
        "item_id": [""] * n,
        "code": [code] * n,
    }
    return ErrorTable(pd.DataFrame(_typed(columns)))


def _typed(columns: dict[str, Any]) -> dict[str, Any]:
    return {c: pd.Series(columns[c], dtype=_dtype(c)) for c in COLUMNS}


def _dtype(column: str) -> str:
    return "int64" if column == "row" else "object"


_EMPTY: Final = pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})


def _view(values: list[Any]) -> RowError:
    row = dict(zip(COLUMNS, values, strict=True))
    row["row"] = int(row["row"])
    return RowError(**row)


def factorize_together(*columns: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Codes of the distinct tuples of `columns` (first mention first), and one row of each.

    Column by column, so no Python tuple is made per row (MultiIndex.factorize makes them).
    """
    codes = np.zeros(len(columns[0]), dtype="int64")
    for column in columns:
        part, uniques = pd.factorize(np.asarray(column, dtype=object), use_na_sentinel=False)
        codes = codes * max(len(uniques), 1) + part
        codes, _ = pd.factorize(codes)
    firsts = np.unique(codes, return_index=True)[1] if len(codes) else np.array([], int)
    return codes.astype("int64"), firsts
