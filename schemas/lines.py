"""The canonical order line: every profile maps its export onto these fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing.pandas import Series

from schemas import contract

FieldKind = Literal["text", "datetime", "number", "integer", "boolean"]

ADDRESS_PARTS: Final = (
    "name",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "pincode",
    "phone",
    "email",
)
SHIP_FIELDS: Final = tuple(f"ship_{part}" for part in ADDRESS_PARTS)
BILL_FIELDS: Final = tuple(f"bill_{part}" for part in ADDRESS_PARTS)

ORDER_FIELDS: Final[dict[str, FieldKind]] = {
    "order_id": "text",
    "display_order_number": "text",
    "order_date": "datetime",
    "sla": "datetime",
    "order_status": "text",
    "fulfillment_status": "text",  # the marketplace's fulfilment fact (read by disposition)
    "cancelled_at": "text",  # any value: the marketplace cancelled the order
    "payment_type": "text",
    "priority": "integer",
    "currency": "text",
    "third_party_shipping": "boolean",
    "additional_info": "text",
    "order_shipping_charges": "number",
    "order_discount": "number",
    "order_cod_charges": "number",
    "order_gift_charges": "number",
    "order_store_credit": "number",
    "order_prepaid_amount": "number",
    **dict.fromkeys(SHIP_FIELDS, "text"),
    **dict.fromkeys(BILL_FIELDS, "text"),
}

LINE_FIELDS: Final[dict[str, FieldKind]] = {
    "order_item_id": "text",
    "item_status": "text",
    "sku": "text",
    "product_id": "text",
    "variant_id": "text",
    "title": "text",
    "quantity": "integer",
    "selling_price": "number",
    "total_price": "number",
    "shipping_charges": "number",
    "discount": "number",
    "cod_charges": "number",
    "transfer_price": "number",
    "gift_wrap_message": "text",
    "gift_wrap_charges": "number",
    "shipping_method": "text",
    "on_hold": "boolean",
    "packet_number": "integer",
    "facility_code": "text",
}

FIELDS: Final[dict[str, FieldKind]] = {**ORDER_FIELDS, **LINE_FIELDS}

# Fields the contract makes mandatory: a line without them cannot become a payload.
REQUIRED: Final = frozenset(
    {
        "order_id",
        "order_date",
        "order_status",
        "order_item_id",
        "sku",
        "product_id",
        "variant_id",
        "title",
        "quantity",
        "selling_price",
        "third_party_shipping",
        "ship_name",
        "ship_address1",
        "ship_city",
        "ship_state",
        "ship_country",
        "ship_pincode",
        "ship_phone",
    }
)

# Where canonical fields go in a Post Orders payload (the rest are named alike; see
# transforms/payloads.py). Charges: canonical name -> key in orderPrice / orderItemPrice.
ORDER_CHARGES: Final[dict[str, str]] = {
    "order_cod_charges": "totalCashOnDeliveryCharges",
    "order_discount": "totalDiscount",
    "order_gift_charges": "totalGiftCharges",
    "order_store_credit": "totalStoreCredit",
    "order_prepaid_amount": "totalPrepaidAmount",
    "order_shipping_charges": "totalShippingCharges",
}
ITEM_CHARGES: Final[dict[str, str]] = {
    "shipping_charges": "shippingCharges",
    "discount": "discount",
    "cod_charges": "cashOnDeliveryCharges",
    "transfer_price": "transferPrice",
}
ADDRESS_KEYS: Final[dict[str, str]] = {
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

PINCODE_PATTERN: Final = r"^\d{6,}$"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
MAX_ID = contract.MAX_ID_LENGTH
MAX_LINE = contract.MAX_ADDRESS_LINE
# Parsed dates are tz-aware UTC (transforms.parse); a bare pa.DateTime means naive datetime64[ns].
UtcDateTime = Annotated[pd.DatetimeTZDtype, "ns", "UTC"]


def text_length(
    texts: pd.Series, *, min_value: int | None = None, max_value: int | None = None
) -> pd.Series:
    """pandera's `str_length`, measured cell by cell on plain Python strings (a length costs
    less than hashing the cell to measure each distinct value once)."""

    def measure(cells: list[str]) -> npt.NDArray[np.bool_]:
        lengths = np.fromiter(map(len, cells), np.int64, len(cells))
        ok = np.ones(len(cells), dtype=bool)
        if min_value is not None:
            ok &= lengths >= min_value
        if max_value is not None:
            ok &= lengths <= max_value
        return ok

    return _per_cell(texts, measure)


def text_matches(texts: pd.Series, *, pattern: str) -> pd.Series:
    """pandera's `str_matches`, matched once per distinct value (missing cells pass here:
    `nullable` decides about them)."""
    codes, uniques = pd.factorize(texts.to_numpy(dtype=object))  # a missing cell: code -1
    match = re.compile(pattern).match
    distinct = uniques.tolist()  # plain strings: iterating the array itself is slow
    ok = np.fromiter((match(u) is not None for u in distinct), bool, len(distinct))
    return pd.Series(np.append(ok, True)[codes], index=texts.index)


def _per_cell(texts: pd.Series, check: Callable[[list[str]], npt.NDArray[np.bool_]]) -> pd.Series:
    """`check` on the cells as plain strings; missing cells pass (`nullable` decides on them).

    Most checked columns have no missing cell: the check runs on all of them at once, and
    only a missing cell (which it cannot measure) makes it look for the missing ones.
    """
    values = texts.to_numpy(dtype=object)
    try:
        return pd.Series(check(values.tolist()), index=texts.index)
    except TypeError:
        given = ~pd.isna(values)
        if given.all():
            raise
    ok = np.ones(len(values), dtype=bool)
    ok[given] = check(values[given].tolist())
    return pd.Series(ok, index=texts.index)


# Registered as pandera checks, usable in Field(...) like the built-in ones they replace.
extensions.register_check_method(statistics=["min_value", "max_value"])(text_length)
extensions.register_check_method(statistics=["pattern"])(text_matches)


class OrderLine(pa.DataFrameModel):
    """One export row after parsing: types are already parsed, values are checked here."""

    order_id: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": 200})
    order_item_id: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": MAX_ID})
    order_date: Series[UtcDateTime] = pa.Field(nullable=False)
    order_status: Series[str] = pa.Field(isin=sorted(contract.ORDER_STATUSES))
    item_status: Series[str] = pa.Field(isin=sorted(contract.ITEM_STATUSES))
    payment_type: Series[str] = pa.Field(isin=sorted(contract.PAYMENT_TYPES), nullable=True)
    currency: Series[str] = pa.Field(text_matches={"pattern": CURRENCY_PATTERN})
    sku: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": 200})
    product_id: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": MAX_ID})
    variant_id: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": MAX_ID})
    title: Series[str] = pa.Field(text_length={"min_value": 1})
    quantity: Series[pa.Int64] = pa.Field(ge=1, le=100_000)
    selling_price: Series[float] = pa.Field(ge=0)
    total_price: Series[float] = pa.Field(ge=0)
    ship_name: Series[str] = pa.Field(text_length={"min_value": 1})
    ship_address1: Series[str] = pa.Field(text_length={"min_value": 1, "max_value": MAX_LINE})
    ship_address2: Series[str] = pa.Field(text_length={"max_value": MAX_LINE}, nullable=True)
    ship_city: Series[str] = pa.Field(text_length={"min_value": 1})
    ship_state: Series[str] = pa.Field(text_length={"min_value": 1})
    ship_country: Series[str] = pa.Field(text_length={"min_value": 1})
    ship_pincode: Series[str] = pa.Field(text_matches={"pattern": PINCODE_PATTERN})
    ship_phone: Series[str] = pa.Field(text_length={"min_value": 1})
    shipping_charges: Series[float] = pa.Field(ge=0, nullable=True)
    discount: Series[float] = pa.Field(ge=0, nullable=True)
    cod_charges: Series[float] = pa.Field(ge=0, nullable=True)
    gift_wrap_charges: Series[float] = pa.Field(ge=0, nullable=True)
    bill_address1: Series[str] = pa.Field(text_length={"max_value": MAX_LINE}, nullable=True)
    bill_address2: Series[str] = pa.Field(text_length={"max_value": MAX_LINE}, nullable=True)
    bill_pincode: Series[str] = pa.Field(text_matches={"pattern": PINCODE_PATTERN}, nullable=True)

    class Config:
        strict = False
        coerce = False
