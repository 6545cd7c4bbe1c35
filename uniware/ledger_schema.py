"""Create or upgrade the ledger's tables once, under a lock, whatever number of runs open it.

Every open runs one short transaction holding a lock: PostgreSQL's transaction-level advisory
lock (``pg_advisory_xact_lock``), SQLite's write lock (``BEGIN IMMEDIATE``). Inside it the
schema version is read from ``uniload_schema``; an older or missing schema is brought up to
date: missing tables are created, missing columns of existing tables are added (a ledger file
written by an earlier uniload keeps every row), then the version is written. Three runs opening
a fresh database at once thus create it once: the other two wait for the lock and find it done.
A ledger written by a newer uniload is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from uniware.exceptions import LedgerTooNew, NotALedger

SCHEMA_VERSION: Final = 3  # 1: ledger alone; 2: claims, leases, history; 3: items, changes
SCHEMA_NAME: Final = "ledger"
ADVISORY_LOCK_KEY: Final = 0x756E696C6F6164  # "uniload"

version_table = sa.Table(
    "uniload_schema",
    sa.MetaData(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


# The columns of version 1 (the ledger table alone): what an upgrade may start from.
V1_COLUMNS: Final = frozenset(
    {
        "destination", "order_id", "payload_hash", "state", "message", "attempts",
        "http_status", "run_id", "created_at", "updated_at",
    }
)  # fmt: skip


def ensure_schema(
    engine: Engine, metadata: sa.MetaData, backfill: Callable[[Connection], None] | None = None
) -> int:
    """Bring the tables to ``SCHEMA_VERSION`` (once, under a lock); the version found.

    ``backfill`` fills new columns of old rows, in the same transaction, after an upgrade.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        found = _version(conn)
        if found is not None and found > SCHEMA_VERSION:
            raise LedgerTooNew(
                f"this ledger has schema version {found}, newer than this uniload knows "
                f"({SCHEMA_VERSION}): upgrade uniload on this machine before using it"
            )
        if found is None:
            _check_known(conn, metadata)
        if found != SCHEMA_VERSION:
            version_table.create(conn, checkfirst=True)
            metadata.create_all(conn, checkfirst=True)
            for table in metadata.sorted_tables:
                _add_missing_columns(conn, table)
            if backfill is not None:
                backfill(conn)
            _write_version(conn, found)
    return SCHEMA_VERSION if found is None else found


def schema_version(engine: Engine) -> int | None:
    """The version recorded in the database, None when it has no uniload schema."""
    with engine.connect() as conn:
        return _version(conn)


def _version(conn: Connection) -> int | None:
    """The recorded version (None: no version table, or no row for the ledger)."""
    if not sa.inspect(conn).has_table(version_table.name):
        return None
    query = sa.select(version_table.c.version).where(version_table.c.name == SCHEMA_NAME)
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


def _write_version(conn: Connection, found: int | None) -> None:
    """Record ``SCHEMA_VERSION`` (insert the first time, update after an upgrade)."""
    if found is None:
        conn.execute(sa.insert(version_table).values(name=SCHEMA_NAME, version=SCHEMA_VERSION))
    else:
        where = version_table.c.name == SCHEMA_NAME
        conn.execute(sa.update(version_table).where(where).values(version=SCHEMA_VERSION))


def _check_known(conn: Connection, metadata: sa.MetaData) -> None:
    """An unversioned ledger table must be uniload's version 1, never anybody's table."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        if table.name == "uniload_ledger" and inspector.has_table(table.name):
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = sorted(V1_COLUMNS - present)
            if missing:
                raise NotALedger(
                    f"not a uniload ledger: its table {table.name} has no column "
                    f"{', '.join(missing)}; point --ledger (or UNILOAD_LEDGER) at the runs' ledger"
                )


def _add_missing_columns(conn: Connection, table: sa.Table) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for each column the database's table lacks."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
    preparer = conn.dialect.identifier_preparer
    for column in table.columns:
        if column.name in present:
            continue
        kind = column.type.compile(dialect=conn.dialect)
        name = preparer.quote(column.name)
        ddl = f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {name} {kind}"
        if column.server_default is not None:
            default = column.server_default.arg  # type: ignore[attr-defined]  # DefaultClause.arg is untyped
            ddl += f" DEFAULT {default.text if hasattr(default, 'text') else default}"
            ddl += "" if column.nullable else " NOT NULL"
        conn.execute(sa.text(ddl))
