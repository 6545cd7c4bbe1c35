"""Ledger writes inside an open transaction: outcomes in batches, rows locked in key order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from uniware.ledger_entries import LedgerEntry, Settled, row_key, to_entry
from uniware.ledger_table import ENTRY_FIELDS, SELECT_ROWS, SETTLE_HELD

LOOKUP_CHUNK = 500


def settle_in(conn: Connection, settled: Settled) -> bool:
    """``Ledger.settle`` inside an open transaction: True if the claim still held."""
    return settle_many_in(conn, [settled])[0]


def settle_many_in(conn: Connection, settled: Sequence[Settled]) -> list[bool]:
    """Outcomes (in lock order) written by one statement while their claims hold; for each,
    whether its claim still held."""
    params = [{**outcome_params(s), "kept": s.payload_hash, "token": s.token} for s in settled]
    if conn.execute(SETTLE_HELD, params).rowcount == len(params):
        return [True] * len(params)
    # some claim was taken over: its row holds another run's token, which the update left alone
    found = rows_for_update(conn, [row_key(s) for s in settled])
    return [
        (entry := found.get(row_key(s))) is not None and entry.claim_token == s.token
        for s in settled
    ]


def rows_for_update(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], LedgerEntry]:
    """The rows of these (destination key, order id) pairs that exist, locked, in key order."""
    found: dict[tuple[str, str], LedgerEntry] = {}
    by_destination: dict[str, list[str]] = {}
    for destination, order_id in sorted(keys):
        by_destination.setdefault(destination, []).append(order_id)
    for destination, order_ids in by_destination.items():
        for chunk in chunks(order_ids, LOOKUP_CHUNK):
            rows = conn.execute(SELECT_ROWS, {"key": destination, "oids": list(chunk)})
            found.update(((row.destination, row.order_id), to_entry(row)) for row in rows)
    return found


def new_row(claim: Mapping[str, Any]) -> dict[str, Any]:
    """All columns of a fresh ``sending`` row for a claim's parameters."""
    now = claim["now"]
    fresh = LedgerEntry(
        claim["key"],
        claim["oid"],
        claim["new_hash"],
        "sending",
        "",
        0,
        None,
        claim["new_run"],
        now,
        now,
        owner=claim["new_owner"],
        owner_space=claim["space"],
        claim_token=claim["token"],
        lease_until=claim["lease"],
        claims=1,
        first_claimed_at=now,
    )
    return {name: getattr(fresh, name) for name in ENTRY_FIELDS}  # asdict deep-copies: slow


def outcome_params(settled: Settled) -> dict[str, Any]:
    """Parameters of ``SETTLE_ROW`` but ``kept`` (and of ``SETTLE_HELD`` but the token)."""
    return {
        "key": settled.destination.key,
        "oid": settled.order_id,
        "new_state": settled.state,
        "new_message": settled.message,
        "new_status": settled.http_status,
        "tries": settled.attempts,
        "now": datetime.now(UTC),
    }


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
