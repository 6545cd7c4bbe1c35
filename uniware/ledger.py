"""The exactly-once ledger: what was sent where, with which contents, and what Uniware answered.

One row per (destination key, order id). Right before a request goes out the order is CLAIMED
(state ``sending``, run id, owner ``host:pid``, a claim token, payload hash, a lease); after the
answer its OUTCOME (``accepted`` or ``failed``, the server's message verbatim, attempts, HTTP
status) is written by the claim's owner only (compare-and-set on the token), and the lease is
released. An order left in ``sending`` was sent (or about to be) without a definitive answer: a
crash, a timeout, a dropped connection.

Claims (see ``claim``): a live lease belongs to its owner, which renews it while its request is in
flight; no other run takes it, it waits for the outcome instead. A lease that ran out (its owner
stopped renewing) or whose owner process is gone (same host, pid no longer alive) is taken over.
A row exists only because some run of this tool claimed the order, and ``claims`` /
``first_claimed_at`` keep that history: the delivery rules tell "Uniware has it because we sent
it" from "someone else created it" with it.

Any SQLAlchemy URL works (``postgresql://...``); a plain path means SQLite in WAL mode with a busy
timeout and ``synchronous=NORMAL``: every commit is in the WAL file before the call returns, so a
SIGKILL at any instant leaves the last committed state (power loss may lose the last few commits;
the delivery rules treat a lost intent as an order never sent). SQLite write transactions start
with ``BEGIN IMMEDIATE`` and rows are read ``FOR UPDATE`` elsewhere, so two processes sharing a
ledger cannot both claim one order. Calls are synchronous and short (one small transaction each).
The security key is never stored: only the payload's hash, never the payload or headers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from uniware.config import Destination
from uniware.ledger_entries import (
    Claim,
    ClaimWanted,
    LedgerCount,
    LedgerEntry,
    LedgerState,
    Settled,
    row_key,
    to_entry,
)
from uniware.ledger_schema import ensure_schema
from uniware.ledger_table import CLAIM_ROW, INSERT_ROW, SETTLE_ROW, ledger_table, metadata
from uniware.ledger_writes import (
    LOOKUP_CHUNK,
    chunks,
    new_row,
    outcome_params,
    rows_for_update,
    settle_in,
)
from uniware.owners import OWNER_SPACE, this_owner

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_SYNCHRONOUS = "NORMAL"
LEASE_SECONDS = 60.0
CLAIM_ATTEMPTS = 10  # a batch of claims that meets another run's insert or a lock cycle
DEADLOCK_SQLSTATE = "40P01"  # PostgreSQL broke a lock cycle (a lease renewal met a claim)


class Ledger:
    """The ledger database; open with ``Ledger.open(url_or_path)``, close when done."""

    def __init__(self, *, engine: Engine, lease_seconds: float = LEASE_SECONDS) -> None:
        self._engine = engine
        self.lease_seconds = lease_seconds
        self.location = _location(engine)
        self._file = _file_id(engine)

    @classmethod
    def open(cls, url_or_path: str, *, lease_seconds: float = LEASE_SECONDS) -> Ledger:
        """Open (creating or upgrading if needed) the ledger at a SQLAlchemy URL or SQLite path."""
        if "://" in url_or_path:
            url = url_or_path
        else:
            path = Path(url_or_path).expanduser().resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        import uniware.lifecycle_ledger  # noqa: F401  (its tables join this metadata)

        ensure_schema(engine, metadata, _backfill)
        return cls(engine=engine, lease_seconds=lease_seconds)

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``, ..."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The database engine (uniware/lifecycle_ledger.py keeps its tables beside this one)."""
        return self._engine

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
            conn.execute(INSERT_ROW, asdict(probe))
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
        for chunk in chunks(list(dict.fromkeys(order_ids)), LOOKUP_CHUNK):
            query = sa.select(ledger_table.c.order_id, ledger_table.c.payload_hash).where(
                ledger_table.c.destination == destination.key,
                ledger_table.c.state == "accepted",
                ledger_table.c.order_id.in_(chunk),
            )
            with self._engine.begin() as conn:
                found.update({row.order_id: row.payload_hash for row in conn.execute(query)})
        return found

    def claim(
        self,
        destination: Destination,
        order_id: str,
        *,
        payload_hash: str,
        run_id: str,
        owner: str | None = None,
    ) -> Claim:
        """Claim the order for one request: ``granted`` unless accepted or held by a live lease.

        A granted claim commits ``sending`` with a fresh token and a lease of ``lease_seconds``
        (renew it with ``renew`` while the request is in flight; write the outcome with
        ``settle``). An expired lease, or one whose owner process is gone, is taken over.
        """
        return self._claim(destination, order_id, payload_hash, run_id, owner or this_owner())

    def _claim(
        self,
        destination: Destination,
        order_id: str,
        payload_hash: str,
        run_id: str,
        owner: str,
        *,
        lease: bool = True,
    ) -> Claim:
        """One claim transaction (``lease=False``: a leaseless intent, taken whatever holds it)."""
        wanted = ClaimWanted(destination, order_id, payload_hash, run_id, owner)
        return self.claim_many([wanted], lease=lease)[0]

    def claim_many(
        self, wanted: Sequence[ClaimWanted], *, lease: bool = True, conn: Connection | None = None
    ) -> list[Claim]:
        """Several claims in one transaction (one commit), each answered as ``claim`` would.

        Their rows are read and locked by one query, in (destination, order id) order, so two
        runs claiming overlapping batches wait for each other instead of deadlocking; the new
        rows are inserted by one statement. ``conn``: an open connection to use, outside any
        transaction (a run's writer keeps one), instead of one from the pool.
        """
        if conn is None:
            with self._engine.connect() as fresh:
                return self.claim_many(wanted, lease=lease, conn=fresh)
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            try:
                with conn.begin():
                    return self._claims_in(conn, wanted, lease)
            except sa.exc.DBAPIError as error:
                # another process inserted one of the orders meanwhile, or PostgreSQL chose this
                # transaction to give way in a lock cycle: nothing was kept, try again
                raced = isinstance(error, IntegrityError)
                if attempt == CLAIM_ATTEMPTS or not (
                    raced or getattr(error.orig, "sqlstate", None) == DEADLOCK_SQLSTATE
                ):
                    raise
        raise AssertionError("unreachable")

    def _claims_in(
        self, conn: Connection, wanted: Sequence[ClaimWanted], lease: bool
    ) -> list[Claim]:
        """The claims of ``claim_many`` inside its open transaction."""
        keys = [row_key(w) for w in wanted]
        if len(set(keys)) < len(keys):  # one order twice: each claim must see the one before
            turn = sorted(range(len(wanted)), key=keys.__getitem__)
            done = {k: self._claims_in(conn, [wanted[k]], lease)[0] for k in turn}
            return [done[k] for k in range(len(wanted))]
        found = rows_for_update(conn, keys)
        now = datetime.now(UTC)
        claims: list[Claim] = []
        fresh: list[dict[str, Any]] = []
        again: list[dict[str, Any]] = []
        for one, key in zip(wanted, keys, strict=True):
            prior = found.get(key)
            if prior is not None and prior.state == "accepted":
                claims.append(Claim("accepted", None, prior))
            elif lease and prior is not None and prior.lease_live(now):
                claims.append(Claim("busy", None, prior))
            else:
                claim = self._claim_params(one, lease, now)
                (fresh if prior is None else again).append(claim)
                claims.append(Claim("granted", claim["token"], prior))
        if fresh:
            conn.execute(INSERT_ROW, [new_row(claim) for claim in fresh])
        for claim in again:
            conn.execute(CLAIM_ROW, claim)
        return claims

    def _claim_params(self, wanted: ClaimWanted, lease: bool, now: datetime) -> dict[str, Any]:
        """The parameters of one granted claim, with a fresh token."""
        return {
            "key": wanted.destination.key,
            "oid": wanted.order_id,
            "new_hash": wanted.payload_hash,
            "new_run": wanted.run_id,
            "new_owner": wanted.owner,
            "space": OWNER_SPACE,
            "token": secrets.token_hex(16),
            "lease": now + timedelta(seconds=self.lease_seconds) if lease else None,
            "now": now,
        }

    def renew(self, tokens: Iterable[str]) -> int:
        """Extend the leases of these claims by ``lease_seconds``; how many were still held."""
        held = list(tokens)
        if not held:
            return 0
        now = datetime.now(UTC)
        query = (
            sa.update(ledger_table)
            .where(
                ledger_table.c.claim_token.in_(held),
                ledger_table.c.state == "sending",
                ledger_table.c.lease_until.is_not(None),
            )
            .values(lease_until=now + timedelta(seconds=self.lease_seconds), updated_at=now)
        )
        with self._engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    def settle(
        self,
        destination: Destination,
        order_id: str,
        *,
        token: str,
        state: LedgerState,
        message: str,
        attempts: int,
        http_status: int | None,
        payload_hash: str | None = None,
    ) -> bool:
        """Write the outcome if ``token`` still holds the claim, releasing the lease; False if not.

        ``attempts`` adds to the ones recorded; ``payload_hash``, when given, replaces the
        recorded one (the contents Uniware holds).
        """
        settled = Settled(
            destination, order_id, token, state, message, attempts, http_status, payload_hash
        )
        with self._engine.begin() as conn:
            return settle_in(conn, settled)

    def record_intent(
        self, destination: Destination, order_id: str, *, payload_hash: str, run_id: str
    ) -> LedgerEntry | None:
        """A leaseless claim (tools and tests): ``sending`` unless accepted; the prior entry.

        An ``accepted`` entry is left untouched (the caller must not send that order again).
        """
        claim = self._claim(destination, order_id, payload_hash, run_id, this_owner(), lease=False)
        return claim.prior

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
        """Commit what came of the order's requests whoever holds it (tools and tests).

        Runs use ``settle``, which writes only while their claim holds.
        """
        said = Settled(destination, order_id, "", state, message, attempts, http_status)
        outcome = outcome_params(said)
        with self._engine.begin() as conn:
            conn.execute(SETTLE_ROW, {**outcome, "kept": payload_hash})

    def get(self, destination: Destination | None, order_id: str) -> list[LedgerEntry]:
        """The entries of ``order_id`` at ``destination`` (or at every destination if None)."""
        query = sa.select(ledger_table).where(ledger_table.c.order_id == order_id)
        if destination is not None:
            query = query.where(ledger_table.c.destination == destination.key)
        with self._engine.begin() as conn:
            rows = conn.execute(query.order_by(ledger_table.c.destination)).all()
        return [to_entry(row) for row in rows]

    def pending(self) -> list[LedgerEntry]:
        """Every order left ``sending`` (in flight now, or in doubt after a crash), oldest first."""
        query = (
            sa.select(ledger_table)
            .where(ledger_table.c.state == "sending")
            .order_by(ledger_table.c.updated_at, ledger_table.c.order_id)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return [to_entry(row) for row in rows]

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


def _backfill(conn: Connection) -> None:
    """Rows of a ledger from before claim history: first claimed when created."""
    column = ledger_table.c.first_claimed_at
    conn.execute(
        sa.update(ledger_table)
        .where(column.is_(None))
        .values(first_claimed_at=ledger_table.c.created_at)
    )
