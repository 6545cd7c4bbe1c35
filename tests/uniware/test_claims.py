"""Claims with an owner and a lease, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TypedDict

import pytest
from sqlalchemy.exc import IntegrityError

from tests.old_ledgers import write_v1_ledger
from uniware.config import Destination
from uniware.ledger import Ledger
from uniware.ledger_entries import ClaimWanted, Settled
from uniware.ledger_schema import SCHEMA_VERSION, schema_version
from uniware.ledger_writes import settle_many_in

SHOP = Destination(base_url="http://127.0.0.1:8765", merchant_id="demo-seller")
REPO_ROOT = Path(__file__).resolve().parents[2]
OPENERS = 3
ROUNDS = 5


class Outcome(TypedDict):
    """The outcome keywords of `Ledger.settle`."""

    message: str
    attempts: int
    http_status: int | None


OUTCOME: Outcome = {"message": "Order created", "attempts": 1, "http_status": 200}


def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_lease_is_never_claimed_by_another_run(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as one, Ledger.open(ledger_url) as two:
        first = one.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-A", owner="a:1")
        second = two.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-B", owner="b:2")
    assert (first.status, first.prior) == ("granted", None)
    assert second.status == "busy"
    assert second.token is None
    assert second.prior is not None
    assert (second.prior.run_id, second.prior.owner) == ("run-A", "a:1")


def test_only_the_current_owner_writes_the_outcome(ledger_url: str) -> None:
    with Ledger.open(ledger_url, lease_seconds=0.2) as ledger:
        first = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-A", owner="a:1")
        time.sleep(0.3)  # run-A stopped renewing: its lease runs out
        second = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-B", owner="b:2")
        assert second.status == "granted"
        assert second.prior is not None
        assert second.prior.run_id == "run-A"
        outcome: Outcome = {"message": "Order created", "attempts": 1, "http_status": 200}
        assert first.token is not None
        assert second.token is not None
        late = ledger.settle(SHOP, "OKR-1", token=first.token, state="failed", **outcome)
        current = ledger.settle(SHOP, "OKR-1", token=second.token, state="accepted", **outcome)
        [entry] = ledger.get(SHOP, "OKR-1")
    assert (late, current) == (False, True)
    assert (entry.state, entry.run_id, entry.claims, entry.lease_until) == (
        "accepted",
        "run-B",
        2,
        None,
    )
    assert entry.first_claimed_at is not None
    assert entry.first_claimed_at <= entry.updated_at


def test_a_batch_of_claims_and_outcomes_answers_each_order_as_one_at_a_time_would(
    ledger_url: str,
) -> None:
    def wanted(order_id: str, run: str) -> ClaimWanted:
        return ClaimWanted(SHOP, order_id, "h1", run, f"{run}:1")

    with Ledger.open(ledger_url, lease_seconds=0.2) as ledger:
        accepted = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-0", owner="z:1")
        assert accepted.token is not None
        ledger.settle(SHOP, "OKR-1", token=accepted.token, state="accepted", **OUTCOME)
        [lapsing] = ledger.claim_many([wanted("OKR-3", "run-A")])
        time.sleep(0.3)  # run-A stopped renewing OKR-3
        held = ledger.claim(SHOP, "OKR-4", payload_hash="h1", run_id="run-C", owner="c:3")
        ids = ["OKR-5", "OKR-1", "OKR-3", "OKR-4", "OKR-2"]  # new, accepted, lapsed, held, new
        batch = ledger.claim_many([wanted(order_id, "run-B") for order_id in ids])
        assert [c.status for c in batch] == ["granted", "accepted", "granted", "busy", "granted"]
        assert [c.prior and c.prior.run_id for c in batch] == [
            None,
            "run-0",
            "run-A",
            "run-C",
            None,
        ]
        assert len({c.token for c in batch if c.token}) == 3
        assert lapsing.token is not None and held.token is not None
        settles = [  # in lock order, OKR-3 twice: run-A's late outcome and run-B's
            Settled(SHOP, order_id, token, "accepted", "Order created", 1, 200)
            for order_id, token in [
                ("OKR-2", batch[4].token),
                ("OKR-3", lapsing.token),
                ("OKR-3", batch[2].token),
                ("OKR-5", batch[0].token),
            ]
            if token is not None
        ]
        with ledger.engine.begin() as conn:
            kept = settle_many_in(conn, settles)
        entries = {o: ledger.get(SHOP, o)[0] for o in ids}
    assert kept == [True, False, True, True]  # run-A's claim was taken over: not written
    assert {o: (e.state, e.run_id) for o, e in entries.items()} == {
        "OKR-1": ("accepted", "run-0"),
        "OKR-2": ("accepted", "run-B"),
        "OKR-3": ("accepted", "run-B"),
        "OKR-4": ("sending", "run-C"),
        "OKR-5": ("accepted", "run-B"),
    }
    assert entries["OKR-3"].claims == 2


def test_one_order_twice_in_a_batch_is_granted_once(ledger_url: str) -> None:
    twice = [ClaimWanted(SHOP, "OKR-1", "h1", f"run-{n}", f"{n}:1") for n in "AB"]
    with Ledger.open(ledger_url) as ledger:
        first, second = ledger.claim_many(twice)
    assert (first.status, first.prior) == ("granted", None)
    assert second.status == "busy"  # it saw the first claim's live lease
    assert second.prior is not None and second.prior.claim_token == first.token


def test_a_claim_the_database_always_refuses_is_raised_not_retried_forever(
    ledger_url: str,
) -> None:
    refused = ClaimWanted(SHOP, "OKR-1", "h1", None, "a:1")  # type: ignore[arg-type]  # a claim the table refuses, on purpose
    with Ledger.open(ledger_url) as ledger, pytest.raises(IntegrityError):
        ledger.claim_many([refused])  # run_id is NOT NULL: no race, no retry makes it fit


def test_renewing_keeps_a_lease_alive(ledger_url: str) -> None:
    with Ledger.open(ledger_url, lease_seconds=0.5) as ledger:
        first = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-A", owner="a:1")
        assert first.token is not None
        for _ in range(4):
            time.sleep(0.2)
            assert ledger.renew([first.token]) == 1
        again = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-B", owner="b:2")
    assert again.status == "busy"


def test_a_lease_whose_owner_process_died_is_taken_over_at_once(ledger_url: str) -> None:
    gone = f"{socket.gethostname()}:{dead_pid()}"
    with Ledger.open(ledger_url) as ledger:
        ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="killed", owner=gone)
        [pending] = ledger.pending()
        assert (pending.owner, pending.state) == (gone, "sending")
        taken = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-2")
    assert taken.status == "granted"
    assert taken.prior is not None
    assert taken.prior.run_id == "killed"


def test_an_accepted_order_is_never_claimed(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        first = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-A")
        assert first.token is not None
        outcome: Outcome = {"message": "ok", "attempts": 1, "http_status": 200}
        ledger.settle(SHOP, "OKR-1", token=first.token, state="accepted", **outcome)
        again = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="run-B")
    assert again.status == "accepted"
    assert ledger_url  # the same on both databases


def open_fresh(url: str) -> list[subprocess.Popen[bytes]]:
    """OPENERS processes that open ``url`` at the same instant (they wait on a start time)."""
    start = time.time() + 1.5
    code = (
        "import sys, time; from uniware.ledger import Ledger\n"
        f"time.sleep(max(0, {start} - time.time()))\n"
        "Ledger.open(sys.argv[1]).close()\n"
    )
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    return [
        subprocess.Popen(
            [sys.executable, "-c", code, url], env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE
        )
        for _ in range(OPENERS)
    ]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_simultaneous_first_opens_of_a_fresh_ledger_all_succeed(
    ledger_url: str, round_: int
) -> None:
    openers = open_fresh(ledger_url)
    errors = [p.communicate(timeout=60)[1].decode() for p in openers]
    assert [p.returncode for p in openers] == [0] * OPENERS, errors
    with Ledger.open(ledger_url) as ledger:
        assert ledger.summary() == []
        assert schema_version(ledger._engine) == SCHEMA_VERSION


def test_a_ledger_file_from_before_claims_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    write_v1_ledger(path, {"OKR-1": (SHOP.key, "h1")})
    with Ledger.open(str(path)) as ledger:
        [entry] = ledger.get(SHOP, "OKR-1")
        claim = ledger.claim(SHOP, "OKR-1", payload_hash="h1", run_id="new-run")
        assert schema_version(ledger._engine) == SCHEMA_VERSION
    assert (entry.state, entry.message, entry.run_id, entry.claims) == (
        "accepted",
        "Order created",
        "old-run",
        1,
    )
    assert entry.first_claimed_at == entry.created_at
    assert claim.status == "accepted"


def test_a_ledger_from_a_newer_uniload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(str(path)).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE uniload_schema SET version = 99")
    with pytest.raises(RuntimeError, match="schema version 99"):
        Ledger.open(str(path))
