"""Post Cancel and Post Return against the sandbox over loopback HTTP, through the real client."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.uniware import make_item, make_order
from uniware.client import PostResponse, UniwareClient
from uniware.config import Credentials, demo_credentials
from uniware.sandbox import Faults, SandboxServer, running_sandbox
from uniware.sandbox.store import SandboxStore

RED = {"productId": "SKU-RED-M", "variantId": "SKU-RED-M"}
BLUE = {"productId": "SKU-BLUE-L", "variantId": "SKU-BLUE-L"}


def two_items(order_id: str = "OKR-1") -> dict[str, Any]:
    """An order of 2 red shirts and 1 blue one."""
    blue = make_item(2, **BLUE, sku="SKU-BLUE-L", quantity=1)
    return make_order(order_id, orderItems=[make_item(1), blue])


def cancel(order_id: str = "OKR-1", *units: tuple[dict[str, str], int]) -> dict[str, Any]:
    return {
        "saleOrderCode": order_id,
        "cancellationReason": "customer changed their mind",
        "cancelledSkuCodes": [{"quantity": n, **item} for item, n in units],
    }


def a_return(return_id: str = "RET-1", *units: tuple[str, int], **fields: Any) -> dict[str, Any]:
    body = {
        "saleOrderCode": "OKR-1",
        "returnID": return_id,
        "type": "CUSTOMER_RETURN",
        "reason": "size too small",
        "trackingNumber": "",
        "shippingProviderCode": "",
        "returnWarehouseCode": None,
        "status": "CREATED",
        "orderItems": [{"channelProductId": p, "quantity": n} for p, n in units],
        "createdOn": "2026-11-25 10:00:00",
    }
    return {**body, **fields}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with running_sandbox() as server:
        yield server


def send(
    server: SandboxServer, *calls: tuple[str, Any], credentials: Credentials | None = None
) -> list[PostResponse]:
    """Each (method, body) in turn through a real UniwareClient."""

    async def go() -> list[PostResponse]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            client = UniwareClient(http, credentials=credentials or demo_credentials())
            return [await getattr(client, method)(body) for method, body in calls]

    return asyncio.run(go())


def states(server: SandboxServer, order_id: str = "OKR-1") -> list[tuple[int, int, int, int]]:
    """(quantity, cancelled, returned, open) of each item."""
    items = httpx.get(f"{server.base_url}/_sandbox/orders/{order_id}").json()["items"]
    return [(i["quantity"], i["cancelled"], i["returned"], i["open"]) for i in items]


def test_a_partial_cancellation_takes_the_units_named(sandbox: SandboxServer) -> None:
    created, cancelled = send(
        sandbox, ("post_order", two_items()), ("post_cancel", cancel("OKR-1", (RED, 1)))
    )
    assert created.ok and cancelled.ok
    assert cancelled.message == "Successfully updated Order detail"
    assert states(sandbox) == [(2, 1, 0, 1), (1, 0, 0, 1)]
    log = httpx.get(f"{sandbox.base_url}/_sandbox/requests?kind=cancel").json()["requests"]
    assert [(r["id"], r["kind"], r["outcome"]) for r in log] == [("OKR-1", "cancel", "cancelled")]


@pytest.mark.parametrize(
    ("units", "reason"),
    [
        (
            [(RED, 2), (BLUE, 2)],
            "INVALID_QUANTITY: cannot cancel 2 of SKU-BLUE-L/SKU-BLUE-L: 1 open",
        ),
        ([({"productId": "SKU-RED-M", "variantId": "X"}, 1)], "INVALID_ITEM"),
    ],
    ids=["more-than-open", "unknown-item"],
)
def test_a_refused_cancellation_changes_nothing(
    sandbox: SandboxServer, units: list[tuple[dict[str, str], int]], reason: str
) -> None:
    _, refused = send(
        sandbox, ("post_order", two_items()), ("post_cancel", cancel("OKR-1", *units))
    )
    assert (refused.http_status, refused.status) == (200, "failure")
    assert refused.message.startswith(reason)
    assert states(sandbox) == [(2, 0, 0, 2), (1, 0, 0, 1)]


def test_unknown_and_already_cancelled_orders_are_refused(sandbox: SandboxServer) -> None:
    answers = send(
        sandbox,
        ("post_cancel", cancel("NOPE", (RED, 1))),
        ("post_order", two_items()),
        ("post_cancel", cancel("OKR-1", (RED, 2), (BLUE, 1))),
        ("post_cancel", cancel("OKR-1", (RED, 1))),
    )
    assert answers[0].message == "INVALID_SALE_ORDER: order NOPE does not exist"
    assert answers[2].ok
    assert answers[3].message == "ORDER_ALREADY_CANCELLED: order OKR-1 is already cancelled"
    assert states(sandbox) == [(2, 2, 0, 0), (1, 1, 0, 0)]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"cancellationReason": "x", "cancelledSkuCodes": [{"quantity": 1, **RED}]},
            "saleOrderCode is required",
        ),
        (
            {**cancel("OKR-1", (RED, 1)), "cancellationReason": None},
            "cancellationReason is required",
        ),
        ({**cancel("OKR-1"), "cancelledSkuCodes": []}, "cancelledSkuCodes must be a list"),
        (
            cancel("OKR-1", (RED, 0)),
            "cancelledSkuCodes[0].quantity must be a whole number of at least 1",
        ),
        (
            {**cancel(), "cancelledSkuCodes": [{"quantity": "1", **RED}]},
            "quantity must be a whole number",
        ),
        (
            {**cancel(), "cancelledSkuCodes": [{"quantity": 1, "productId": "SKU-RED-M"}]},
            "cancelledSkuCodes[0].variantId is required",
        ),
        ({**cancel(), "saleOrderCode": 17}, "saleOrderCode must be text, got 17"),
    ],
)
def test_a_cancellation_breaking_the_contract_is_refused(
    sandbox: SandboxServer, body: Any, reason: str
) -> None:
    send(sandbox, ("post_order", two_items()))
    [answer] = send(sandbox, ("post_cancel", body))
    assert (answer.http_status, answer.status) == (200, "failure")
    assert reason in answer.message
    assert states(sandbox) == [(2, 0, 0, 2), (1, 0, 0, 1)]


def test_a_body_that_is_no_object_is_refused(sandbox: SandboxServer) -> None:
    headers = demo_credentials().as_headers()
    for path, body in (("/uc/v1/order/cancel", "[1, 2]"), ("/uc/v1/returns", '"x"')):
        answer = httpx.post(sandbox.base_url + path, content=body, headers=headers).json()
        assert answer["status"] == "failure"
        assert "must be a JSON object" in answer["message"]
    not_json = httpx.post(sandbox.base_url + "/uc/v1/returns", content="{", headers=headers)
    assert not_json.status_code == 400


def test_returns_are_checked_against_what_is_open(sandbox: SandboxServer) -> None:
    answers = send(
        sandbox,
        ("post_order", two_items()),
        ("post_cancel", cancel("OKR-1", (RED, 1))),
        ("post_return", a_return("RET-1", ("SKU-RED-M", 2))),  # 1 open
        ("post_return", a_return("RET-1", ("SKU-RED-M", 1))),
        ("post_return", a_return("RET-1", ("SKU-BLUE-L", 1))),  # the same return id again
        ("post_return", a_return("RET-2", saleOrderCode="NOPE")),
        ("post_return", a_return("RET-3", orderItems=None)),  # every open unit
    )
    said = [(a.status, a.message.split(":")[0]) for a in answers[2:]]
    assert said == [
        ("failure", "INVALID_QUANTITY"),
        ("success", "Return created successfully"),
        ("failure", "DUPLICATE_RETURN"),
        ("failure", "INVALID_SALE_ORDER"),
        ("success", "Return created successfully"),
    ]
    assert states(sandbox) == [(2, 1, 1, 0), (1, 0, 1, 0)]
    held = httpx.get(f"{sandbox.base_url}/_sandbox/orders/OKR-1").json()["returns"]
    assert held == [
        {"returnID": "RET-1", "type": "CUSTOMER_RETURN", "units": 1},
        {"returnID": "RET-3", "type": "CUSTOMER_RETURN", "units": 1},
    ]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "REFUND"}, "type must be one of CUSTOMER_RETURN, COURIER_RETURN"),
        ({"trackingNumber": None}, "trackingNumber must be text"),
        ({"reason": ""}, "reason is required"),
        ({"createdOn": "25/11/2026"}, "createdOn must be yyyy-MM-dd HH:mm:ss"),
        (
            {"orderItems": [{"channelProductId": "SKU-RED-M", "quantity": 1.5}]},
            "orderItems[0].quantity",
        ),
    ],
)
def test_a_return_breaking_the_contract_is_refused(
    sandbox: SandboxServer, fields: dict[str, Any], reason: str
) -> None:
    _, answer = send(sandbox, ("post_order", two_items()), ("post_return", a_return(**fields)))
    assert answer.status == "failure" and reason in answer.message
    assert states(sandbox) == [(2, 0, 0, 2), (1, 0, 0, 1)]


def test_the_new_endpoints_check_credentials(sandbox: SandboxServer) -> None:
    wrong = Credentials("uniload-demo", "demo-seller", "wrong-key")
    send(sandbox, ("post_order", two_items()))
    [answer] = send(sandbox, ("post_cancel", cancel("OKR-1", (RED, 1))), credentials=wrong)
    assert answer.http_status == 401 and answer.credentials_refused
    assert states(sandbox) == [(2, 0, 0, 2), (1, 0, 0, 1)]


def test_faults_apply_to_the_new_endpoints() -> None:
    with running_sandbox(faults=Faults(p429=1.0, retry_after=0.5)) as server:
        server.store.accept("OKR-1", json.dumps(two_items()), 0.0)
        [answer] = send(server, ("post_cancel", cancel("OKR-1", (RED, 1))))
        assert (answer.http_status, answer.retry_after, answer.transient) == (429, 0.5, True)
        assert states(server) == [(2, 0, 0, 2), (1, 0, 0, 1)]
        log = server.store.requests(kind="cancel")
        assert [(r.order_id, r.outcome) for r in log] == [("OKR-1", "throttled")]


def test_a_sandbox_file_from_before_opens_and_logs_kinds(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, "
            "order_id TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL);"
            "INSERT INTO requests (t, order_id, status, outcome) "
            "VALUES (1.0, 'A', 200, 'accepted');"
        )
    db.close()
    store = SandboxStore(path)
    try:
        assert [(r.order_id, r.kind) for r in store.requests()] == [("A", "order")]
    finally:
        store.close()
