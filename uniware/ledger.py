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

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from uniware.config import Destination
from uniware.ledger_schema import ensure_schema
from uniware.owners import OWNER_SPACE, owner_gone, this_owner

LedgerState = Literal["sending", "accepted", "failed"]
ClaimStatus = Literal["granted", "accepted", "busy"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_SYNCHRONOUS = "NORMAL"
LOOKUP_CHUNK = 500
LEASE_SECONDS = 60.0
CLAIM_ATTEMPTS = 10  # a batch of claims that meets another run's insert or a lock cycle
DEADLOCK_SQLSTATE = "40P01"  # PostgreSQL broke a lock cycle (a lease renewal met a claim)

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
_SELECT_ROWS = (
    sa.select(ledger_table)
    .where(
        ledger_table.c.destination == sa.bindparam("key"),
        ledger_table.c.order_id.in_(sa.bindparam("oids", expanding=True)),
    )
    .order_by(ledger_table.c.order_id)
    .with_for_update()
)
_INSERT_ROW = sa.insert(ledger_table)
_LEASE = sa.bindparam("lease", type_=sa.DateTime(timezone=True))
_CLAIM_ROW = (
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
_SETTLE_ROW = (
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
_ENTRY_FIELDS = tuple(column.name for column in ledger_table.columns)
_SETTLE_HELD = _SETTLE_ROW.where(ledger_table.c.claim_token == sa.bindparam("token"))


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


def settle_in(conn: Connection, settled: Settled) -> bool:
    """``Ledger.settle`` inside an open transaction: True if the claim still held."""
    return settle_many_in(conn, [settled])[0]


def settle_many_in(conn: Connection, settled: Sequence[Settled]) -> list[bool]:
    """Outcomes (in lock order) written by one statement while their claims hold; for each,
    whether its claim still held."""
    params = [{**_outcome(s), "kept": s.payload_hash, "token": s.token} for s in settled]
    if conn.execute(_SETTLE_HELD, params).rowcount == len(params):
        return [True] * len(params)
    # some claim was taken over: its row holds another run's token, which the update left alone
    found = _rows_for_update(conn, [row_key(s) for s in settled])
    return [
        (entry := found.get(row_key(s))) is not None and entry.claim_token == s.token
        for s in settled
    ]


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
        found = _rows_for_update(conn, keys)
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
            conn.execute(_INSERT_ROW, [_new_row(claim) for claim in fresh])
        for claim in again:
            conn.execute(_CLAIM_ROW, claim)
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
        outcome = _outcome(said)
        with self._engine.begin() as conn:
            conn.execute(_SETTLE_ROW, {**outcome, "kept": payload_hash})

    def get(self, destination: Destination | None, order_id: str) -> list[LedgerEntry]:
        """The entries of ``order_id`` at ``destination`` (or at every destination if None)."""
        query = sa.select(ledger_table).where(ledger_table.c.order_id == order_id)
        if destination is not None:
            query = query.where(ledger_table.c.destination == destination.key)
        with self._engine.begin() as conn:
            rows = conn.execute(query.order_by(ledger_table.c.destination)).all()
        return [_to_entry(row) for row in rows]

    def pending(self) -> list[LedgerEntry]:
        """Every order left ``sending`` (in flight now, or in doubt after a crash), oldest first."""
        query = (
            sa.select(ledger_table)
            .where(ledger_table.c.state == "sending")
            .order_by(ledger_table.c.updated_at, ledger_table.c.order_id)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
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


def _rows_for_update(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], LedgerEntry]:
    """The rows of these (destination key, order id) pairs that exist, locked, in key order."""
    found: dict[tuple[str, str], LedgerEntry] = {}
    by_destination: dict[str, list[str]] = {}
    for destination, order_id in sorted(keys):
        by_destination.setdefault(destination, []).append(order_id)
    for destination, order_ids in by_destination.items():
        for chunk in _chunks(order_ids, LOOKUP_CHUNK):
            rows = conn.execute(_SELECT_ROWS, {"key": destination, "oids": list(chunk)})
            found.update(((row.destination, row.order_id), _to_entry(row)) for row in rows)
    return found


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


def _new_row(claim: Mapping[str, Any]) -> dict[str, Any]:
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
    return {name: getattr(fresh, name) for name in _ENTRY_FIELDS}  # asdict deep-copies: slow


def _outcome(settled: Settled) -> dict[str, Any]:
    """Parameters of ``_SETTLE_ROW`` but ``kept`` (and of ``_SETTLE_HELD`` but the token)."""
    return {
        "key": settled.destination.key,
        "oid": settled.order_id,
        "new_state": settled.state,
        "new_message": settled.message,
        "new_status": settled.http_status,
        "tries": settled.attempts,
        "now": datetime.now(UTC),
    }


def _backfill(conn: Connection) -> None:
    """Rows of a ledger from before claim history: first claimed when created."""
    column = ledger_table.c.first_claimed_at
    conn.execute(
        sa.update(ledger_table)
        .where(column.is_(None))
        .values(first_claimed_at=ledger_table.c.created_at)
    )


def _to_entry(row: Row[Any]) -> LedgerEntry:
    """A ledger row as data (SQLite hands back naive datetimes: they are UTC)."""
    data = dict(row._mapping)
    for name in ("created_at", "updated_at", "lease_until", "first_claimed_at"):
        if data[name] is not None:
            data[name] = _as_utc(data[name])
    return LedgerEntry(**data)


def _as_utc(moment: datetime) -> datetime:
    """``moment`` with its zone, UTC when the database dropped it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
