"""The ledger's rows as data: an entry, a claim wanted and its answer, an outcome to write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Row

from uniware.config import Destination
from uniware.owners import owner_gone

LedgerState = Literal["sending", "accepted", "failed"]
ClaimStatus = Literal["granted", "accepted", "busy"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One order at one destination, as the ledger knows it."""

    destination: str
    order_id: str
    payload_hash: str
    state: LedgerState
    message: str
    attempts: int
    http_status: int | None
    run_id: str
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    owner_space: str | None = None
    claim_token: str | None = None
    lease_until: datetime | None = None
    claims: int = 1
    first_claimed_at: datetime | None = None

    def lease_live(self, now: datetime) -> bool:
        """True while a run holds this order: lease not run out, owner not known to be gone."""
        if self.state != "sending" or self.lease_until is None or self.lease_until <= now:
            return False
        return not owner_gone(self.owner, self.owner_space)


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to a claim: ``granted`` (with its token), or why not and who holds the order.

    ``prior`` is the entry as it was before (None: no run of this tool ever claimed the order
    at this destination); for ``accepted`` and ``busy`` it is the entry as it is.
    """

    status: ClaimStatus
    token: str | None
    prior: LedgerEntry | None


@dataclass(frozen=True, slots=True)
class ClaimWanted:
    """One claim to make (see ``Ledger.claim``)."""

    destination: Destination
    order_id: str
    payload_hash: str
    run_id: str
    owner: str


@dataclass(frozen=True, slots=True)
class Settled:
    """One outcome to write while ``token`` holds the claim (see ``Ledger.settle``)."""

    destination: Destination
    order_id: str
    token: str
    state: LedgerState
    message: str
    attempts: int
    http_status: int | None
    payload_hash: str | None = None


def row_key(order: ClaimWanted | Settled) -> tuple[str, str]:
    """The order in which a transaction locks ledger rows: (destination key, order id)."""
    return (order.destination.key, order.order_id)


@dataclass(frozen=True, slots=True)
class LedgerCount:
    """How many orders one destination holds in one state."""

    destination: str
    state: LedgerState
    orders: int


def hash_payload(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_entry(row: Row[Any]) -> LedgerEntry:
    """A ledger row as data (SQLite hands back naive datetimes: they are UTC)."""
    data = dict(row._mapping)
    for name in ("created_at", "updated_at", "lease_until", "first_claimed_at"):
        if data[name] is not None:
            data[name] = _as_utc(data[name])
    return LedgerEntry(**data)


def _as_utc(moment: datetime) -> datetime:
    """``moment`` with its zone, UTC when the database dropped it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
