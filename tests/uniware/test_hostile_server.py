"""Against a misbehaving server: every request ends in time, every odd answer counts as unknown."""

from __future__ import annotations

import time

import pytest

from tests.uniware.deliveries import deliver, destination, order
from tests.uniware.hostile_server import (
    CREATED,
    CUT_JSON,
    DUPLICATE,
    PROXY_PAGE,
    cut_off,
    drip,
    hostile_server,
    uniware,
)
from uniware import settings
from uniware.exceptions import UniwareUnreachable
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy

QUICK = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_timeout=30.0)


@pytest.mark.parametrize(
    "unreadable", [PROXY_PAGE, CUT_JSON, cut_off], ids=["html", "cut-json", "cut-off"]
)
def test_an_unreadable_answer_is_unknown_so_a_later_duplicate_is_ours(
    ledger: Ledger, unreadable: object
) -> None:
    with hostile_server(unreadable, DUPLICATE) as server:  # type: ignore[arg-type]  # an answer or a callable that cuts it
        [delivery] = deliver(server.base_url, [order(1)], ledger, retry=QUICK)
    assert delivery.outcome == "accepted", delivery
    assert "answer was lost" in delivery.message
    [entry] = ledger.get(destination(server.base_url), "ORD-1")
    assert entry.state == "accepted"
    assert len(server.requests) == 2


def test_unreadable_answers_to_the_end_stop_the_run_and_stay_in_doubt(ledger: Ledger) -> None:
    with hostile_server(PROXY_PAGE) as server, pytest.raises(UniwareUnreachable) as stopped:
        deliver(server.base_url, [order(1), order(2)], ledger, retry=QUICK, concurrency=1)
    assert "unreadable answer" in str(stopped.value)
    [entry] = ledger.get(destination(server.base_url), "ORD-1")
    assert entry.state == "sending"  # a rerun settles it: a DUPLICATE then counts as ours


def test_a_slow_drip_is_cut_by_the_request_deadline(ledger: Ledger) -> None:
    started = time.monotonic()
    with hostile_server(drip) as server, pytest.raises(UniwareUnreachable) as stopped:
        deliver(server.base_url, [order(1)], ledger, retry=QUICK, timeout=1.0)
    elapsed = time.monotonic() - started
    assert "RequestDeadline" in str(stopped.value)
    assert len(server.requests) == 3
    assert elapsed < 3 * 2.0 + 2.0, elapsed  # three tries of at most 2 x 1 s each, and margin


def test_a_slow_drip_cannot_outlast_the_retry_budget(ledger: Ledger) -> None:
    budget = RetryPolicy(attempts=10, base_delay=0.01, max_delay=0.05, total_timeout=1.5)
    started = time.monotonic()
    with hostile_server(drip) as server, pytest.raises(UniwareUnreachable) as stopped:
        deliver(server.base_url, [order(1)], ledger, retry=budget, timeout=60.0)
    elapsed = time.monotonic() - started
    assert "BudgetSpent" in str(stopped.value)
    assert elapsed < 1.5 + 2.0, elapsed


def test_an_oversized_answer_is_not_read_and_is_unknown(ledger: Ledger) -> None:
    huge = uniware("failure", "x" * (10 << 20))
    with hostile_server(huge, DUPLICATE) as server:
        [delivery] = deliver(server.base_url, [order(1)], ledger, retry=QUICK)
    assert delivery.outcome == "accepted", delivery.message[:300]
    assert len(server.requests) == 2


def test_a_long_message_is_stored_and_reported_cut_with_a_note(ledger: Ledger) -> None:
    long = "INVALID_ITEM_SKU_CODE: " + "y" * 500_000
    with hostile_server(uniware("failure", long)) as server:
        [delivery] = deliver(server.base_url, [order(1)], ledger, retry=QUICK)
    assert delivery.outcome == "failed"
    cut = len(long) - settings.MAX_MESSAGE_CHARS
    assert delivery.message.endswith(f"… [cut: {cut:,} chars]")
    assert len(delivery.message) < settings.MAX_MESSAGE_CHARS + 50
    [entry] = ledger.get(destination(server.base_url), "ORD-1")
    assert entry.message == delivery.message


def test_a_well_behaved_answer_still_works(ledger: Ledger) -> None:
    with hostile_server(CREATED) as server:
        [delivery] = deliver(server.base_url, [order(1)], ledger, retry=QUICK)
    assert delivery.outcome == "accepted"
