"""The Post Orders contract as plain checks: one source of truth for the builder and the sandbox."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeGuard

ViolationCode = Literal[
    "MISSING_REQUIRED_PARAMETERS",
    "INVALID_FORMAT",
    "INVALID_PAYMENT_METHOD",
    "INVALID_CURRENCY_CODE",
    "MISSING_SALE_ORDER_ITEMS",
    "DUPLICATE_SALE_ORDER_ITEM",
]

ORDER_STATUSES: Final = ("PENDING_VERIFICATION", "CREATED", "CANCELLED")
ITEM_STATUSES: Final = ("CREATED", "CANCELLED", "DISPATCHED", "DELIVERED")
PAYMENT_TYPES: Final = ("COD", "PREPAID")
SHIPPING_METHODS: Final = ("STD",)
MAX_ITEMS: Final = 1999
MAX_ID_LENGTH: Final = 45
MAX_ADDRESS_LINE: Final = 100
MIN_PINCODE_DIGITS: Final = 6
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
DATE_PATTERN: Final = "yyyy-MM-dd HH:mm:ss"
ORDER_TOTALS: Final = (
    "totalCashOnDeliveryCharges",
    "totalDiscount",
    "totalGiftCharges",
    "totalStoreCredit",
    "totalPrepaidAmount",
    "totalShippingCharges",
)
ITEM_CHARGES: Final = ("cashOnDeliveryCharges", "shippingCharges", "discount", "transferPrice")
# Charges rule: an order-level total and its item-level counterpart are never both given.
CHARGE_PAIRS: Final = (
    ("totalShippingCharges", "shippingCharges"),
    ("totalDiscount", "discount"),
    ("totalCashOnDeliveryCharges", "cashOnDeliveryCharges"),
)
ADDRESS_TEXTS: Final = ("city", "state", "country", "name", "phone")

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}", re.ASCII)
_SHOWN_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule of one order: where (JSON path), which code, and a seller-readable why."""

    field: str
    code: ViolationCode
    message: str


def check_order(payload: Mapping[str, Any]) -> list[Violation]:
    """Return every way ``payload`` breaks the Post Orders contract (empty list: valid)."""
    if not isinstance(payload, Mapping):
        return [_invalid("", f"the order must be a JSON object, got {_show(payload)}")]
    out: list[Violation] = []
    _text(payload, "id", "", out, required=True)
    _text(payload, "displayOrderNumber", "", out, required=False)
    _date(payload, "orderDate", out)
    _choice(payload, "orderStatus", "", ORDER_STATUSES, out, required=True)
    _date(payload, "sla", out)
    _integer(payload, "priority", "", out, required=False, minimum=None)
    _choice(payload, "paymentType", "", PAYMENT_TYPES, out, required=False)
    _order_price(payload.get("orderPrice"), out)
    _boolean(payload, "taxExempted", "", out, required=False)
    _boolean(payload, "cFormProvided", "", out, required=False)
    _boolean(payload, "thirdPartyShipping", "", out, required=True)
    _address(payload, "shippingAddress", out)
    _address(payload, "billingAddress", out)
    _text(payload, "additionalInfo", "", out, required=False)
    items = _items(payload.get("orderItems"), out)
    _charges_rule(payload.get("orderPrice"), items, out)
    return out


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
        return f"'{shown}'"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)[:_SHOWN_CHARS]


def _invalid(path: str, message: str) -> Violation:
    return Violation(path, "INVALID_FORMAT", message)


def _missing(path: str) -> Violation:
    return Violation(path, "MISSING_REQUIRED_PARAMETERS", f"{path} is required but missing")


def _given(
    obj: Mapping[str, Any], key: str, prefix: str, out: list[Violation], *, required: bool
) -> Any:
    """The value at ``key``, None when absent (then a violation if it is required)."""
    value = obj.get(key)
    if value is None and required:
        out.append(_missing(_path(prefix, key)))
    return value


def _text(
    obj: Mapping[str, Any],
    key: str,
    prefix: str,
    out: list[Violation],
    *,
    required: bool,
    max_length: int | None = None,
) -> None:
    value = _given(obj, key, prefix, out, required=required)
    if value is None:
        return
    if type(value) is not str:
        out.append(
            _invalid(_path(prefix, key), f"{_path(prefix, key)} must be text, got {_show(value)}")
        )
    elif required and not value.strip():
        out.append(_missing(_path(prefix, key)))
    elif max_length is not None and len(value) > max_length:
        path = _path(prefix, key)
        message = (
            f"{path} is {len(value)} characters long, at most {max_length} allowed: {_show(value)}"
        )
        out.append(_invalid(path, message))


def _choice(
    obj: Mapping[str, Any],
    key: str,
    prefix: str,
    allowed: tuple[str, ...],
    out: list[Violation],
    *,
    required: bool,
) -> None:
    value = _given(obj, key, prefix, out, required=required)
    if value is not None and (value not in allowed or type(value) is not str):
        path = _path(prefix, key)
        code: ViolationCode = "INVALID_PAYMENT_METHOD" if key == "paymentType" else "INVALID_FORMAT"
        message = f"{path} must be one of {', '.join(allowed)}, got {_show(value)}"
        out.append(Violation(path, code, message))


def _date(obj: Mapping[str, Any], key: str, out: list[Violation]) -> None:
    value = obj.get(key)
    if value is None:
        out.append(_missing(key))
        return
    if type(value) is str and _DATE_RE.fullmatch(value):
        try:
            datetime.fromisoformat(value)
            return
        except ValueError:
            pass
    out.append(_invalid(key, f"{key} must be a date like {DATE_PATTERN}, got {_show(value)}"))


def _boolean(
    obj: Mapping[str, Any], key: str, prefix: str, out: list[Violation], *, required: bool
) -> None:
    value = _given(obj, key, prefix, out, required=required)
    if value is not None and type(value) is not bool:
        path = _path(prefix, key)
        out.append(_invalid(path, f"{path} must be true or false, got {_show(value)}"))


def _integer(
    obj: Mapping[str, Any],
    key: str,
    prefix: str,
    out: list[Violation],
    *,
    required: bool,
    minimum: int | None,
) -> None:
    value = _given(obj, key, prefix, out, required=required)
    if value is None:
        return
    if type(value) is not int or (minimum is not None and value < minimum):
        path = _path(prefix, key)
        least = "" if minimum is None else f" of at least {minimum}"
        out.append(_invalid(path, f"{path} must be a whole number{least}, got {_show(value)}"))


def _number(
    obj: Mapping[str, Any], key: str, prefix: str, out: list[Violation], *, required: bool
) -> None:
    value = _given(obj, key, prefix, out, required=required)
    if value is None:
        return
    kind = type(value)
    if (kind is int or kind is float) and value >= 0 and math.isfinite(value):
        return
    path = _path(prefix, key)
    out.append(_invalid(path, f"{path} must be a number of at least 0, got {_show(value)}"))


def _currency(obj: Mapping[str, Any], prefix: str, out: list[Violation]) -> None:
    value = obj.get("currency")
    if value is None or (type(value) is str and _CURRENCY_RE.fullmatch(value)):
        return
    path = _path(prefix, "currency")
    message = f"{path} must be a 3-letter upper-case code such as INR, got {_show(value)}"
    out.append(Violation(path, "INVALID_CURRENCY_CODE", message))


def _object(
    value: object, path: str, out: list[Violation], *, required: bool
) -> TypeGuard[Mapping[str, Any]]:
    """True when ``value`` is an object to look into; records why not otherwise."""
    if isinstance(value, Mapping):
        return True
    if value is None:
        if required:
            out.append(_missing(path))
    else:
        out.append(_invalid(path, f"{path} must be an object, got {_show(value)}"))
    return False


def _order_price(price: object, out: list[Violation]) -> None:
    if not _object(price, "orderPrice", out, required=False):
        return
    _currency(price, "orderPrice", out)
    for key in ORDER_TOTALS:
        _number(price, key, "orderPrice", out, required=False)


def _address(payload: Mapping[str, Any], key: str, out: list[Violation]) -> None:
    address = payload.get(key)
    if not _object(address, key, out, required=True):
        return
    _text(address, "addressLine1", key, out, required=True, max_length=MAX_ADDRESS_LINE)
    _text(address, "addressLine2", key, out, required=False, max_length=MAX_ADDRESS_LINE)
    for part in ADDRESS_TEXTS:
        _text(address, part, key, out, required=True)
    _text(address, "email", key, out, required=False)
    _pincode(address.get("pincode"), f"{key}.pincode", out)


def _pincode(value: object, path: str, out: list[Violation]) -> None:
    if value is None or (type(value) is str and not value.strip()):
        out.append(_missing(path))
    elif not (
        type(value) is str
        and value.isascii()
        and value.isdigit()
        and len(value) >= MIN_PINCODE_DIGITS
    ):
        message = (
            f"{path} must be at least {MIN_PINCODE_DIGITS} digits (digits only), got {_show(value)}"
        )
        out.append(_invalid(path, message))


def _items(items: object, out: list[Violation]) -> list[tuple[str, Mapping[str, Any]]]:
    """Check every item; return (path prefix, item) of the items that are objects."""
    if items is None:
        out.append(Violation("orderItems", "MISSING_SALE_ORDER_ITEMS", "orderItems is required"))
        return []
    if not isinstance(items, list | tuple):
        out.append(_invalid("orderItems", f"orderItems must be a list, got {_show(items)}"))
        return []
    if not items:
        message = "orderItems is empty: an order needs at least one item"
        out.append(Violation("orderItems", "MISSING_SALE_ORDER_ITEMS", message))
    elif len(items) > MAX_ITEMS:
        message = f"the order has {len(items)} items, at most {MAX_ITEMS} allowed"
        out.append(_invalid("orderItems", message))
    return _each_item(items, out)


def _each_item(
    items: Sequence[object], out: list[Violation]
) -> list[tuple[str, Mapping[str, Any]]]:
    checked: list[tuple[str, Mapping[str, Any]]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        prefix = f"orderItems[{index}]"
        if not _object(item, prefix, out, required=True):
            continue
        _item(item, prefix, out)
        item_id = item.get("orderItemId")
        if type(item_id) is str and item_id in seen:
            message = f"{prefix}.orderItemId {_show(item_id)} appears more than once in the order"
            out.append(Violation(f"{prefix}.orderItemId", "DUPLICATE_SALE_ORDER_ITEM", message))
        elif type(item_id) is str:
            seen.add(item_id)
        checked.append((prefix, item))
    return checked


def _item(item: Mapping[str, Any], prefix: str, out: list[Violation]) -> None:
    for key in ("orderItemId", "productId", "variantId"):
        _text(item, key, prefix, out, required=True, max_length=MAX_ID_LENGTH)
    _text(item, "sku", prefix, out, required=True)
    _text(item, "title", prefix, out, required=True)
    _choice(item, "status", prefix, ITEM_STATUSES, out, required=True)
    _choice(item, "shippingMethodCode", prefix, SHIPPING_METHODS, out, required=False)
    _integer(item, "quantity", prefix, out, required=True, minimum=1)
    _integer(item, "packetNumber", prefix, out, required=False, minimum=1)
    _boolean(item, "onHold", prefix, out, required=False)
    _text(item, "facilityCode", prefix, out, required=False)
    price_path = f"{prefix}.orderItemPrice"
    price = item.get("orderItemPrice")
    if _object(price, price_path, out, required=True):
        _number(price, "sellingPrice", price_path, out, required=True)
        _number(price, "totalPrice", price_path, out, required=True)
        for key in ITEM_CHARGES:
            _number(price, key, price_path, out, required=False)
        _currency(price, price_path, out)
    gift_path = f"{prefix}.giftWrap"
    gift = item.get("giftWrap")
    if _object(gift, gift_path, out, required=False):
        _text(gift, "giftWrapMessage", gift_path, out, required=False)
        _number(gift, "giftWrapCharges", gift_path, out, required=False)


def _charges_rule(
    price: object, items: list[tuple[str, Mapping[str, Any]]], out: list[Violation]
) -> None:
    if not isinstance(price, Mapping):
        return
    pairs = [(total, each) for total, each in CHARGE_PAIRS if price.get(total) is not None]
    gift_total = price.get("totalGiftCharges") is not None
    if not pairs and not gift_total:
        return
    for prefix, item in items:
        item_price = item.get("orderItemPrice")
        if isinstance(item_price, Mapping):
            for total, each in pairs:
                if item_price.get(each) is not None:
                    _both_levels(total, f"{prefix}.orderItemPrice.{each}", out)
        gift = item.get("giftWrap")
        if gift_total and isinstance(gift, Mapping) and gift.get("giftWrapCharges") is not None:
            _both_levels("totalGiftCharges", f"{prefix}.giftWrap.giftWrapCharges", out)


def _both_levels(total: str, path: str, out: list[Violation]) -> None:
    message = (
        f"orderPrice.{total} and {path} are both given: give this charge at order level "
        "or at item level, never both"
    )
    out.append(_invalid(path, message))
