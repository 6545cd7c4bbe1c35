"""A delivery run's ledger writes, batched: one transaction for the claims waiting together.

Workers ask for claims and queue outcomes; a flush, run on the event loop right after the
callbacks that are ready (``call_soon``), writes the queued outcomes in one transaction (the
outcome, and the items of an accepted order) and reports them, then the queued claims in
another. A claim's request waits for its commit, so intent before send holds as before. An
outcome is written before any claim queued with it, so a worker never gets a new claim past an
outcome the ledger could not take. An outcome still queued when the process dies leaves its
order ``sending``: the next run settles it safely. Everything runs on the loop's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from uniware.ledger import Ledger
from uniware.ledger_entries import Claim, ClaimWanted, Settled, row_key
from uniware.ledger_writes import settle_many_in
from uniware.lifecycle_ledger import remember_many_in

Written = Callable[[bool | BaseException], None]  # claim still held, or the ledger's error


@dataclass(frozen=True, slots=True)
class _Outcome:
    settled: Settled
    items: Mapping[str, Any] | None  # an accepted order's payload: its items are kept
    written: Written


class LedgerWriter:
    """Claims and outcomes of one run, written in batches (see the module doc)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._claims: list[tuple[ClaimWanted, asyncio.Future[Claim]]] = []
        self._outcomes: list[_Outcome] = []
        self._flush: asyncio.Handle | None = None
        self._conn: Connection | None = None  # one connection for the run's writes

    async def claim(self, wanted: ClaimWanted) -> Claim:
        """Claim one order; returns once the claim is committed (or raises the ledger's error)."""
        answer: asyncio.Future[Claim] = asyncio.get_running_loop().create_future()
        self._claims.append((wanted, answer))
        self._schedule()
        return await answer

    def settle(
        self, settled: Settled, *, items: Mapping[str, Any] | None, written: Written
    ) -> None:
        """Queue one outcome; ``written`` is called once it is committed (or failed)."""
        self._outcomes.append(_Outcome(settled, items, written))
        self._schedule()

    def close(self) -> None:
        """Write everything still queued now, then give the connection back."""
        if self._flush is not None:
            self._flush.cancel()
        try:
            self.flush()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated:
            self._conn = self._ledger.engine.connect()
        return self._conn

    def flush(self) -> None:
        """Write the queued outcomes, report them, then make the queued claims."""
        self._flush = None
        outcomes, self._outcomes = self._outcomes, []
        if outcomes:
            self._write_outcomes(outcomes)
        claims, self._claims = self._claims, []
        claims = [(w, answer) for w, answer in claims if not answer.done()]  # not cancelled
        if claims:
            self._write_claims(claims)

    def _schedule(self) -> None:
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_soon(self.flush)

    def _write_outcomes(self, outcomes: list[_Outcome]) -> None:
        try:
            held: list[bool] | BaseException = self._settle(outcomes)
        except Exception as error:  # each order's callback decides what it means
            held = error
        for k, outcome in enumerate(outcomes):
            outcome.written(held if isinstance(held, BaseException) else held[k])

    def _write_claims(self, claims: list[tuple[ClaimWanted, asyncio.Future[Claim]]]) -> None:
        try:
            self._ledger.check_in_place()
            granted = self._ledger.claim_many([w for w, _ in claims], conn=self._connection())
        except Exception as error:
            for _, answer in claims:
                answer.set_exception(error)
            return
        for (_, answer), claim in zip(claims, granted, strict=True):
            answer.set_result(claim)

    def _settle(self, outcomes: Sequence[_Outcome]) -> list[bool]:
        turn = sorted(range(len(outcomes)), key=lambda k: row_key(outcomes[k].settled))
        conn = self._connection()
        with conn.begin():  # rows locked in one order (no deadlocks)
            done = settle_many_in(conn, [outcomes[k].settled for k in turn])
            held = [False] * len(outcomes)
            for k, kept in zip(turn, done, strict=True):
                held[k] = kept
            accepted = [
                (outcome.settled.destination, outcome.settled.order_id, outcome.items)
                for outcome, kept in zip(outcomes, held, strict=True)
                if kept and outcome.items is not None
            ]
            if accepted:
                remember_many_in(conn, accepted)
        return held
