"""Tests of the Post Orders contract, the Uniware client and the local sandbox."""

from __future__ import annotations

from typing import Any


def make_address(**overrides: Any) -> dict[str, Any]:
    """A valid Indian address."""
    address: dict[str, Any] = {
        "name": "Asha Rao",
        "addressLine1": "12 MG Road",
        "addressLine2": "Near Metro",
        "city": "Bengaluru",
        "state": "KA",
        "country": "IN",
        "pincode": "560001",
        "phone": "9876543210",
        "email": "asha@example.com",
    }
    return {**address, **overrides}


def make_item(index: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid order item."""
    item: dict[str, Any] = {
        "orderItemId": f"OKR-1001-{index}",
        "status": "CREATED",
        "productId": "SKU-RED-M",
        "variantId": "SKU-RED-M",
        "sku": "SKU-RED-M",
        "title": "Red cotton shirt, M",
        "shippingMethodCode": "STD",
        "quantity": 2,
        "orderItemPrice": {"sellingPrice": 499.0, "totalPrice": 499.0, "shippingCharges": 40},
        "onHold": False,
        "packetNumber": 1,
        "facilityCode": "OKR-BLR-01",
    }
    return {**item, **overrides}


def make_order(order_id: str = "OKR-1001", **overrides: Any) -> dict[str, Any]:
    """A valid Post Orders payload with one item (overrides replace top-level fields)."""
    order: dict[str, Any] = {
        "id": order_id,
        "orderDate": "2025-07-30 08:34:47",
        "orderStatus": "CREATED",
        "sla": "2025-08-01 08:34:47",
        "paymentType": "PREPAID",
        "orderPrice": {"currency": "INR"},
        "orderItems": [make_item()],
        "taxExempted": False,
        "cFormProvided": False,
        "thirdPartyShipping": True,
        "shippingAddress": make_address(),
        "billingAddress": make_address(),
    }
    return {**order, **overrides}
