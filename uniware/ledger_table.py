"""The ledger's table and the statements a claim and an outcome run (uniware/ledger.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()


def keyed_table(name: str, *items: sa.schema.SchemaItem) -> sa.Table:
    """A ledger table in ``metadata``: keyed by destination first, then ``items`` in order."""
    key = sa.Column("destination", sa.String(512), primary_key=True)
    return sa.Table(name, metadata, key, *items)


def outcome_columns() -> list[sa.Column[Any]]:
    """New columns for what came of a request: state, message, attempts, HTTP status, run, times."""
    return [
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False, default=""),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


ledger_table = keyed_table(
    "uniload_ledger",
    sa.Column("order_id", sa.String(255), primary_key=True),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    *outcome_columns(),
    sa.Column("owner", sa.String(255), nullable=True),
    sa.Column("owner_space", sa.String(255), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claims", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("first_claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_uniload_ledger_state", "destination", "state"),
)


_THIS_ROW = (
    ledger_table.c.destination == sa.bindparam("key"),
    ledger_table.c.order_id == sa.bindparam("oid"),
)
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
SELECT_ROWS = (
    sa.select(ledger_table)
    .where(
        ledger_table.c.destination == sa.bindparam("key"),
        ledger_table.c.order_id.in_(sa.bindparam("oids", expanding=True)),
    )
    .order_by(ledger_table.c.order_id)
    .with_for_update()
)
INSERT_ROW = sa.insert(ledger_table)
_LEASE = sa.bindparam("lease", type_=sa.DateTime(timezone=True))
CLAIM_ROW = (
    sa.update(ledger_table)
    .where(*_THIS_ROW)
    .values(
        state="sending",
        payload_hash=sa.bindparam("new_hash"),
        run_id=sa.bindparam("new_run"),
        owner=sa.bindparam("new_owner"),
        owner_space=sa.bindparam("space"),
        claim_token=sa.bindparam("token"),
        lease_until=_LEASE,
        claims=ledger_table.c.claims + 1,
        first_claimed_at=sa.func.coalesce(ledger_table.c.first_claimed_at, _NOW),
        updated_at=_NOW,
    )
)
SETTLE_ROW = (
    sa.update(ledger_table)
    .where(*_THIS_ROW)
    .values(
        lease_until=None,
        state=sa.bindparam("new_state"),
        message=sa.bindparam("new_message"),
        http_status=sa.bindparam("new_status", type_=sa.Integer),
        attempts=ledger_table.c.attempts + sa.bindparam("tries", type_=sa.Integer),
        payload_hash=sa.func.coalesce(
            sa.bindparam("kept", type_=sa.String), ledger_table.c.payload_hash
        ),
        updated_at=_NOW,
    )
)
ENTRY_FIELDS = tuple(column.name for column in ledger_table.columns)
SETTLE_HELD = SETTLE_ROW.where(ledger_table.c.claim_token == sa.bindparam("token"))
