"""Orders whose rows disagree on an order-level field: every row of such an order fails.

Blank cells of first-row-only exports were already filled; a blank cell never disagrees.
Most exports repeat each order's values exactly, so each column is first compared with its
order's first row as a whole; only a column that differs somewhere is looked at closer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from schemas.lines import ORDER_FIELDS
from transforms.columns import ColumnMap
from transforms.errors import RowError
from transforms.lines import FILE, ROW

CONFLICT: Final = "order.conflict"  # an order's rows disagree on an order-level field
Pairs = tuple[np.ndarray, np.ndarray]


def label(labels: Mapping[str, ColumnMap], file: str, field: str) -> str:
    """The export's own name of a canonical field (the field itself for an unknown file)."""
    columns = labels.get(file)
    return columns.label(field) if columns else field


def conflicts(
    ok: pd.DataFrame,
    codes: np.ndarray,
    order_ids: pd.Index,
    labels: Mapping[str, ColumnMap],
    mapped: set[str],
) -> list[RowError]:
    """Every row of each order whose rows disagree on an order-level field (`codes`: each
    row's order, numbering `order_ids`)."""
    pairs = _row_pairs(codes)
    clashes: dict[int, list[str]] = {}
    for field in (f for f in ORDER_FIELDS if f != "order_id" and f in mapped):
        for code in orders_with_two_values(codes, ok[field], pairs).tolist():
            clashes.setdefault(code, []).append(field)
    errors: list[RowError] = []
    for code in sorted(clashes):  # orders in file order, fields in schema order
        rows = ok[codes == code]
        for field in clashes[code]:
            errors += _conflict_errors(rows, str(order_ids[code]), field, labels)
    return errors


def _row_pairs(codes: np.ndarray) -> Pairs:
    """Each row of an order with several rows, and the first row of its order."""
    counts = np.bincount(codes)
    rows = np.flatnonzero(counts[codes] > 1)
    first = np.empty(len(counts), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the earliest row is written last
    return rows, first[codes[rows]]


def orders_with_two_values(
    codes: np.ndarray, column: pd.Series, pairs: Pairs | None = None
) -> np.ndarray:
    """Codes of the orders whose rows hold two or more different (non-blank) values.

    Each given cell is compared with one given cell of its order (no hashing of the column),
    unless every row holds just what its order's first row holds (most exports).
    """
    if len(codes) and _agree(column, pairs or _row_pairs(codes)):
        return np.empty(0, dtype=codes.dtype)
    rows = np.flatnonzero(column.notna().to_numpy(dtype=bool))
    if not len(rows):
        return np.empty(0, dtype=codes.dtype)
    values = _comparable(column)
    some = np.full(int(codes.max()) + 1, -1)
    some[codes[rows]] = rows  # one of each order's given rows, whichever
    differ = np.asarray(values[rows] != values[some[codes[rows]]], dtype=bool)
    return np.unique(codes[rows[differ]])


def _agree(column: pd.Series, pairs: Pairs) -> bool:
    """True when every row holds what its order's first row holds, a missing value included."""
    rows, firsts = pairs
    if isinstance(column.dtype, pd.BooleanDtype):  # exact as floats, missing as NaN
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = _comparable(column)
    try:
        same = np.asarray(values[rows] == values[firsts], dtype=bool)
    except (TypeError, ValueError):  # pd.NA (nullable integers) has no truth value
        return False
    if values.dtype.kind in "fcmM":  # NaN and NaT equal nothing, themselves neither
        same |= pd.isna(values[rows]) & pd.isna(values[firsts])
    return bool(same.all())


def _comparable(column: pd.Series) -> np.ndarray:
    """The column's values as numpy compares them: dates as UTC datetime64, others as stored."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values: np.ndarray = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    elif isinstance(dtype, np.dtype):
        values = column.to_numpy()
    else:  # nullable integers, booleans, strings: their Python values
        values = column.to_numpy(dtype=object)
    return values


def _conflict_errors(
    rows: pd.DataFrame, order_id: str, field: str, labels: Mapping[str, ColumnMap]
) -> list[RowError]:
    shown = rows[f"_text_{field}"] if f"_text_{field}" in rows else rows[field].astype("str")
    firsts = rows.loc[rows[field].drop_duplicates().index]
    seen = ", ".join(
        f"{shown[i]!r} (row {r})" for i, r in zip(firsts.index, firsts[ROW], strict=True)
    )
    reason = f"order {order_id} has different values on its rows: {seen}"
    return [
        RowError(
            f, int(r), "group", label(labels, f, field), str(v), reason, order_id, str(i), CONFLICT
        )
        for f, r, v, i in zip(rows[FILE], rows[ROW], shown, rows["order_item_id"], strict=True)
    ]
