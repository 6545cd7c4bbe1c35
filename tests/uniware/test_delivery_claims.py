"""Delivery against orders another run holds, and DUPLICATE answers judged by claim history."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.uniware.deliveries import MOCK_URL, deliver_to_mock, destination, failure, order
from uniware.ledger import Ledger
from uniware.ledger_entries import LedgerState, hash_payload

CREATED = httpx.Response(200, json={"status": "success", "message": "created", "data": None})
HOLD_SECONDS = 0.4


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger.open(str(ledger_path)) as opened:
        yield opened


def held_then_settled(ledger_path: Path, state: LedgerState, message: str) -> threading.Timer:
    """Run ``run-A`` (this live process) holds ORD-1 now and settles it a moment later."""
    other = Ledger.open(str(ledger_path))
    claim = other.claim(
        destination(MOCK_URL), "ORD-1", payload_hash=hash_payload(order(1)), run_id="run-A"
    )
    token = claim.token
    assert token is not None

    def settle() -> None:
        other.settle(
            destination(MOCK_URL),
            "ORD-1",
            token=token,
            state=state,
            message=message,
            attempts=1,
            http_status=200,
        )
        other.close()

    timer = threading.Timer(HOLD_SECONDS, settle)
    timer.start()
    return timer


def test_an_order_in_flight_in_another_run_is_waited_for_not_sent(
    ledger: Ledger, ledger_path: Path
) -> None:
    timer = held_then_settled(ledger_path, "accepted", "created")
    deliveries, requests = deliver_to_mock([CREATED], [order(1), order(2)], ledger)
    timer.join()
    by_id = {d.order_id: d for d in deliveries}
    assert by_id["ORD-1"].outcome == "already_accepted"
    assert "was in flight in run run-A" in by_id["ORD-1"].message
    assert by_id["ORD-2"].outcome == "accepted"
    assert requests == 1  # ORD-2 only
    [entry] = ledger.get(destination(MOCK_URL), "ORD-1")
    assert (entry.state, entry.run_id, entry.claims) == ("accepted", "run-A", 1)


def test_an_order_that_failed_in_the_run_holding_it_reports_that_failure(
    ledger: Ledger, ledger_path: Path
) -> None:
    timer = held_then_settled(ledger_path, "failed", "INVALID_FACILITY_CODE: X")
    [delivery], requests = deliver_to_mock([CREATED], [order(1)], ledger)
    timer.join()
    assert delivery.outcome == "failed"
    assert "in run run-A" in delivery.message
    assert "INVALID_FACILITY_CODE: X" in delivery.message
    assert requests == 0


def test_a_duplicate_of_an_order_this_tool_sent_before_never_blames_someone_else(
    ledger: Ledger,
) -> None:
    where = destination(MOCK_URL)
    ledger.record_intent(where, "ORD-1", payload_hash=hash_payload(order(1)), run_id="run-0")
    ledger.record_outcome(
        where, "ORD-1", state="failed", message="INVALID_FACILITY_CODE: X", attempts=1,
        http_status=200,
    )  # fmt: skip
    [delivery], _ = deliver_to_mock([failure("DUPLICATE_SALE_ORDER: ORD-1")], [order(1)], ledger)
    assert delivery.outcome == "failed"
    assert "someone else" not in delivery.message
    assert "this tool sent order ORD-1 before" in delivery.message
    [entry] = ledger.get(where, "ORD-1")
    assert entry.claims == 2
