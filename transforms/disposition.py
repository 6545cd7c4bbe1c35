"""Order disposition by the marketplace's own facts: post an order, or skip it with a reason.

Contract (other steps and the lifecycle after posting rely on it):

- `decide` adds to every canonical line a column `disposition`, "post" or "skip", and a
  column `skip_reason` (text, "" when the line is posted). An order is posted or skipped
  whole: every line of one order has the same disposition and reason.
- `order_status` and `item_status` leave `decide` as Uniware values: order CREATED,
  PENDING_VERIFICATION or CANCELLED; item CREATED, CANCELLED, DISPATCHED or DELIVERED.
- A cancelled order or item is recognisable as `item_status == "CANCELLED"`: an order the
  marketplace cancelled whole (a cancellation marker such as Shopify's `Cancelled at`, or
  an order status mapped to CANCELLED, refunds and voids included) has every item
  CANCELLED and `order_status` CANCELLED.
- Skipped: an order whose items are all cancelled ("cancelled on <marketplace> (…)"), and
  an order whose items are all fulfilled or cancelled with at least one fulfilled ("already
  fulfilled on <marketplace> (…)") unless the profile's `[disposition] fulfilled = "post"`
  sends those for the record (items DISPATCHED/DELIVERED, order CREATED). An order with an
  open item is posted; its fulfilled and cancelled items carry their own status.
- Lines whose status facts could not be read (`blocked`: a value no rule maps) are posted
  so that they fail with their error; they never decide a skip.

Inputs are the mapped status fields (see transforms/values.py): `order_status` may also
hold the facts DISPATCHED/DELIVERED, `fulfillment_status` CREATED, PARTIAL, DISPATCHED,
DELIVERED or CANCELLED, `cancelled_at` any text (non-blank = cancelled), and
`_source_<field>` the export's own words for the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas.profile import Disposition
from transforms.values import SOURCE

DISPOSITION: Final = "disposition"
SKIP_REASON: Final = "skip_reason"
POST: Final = "post"
SKIP: Final = "skip"
FULFILLED: Final = frozenset({"DISPATCHED", "DELIVERED"})
SKIPPED_CSV: Final = "skipped.csv"  # the report folder's list of skipped rows
_STATUSES: Final = ("order_status", "fulfillment_status", "item_status")
_WORDED: Final = (*_STATUSES, *(f"{SOURCE}{name}" for name in _STATUSES))  # what `_reasons` reads


def decide(
    lines: pd.DataFrame,
    policy: Disposition,
    *,
    marketplace: str,
    labels: Mapping[str, str],
    blocked: pd.Series | None = None,
) -> pd.DataFrame:
    """`order_status`, `item_status`, `disposition`, `skip_reason` per line (same index).

    See the module doc; `lines` is not changed. The statuses are compared as numpy arrays of
    text (a `str` Series compares several times slower); they leave as `_text` made them.
    """
    out = pd.DataFrame(index=lines.index)
    order_status = _cells(lines, "order_status")
    fulfilment = _cells(lines, "fulfillment_status")
    marked = _cells(lines, "cancelled_at") != ""
    cancelled_here = marked | (order_status == "CANCELLED") | (fulfilment == "CANCELLED")
    ids = _cells(lines, "order_id").copy()
    ids[ids == ""] = None
    codes, _ = pd.factorize(ids)
    whole_cancel = _all_in_order(codes, cancelled_here)
    done = _fulfilled(order_status)
    items = _item_status(lines, np.where(done, order_status, ""), fulfilment, whole_cancel)
    out["item_status"] = _as_text_of(lines, "item_status", items)
    contract_status = np.where(done, "CREATED", order_status)
    contract_status = np.where(whole_cancel, "CANCELLED", contract_status)
    out["order_status"] = _as_text_of(lines, "order_status", contract_status)
    stuck = np.zeros(len(out), bool) if blocked is None else blocked.to_numpy(dtype=bool)
    stuck = stuck | (order_status == "")
    open_ = _any_in_order(codes, (items == "CREATED") | stuck)
    all_cancelled = _all_in_order(codes, items == "CANCELLED") & ~open_
    fulfilled = ~open_ & ~all_cancelled
    if policy.fulfilled == "post":
        fulfilled = np.zeros_like(fulfilled)
    skip = (all_cancelled | fulfilled) & (codes >= 0)
    # two shared texts: numpy's fixed-width text would become 100,000 new `str` objects
    out[DISPOSITION] = pd.Series(_CHOICES[skip.astype(np.intp)], index=out.index, dtype="str")
    reasons = np.full(len(lines), "", dtype=object)
    if skip.any():  # worded once per skipped order, from its first line
        rows = np.flatnonzero(skip)
        first = rows[~pd.Series(codes[rows]).duplicated().to_numpy()]
        worded = lines[[name for name in _WORDED if name in lines]]  # not all ~60 columns
        why = _reasons(
            worded.iloc[first],
            pd.Series(marked[first], index=lines.index[first]),
            whole_cancel[first],
            fulfilled[first],
            marketplace,
            labels,
        )
        by_code = np.empty(int(codes.max()) + 1, dtype=object)
        by_code[codes[first]] = why
        reasons[rows] = by_code[codes[rows]]
    out[SKIP_REASON] = reasons
    return out


_CHOICES: Final = np.array([POST, SKIP], dtype=object)  # by `skip` as 0 or 1


def _text(lines: pd.DataFrame, name: str) -> pd.Series:
    if name not in lines:
        return pd.Series("", index=lines.index, dtype="object")
    return lines[name].fillna("").astype("str")


def _cells(lines: pd.DataFrame, name: str) -> npt.NDArray[np.object_]:
    """`_text` of the column as a numpy array of `str`."""
    if name in lines:
        values = lines[name].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) == "string":
            return values
    cells: npt.NDArray[np.object_] = _text(lines, name).to_numpy(dtype=object)
    return cells


def _as_text_of(lines: pd.DataFrame, name: str, cells: np.ndarray) -> pd.Series:
    """Cells worked out from column `name`, in the dtype `_text` gives that column."""
    dtype = "str" if name in lines else "object"
    return pd.Series(cells, index=lines.index, dtype=dtype)


def _fulfilled(status: np.ndarray) -> npt.NDArray[np.bool_]:
    """True where a status is one of FULFILLED."""
    found: npt.NDArray[np.bool_] = np.zeros(len(status), dtype=bool)
    for value in FULFILLED:
        found |= status == value
    return found


def _item_status(
    lines: pd.DataFrame, from_order: np.ndarray, fulfilment: np.ndarray, whole_cancel: np.ndarray
) -> npt.NDArray[np.object_]:
    """Each line's Uniware item status: its own fact, else the order's fulfilment (its
    fulfilled status, `from_order`, or "" when none), else open."""
    given = _cells(lines, "item_status")
    fulfilled = np.where(_fulfilled(fulfilment), fulfilment, "")
    from_order = np.where(from_order == "", fulfilled, from_order)
    status = np.where(given == "", from_order, given)
    status = np.where(status == "", "CREATED", status)
    out: npt.NDArray[np.object_] = np.where(whole_cancel, "CANCELLED", status)
    return out


def _all_in_order(codes: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Per line: every line of its order has the flag (a line without order id: its own)."""
    return ~_any_in_order(codes, ~flags)


def _any_in_order(codes: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Per line: some line of its order has the flag (a line without order id: its own)."""
    known = codes >= 0
    some = np.zeros(int(codes.max(initial=-1)) + 2, dtype=bool)  # last slot: no order id
    np.logical_or.at(some, codes[known], flags[known])
    out: np.ndarray = np.where(known, some[codes], flags)
    return out


def _reasons(
    lines: pd.DataFrame,
    marked: pd.Series,
    whole_cancel: np.ndarray,
    fulfilled: np.ndarray,
    marketplace: str,
    labels: Mapping[str, str],
) -> np.ndarray:
    """Why each (first) line's order is skipped, in the marketplace's words."""
    cancel = _cancel_why(lines, marked, labels)
    done = _fulfilled_why(lines, labels)
    return np.where(
        whole_cancel,
        "cancelled on " + marketplace + " (" + cancel + ")",
        np.where(
            fulfilled,
            "already fulfilled on " + marketplace + " (" + done + ")",
            "cancelled on " + marketplace + " (" + _item_why(lines, labels) + " on every item)",
        ),
    )


def _said(lines: pd.DataFrame, field: str, labels: Mapping[str, str]) -> pd.Series:
    """`Financial Status 'refunded'`: the export's column and its own word, per line."""
    words = _text(lines, f"{SOURCE}{field}").map(repr)
    return labels.get(field, field) + " " + words


def _cancel_why(lines: pd.DataFrame, marked: pd.Series, labels: Mapping[str, str]) -> pd.Series:
    status = _said(lines, "order_status", labels)
    by_fulfilment = _text(lines, "fulfillment_status") == "CANCELLED"
    why = status.mask(by_fulfilment, _said(lines, "fulfillment_status", labels))
    return why.mask(marked, labels.get("cancelled_at", "cancelled_at") + " is set")


def _fulfilled_why(lines: pd.DataFrame, labels: Mapping[str, str]) -> pd.Series:
    status = _text(lines, "order_status")
    fulfilment = _text(lines, "fulfillment_status")
    why = (_item_why(lines, labels) + " on every item").where(_text(lines, "item_status") != "", "")
    why = why.mask(fulfilment.isin(FULFILLED), _said(lines, "fulfillment_status", labels))
    why = why.mask(status.isin(FULFILLED), _said(lines, "order_status", labels))
    return why.replace("", "every item fulfilled")


def _item_why(lines: pd.DataFrame, labels: Mapping[str, str]) -> pd.Series:
    return _said(lines, "item_status", labels)


def to_post(lines: pd.DataFrame) -> pd.Series:
    """True for lines not skipped (all of them when no disposition was decided)."""
    if DISPOSITION not in lines:
        return pd.Series(True, index=lines.index)
    return lines[DISPOSITION] != SKIP
