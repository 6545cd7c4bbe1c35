"""Lines -> orders: cross-row consistency, facility mapping, and orders that fail whole.

Rules (documented in the README):
- order-level fields must agree on every row of an order (blank cells of first-row-only
  exports were already filled); a disagreement fails every row of the order;
- an order item id must be unique within its order; repeated ids fail the order (units of
  one item belong in its quantity, not in repeated rows);
- at most 1999 items per order;
- with a facility map, a warehouse code missing from it fails the row; without one the
  code is not sent and Uniware allocates a facility;
- an order is sent whole or not at all: when any of its rows failed, every other row of
  that order is reported too, with a reason naming the failed rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from schemas import contract
from schemas.lines import ORDER_FIELDS
from transforms.columns import ColumnMap
from transforms.disposition import to_post
from transforms.errors import ErrorTable, RowError, Stage
from transforms.lines import FAILED, FILE, ROW

MAX_ROWS_NAMED = 5


def _label(labels: Mapping[str, ColumnMap], file: str, field: str) -> str:
    columns = labels.get(file)
    return columns.label(field) if columns else field


CONFLICT: Final = "order.conflict"  # an order's rows disagree on an order-level field
SIBLING: Final = "order.row_failed"  # a sound row of an order another row of which failed


def check_orders(
    lines: pd.DataFrame,
    *,
    labels: Mapping[str, ColumnMap],
    facility_map: Mapping[str, str] | None,
) -> list[RowError]:
    """Cross-row and facility errors for lines that passed validation."""
    usable = ~lines[FAILED] & lines["order_id"].notna() & to_post(lines)
    ok = lines if usable.all() else lines[usable]  # read only: no copy when every line is usable
    mapped = {f for columns in labels.values() for f in columns.sources}
    errors = _conflicts(ok, labels, mapped) + _repeated_items(ok, labels) + _too_many_items(ok)
    if facility_map is not None:
        errors += _unmapped_facilities(ok, labels, facility_map)
    return errors


def _conflicts(
    ok: pd.DataFrame, labels: Mapping[str, ColumnMap], mapped: set[str]
) -> list[RowError]:
    codes, order_ids = pd.factorize(ok["order_id"])
    clashes: dict[int, list[str]] = {}
    for field in (f for f in ORDER_FIELDS if f != "order_id" and f in mapped):
        for code in _orders_with_two_values(codes, ok[field]).tolist():
            clashes.setdefault(code, []).append(field)
    errors: list[RowError] = []
    for code in sorted(clashes):  # orders in file order, fields in schema order
        rows = ok[codes == code]
        for field in clashes[code]:
            errors += _conflict_errors(rows, str(order_ids[code]), field, labels)
    return errors


def _orders_with_two_values(codes: np.ndarray, column: pd.Series) -> np.ndarray:
    """Codes of the orders whose rows hold two or more different (non-blank) values.

    Each given cell is compared with one given cell of its order (no hashing of the column).
    """
    rows = np.flatnonzero(column.notna().to_numpy(dtype=bool))
    if not len(rows):
        return np.empty(0, dtype=codes.dtype)
    values = _comparable(column)
    some = np.full(int(codes.max()) + 1, -1)
    some[codes[rows]] = rows  # one of each order's given rows, whichever
    differ = np.asarray(values[rows] != values[some[codes[rows]]], dtype=bool)
    return np.unique(codes[rows[differ]])


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
            f, int(r), "group", _label(labels, f, field), str(v), reason, order_id, str(i), CONFLICT
        )
        for f, r, v, i in zip(rows[FILE], rows[ROW], shown, rows["order_item_id"], strict=True)
    ]


def _repeated_items(ok: pd.DataFrame, labels: Mapping[str, ColumnMap]) -> list[RowError]:
    repeated = ok[ok.duplicated(["order_id", "order_item_id"], keep=False)]
    errors = []
    for (order_id, item_id), rows in repeated.groupby(["order_id", "order_item_id"], sort=False):
        where = ", ".join(str(r) for r in rows[ROW])
        reason = (
            f"item id {item_id} appears on several rows of order {order_id} (rows {where}); "
            "item ids must be unique: put the units of one item in its quantity"
        )
        errors += [
            RowError(
                f,
                int(r),
                "group",
                _label(labels, f, "order_item_id"),
                str(item_id),
                reason,
                str(order_id),
                str(item_id),
                "item.repeated",
            )
            for f, r in zip(rows[FILE], rows[ROW], strict=True)
        ]
    return errors


def _too_many_items(ok: pd.DataFrame) -> list[RowError]:
    sizes = ok.groupby("order_id", sort=False).size()
    big = set(sizes.index[sizes > contract.MAX_ITEMS])
    rows = ok[ok["order_id"].isin(big)]
    return [
        RowError(
            f,
            int(r),
            "group",
            "",
            "",
            f"order {o} has {sizes[o]} items; Uniware takes at "
            f"most {contract.MAX_ITEMS}: split the order",
            str(o),
            str(i),
            "order.too_many_items",
        )
        for f, r, o, i in zip(
            rows[FILE], rows[ROW], rows["order_id"], rows["order_item_id"], strict=True
        )
    ]


def _unmapped_facilities(
    ok: pd.DataFrame, labels: Mapping[str, ColumnMap], facility_map: Mapping[str, str]
) -> list[RowError]:
    codes = ok["facility_code"]
    bad = ok[codes.notna() & ~codes.isin(list(facility_map))]
    known = ", ".join(sorted(facility_map)) or "none"
    return [
        RowError(
            f,
            int(r),
            "group",
            _label(labels, f, "facility_code"),
            str(c),
            f"warehouse {c!r} is not in the facility map (known: {known}); add it to the map "
            "or fix the row",
            str(o),
            str(i),
            "facility.unmapped",
        )
        for f, r, c, o, i in zip(
            bad[FILE],
            bad[ROW],
            bad["facility_code"],
            bad["order_id"],
            bad["order_item_id"],
            strict=True,
        )
    ]


def mark_failed(lines: pd.DataFrame, errors: Iterable[RowError] | ErrorTable) -> pd.DataFrame:
    """`lines` with `_failed` also set on every row named by an error; `lines` is not changed.

    The result is a shallow copy with a new `_failed` column: the other columns are shared,
    not copied (pandas copy-on-write), so a large frame costs one boolean column.
    """
    marked = lines.copy(deep=False)
    keys = ErrorTable.of(errors).failed_rows()
    if len(keys):
        index = pd.MultiIndex.from_frame(lines[[FILE, ROW]])
        marked[FAILED] = lines[FAILED] | index.isin(pd.MultiIndex.from_frame(keys))
    return marked


def fail_whole_orders(lines: pd.DataFrame, stage: Stage) -> list[RowError]:
    """Sound rows of an order with a failed row: report them too, naming the failed rows.

    `lines` is not changed: `mark_failed(lines, errors)` marks the rows these errors name.
    """
    has_id = lines["order_id"].notna()
    failed_orders = set(lines.loc[lines[FAILED] & has_id, "order_id"])
    sound = lines[has_id & ~lines[FAILED] & lines["order_id"].isin(failed_orders)]
    if sound.empty:
        return []
    bad = lines[lines[FAILED] & lines["order_id"].isin(failed_orders)]
    named = _name_failed_rows(bad)
    errors = [
        RowError(
            f,
            int(r),
            stage,
            "",
            "",
            f"order {o} not sent: {named[o]} failed",
            str(o),
            str(i),
            SIBLING,
        )
        for f, r, o, i in zip(
            sound[FILE], sound[ROW], sound["order_id"], sound["order_item_id"], strict=True
        )
    ]
    return errors


def _name_failed_rows(bad: pd.DataFrame) -> dict[str, str]:
    """Each order's failed rows, with their file when the order's rows span files."""
    named: dict[str, str] = {}
    for order_id, rows in bad.groupby("order_id", sort=False):
        files = rows[FILE].nunique() > 1  # the order alone decides: the same in every block
        where: Sequence[str] = [
            f"{r} of {f}" if files else str(r) for f, r in zip(rows[FILE], rows[ROW], strict=True)
        ]
        more = f" and {len(where) - MAX_ROWS_NAMED} more" if len(where) > MAX_ROWS_NAMED else ""
        word = "row" if len(where) == 1 else "rows"
        named[str(order_id)] = f"{word} {', '.join(where[:MAX_ROWS_NAMED])}{more}"
    return named
