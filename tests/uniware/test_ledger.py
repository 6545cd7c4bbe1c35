"""The ledger: intents and outcomes per destination and order, kept in a real SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uniware import make_order
from uniware.config import Destination
from uniware.ledger import Ledger
from uniware.ledger_entries import LedgerCount, hash_payload

SHOP = Destination(base_url="http://127.0.0.1:8765", merchant_id="demo-seller")
OTHER_SHOP = Destination(base_url="https://genericproxy.unicommerce.com", merchant_id="other")


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.db"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger.open(str(ledger_path)) as opened:
        yield opened


def accept(ledger: Ledger, destination: Destination, order_id: str, payload_hash: str) -> None:
    """Intent then a successful outcome, as one delivered order leaves them."""
    ledger.record_intent(destination, order_id, payload_hash=payload_hash, run_id="run-1")
    ledger.record_outcome(
        destination,
        order_id,
        state="accepted",
        message="Order created successfully",
        attempts=1,
        http_status=200,
    )


def test_the_intent_is_on_disk_before_any_outcome(ledger: Ledger, ledger_path: Path) -> None:
    prior = ledger.record_intent(SHOP, "OKR-1", payload_hash="h1", run_id="run-1")
    assert prior is None
    with sqlite3.connect(ledger_path) as other_reader:
        rows = other_reader.execute("SELECT order_id, state, run_id FROM uniload_ledger").fetchall()
    assert rows == [("OKR-1", "sending", "run-1")]


def test_an_outcome_keeps_the_servers_message_and_counts_attempts(ledger: Ledger) -> None:
    ledger.record_intent(SHOP, "OKR-1", payload_hash="h1", run_id="run-1")
    ledger.record_outcome(
        SHOP,
        "OKR-1",
        state="failed",
        message="INVALID_FACILITY_CODE: X",
        attempts=1,
        http_status=200,
    )
    ledger.record_intent(SHOP, "OKR-1", payload_hash="h2", run_id="run-2")
    ledger.record_outcome(
        SHOP, "OKR-1", state="accepted", message="Order created", attempts=3, http_status=200
    )
    [entry] = ledger.get(SHOP, "OKR-1")
    assert (entry.state, entry.message, entry.attempts) == ("accepted", "Order created", 4)
    assert (entry.payload_hash, entry.run_id, entry.http_status) == ("h2", "run-2", 200)
    assert entry.created_at.tzinfo is not None
    assert entry.created_at <= entry.updated_at


def test_accepted_hashes_holds_only_accepted_orders_of_that_destination(ledger: Ledger) -> None:
    accept(ledger, SHOP, "OKR-1", "h1")
    accept(ledger, OTHER_SHOP, "OKR-2", "h2")
    ledger.record_intent(SHOP, "OKR-3", payload_hash="h3", run_id="run-1")
    found = ledger.accepted_hashes(SHOP, ["OKR-1", "OKR-2", "OKR-3", "OKR-4"])
    assert found == {"OKR-1": "h1"}


def test_accepted_hashes_answers_for_many_orders(ledger: Ledger) -> None:
    ids = [f"OKR-{n}" for n in range(1200)]
    for order_id in ids[::3]:
        accept(ledger, SHOP, order_id, "h")
    assert set(ledger.accepted_hashes(SHOP, ids)) == set(ids[::3])


def test_an_accepted_order_is_never_reclaimed_for_sending(ledger: Ledger) -> None:
    accept(ledger, SHOP, "OKR-1", "h1")
    prior = ledger.record_intent(SHOP, "OKR-1", payload_hash="h2", run_id="run-2")
    assert prior is not None
    assert (prior.state, prior.payload_hash) == ("accepted", "h1")
    [entry] = ledger.get(SHOP, "OKR-1")
    assert (entry.state, entry.payload_hash, entry.run_id) == ("accepted", "h1", "run-1")


def test_a_new_intent_returns_what_the_ledger_held(ledger: Ledger) -> None:
    ledger.record_intent(SHOP, "OKR-1", payload_hash="h1", run_id="crashed-run")
    prior = ledger.record_intent(SHOP, "OKR-1", payload_hash="h1", run_id="run-2")
    assert prior is not None
    assert (prior.state, prior.run_id) == ("sending", "crashed-run")


def test_get_without_destination_lists_every_destination(ledger: Ledger) -> None:
    accept(ledger, SHOP, "OKR-1", "h1")
    accept(ledger, OTHER_SHOP, "OKR-1", "h1")
    assert {entry.destination for entry in ledger.get(None, "OKR-1")} == {SHOP.key, OTHER_SHOP.key}
    assert ledger.get(SHOP, "OKR-404") == []


def test_summary_counts_orders_per_destination_and_state(ledger: Ledger) -> None:
    accept(ledger, SHOP, "OKR-1", "h")
    accept(ledger, SHOP, "OKR-2", "h")
    ledger.record_intent(SHOP, "OKR-3", payload_hash="h", run_id="run-1")
    accept(ledger, OTHER_SHOP, "OKR-1", "h")
    assert ledger.summary() == [
        LedgerCount(SHOP.key, "accepted", 2),
        LedgerCount(SHOP.key, "sending", 1),
        LedgerCount(OTHER_SHOP.key, "accepted", 1),
    ]


def test_the_ledger_survives_reopening_and_uses_wal(ledger_path: Path) -> None:
    with Ledger.open(str(ledger_path)) as first:
        accept(first, SHOP, "OKR-1", "h1")
    with Ledger.open(f"sqlite:///{ledger_path}") as again:
        assert again.accepted_hashes(SHOP, ["OKR-1"]) == {"OKR-1": "h1"}
    with sqlite3.connect(ledger_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_two_handles_on_one_ledger_see_each_others_claims(ledger_path: Path) -> None:
    with Ledger.open(str(ledger_path)) as one, Ledger.open(str(ledger_path)) as two:
        accept(one, SHOP, "OKR-1", "h1")
        prior = two.record_intent(SHOP, "OKR-1", payload_hash="h1", run_id="run-2")
        assert prior is not None
        assert prior.state == "accepted"


def test_the_payload_hash_ignores_key_order_but_not_content() -> None:
    order = make_order("OKR-1")
    reordered = dict(reversed(list(order.items())))
    assert hash_payload(order) == hash_payload(reordered)
    assert hash_payload(order) != hash_payload({**order, "priority": 1})
    assert len(hash_payload(order)) == 64
