"""The exactly-once ledger: what was sent where, with which contents, and what Uniware answered.

One row per (destination key, order id). Before a request goes out its INTENT is committed
(state ``sending``, run id, payload hash); after the answer its OUTCOME (``accepted`` or
``failed``, the server's message verbatim, attempts, HTTP status). An order left in ``sending``
was sent (or about to be) without a definitive answer: a crash, a timeout, a dropped connection.

Any SQLAlchemy URL works (``postgresql://...``); a plain path means SQLite in WAL mode with a busy
timeout and ``synchronous=NORMAL``: every commit is in the WAL file before the call returns, so a
SIGKILL at any instant leaves the last committed state (power loss may lose the last few commits;
the delivery rules treat a lost intent as an order never sent). SQLite write transactions start
with ``BEGIN IMMEDIATE`` and rows are read ``FOR UPDATE`` elsewhere, so two processes sharing a
ledger cannot both claim one order. Calls are synchronous and short (one small transaction each).
The security key is never stored: only the payload's hash, never the payload or headers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from uniware.config import Destination

LedgerState = Literal["sending", "accepted", "failed"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_SYNCHRONOUS = "NORMAL"
LOOKUP_CHUNK = 500

metadata = sa.MetaData()
ledger_table = sa.Table(
    "uniload_ledger",
    metadata,
    sa.Column("destination", sa.String(512), primary_key=True),
    sa.Column("order_id", sa.String(255), primary_key=True),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_uniload_ledger_state", "destination", "state"),
)


_THIS_ROW = (
    ledger_table.c.destination == sa.bindparam("key"),
    ledger_table.c.order_id == sa.bindparam("oid"),
)
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
_SELECT_ROW = sa.select(ledger_table).where(*_THIS_ROW).with_for_update()
_INSERT_ROW = sa.insert(ledger_table)
_CLAIM_ROW = (
    sa.update(ledger_table)
    .where(*_THIS_ROW)
    .values(
        state="sending",
        payload_hash=sa.bindparam("new_hash"),
        run_id=sa.bindparam("new_run"),
        updated_at=_NOW,
    )
)
_SETTLE_ROW = (
    sa.update(ledger_table)
    .where(*_THIS_ROW)
    .values(
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


class Ledger:
    """The ledger database; open with ``Ledger.open(url_or_path)``, close when done."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self.location = _location(engine)
        self._file = _file_id(engine)

    @classmethod
    def open(cls, url_or_path: str) -> Ledger:
        """Open (creating if needed) the ledger at an SQLAlchemy URL or an SQLite file path."""
        if "://" in url_or_path:
            url = url_or_path
        else:
            path = Path(url_or_path).expanduser().resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        metadata.create_all(engine)
        return cls(engine=engine)

    def check(self) -> None:
        """Raise unless the ledger has the expected columns and takes a write (rolled back)."""
        found = {c["name"] for c in sa.inspect(self._engine).get_columns(ledger_table.name)}
        missing = sorted({c.name for c in ledger_table.columns} - found)
        if missing:
            raise sa.exc.InvalidRequestError(
                f"not a uniload ledger: no column {', '.join(missing)}"
            )
        with self._engine.connect() as conn, conn.begin() as transaction:
            now = datetime.now(UTC)
            probe = LedgerEntry("(probe)", "(probe)", "", "sending", "", 0, None, "probe", now, now)
            conn.execute(_INSERT_ROW, asdict(probe))
            transaction.rollback()
        self.check_in_place()

    def check_in_place(self) -> None:
        """Raise OSError when the SQLite file was deleted or replaced since it was opened."""
        if self._file is not None and _file_id(self._engine) != self._file:
            raise OSError(f"{self.location} was deleted or replaced during the run")

    def close(self) -> None:
        """Release every connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def accepted_hashes(self, destination: Destination, order_ids: Iterable[str]) -> dict[str, str]:
        """Payload hash of each of ``order_ids`` already accepted at ``destination``."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(order_ids)), LOOKUP_CHUNK):
            query = sa.select(ledger_table.c.order_id, ledger_table.c.payload_hash).where(
                ledger_table.c.destination == destination.key,
                ledger_table.c.state == "accepted",
                ledger_table.c.order_id.in_(chunk),
            )
            with self._engine.begin() as conn:
                found.update({row.order_id: row.payload_hash for row in conn.execute(query)})
        return found

    def record_intent(
        self, destination: Destination, order_id: str, *, payload_hash: str, run_id: str
    ) -> LedgerEntry | None:
        """Commit ``sending`` before the request goes out; return the entry as it was before.

        An ``accepted`` entry is left untouched (the caller must not send that order again).
        """
        row = {"key": destination.key, "oid": order_id}
        try:
            with self._engine.begin() as conn:
                found = conn.execute(_SELECT_ROW, row).first()
                if found is None:
                    conn.execute(_INSERT_ROW, _new_row(destination, order_id, payload_hash, run_id))
                elif found.state != "accepted":
                    claim = {"new_hash": payload_hash, "new_run": run_id, "now": datetime.now(UTC)}
                    conn.execute(_CLAIM_ROW, {**row, **claim})
        except IntegrityError:  # another process inserted the same order meanwhile
            return self.record_intent(
                destination, order_id, payload_hash=payload_hash, run_id=run_id
            )
        return None if found is None else _to_entry(found)

    def record_outcome(
        self,
        destination: Destination,
        order_id: str,
        *,
        state: LedgerState,
        message: str,
        attempts: int,
        http_status: int | None,
        payload_hash: str | None = None,
    ) -> None:
        """Commit what came of the order's requests; ``attempts`` adds to the ones recorded.

        ``payload_hash``, when given, replaces the recorded one (the contents Uniware holds).
        """
        outcome = {
            "key": destination.key,
            "oid": order_id,
            "new_state": state,
            "new_message": message,
            "new_status": http_status,
            "tries": attempts,
            "kept": payload_hash,
            "now": datetime.now(UTC),
        }
        with self._engine.begin() as conn:
            conn.execute(_SETTLE_ROW, outcome)

    def get(self, destination: Destination | None, order_id: str) -> list[LedgerEntry]:
        """The entries of ``order_id`` at ``destination`` (or at every destination if None)."""
        query = sa.select(ledger_table).where(ledger_table.c.order_id == order_id)
        if destination is not None:
            query = query.where(ledger_table.c.destination == destination.key)
        with self._engine.begin() as conn:
            rows = conn.execute(query.order_by(ledger_table.c.destination)).all()
        return [_to_entry(row) for row in rows]

    def summary(self) -> list[LedgerCount]:
        """Order counts per destination and state."""
        columns = (ledger_table.c.destination, ledger_table.c.state)
        query = sa.select(*columns, sa.func.count()).group_by(*columns).order_by(*columns)
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return [LedgerCount(row[0], cast(LedgerState, row[1]), int(row[2])) for row in rows]


def _location(engine: Engine) -> str:
    """Where the ledger lives: its file path, or its URL without a password."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def _file_id(engine: Engine) -> tuple[int, int] | None:
    """(device, inode) of an SQLite ledger file; None for other databases or a missing file."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    try:
        found = os.stat(engine.url.database)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, durable commits, and BEGIN IMMEDIATE for every transaction."""
    sa.event.listen(engine, "connect", _set_sqlite_pragmas)
    sa.event.listen(engine, "begin", _begin_immediate)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per new SQLite connection: SQLAlchemy emits BEGIN itself; WAL; busy timeout; synchronous."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock at the start of each transaction (no upgrade deadlocks)."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _new_row(
    destination: Destination, order_id: str, payload_hash: str, run_id: str
) -> dict[str, Any]:
    """All columns of a fresh ``sending`` row."""
    now = datetime.now(UTC)
    fresh = LedgerEntry(
        destination.key, order_id, payload_hash, "sending", "", 0, None, run_id, now, now
    )
    return asdict(fresh)


def _to_entry(row: Row[Any]) -> LedgerEntry:
    """A ledger row as data (SQLite hands back naive datetimes: they are UTC)."""
    data = dict(row._mapping)
    for name in ("created_at", "updated_at"):
        data[name] = _as_utc(data[name])
    return LedgerEntry(**data)


def _as_utc(moment: datetime) -> datetime:
    """``moment`` with its zone, UTC when the database dropped it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
