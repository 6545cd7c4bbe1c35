"""Orders -> Post Orders payloads, a column at a time, each held to the contract.

Choices where the contract is silent (see README): dates are converted from the profile's
source zone to `target_zone` and written `yyyy-MM-dd HH:mm:ss`; `totalPrice` defaults to the
selling price; `taxExempted` and `cFormProvided` are fixed false; the warehouse code is sent
as `facilityCode` only when a facility map is configured.

Payloads are assembled from whole columns (one list per field, zipped), never row by row
through pandas. Every payload is held to `schemas.contract.check_order`: the orders the
vectorised screen (transforms/screen.py) marks get the full check, which decides and words
the reason; the screen marks every order that could break a rule.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas import contract
from schemas.lines import (
    BILL_KEYS,
    ITEM_CHARGES,
    LINE_FIELDS,
    ORDER_CHARGES,
    ORDER_FIELDS,
    SHIP_KEYS,
)
from transforms.errors import RowError
from transforms.lines import FAILED, FILE, ROW
from transforms.screen import suspect_orders

_DATES: Final = ("order_date", "sla")
_HEAD_COLUMNS: Final = list(ORDER_FIELDS)
_ITEM_COLUMNS: Final = [*LINE_FIELDS, "currency", "order_id", FILE, ROW]


CHUNK_ORDERS: Final = 50_000  # orders built at a time


class Payloads(Sequence[dict[str, Any]]):
    """The payloads of the orders that passed, built a chunk of orders at a time when read.

    Held all at once, a million-row export's 500,000 payloads take about 1.5 GB; posting
    takes them one after another, so only the chunk in hand is in memory. Each read builds
    them again (from the canonical lines, whose payload fields do not change after build).
    """

    def __init__(
        self,
        lines: pd.DataFrame,
        positions: npt.NDArray[np.intp],
        stops: npt.NDArray[np.intp],
        *,
        target_zone: str,
        send_facility: bool,
    ) -> None:
        self._lines = lines
        self._positions = positions  # row positions of the lines, each order's rows together
        self._stops = stops  # where each order's rows end in `positions`
        self._target_zone = target_zone
        self._send_facility = send_facility
        self._rejected = np.zeros(len(stops), dtype=bool)

    def check(self, *, check_all: bool) -> list[RowError]:
        """Hold every order to the contract (screened; see the module doc); reject the bad."""
        errors: list[RowError] = []
        for first, (heads, items, stops) in self._chunks():
            counts = np.diff(stops, prepend=0)
            if check_all:
                suspect = np.ones(len(heads), dtype=bool)
            else:
                suspect = suspect_orders(heads, items, counts, send_facility=self._send_facility)
            if not suspect.any():
                continue
            built = self._payloads(heads, items, stops)
            for k in np.flatnonzero(suspect).tolist():
                violations = contract.check_order(built[k])
                if violations:
                    self._rejected[first + k] = True
                    rows = items.iloc[stops[k] - counts[k] : stops[k]]
                    errors += _violation_errors(rows, violations)
        return errors

    @property
    def order_ids(self) -> list[str]:
        """The ids of the orders sent, in order."""
        firsts = self._positions[self._stops - np.diff(self._stops, prepend=0)]
        ids = self._lines["order_id"].to_numpy()[firsts[~self._rejected]]
        return [str(order_id) for order_id in ids]

    def __len__(self) -> int:
        return int((~self._rejected).sum())

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return list(self)[index]  # builds them all: read them in order instead

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for first, (heads, items, stops) in self._chunks():
            rejected = self._rejected[first : first + len(heads)]
            built = self._payloads(heads, items, stops)
            yield from (p for p, bad in zip(built, rejected.tolist(), strict=True) if not bad)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Payloads({len(self)} orders)"

    def _chunks(self) -> Iterator[tuple[int, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]]]:
        """(first order number, (its first lines, its lines, where each order ends))."""
        for first in range(0, len(self._stops), CHUNK_ORDERS):
            stops = self._stops[first : first + CHUNK_ORDERS]
            begin = int(self._stops[first - 1]) if first else 0
            rows = self._positions[begin : int(stops[-1])]
            local = stops - begin
            firsts = rows[local - np.diff(local, prepend=0)]
            items = self._lines[_ITEM_COLUMNS].iloc[rows]  # only the columns each level needs
            heads = self._lines[_HEAD_COLUMNS].iloc[firsts]
            yield first, (heads, items, local)

    def _payloads(
        self, heads: pd.DataFrame, items: pd.DataFrame, stops: np.ndarray
    ) -> list[dict[str, Any]]:
        with _collector_paused():
            return _payloads(heads, items, stops.tolist(), self._target_zone, self._send_facility)


@dataclass(frozen=True)
class Built:
    """Payloads that passed the contract check, and row errors of those that did not."""

    payloads: Payloads
    errors: list[RowError]


def build_payloads(
    lines: pd.DataFrame, *, target_zone: str, send_facility: bool, check_all: bool = False
) -> Built:
    """One payload per order whose rows all passed; contract violations fail the whole order.

    `check_all` runs the full contract check on every payload instead of the screened ones
    (slower; the tests compare both).
    """
    ok = np.flatnonzero((~lines[FAILED] & lines["order_id"].notna()).to_numpy(dtype=bool))
    codes, _ = pd.factorize(lines["order_id"].to_numpy()[ok])
    positions = ok[np.argsort(codes, kind="stable")]  # an order's lines together, in file order
    stops = np.cumsum(np.bincount(codes)) if len(codes) else np.zeros(0, dtype=np.intp)
    payloads = Payloads(
        lines, positions, stops, target_zone=target_zone, send_facility=send_facility
    )
    errors = payloads.check(check_all=check_all)
    return Built(payloads, errors)


def _payloads(
    heads: pd.DataFrame,
    items: pd.DataFrame,
    stops: list[int],
    target_zone: str,
    send_facility: bool,
) -> list[dict[str, Any]]:
    n = len(heads)
    lines = _items(items, send_facility)
    starts = [0, *stops][:-1]
    order_price = {"currency": heads["currency"]}
    order_price.update({key: heads[name] for name, key in ORDER_CHARGES.items()})
    return _records(
        n,
        always={
            "id": heads["order_id"].astype("str").tolist(),
            "orderPrice": _records(n, unless_missing=order_price),
            "orderItems": [lines[i:j] for i, j in zip(starts, stops, strict=True)],
            "taxExempted": [False] * n,
            "cFormProvided": [False] * n,
            "thirdPartyShipping": _flags(heads["third_party_shipping"]),
            "shippingAddress": _address(heads, SHIP_KEYS),
            "billingAddress": _address(heads, BILL_KEYS),
        },
        unless_missing={
            "orderDate": _dates(heads["order_date"], target_zone),
            "orderStatus": heads["order_status"],
            "sla": _dates(heads["sla"], target_zone),
            "priority": heads["priority"],
        },
        unless_blank={
            "displayOrderNumber": heads["display_order_number"],
            "paymentType": heads["payment_type"],
            "additionalInfo": heads["additional_info"],
        },
    )


def _items(items: pd.DataFrame, send_facility: bool) -> list[dict[str, Any]]:
    n = len(items)
    price = {"sellingPrice": items["selling_price"], "totalPrice": items["total_price"]}
    price["currency"] = items["currency"]
    price.update({key: items[name] for name, key in ITEM_CHARGES.items()})
    gifts, messages = items["gift_wrap_charges"], items["gift_wrap_message"].fillna("")
    wrapped = (gifts.notna() | messages.ne("")).to_numpy()
    gift_wrap = pd.Series(None, index=items.index, dtype="object")
    gift_wrap[wrapped] = [
        {"giftWrapMessage": message, "giftWrapCharges": 0.0 if gift != gift else gift}
        for message, gift in zip(messages[wrapped], gifts[wrapped].round(2), strict=True)
    ]
    return _records(
        n,
        always={"orderItemPrice": _records(n, unless_missing=price)},
        unless_missing={
            "orderItemId": items["order_item_id"],
            "status": items["item_status"],
            "productId": items["product_id"],
            "variantId": items["variant_id"],
            "sku": items["sku"],
            "title": items["title"],
            "quantity": items["quantity"],
            "giftWrap": gift_wrap,
            "onHold": items["on_hold"],
            "packetNumber": items["packet_number"],
        },
        unless_blank={
            "shippingMethodCode": items["shipping_method"],
            **({"facilityCode": items["facility_code"]} if send_facility else {}),
        },
    )


def _address(heads: pd.DataFrame, keys: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """Blank parts are left out, as if the export had none."""
    return _records(len(heads), unless_blank={key: heads[name] for name, key in keys})


def _records(
    n: int,
    *,
    always: Mapping[str, list[Any]] | None = None,
    unless_missing: Mapping[str, pd.Series | list[Any]] | None = None,
    unless_blank: Mapping[str, pd.Series] | None = None,
) -> list[dict[str, Any]]:
    """One dict per row, key -> that row's value: whole columns zipped at once, and keys left
    out where the value is missing (or blank: missing or '') set only on the rows that have one.
    """
    whole: dict[str, list[Any]] = dict(always or {})
    sparse: list[tuple[str, list[Any], list[int]]] = []
    for blank_too, fields in ((False, unless_missing or {}), (True, unless_blank or {})):
        for key, column in fields.items():
            values, given = _given(column, blank_too=blank_too)
            if given.all():
                whole[key] = values
            else:
                sparse.append((key, values, np.flatnonzero(given).tolist()))
    if whole:
        out = _dicts_of(tuple(whole))(zip(*whole.values(), strict=True))
    else:
        out = [{} for _ in range(n)]
    for key, values, where in sparse:
        for j in where:
            out[j][key] = values[j]
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the payload dicts are made.

    Each burst of new containers triggers a collection that walks the growing heap: measured,
    that was a third of the build at 100,000 rows. Payloads hold no reference cycles, so
    nothing is left for the collector to find; it is switched back on at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def _dicts_of(keys: tuple[str, ...]) -> Callable[[Iterable[tuple[Any, ...]]], list[dict[str, Any]]]:
    """`rows -> [{keys[0]: row[0], ...} for row in rows]`, compiled for these keys.

    A dict display is about twice as fast as `dict(zip(keys, row))`, and a run makes some
    400,000 of these dicts per 100,000 rows. The keys are this module's constants, never data.
    """
    names = [f"v{i}" for i in range(len(keys))]
    display = ", ".join(f"{key!r}: {name}" for key, name in zip(keys, names, strict=True))
    source = f"lambda rows: [{{{display}}} for {', '.join(names)}, in rows]"
    made: Callable[[Iterable[tuple[Any, ...]]], list[dict[str, Any]]] = eval(source, {})  # noqa: S307
    return made


def _given(column: pd.Series | list[Any], *, blank_too: bool) -> tuple[list[Any], np.ndarray]:
    """Plain Python values of a column (read only where given), and where it is given."""
    if isinstance(column, list):
        return column, np.array([v is not None for v in column], dtype=bool)
    given = column.notna().to_numpy(dtype=bool)
    dtype = column.dtype
    if dtype == "float64":  # money: rounded to paise once
        return column.round(2).tolist(), given
    if dtype == "Int64":
        return column.to_numpy(dtype="int64", na_value=0).tolist(), given
    if dtype == "boolean":
        return column.to_numpy(dtype=bool, na_value=False).tolist(), given
    if blank_too:
        given = given & column.ne("").to_numpy(dtype=bool)
    return column.tolist(), given


def _flags(column: pd.Series) -> list[bool]:
    """A boolean column as Python bools, missing as false."""
    flags: list[bool] = column.to_numpy(dtype=bool, na_value=False).tolist()
    return flags


def _dates(column: pd.Series, target_zone: str) -> list[str | None]:
    """`yyyy-MM-dd HH:mm:ss` in the target zone, written by numpy (strftime per cell is slow)."""
    local = column.dt.tz_convert(target_zone).dt.tz_localize(None)
    text = np.datetime_as_string(local.to_numpy().astype("datetime64[s]"), unit="s").tolist()
    return [None if t == "NaT" else f"{t[:10]} {t[11:]}" for t in text]


def _violation_errors(rows: pd.DataFrame, violations: list[contract.Violation]) -> list[RowError]:
    reason = "; ".join(f"{v.field}: {v.message}" for v in violations)
    field = violations[0].field
    return [
        RowError(file, int(row), "build", field, "", reason, str(order), str(item))
        for file, row, order, item in zip(
            rows[FILE], rows[ROW], rows["order_id"], rows["order_item_id"], strict=True
        )
    ]
