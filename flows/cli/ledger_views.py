"""`uniload ledger`: one order, the summary, pending orders with their lease, or a new ledger."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.cli.commands import EXIT_OK, fail
from flows.config import Settings
from flows.exceptions import UniloadError
from uniware.ledger import Ledger
from uniware.ledger_entries import LedgerEntry
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


def ledger(args: argparse.Namespace) -> int:
    """`uniload ledger show ORDER_ID|summary|pending|init`."""
    try:
        env = Settings.from_env()
        url = args.ledger or env.locate(env.ledger)
    except UniloadError as err:
        return fail(str(err))
    if args.action != "init" and "://" not in url and not Path(url).expanduser().is_file():
        return fail(f"no ledger at {url}: pass the --ledger (or UNILOAD_LEDGER) the runs used")
    try:
        book = Ledger.open(url)
    except RuntimeError as err:  # a ledger from a newer uniload
        return fail(str(err))
    try:
        return _ledger_action(book, args, url)
    finally:
        book.close()


def _ledger_action(book: Any, args: argparse.Namespace, url: str) -> int:
    """Print what one `uniload ledger` action asks for."""
    from uniware.ledger_schema import SCHEMA_VERSION
    from uniware.lifecycle_ledger import order_history
    from uniware.redact import redact

    if args.action == "init":
        print(f"ledger ready at {redact(url)} (schema version {SCHEMA_VERSION})")
    elif args.action == "pending":
        entries = book.pending()
        for entry in entries:
            print(json.dumps(pending_line(entry), default=str))
        if not entries:
            print("no order is pending: every order in the ledger has a final outcome")
    elif args.action == "show":
        entries = book.get(None, args.order_id)
        if not entries:
            return fail(f"order {args.order_id} is not in the ledger {url}")
        for entry in entries:
            history = order_history(book, entry.destination, entry.order_id)
            print(json.dumps({**_jsonable(entry), **history}, default=str))
    else:
        for row in book.summary():
            print(json.dumps(_jsonable(row), default=str))
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return value
