"""How `uniload ledger` shows ledger entries to a person: pending orders with their lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from uniware.ledger import LedgerEntry
from uniware.owners import owner_gone


def pending_line(entry: LedgerEntry, now: datetime | None = None) -> dict[str, Any]:
    """One pending order: where, which run and process hold it, and how alive that claim is."""
    now = now or datetime.now(UTC)
    return {
        "destination": entry.destination,
        "order_id": entry.order_id,
        "run_id": entry.run_id,
        "owner": entry.owner,
        "lease": lease_state(entry, now),
        "lease_age_seconds": round((now - entry.updated_at).total_seconds(), 1),
        "claims": entry.claims,
        "attempts": entry.attempts,
        "message": entry.message,
    }


def lease_state(entry: LedgerEntry, now: datetime) -> str:
    """``in flight`` (a live lease), or why the next run may take the order over."""
    if entry.lease_until is None:
        return "released: in doubt, the next run resolves it"
    if owner_gone(entry.owner, entry.owner_space):
        return "owner process gone: the next run resolves it"
    if entry.lease_until <= now:
        return "lease expired: the next run resolves it"
    left = (entry.lease_until - now).total_seconds()
    return f"in flight (lease renewed, {left:.0f} s left)"
