"""Delivery against the real sandbox over loopback: exactly once, rate, retries, run-level stops."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.uniware import make_item
from tests.uniware.deliveries import (
    MOCK_URL,
    busiest_second,
    deliver,
    deliver_to_mock,
    destination,
    failure,
    order,
)
from uniware.client import UniwareClient
from uniware.config import Credentials, demo_credentials
from uniware.delivery import Delivery
from uniware.exceptions import CredentialsRefused, UniwareUnreachable
from uniware.ledger import Ledger
from uniware.ledger_entries import LedgerCount, hash_payload
from uniware.retry import RetryPolicy
from uniware.sandbox import Faults, SandboxServer, running_sandbox

WRONG_KEY = Credentials(client_id="uniload-demo", merchant_id="demo-seller", security_key="nope")


def inspect(server: SandboxServer, path: str) -> Any:
    return httpx.get(server.base_url + path).json()


def outcomes(deliveries: Sequence[Delivery]) -> Counter[str]:
    return Counter(delivery.outcome for delivery in deliveries)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with running_sandbox() as server:
        yield server


@pytest.mark.faults
def test_every_order_lands_exactly_once_under_faults(ledger: Ledger) -> None:
    faults = Faults(
        p5xx=0.10, p429=0.05, phang=0.02, pdrop=0.01, p_drop_after_commit=0.03,
        retry_after=0.05, hang_seconds=1.0, seed=11,
    )  # fmt: skip
    payloads = [order(n) for n in range(300)]
    with running_sandbox(faults=faults) as server:
        deliveries = deliver(server.base_url, payloads, ledger, concurrency=16, timeout=0.4)
        held = inspect(server, "/_sandbox/orders")
        stats = inspect(server, "/_sandbox/stats")
    expected = {payload["id"] for payload in payloads}
    assert (held["count"], set(held["ids"])) == (300, expected)
    assert sorted(d.order_id for d in deliveries) == sorted(expected)
    assert outcomes(deliveries) == {"accepted": 300}
    assert ledger.summary() == [LedgerCount(destination(server.base_url).key, "accepted", 300)]
    assert stats["answer_lost_ids"]  # the faults did bite: answers were lost after commit
    lost_then_confirmed = {d.order_id for d in deliveries if "answer was lost" in d.message}
    assert set(stats["duplicate_ids_received"]) == lost_then_confirmed
    assert set(stats["answer_lost_ids"]) <= lost_then_confirmed


def test_a_rerun_sends_nothing_already_accepted(sandbox: SandboxServer, ledger: Ledger) -> None:
    payloads = [order(n) for n in range(20)]
    first = deliver(sandbox.base_url, payloads, ledger)
    second = deliver(sandbox.base_url, payloads, ledger)
    assert outcomes(first) == {"accepted": 20}
    assert outcomes(second) == {"already_accepted": 20}
    assert inspect(sandbox, "/_sandbox/stats")["requests"] == 20


def test_a_changed_order_is_reported_not_resent(sandbox: SandboxServer, ledger: Ledger) -> None:
    deliver(sandbox.base_url, [order(1), order(2)], ledger)
    [changed, same] = sorted(
        deliver(sandbox.base_url, [order(1, priority=5), order(2)], ledger),
        key=lambda d: d.order_id,
    )
    assert (changed.outcome, same.outcome) == ("changed_since_accepted", "already_accepted")
    assert "new order id" in changed.message
    kept = inspect(sandbox, "/_sandbox/orders/ORD-1")
    assert (kept["requests"], kept["payload"]) == (1, order(1))


def test_no_second_of_the_server_log_holds_more_than_the_rate(ledger: Ledger) -> None:
    with running_sandbox() as server:
        deliver(server.base_url, [order(n) for n in range(70)], ledger, rate=20, concurrency=10)
        log = inspect(server, "/_sandbox/requests")["requests"]
    assert len(log) == 70
    assert busiest_second([request["t"] for request in log]) <= 20


def test_a_business_failure_is_reported_verbatim_and_never_retried(ledger: Ledger) -> None:
    unknown_facility = order(2, orderItems=[make_item(orderItemId="I-2", facilityCode="NOWHERE")])
    with running_sandbox(facility_map={"OKR-BLR-01": "BLR_FC1"}) as server:
        deliveries = deliver(server.base_url, [order(1), unknown_facility], ledger)
        requests = inspect(server, "/_sandbox/requests?id=ORD-2")["requests"]
    by_id = {d.order_id: d for d in deliveries}
    assert by_id["ORD-1"].outcome == "accepted"
    failed = by_id["ORD-2"]
    assert (failed.outcome, failed.attempts, failed.http_status) == ("failed", 1, 200)
    assert failed.message.startswith("INVALID_FACILITY_CODE: orderItems[0].facilityCode 'NOWHERE'")
    assert len(requests) == 1
    [entry] = ledger.get(None, "ORD-2")
    assert (entry.state, entry.message) == ("failed", failed.message)


def test_refused_credentials_stop_the_run(sandbox: SandboxServer, ledger: Ledger) -> None:
    seen: list[Delivery] = []
    with pytest.raises(CredentialsRefused, match="demo-seller") as refused:
        deliver(
            sandbox.base_url,
            [order(n) for n in range(40)],
            ledger,
            concurrency=4,
            credentials=WRONG_KEY,
            seen=seen,
        )
    assert "nope" not in str(refused.value)
    assert sorted(d.order_id for d in seen) == sorted(f"ORD-{n}" for n in range(40))
    sent = inspect(sandbox, "/_sandbox/stats")["requests"]
    assert 1 <= sent <= 4  # only the requests already in flight
    assert outcomes(seen) == {"failed": sent, "not_sent": 40 - sent}
    assert inspect(sandbox, "/_sandbox/orders")["count"] == 0


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_server_stops_the_run(ledger: Ledger) -> None:
    seen: list[Delivery] = []
    retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
    with pytest.raises(UniwareUnreachable, match="cannot reach Uniware"):
        deliver(closed_port_url(), [order(n) for n in range(10)], ledger, concurrency=2,
                retry=retry, seen=seen)  # fmt: skip
    counts = outcomes(seen)
    assert sum(counts.values()) == 10
    assert 1 <= counts["failed"] <= 2
    assert counts["not_sent"] == 10 - counts["failed"]


def post_directly(base_url: str, payload: dict[str, Any]) -> None:
    """Create an order without the ledger (another tool, or a request sent just before a crash)."""

    async def go() -> None:
        async with httpx.AsyncClient(base_url=base_url) as http:
            answer = await UniwareClient(http, credentials=demo_credentials()).post_order(payload)
            assert answer.ok

    asyncio.run(go())


def test_a_duplicate_of_an_order_never_sent_is_a_failure(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    post_directly(sandbox.base_url, order(1))
    [delivery] = deliver(sandbox.base_url, [order(1)], ledger)
    assert delivery.outcome == "failed"
    assert delivery.message.startswith("DUPLICATE_SALE_ORDER")
    assert "someone else created it" in delivery.message
    # the tool cannot tell it from a deleted or other ledger: it says which ledger it asked
    assert f"the ledger at {ledger.location} has no record" in delivery.message
    assert "another ledger (deleted, moved" in delivery.message
    assert [entry.state for entry in ledger.get(None, "ORD-1")] == ["failed"]


def crashed_after_sending(sandbox: SandboxServer, ledger: Ledger, payload: dict[str, Any]) -> None:
    """The ledger holds the intent and Uniware the order; the answer never reached the ledger."""
    intent = {"payload_hash": hash_payload(payload), "run_id": "crashed-run"}
    ledger.record_intent(destination(sandbox.base_url), payload["id"], **intent)
    post_directly(sandbox.base_url, payload)


def test_a_duplicate_for_an_order_in_doubt_counts_as_accepted(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    crashed_after_sending(sandbox, ledger, order(1))
    [delivery] = deliver(sandbox.base_url, [order(1)], ledger)
    assert delivery.outcome == "accepted"
    assert "answer was lost" in delivery.message
    assert [entry.state for entry in ledger.get(None, "ORD-1")] == ["accepted"]
    assert inspect(sandbox, "/_sandbox/orders")["count"] == 1


def test_an_order_in_doubt_then_changed_is_reported(sandbox: SandboxServer, ledger: Ledger) -> None:
    crashed_after_sending(sandbox, ledger, order(1))
    changed = order(1, priority=3)
    [delivery] = deliver(sandbox.base_url, [changed], ledger)
    assert delivery.outcome == "changed_since_accepted"
    [entry] = ledger.get(None, "ORD-1")
    assert (entry.state, entry.payload_hash) == ("accepted", hash_payload(order(1)))
    [again] = deliver(sandbox.base_url, [changed], ledger)
    assert (again.outcome, again.attempts) == ("changed_since_accepted", 0)


def test_the_security_key_never_reaches_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    key = "5ecret-5ecurity-key-0001"
    credentials = Credentials(client_id="c", merchant_id="demo-seller", security_key=key)
    with running_sandbox(credentials=credentials) as server, Ledger.open(str(path)) as ledger:
        deliver(server.base_url, [order(1), order(2)], ledger, credentials=credentials)
    stored = b"".join(file.read_bytes() for file in tmp_path.iterdir() if file.is_file())
    assert b"ORD-1" in stored
    assert key.encode() not in stored


def test_a_payload_without_an_id_is_reported_not_sent(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    deliveries = deliver(sandbox.base_url, [order(1, id=None), order(2)], ledger)
    assert sorted((d.order_id, d.outcome) for d in deliveries) == [
        ("", "failed"),
        ("ORD-2", "accepted"),
    ]
    assert inspect(sandbox, "/_sandbox/stats")["requests"] == 1


def test_a_duplicate_after_a_gateway_error_counts_as_accepted(ledger: Ledger) -> None:
    answers = [httpx.Response(502, text="Bad Gateway"), failure("DUPLICATE_SALE_ORDER: ORD-1")]
    [delivery], requests = deliver_to_mock(answers, [order(1)], ledger)
    assert (delivery.outcome, delivery.attempts, requests) == ("accepted", 2, 2)


def test_a_duplicate_item_answer_is_never_taken_for_acceptance(ledger: Ledger) -> None:
    intent = {"payload_hash": hash_payload(order(1)), "run_id": "crashed-run"}
    ledger.record_intent(destination(MOCK_URL), "ORD-1", **intent)
    said = "DUPLICATE_SALE_ORDER_ITEM: ORD-1-1 belongs to another order"
    [delivery], _ = deliver_to_mock([failure(said)], [order(1)], ledger)
    assert (delivery.outcome, delivery.message) == ("failed", said)
    [entry] = ledger.get(None, "ORD-1")
    assert entry.state == "sending"  # the earlier request may still have created it


def test_throttling_to_the_end_is_a_plain_failure(ledger: Ledger) -> None:
    throttled = failure("TOO_MANY_REQUESTS: slow down", status=429)
    [delivery], requests = deliver_to_mock([throttled], [order(1)], ledger)
    assert (delivery.outcome, delivery.http_status, requests) == ("failed", 429, 3)
    [entry] = ledger.get(None, "ORD-1")
    assert (entry.state, entry.attempts) == ("failed", 3)
