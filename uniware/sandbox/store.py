"""The sandbox's memory in SQLite: accepted orders, their item states, a log of every request."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from uniware.sandbox import items

Outcome = Literal[
    "accepted",
    "accepted_answer_dropped",
    "auth_failure",
    "hang",
    "dropped",
    "throttled",
    "server_error",
    "bad_json",
    "invalid",
    "duplicate",
    "invalid_facility",
    "not_found",
    "cancelled",
    "returned",
    "refused",
]
RequestKind = Literal["order", "cancel", "return"]
DROPPED_STATUS: Final = 0
IN_MEMORY: Final = ":memory:"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    t REAL NOT NULL,
    order_id TEXT,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_order ON requests (order_id);
"""


@dataclass(frozen=True)
class RequestRecord:
    """One order request as the sandbox saw it (status 0 = no answer was sent)."""

    t: float
    order_id: str | None
    status: int
    outcome: Outcome
    kind: RequestKind = "order"


@dataclass(frozen=True)
class AcceptedOrder:
    """An order the sandbox created, how many requests arrived for its id, its item states."""

    id: str
    payload: dict[str, Any]
    requests: int
    items: list[dict[str, Any]] = field(default_factory=list)
    returns: list[dict[str, Any]] = field(default_factory=list)


class SandboxStore:
    """Thread-safe SQLite store; one connection guarded by a lock."""

    def __init__(self, db_path: str | Path = IN_MEMORY) -> None:
        if str(db_path) != IN_MEMORY:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA + items.SCHEMA)
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(requests)")]
        if "kind" not in columns:  # a sandbox file from before cancellations and returns
            self._db.execute("ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'order'")

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._db.close()

    def reset(self) -> None:
        """Forget every order and request."""
        with self._lock:
            self._db.executescript(
                "DELETE FROM orders; DELETE FROM requests; DELETE FROM items; DELETE FROM returns;"
            )

    def has_order(self, order_id: str) -> bool:
        """Whether an order with this id was already created."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM orders WHERE id = ?", (order_id,)).fetchone()
        return row is not None

    def accept(self, order_id: str, payload: str, t: float) -> bool:
        """Store a new order; False (nothing stored) when the id already exists."""
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO orders (id, payload, accepted_at) VALUES (?, ?, ?)",
                (order_id, payload, t),
            )
            if cursor.rowcount == 1:
                items.record_items(self._db, order_id, payload)
        return cursor.rowcount == 1

    def cancel(self, order_id: str, units: list[items.Unit]) -> str:
        """Cancel ``(productId/variantId, units)`` of an order: "" when done, else why not."""
        with self._lock, self._transaction():
            return items.cancel(self._db, order_id, units)

    def add_return(self, order_id: str, return_id: str, kind: str, units: list[items.Unit]) -> str:
        """Record a return of ``(productId, units)`` (all open units if none): "" or why not."""
        with self._lock, self._transaction():
            return items.add_return(self._db, order_id, return_id, kind, units)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (the connection is in autocommit mode otherwise)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def log_request(self, record: RequestRecord) -> None:
        """Append one request to the log."""
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (t, order_id, status, outcome, kind) VALUES (?, ?, ?, ?, ?)",
                (record.t, record.order_id, record.status, record.outcome, record.kind),
            )

    def accepted_ids(self) -> list[str]:
        """Ids of created orders, in acceptance order."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM orders ORDER BY seq").fetchall()
        return [row[0] for row in rows]

    def order(self, order_id: str) -> AcceptedOrder | None:
        """A created order and its request count, or None."""
        with self._lock:
            row = self._db.execute("SELECT payload FROM orders WHERE id = ?", (order_id,))
            found = row.fetchone()
            count = self._db.execute(
                "SELECT COUNT(*) FROM requests WHERE order_id = ? AND kind = 'order'", (order_id,)
            ).fetchone()[0]
            states = items.item_states(self._db, order_id)
            returns = items.returns_of(self._db, order_id)
        if found is None:
            return None
        return AcceptedOrder(order_id, json.loads(found[0]), count, states, returns)

    def requests(self, order_id: str | None = None, kind: str | None = None) -> list[RequestRecord]:
        """The request log, oldest first (only ``order_id``'s / ``kind``'s requests when given)."""
        query = "SELECT t, order_id, status, outcome, kind FROM requests WHERE 1 = 1"
        params: tuple[str, ...] = ()
        if order_id is not None:
            query, params = query + " AND order_id = ?", (order_id,)
        if kind is not None:
            query, params = query + " AND kind = ?", (*params, kind)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", params).fetchall()
        return [RequestRecord(*row) for row in rows]

    def stats(self) -> dict[str, Any]:
        """Counts, plus the ids that reached the sandbox again after being created."""
        with self._lock:
            accepted = self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            requests = self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
            by_kind = dict(self._db.execute("SELECT kind, COUNT(*) FROM requests GROUP BY kind"))
            duplicates = self._ids_with("duplicate")
            lost = self._ids_with("accepted_answer_dropped")
        return {
            "accepted": accepted,
            "requests": requests,
            "requests_by_kind": by_kind,
            "duplicate_ids_received": duplicates,
            "answer_lost_ids": lost,
        }

    def _ids_with(self, outcome: Outcome) -> list[str]:
        rows = self._db.execute(
            "SELECT order_id FROM requests WHERE outcome = ? GROUP BY order_id ORDER BY MIN(seq)",
            (outcome,),
        ).fetchall()
        return [row[0] for row in rows]
