"""Payload dicts from whole columns: zipped at once, optional keys set only where given.

Choices where the contract is silent (see README): dates are written `yyyy-MM-dd HH:mm:ss`
in the target zone; `totalPrice` defaults to the selling price; `taxExempted` and
`cFormProvided` are fixed false; the warehouse code is sent as `facilityCode` only when a
facility map is configured. Blank optional fields and address parts are left out.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from schemas.lines import BILL_KEYS, ITEM_CHARGES, ORDER_CHARGES, SHIP_KEYS
from transforms.date_text import date_texts


def payload_dicts(
    heads: pd.DataFrame,
    items: pd.DataFrame,
    stops: list[int],
    target_zone: str,
    send_facility: bool,
) -> list[dict[str, Any]]:
    """One payload per row of `heads` (an order's first line); `items` holds the orders'
    lines one order after another, order k's ending at `stops[k]`."""
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
def collector_paused() -> Iterator[None]:
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
    dtype = column.dtype
    if dtype in ("float64", "Int64", "boolean"):
        given = column.notna().to_numpy(dtype=bool)
        if not given.any():  # a field the export lacks: no value to read
            return [], given
        if dtype == "float64":  # money: rounded to paise once
            return _amounts(column), given
        if dtype == "Int64":
            return column.to_numpy(dtype="int64", na_value=0).tolist(), given
        return column.to_numpy(dtype=bool, na_value=False).tolist(), given
    # text: numpy compares an object array with "" faster than `Series.ne`
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all text: none missing
        given = np.ones(len(values), dtype=bool)
    else:
        given = ~pd.isna(values)
    if not given.any():
        return [], given
    if blank_too:
        given &= values != ""
    return values.tolist(), given


def _amounts(column: pd.Series) -> list[float]:
    """The column rounded to paise as Python floats, one float object per distinct amount.

    A payload holds several amounts per item, and making (and later freeing) a float for each
    costs more than sharing the few distinct ones. Amounts are told apart by their bits, so
    -0.0 stays -0.0 (a hash table would make it 0.0) and missing ones stay NaN.
    """
    rounded = column.round(2).to_numpy(dtype="float64")
    codes, bits = pd.factorize(rounded.view(np.int64))
    shared = np.array(bits.view(np.float64).tolist(), dtype=object)
    amounts: list[float] = shared[codes].tolist()
    return amounts


def _flags(column: pd.Series) -> list[bool]:
    """A boolean column as Python bools, missing as false."""
    flags: list[bool] = column.to_numpy(dtype=bool, na_value=False).tolist()
    return flags


def _dates(column: pd.Series, target_zone: str) -> list[str | None]:
    """`yyyy-MM-dd HH:mm:ss` in the target zone, written by numpy (strftime per cell is slow)."""
    local = column.dt.tz_convert(target_zone).dt.tz_localize(None).to_numpy()
    fast = date_texts(local)
    if fast is not None:
        return fast
    text = np.datetime_as_string(local.astype("datetime64[s]"), unit="s").tolist()
    return [None if t == "NaT" else f"{t[:10]} {t[11:]}" for t in text]
