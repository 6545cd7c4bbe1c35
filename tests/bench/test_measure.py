"""The bench's measures run against today's code (a renamed function fails here, not in a
bench run): each on a small input, checked for what it reports, never for how fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import measure
from bench.exports import write_oker_export
from bench.measure import (
    measure_dry_run,
    measure_posting,
    measure_read,
    measure_read_and_dry_run,
)


def test_the_dry_run_and_read_measures_run_on_a_small_export(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=400)
    dry = measure_dry_run(export)
    assert dry["orders"] == facts.orders - facts.skipped_orders
    assert {"read", "validate", "payloads"} <= set(dry["stages"])
    assert measure_read(export)["seconds"] > 0


def test_the_read_and_the_dry_run_are_each_the_best_of_their_rounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seconds = iter([0.5, 2.0, 0.3, 2.6, 0.7, 1.9])  # read, dry, read, dry, read, dry
    monkeypatch.setattr(measure, "measure_read", lambda path: {"seconds": next(seconds)})
    rss = iter([300, 320, 310])
    monkeypatch.setattr(
        measure,
        "measure_dry_run",
        lambda path: {"seconds": next(seconds), "peak_rss_mb": next(rss), "stages": {}},
    )
    read, dry = measure_read_and_dry_run(tmp_path / "orders.csv", rounds=3)
    assert read == {"seconds": 0.3}
    assert dry == {"seconds": 1.9, "peak_rss_mb": 320, "stages": {}}


def test_the_posting_measure_posts_through_the_runs_own_client(tmp_path: Path) -> None:
    posted = measure_posting(tmp_path, orders=20, latency_ms=10, concurrency=4)
    assert posted["bound"] == 400.0
    assert posted["orders_per_second"] > 0
    assert posted["floor_orders_per_second"] > 0  # the bare client's 20 orders were all created


def test_the_posting_parts_measure_each_part_and_the_free_ledger_writes_nothing(
    tmp_path: Path,
) -> None:
    import asyncio

    from bench.posting_parts import free_ledger, posting_parts
    from uniware.config import Destination
    from uniware.ledger import Ledger
    from uniware.ledger_entries import ClaimWanted
    from uniware.ledger_writer import LedgerWriter

    shares = posting_parts(tmp_path, concurrency=4, orders=12, rounds=1)
    assert set(shares) == {"full", "free_ledger", "floor"}
    assert all(len(got) == 1 and got[0] > 0 for got in shares.values())

    real_claim = LedgerWriter.claim
    with Ledger.open(str(tmp_path / "free.db")) as ledger:
        wanted = ClaimWanted(Destination("http://u.example", "seller"), "O-1", "hash", "run", "me")
        with free_ledger():
            claim = asyncio.run(LedgerWriter(ledger).claim(wanted))
        assert claim.status == "granted"
        assert ledger.summary() == []  # nothing was written
    assert LedgerWriter.claim is real_claim  # put back
