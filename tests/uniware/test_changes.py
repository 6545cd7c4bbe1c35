"""Cancellations and returns sent once: the ledger's items and changes, against a real sandbox."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from schemas.changes import Change, ChangeResult, PostedItem
from tests.old_ledgers import write_v1_ledger
from tests.uniware import make_item, make_order
from tests.uniware.deliveries import sending
from uniware.changes import send_changes
from uniware.config import Destination, demo_credentials
from uniware.delivery import deliver_orders
from uniware.ledger import Ledger
from uniware.lifecycle_ledger import (
    change_states,
    posted_orders,
    record_change_intent,
    record_change_outcome,
    remember_items,
    remember_many_in,
)
from uniware.retry import RetryPolicy
from uniware.sandbox import Faults, SandboxServer, running_sandbox

BLUE = {"productId": "SKU-BLUE-L", "variantId": "SKU-BLUE-L", "sku": "SKU-BLUE-L"}
ORDER = make_order("OKR-1", orderItems=[make_item(1), make_item(2, **BLUE, quantity=1)])


def shop(server: SandboxServer) -> Destination:
    return Destination(base_url=server.base_url, merchant_id=demo_credentials().merchant_id)


def cancel_red(units: int = 1, *, target: int = 1) -> Change:
    body = {
        "saleOrderCode": "OKR-1",
        "cancellationReason": "cancelled on the marketplace",
        "cancelledSkuCodes": [
            {"quantity": units, "productId": "SKU-RED-M", "variantId": "SKU-RED-M"}
        ],
    }
    effect = (("OKR-1001-1", target),)
    return Change("cancel", "OKR-1", f"key-{units}-{target}", body, ("OKR-1001-1",), effect)


def run(
    server: SandboxServer, ledger: Ledger, *changes: Change, attempts: int = 3
) -> list[ChangeResult]:
    async def go() -> list[ChangeResult]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            return await send_changes(
                list(changes),
                sending(
                    http,
                    ledger,
                    shop(server),
                    run_id="run-1",
                    concurrency=2,
                    retry=RetryPolicy(attempts=attempts, base_delay=0.01, jitter=False),
                ),
            )

    return asyncio.run(go())


def deliver(server: SandboxServer, ledger: Ledger) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            await deliver_orders(
                [ORDER],
                sending(
                    http,
                    ledger,
                    shop(server),
                    run_id="run-0",
                    concurrency=1,
                    retry=RetryPolicy(attempts=1),
                ),
            )

    asyncio.run(go())


def requests(server: SandboxServer) -> list[tuple[str | None, str]]:
    return [(r.kind, r.outcome) for r in server.store.requests()]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(str(tmp_path / "ledger.db"))


def test_an_accepted_order_is_remembered_item_by_item(ledger: Ledger) -> None:
    with running_sandbox(db_path=":memory:") as server:
        deliver(server, ledger)
        [posted] = posted_orders(ledger, shop(server), ["OKR-1", "OKR-2"]).values()
    assert posted.order_status == "CREATED"
    assert posted.items == (
        PostedItem("OKR-1001-1", "SKU-RED-M", "SKU-RED-M", 2, "CREATED"),
        PostedItem("OKR-1001-2", "SKU-BLUE-L", "SKU-BLUE-L", 1, "CREATED"),
    )


def test_a_ledger_file_from_before_opens_and_gains_the_new_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    here = Destination(base_url="http://127.0.0.1:8765", merchant_id="demo-seller")
    write_v1_ledger(path, {"OKR-1": (here.key, "h1")})  # what an earlier version left
    with sqlite3.connect(path) as db:
        before = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert before == {"uniload_ledger"}
    with Ledger.open(str(path)) as reopened:
        assert posted_orders(reopened, here, ["OKR-1"]) == {}  # accepted before items were kept
        remember_items(reopened, here, "OKR-1", ORDER)
        remember_items(reopened, here, "OKR-1", ORDER)  # a second call changes nothing
        assert len(posted_orders(reopened, here, ["OKR-1"])["OKR-1"].items) == 2
        assert reopened.accepted_hashes(here, ["OKR-1"]) == {"OKR-1": "h1"}


def test_an_accepted_change_reaches_the_items_and_is_never_sent_again(ledger: Ledger) -> None:
    with running_sandbox() as server:
        deliver(server, ledger)
        [first] = run(server, ledger, cancel_red())
        [again] = run(server, ledger, cancel_red())
        log = requests(server)
        posted = posted_orders(ledger, shop(server), ["OKR-1"])["OKR-1"]
        states = change_states(ledger, shop(server), ["OKR-1"])
    assert (first.outcome, first.message, first.items) == (
        "cancelled",
        "Successfully updated Order detail",
        ("OKR-1001-1",),
    )
    assert again.outcome == "cancelled" and "earlier run; not sent again" in again.message
    assert log == [("order", "accepted"), ("cancel", "cancelled")]
    assert [item.cancelled for item in posted.items] == [1, 0]
    assert states == {"key-1-1": ("accepted", "Successfully updated Order detail")}


def test_a_refused_change_is_reported_verbatim_and_not_retried(ledger: Ledger) -> None:
    with running_sandbox() as server:
        deliver(server, ledger)
        [refused] = run(server, ledger, cancel_red(3, target=3))
        [later] = run(server, ledger, cancel_red(3, target=3))
        log = requests(server)
        posted = posted_orders(ledger, shop(server), ["OKR-1"])["OKR-1"]
    said = "INVALID_QUANTITY: cannot cancel 3 of SKU-RED-M/SKU-RED-M: 2 open"
    assert (refused.outcome, refused.message) == ("cancel_failed", said)
    assert later.outcome == "cancel_failed" and later.message.endswith(said)
    assert "not sent again" in later.message
    assert log == [("order", "accepted"), ("cancel", "refused")]
    assert [item.cancelled for item in posted.items] == [0, 0]


def test_an_unanswered_change_is_sent_again_by_the_next_run(ledger: Ledger, tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with running_sandbox(db_path=db) as server:
        deliver(server, ledger)
        destination = shop(server)
    with running_sandbox(db_path=db, faults=Faults(p5xx=1.0, seed=1)) as failing:
        [unsure] = run_at(failing, ledger, destination, cancel_red(), attempts=2)
    assert unsure.outcome == "unsure"
    assert change_states(ledger, destination, ["OKR-1"])["key-1-1"][0] == "sending"
    with running_sandbox(db_path=db) as healthy:
        [sent] = run_at(healthy, ledger, destination, cancel_red())
        cancels = [r.outcome for r in healthy.store.requests(kind="cancel")]
    assert sent.outcome == "cancelled"
    assert cancels == ["server_error", "server_error", "cancelled"]


def run_at(
    server: SandboxServer,
    ledger: Ledger,
    destination: Destination,
    change: Change,
    attempts: int = 3,
) -> list[ChangeResult]:
    """``send_changes`` to ``server`` recorded under ``destination`` (a restarted sandbox)."""

    async def go() -> list[ChangeResult]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            return await send_changes(
                [change],
                sending(
                    http,
                    ledger,
                    destination,
                    run_id="run-2",
                    concurrency=1,
                    retry=RetryPolicy(attempts=attempts, base_delay=0.01, jitter=False),
                ),
            )

    return asyncio.run(go())


def test_a_return_adds_units_and_a_cancellation_keeps_the_largest(ledger: Ledger) -> None:
    here = Destination(base_url="http://127.0.0.1:8765", merchant_id="demo-seller")
    remember_items(ledger, here, "OKR-1", ORDER)
    back = Change("return", "OKR-1", "r1", {}, ("OKR-1001-1",), (("OKR-1001-1", 1),))
    for change in (cancel_red(1, target=1), back, cancel_red(2, target=1)):  # cumulative: 1
        if record_change_intent(ledger, here, change, run_id="r") is None:
            record_change_outcome(
                ledger, here, change, state="accepted", message="ok", attempts=1, http_status=200
            )
    [red, blue] = posted_orders(ledger, here, ["OKR-1"])["OKR-1"].items
    assert (red.cancelled, red.returned, red.open, blue.open) == (1, 1, 0, 1)


def test_a_refusal_after_a_lost_answer_says_the_first_may_have_been_applied(
    ledger: Ledger,
) -> None:
    with running_sandbox(faults=Faults(p_drop_after_commit=1.0)) as server:
        server.store.accept("OKR-1", json.dumps(ORDER), 0.0)
        remember_items(ledger, shop(server), "OKR-1", ORDER)
        [result] = run(server, ledger, cancel_red(2, target=2), attempts=2)
        states = [(r.outcome, r.status) for r in server.store.requests(kind="cancel")]
        held = server.store.order("OKR-1")
    assert states == [("accepted_answer_dropped", 0), ("refused", 200)]
    assert held is not None and held.items[0]["cancelled"] == 2  # the first one was applied
    assert result.outcome == "cancel_failed"
    assert result.message.startswith("INVALID_QUANTITY: cannot cancel 2 of SKU-RED-M")
    assert result.message.endswith("may have been applied: check the order in Uniware)")


def test_items_of_several_orders_are_kept_in_one_go_and_a_repeat_changes_nothing(
    ledger_url: str,
) -> None:
    here = Destination(base_url="http://127.0.0.1:8765", merchant_id="demo-seller")
    two = make_order("OKR-2", orderItems=[make_item(1)])
    with Ledger.open(ledger_url) as ledger:
        remember_items(ledger, here, "OKR-1", ORDER)
        with ledger.engine.begin() as conn:  # OKR-1 again, beside a new order
            remember_many_in(conn, [(here, "OKR-1", ORDER), (here, "OKR-2", two)])
        kept = posted_orders(ledger, here, ["OKR-1", "OKR-2"])
    assert [len(kept[o].items) for o in ("OKR-1", "OKR-2")] == [2, 1]
