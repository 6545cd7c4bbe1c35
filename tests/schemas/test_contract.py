"""The Post Orders contract check: every rule names the field, the code and the value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import contract
from schemas.contract import Violation, check_order
from tests.uniware import make_address, make_item, make_order

DELETE = object()


def changed(path: str, value: object) -> dict[str, Any]:
    """A valid order with the value at dotted ``path`` replaced (or removed with DELETE)."""
    order = make_order()
    node: Any = order
    keys: list[Any] = [int(part) if part.isdigit() else part for part in path.split(".")]
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return order


def test_a_complete_order_has_no_violations() -> None:
    assert check_order(make_order()) == []


def test_optional_fields_may_be_absent_or_null() -> None:
    item = make_item(facilityCode=None, giftWrap=None, onHold=None)
    del item["shippingMethodCode"], item["packetNumber"]
    order = make_order(orderItems=[item], paymentType=None, orderPrice=None)
    del order["taxExempted"], order["cFormProvided"]
    assert check_order(order) == []


M, F = "MISSING_REQUIRED_PARAMETERS", "INVALID_FORMAT"
CASES = [
    ("id missing", "id", DELETE, "id", M),
    ("id blank", "id", "  ", "id", M),
    ("id not text", "id", 1001, "id", F),
    ("orderDate missing", "orderDate", DELETE, "orderDate", M),
    ("orderDate slashes", "orderDate", "2025/07/30 08:34:47", "orderDate", F),
    ("orderDate ISO T", "orderDate", "2025-07-30T08:34:47", "orderDate", F),
    ("orderDate no seconds", "orderDate", "2025-07-30 08:34", "orderDate", F),
    ("orderDate impossible day", "orderDate", "2025-02-30 08:34:47", "orderDate", F),
    ("sla missing", "sla", None, "sla", M),
    ("orderStatus missing", "orderStatus", DELETE, "orderStatus", M),
    ("orderStatus unknown", "orderStatus", "SHIPPED", "orderStatus", F),
    ("orderStatus lower case", "orderStatus", "created", "orderStatus", F),
    ("paymentType unknown", "paymentType", "UPI", "paymentType", "INVALID_PAYMENT_METHOD"),
    ("priority not integer", "priority", "high", "priority", F),
    ("thirdPartyShipping missing", "thirdPartyShipping", DELETE, "thirdPartyShipping", M),
    ("thirdPartyShipping text", "thirdPartyShipping", "true", "thirdPartyShipping", F),
    ("taxExempted number", "taxExempted", 0, "taxExempted", F),
    (
        "currency lower",
        "orderPrice.currency",
        "inr",
        "orderPrice.currency",
        "INVALID_CURRENCY_CODE",
    ),
    (
        "currency 2 letters",
        "orderPrice.currency",
        "IN",
        "orderPrice.currency",
        "INVALID_CURRENCY_CODE",
    ),
    ("order total negative", "orderPrice.totalDiscount", -5, "orderPrice.totalDiscount", F),
    ("orderItems missing", "orderItems", DELETE, "orderItems", "MISSING_SALE_ORDER_ITEMS"),
    ("orderItems empty", "orderItems", [], "orderItems", "MISSING_SALE_ORDER_ITEMS"),
    ("orderItems not list", "orderItems", {"a": 1}, "orderItems", F),
    ("item not object", "orderItems.0", "SKU-1", "orderItems[0]", F),
    ("item id missing", "orderItems.0.orderItemId", DELETE, "orderItems[0].orderItemId", M),
    ("item id 46 chars", "orderItems.0.orderItemId", "x" * 46, "orderItems[0].orderItemId", F),
    ("productId 46 chars", "orderItems.0.productId", "p" * 46, "orderItems[0].productId", F),
    ("variantId missing", "orderItems.0.variantId", DELETE, "orderItems[0].variantId", M),
    ("sku missing", "orderItems.0.sku", DELETE, "orderItems[0].sku", M),
    ("sku blank", "orderItems.0.sku", "", "orderItems[0].sku", M),
    ("title missing", "orderItems.0.title", None, "orderItems[0].title", M),
    ("item status unknown", "orderItems.0.status", "RETURNED", "orderItems[0].status", F),
    (
        "shipping method",
        "orderItems.0.shippingMethodCode",
        "EXP",
        "orderItems[0].shippingMethodCode",
        F,
    ),
    ("quantity zero", "orderItems.0.quantity", 0, "orderItems[0].quantity", F),
    ("quantity float", "orderItems.0.quantity", 2.0, "orderItems[0].quantity", F),
    ("quantity text", "orderItems.0.quantity", "2", "orderItems[0].quantity", F),
    ("quantity boolean", "orderItems.0.quantity", True, "orderItems[0].quantity", F),
    ("quantity missing", "orderItems.0.quantity", DELETE, "orderItems[0].quantity", M),
    ("packetNumber zero", "orderItems.0.packetNumber", 0, "orderItems[0].packetNumber", F),
    ("onHold text", "orderItems.0.onHold", "no", "orderItems[0].onHold", F),
    ("price missing", "orderItems.0.orderItemPrice", DELETE, "orderItems[0].orderItemPrice", M),
    (
        "sellingPrice missing",
        "orderItems.0.orderItemPrice.sellingPrice",
        DELETE,
        "orderItems[0].orderItemPrice.sellingPrice",
        M,
    ),
    (
        "totalPrice negative",
        "orderItems.0.orderItemPrice.totalPrice",
        -1,
        "orderItems[0].orderItemPrice.totalPrice",
        F,
    ),
    (
        "sellingPrice text",
        "orderItems.0.orderItemPrice.sellingPrice",
        "499",
        "orderItems[0].orderItemPrice.sellingPrice",
        F,
    ),
    (
        "sellingPrice NaN",
        "orderItems.0.orderItemPrice.sellingPrice",
        float("nan"),
        "orderItems[0].orderItemPrice.sellingPrice",
        F,
    ),
    (
        "gift charges negative",
        "orderItems.0.giftWrap",
        {"giftWrapCharges": -1},
        "orderItems[0].giftWrap.giftWrapCharges",
        F,
    ),
    ("address missing", "billingAddress", DELETE, "billingAddress", M),
    ("address not object", "shippingAddress", "12 MG Road", "shippingAddress", F),
    ("line1 missing", "shippingAddress.addressLine1", DELETE, "shippingAddress.addressLine1", M),
    ("line1 101", "shippingAddress.addressLine1", "a" * 101, "shippingAddress.addressLine1", F),
    ("line2 101", "billingAddress.addressLine2", "b" * 101, "billingAddress.addressLine2", F),
    ("city missing", "shippingAddress.city", DELETE, "shippingAddress.city", M),
    ("state missing", "billingAddress.state", "", "billingAddress.state", M),
    ("country missing", "shippingAddress.country", DELETE, "shippingAddress.country", M),
    ("name missing", "shippingAddress.name", DELETE, "shippingAddress.name", M),
    ("phone missing", "billingAddress.phone", DELETE, "billingAddress.phone", M),
    ("pincode missing", "shippingAddress.pincode", DELETE, "shippingAddress.pincode", M),
    ("pincode 5 digits", "shippingAddress.pincode", "56000", "shippingAddress.pincode", F),
    ("pincode letters", "shippingAddress.pincode", "560 001", "shippingAddress.pincode", F),
    ("pincode number", "shippingAddress.pincode", 560001, "shippingAddress.pincode", F),
    ("pincode full-width", "shippingAddress.pincode", "５６０００１", "shippingAddress.pincode", F),
    ("email not text", "shippingAddress.email", ["a@b.c"], "shippingAddress.email", F),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "code"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_broken_rule_is_named(path: str, value: object, field: str, code: str) -> None:
    violations = check_order(changed(path, value))
    assert [(v.field, v.code) for v in violations] == [(field, code)]
    assert field in violations[0].message


def test_the_message_shows_the_bad_value() -> None:
    [violation] = check_order(changed("orderStatus", "SHIPPED"))
    assert "'SHIPPED'" in violation.message
    assert "PENDING_VERIFICATION, CREATED, CANCELLED" in violation.message


def test_limits_are_inclusive() -> None:
    order = changed("shippingAddress.addressLine1", "a" * contract.MAX_ADDRESS_LINE)
    order["orderItems"][0]["orderItemId"] = "x" * contract.MAX_ID_LENGTH
    order["shippingAddress"]["pincode"] = "1100011"
    assert check_order(order) == []


def test_at_most_1999_items() -> None:
    items = [make_item(i) for i in range(contract.MAX_ITEMS)]
    assert check_order(make_order(orderItems=items)) == []
    too_many = check_order(make_order(orderItems=[*items, make_item(contract.MAX_ITEMS)]))
    assert [(v.field, v.code) for v in too_many] == [("orderItems", "INVALID_FORMAT")]


def test_item_ids_are_unique_within_the_order() -> None:
    violations = check_order(make_order(orderItems=[make_item(1), make_item(2), make_item(1)]))
    assert [(v.field, v.code) for v in violations] == [
        ("orderItems[2].orderItemId", "DUPLICATE_SALE_ORDER_ITEM")
    ]


CHARGES = [
    ("totalShippingCharges", "orderItemPrice", "shippingCharges"),
    ("totalDiscount", "orderItemPrice", "discount"),
    ("totalCashOnDeliveryCharges", "orderItemPrice", "cashOnDeliveryCharges"),
    ("totalGiftCharges", "giftWrap", "giftWrapCharges"),
]


@pytest.mark.parametrize(("total", "part", "charge"), CHARGES, ids=[c[0] for c in CHARGES])
def test_a_charge_is_never_at_both_levels(total: str, part: str, charge: str) -> None:
    plain = make_item(1, orderItemPrice={"sellingPrice": 10, "totalPrice": 10})
    charged = make_item(2, orderItemPrice={"sellingPrice": 10, "totalPrice": 10})
    charged.setdefault(part, {})[charge] = 0
    order = make_order(orderPrice={"currency": "INR", total: 5}, orderItems=[plain, charged])
    violations = check_order(order)
    assert [(v.field, v.code) for v in violations] == [
        (f"orderItems[1].{part}.{charge}", "INVALID_FORMAT")
    ]
    assert f"orderPrice.{total}" in violations[0].message
    del charged[part][charge]
    assert check_order(order) == []


def test_order_level_charges_without_item_charges_are_fine() -> None:
    item = make_item(orderItemPrice={"sellingPrice": 10, "totalPrice": 10, "transferPrice": 8})
    price = {"currency": "USD", "totalShippingCharges": 5, "totalStoreCredit": 1.5}
    assert check_order(make_order(orderPrice=price, orderItems=[item])) == []


def test_a_payload_that_is_not_an_object_is_one_violation() -> None:
    assert check_order([make_order()]) == [  # type: ignore[arg-type]  # not an object, on purpose
        Violation("", "INVALID_FORMAT", "the order must be a JSON object, got a list")
    ]


def test_exported_value_sets_match_the_contract() -> None:
    assert set(contract.ORDER_STATUSES) == {"PENDING_VERIFICATION", "CREATED", "CANCELLED"}
    assert set(contract.ITEM_STATUSES) == {"CREATED", "CANCELLED", "DISPATCHED", "DELIVERED"}
    assert set(contract.PAYMENT_TYPES) == {"COD", "PREPAID"}
    assert contract.DATE_FORMAT == "%Y-%m-%d %H:%M:%S"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(
        st.sampled_from([*make_order().keys(), "other"]), json_values, max_size=len(make_order())
    ),
    st.lists(st.dictionaries(st.sampled_from([*make_item(), "x"]), json_values), max_size=3),
    st.dictionaries(st.sampled_from([*make_address(), "x"]), json_values),
)
def test_any_json_gives_violations_never_an_exception(
    order: dict[str, Any], items: list[dict[str, Any]], address: dict[str, Any]
) -> None:
    violations = check_order({**order, "orderItems": items, "shippingAddress": address})
    assert all(v.field is not None and v.message for v in violations)
    assert len(violations) > 0
