"""Ledger files as earlier versions of uniload left them (schema version 1: orders only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

V1_SCHEMA = """
CREATE TABLE uniload_ledger (
    destination VARCHAR(512) NOT NULL, order_id VARCHAR(255) NOT NULL,
    payload_hash VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, message TEXT NOT NULL,
    attempts INTEGER NOT NULL, http_status INTEGER, run_id VARCHAR(255) NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
    PRIMARY KEY (destination, order_id)
);
CREATE INDEX ix_uniload_ledger_state ON uniload_ledger (destination, state);
"""


def write_v1_ledger(path: Path, accepted: dict[str, tuple[str, str]]) -> None:
    """A version-1 ledger file holding `accepted` orders: {order id: (destination key, hash)}."""
    with sqlite3.connect(path) as old:
        old.executescript(V1_SCHEMA)
        for order_id, (destination, payload_hash) in accepted.items():
            old.execute(
                "INSERT INTO uniload_ledger VALUES (?, ?, ?, 'accepted', 'Order created', 1, 200,"
                " 'old-run', '2026-01-02 03:04:05.000000', '2026-01-02 03:04:06.000000')",
                (destination, order_id, payload_hash),
            )
    old.close()
