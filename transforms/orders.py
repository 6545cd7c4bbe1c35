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
from transforms import normalize
from transforms.columns import ColumnMap
from transforms.conflicts import conflicts
from transforms.conflicts import label as _label
from transforms.disposition import to_post
from transforms.errors import ErrorTable, RowError, Stage
from transforms.lines import FAILED, FILE, ROW

MAX_ROWS_NAMED = 5


SIBLING: Final = "order.row_failed"  # a sound row of an order another row of which failed


def check_orders(
    lines: pd.DataFrame,
    *,
    labels: Mapping[str, ColumnMap],
    facility_map: Mapping[str, str] | None,
) -> list[RowError]:
    """Cross-row and facility errors for lines that passed validation."""
    usable = ~lines[FAILED] & lines["order_id"].notna() & to_post(lines)
    mapped = {f for columns in labels.values() for f in columns.sources}
    ok = lines if usable.all() else lines.loc[usable, _read_here(lines, mapped)]  # read only
    codes, order_ids = pd.factorize(ok["order_id"])
    errors = conflicts(ok, codes, order_ids, labels, mapped)
    errors += _repeated_items(ok, codes, labels) + _too_many_items(ok, codes)
    if facility_map is not None:
        errors += _unmapped_facilities(ok, labels, facility_map)
    return errors


def _read_here(lines: pd.DataFrame, mapped: set[str]) -> list[str]:
    """The columns the checks below read: copying the others would be waste."""
    fields = [f for f in ORDER_FIELDS if f in mapped]
    wanted = {*fields, *(f"_text_{f}" for f in fields), "order_id", "order_item_id"}
    wanted |= {"facility_code", FILE, ROW}
    return [c for c in lines.columns if c in wanted]


def _repeated_items(
    ok: pd.DataFrame, codes: np.ndarray, labels: Mapping[str, ColumnMap]
) -> list[RowError]:
    ids = ok["order_item_id"].to_numpy()
    if normalize.all_distinct(ids):  # item ids unique in the whole file (most exports)
        return []
    pairs = pd.DataFrame({"order": codes, "item": ids})
    repeated = ok[pairs.duplicated(keep=False).to_numpy()]
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


def _too_many_items(ok: pd.DataFrame, codes: np.ndarray) -> list[RowError]:
    sizes = np.bincount(codes)[codes]  # each row's order's size
    big = sizes > contract.MAX_ITEMS
    if not big.any():
        return []
    rows = ok[big]
    return [
        RowError(
            f,
            int(r),
            "group",
            "",
            "",
            f"order {o} has {n} items; Uniware takes at most {contract.MAX_ITEMS}: split the order",
            str(o),
            str(i),
            "order.too_many_items",
        )
        for f, r, o, i, n in zip(
            rows[FILE], rows[ROW], rows["order_id"], rows["order_item_id"], sizes[big], strict=True
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
