"""Orders -> Post Orders payloads in one pass over column arrays, each checked against the contract.

Choices where the contract is silent (see README): dates are converted from the profile's
source zone to `target_zone` and written `yyyy-MM-dd HH:mm:ss`; `totalPrice` defaults to the
selling price; `taxExempted` and `cFormProvided` are fixed false; the warehouse code is sent
as `facilityCode` only when a facility map is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from schemas import contract
from transforms.errors import RowError
from transforms.lines import FAILED, FILE, ROW

ORDER_CHARGES: Final = {
    "order_cod_charges": "totalCashOnDeliveryCharges",
    "order_discount": "totalDiscount",
    "order_gift_charges": "totalGiftCharges",
    "order_store_credit": "totalStoreCredit",
    "order_prepaid_amount": "totalPrepaidAmount",
    "order_shipping_charges": "totalShippingCharges",
}
ITEM_CHARGES: Final = {
    "shipping_charges": "shippingCharges",
    "discount": "discount",
    "cod_charges": "cashOnDeliveryCharges",
    "transfer_price": "transferPrice",
}
ADDRESS_KEYS: Final = {
    "name": "name",
    "address1": "addressLine1",
    "address2": "addressLine2",
    "city": "city",
    "state": "state",
    "country": "country",
    "pincode": "pincode",
    "phone": "phone",
    "email": "email",
}
SHIP_KEYS: Final = tuple((f"ship_{part}", key) for part, key in ADDRESS_KEYS.items())
BILL_KEYS: Final = tuple((f"bill_{part}", key) for part, key in ADDRESS_KEYS.items())


@dataclass(frozen=True)
class Built:
    """Payloads that passed the contract check, and row errors of those that did not."""

    payloads: list[dict[str, Any]]
    errors: list[RowError]


def build_payloads(lines: pd.DataFrame, *, target_zone: str, send_facility: bool) -> Built:
    """One payload per order whose rows all passed; contract violations fail the whole order."""
    ok = lines[~lines[FAILED] & lines["order_id"].notna()]
    cols = _columns(ok, target_zone)
    payloads: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for start, stop in _order_bounds(ok["order_id"]):
        payload = _order(cols, start, stop, send_facility)
        violations = contract.check_order(payload)
        if violations:
            errors += _violation_errors(cols, start, stop, violations)
        else:
            payloads.append(payload)
    return Built(payloads, errors)


def _columns(ok: pd.DataFrame, target_zone: str) -> dict[str, list[Any]]:
    """Column arrays in order-then-file order, dates already formatted for the target zone."""
    codes, _ = pd.factorize(ok["order_id"])
    order = np.argsort(codes, kind="stable")
    frame = ok.iloc[order]
    cols: dict[str, list[Any]] = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            text = column.dt.tz_convert(target_zone).dt.strftime(contract.DATE_FORMAT)
            cols[name] = text.tolist()
        elif column.dtype == "float64":  # money: rounded to paise once, NaN -> None
            rounded = column.round(2)
            cols[name] = rounded.astype("object").where(rounded.notna(), None).tolist()
        else:
            cols[name] = column.astype("object").where(column.notna(), None).tolist()
    return cols


def _order_bounds(order_ids: pd.Series) -> Iterator[tuple[int, int]]:
    codes, _ = pd.factorize(order_ids)
    counts = np.bincount(codes) if len(codes) else np.array([], dtype=np.int64)
    stops = np.cumsum(counts)
    starts = stops - counts
    yield from zip(starts.tolist(), stops.tolist(), strict=True)


def _order(cols: dict[str, list[Any]], i: int, stop: int, send_facility: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": str(cols["order_id"][i])}
    if cols["display_order_number"][i]:
        payload["displayOrderNumber"] = cols["display_order_number"][i]
    payload["orderDate"] = cols["order_date"][i]
    payload["orderStatus"] = cols["order_status"][i]
    payload["sla"] = cols["sla"][i]
    if cols["priority"][i] is not None:
        payload["priority"] = int(cols["priority"][i])
    if cols["payment_type"][i]:
        payload["paymentType"] = cols["payment_type"][i]
    price: dict[str, Any] = {"currency": cols["currency"][i]}
    for name, key in ORDER_CHARGES.items():
        amount = cols[name][i]
        if amount is not None:
            price[key] = amount
    payload["orderPrice"] = price
    payload["orderItems"] = [_item(cols, j, send_facility) for j in range(i, stop)]
    payload["taxExempted"] = False
    payload["cFormProvided"] = False
    payload["thirdPartyShipping"] = bool(cols["third_party_shipping"][i])
    payload["shippingAddress"] = _address(cols, i, SHIP_KEYS)
    payload["billingAddress"] = _address(cols, i, BILL_KEYS)
    if cols["additional_info"][i]:
        payload["additionalInfo"] = cols["additional_info"][i]
    return payload


def _item(cols: dict[str, list[Any]], j: int, send_facility: bool) -> dict[str, Any]:
    price: dict[str, Any] = {
        "sellingPrice": cols["selling_price"][j],
        "totalPrice": cols["total_price"][j],
        "currency": cols["currency"][j],
    }
    for name, key in ITEM_CHARGES.items():
        amount = cols[name][j]
        if amount is not None:
            price[key] = amount
    item: dict[str, Any] = {
        "orderItemId": cols["order_item_id"][j],
        "status": cols["item_status"][j],
        "productId": cols["product_id"][j],
        "variantId": cols["variant_id"][j],
        "sku": cols["sku"][j],
        "title": cols["title"][j],
        "orderItemPrice": price,
        "quantity": int(cols["quantity"][j]),
    }
    if cols["shipping_method"][j]:
        item["shippingMethodCode"] = cols["shipping_method"][j]
    gift, message = cols["gift_wrap_charges"][j], cols["gift_wrap_message"][j]
    if message or gift is not None:
        item["giftWrap"] = {"giftWrapMessage": message or "", "giftWrapCharges": gift or 0.0}
    for name, key, kind in (("on_hold", "onHold", bool), ("packet_number", "packetNumber", int)):
        if cols[name][j] is not None:
            item[key] = kind(cols[name][j])
    if send_facility and cols["facility_code"][j]:
        item["facilityCode"] = cols["facility_code"][j]
    return item


def _address(
    cols: dict[str, list[Any]], i: int, keys: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    return {key: cols[name][i] for name, key in keys if cols[name][i]}


def _violation_errors(
    cols: dict[str, list[Any]], start: int, stop: int, violations: list[contract.Violation]
) -> list[RowError]:
    reason = "; ".join(f"{v.field}: {v.message}" for v in violations)
    field = violations[0].field
    return [
        RowError(
            cols[FILE][j],
            int(cols[ROW][j]),
            "build",
            field,
            "",
            reason,
            str(cols["order_id"][j]),
            str(cols["order_item_id"][j]),
        )
        for j in range(start, stop)
    ]
