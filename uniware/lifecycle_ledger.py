"""The ledger's memory of life after posting: accepted items, and each cancellation or return.

Two tables beside ``uniload_ledger`` in the same database, created with it, once, under the
schema lock of ``Ledger.open`` (a ledger file from before is upgraded; its earlier orders simply
have no item record):

- ``uniload_posted_items``: per accepted order and item, what was posted (product id, variant
  id, quantity, status, the order's status) and the units since cancelled and returned.
- ``uniload_changes``: one row per change, keyed by the planner's change key, with the same
  life as an order: intent (``sending``) committed before the request, then ``accepted`` (its
  effect applied to the items in the same transaction) or ``failed`` (the server's message
  verbatim). A row left ``sending`` had no definitive answer: the next run sends it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from schemas.changes import Change, PostedItem, PostedOrder
from uniware.config import Destination
from uniware.ledger import Ledger
from uniware.ledger_table import keyed_table, outcome_columns
from uniware.ledger_writes import LOOKUP_CHUNK, chunks

ChangeState = Literal["sending", "accepted", "failed"]

items_table = keyed_table(
    "uniload_posted_items",
    sa.Column("order_id", sa.String(255), primary_key=True),
    sa.Column("item_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("product_id", sa.String(255), nullable=False),
    sa.Column("variant_id", sa.String(255), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("order_status", sa.String(32), nullable=False),
    sa.Column("cancelled", sa.Integer, nullable=False, default=0),
    sa.Column("returned", sa.Integer, nullable=False, default=0),
)
changes_table = keyed_table(
    "uniload_changes",
    sa.Column("change_key", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("effect", sa.Text, nullable=False),
    *outcome_columns(),
    sa.Index("ix_uniload_changes_order", "destination", "order_id"),
)


def _engine(ledger: Ledger) -> Engine:
    """The ledger's engine (its tables were created by ``Ledger.open``)."""
    return ledger.engine


def remember_items(
    ledger: Ledger, destination: Destination, order_id: str, payload: Mapping[str, Any]
) -> None:
    """Keep the items of an order Uniware accepted (a second call changes nothing)."""
    with _engine(ledger).begin() as conn:
        remember_many_in(conn, [(destination, order_id, payload)])


def _remember_one_in(
    conn: Connection, destination: Destination, order_id: str, payload: Mapping[str, Any]
) -> None:
    """One order's items on a database without ON CONFLICT (a savepoint: a repeat leaves the
    transaction usable)."""
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(items_table), _item_rows(destination, order_id, payload))
    except IntegrityError:  # recorded before (all of an order's items go in together)
        return


def remember_many_in(
    conn: Connection, orders: Sequence[tuple[Destination, str, Mapping[str, Any]]]
) -> None:
    """`remember_items` of several orders in one open transaction (one statement on SQLite
    and PostgreSQL: items recorded before are left as they are)."""
    if conn.dialect.name not in ("sqlite", "postgresql"):
        for order in orders:
            _remember_one_in(conn, *order)
        return
    rows = [row for order in orders for row in _item_rows(*order)]
    if rows:
        conn.execute(_INSERT_OR_KEEP, rows)


_ITEM_COLUMNS: Final = tuple(column.name for column in items_table.columns)
# An insert of item rows that leaves rows already there alone, in the syntax SQLite (3.24+)
# and PostgreSQL share. Text, because SQLAlchemy 2.0.58 gives its dialects'
# `insert().on_conflict_do_nothing()` no cache key and compiles it again on every call:
# 0.75 ms of CPU per posted order, about a sixth of posting's.
_INSERT_OR_KEEP: Final = sa.text(
    f"INSERT INTO {items_table.name} ({', '.join(_ITEM_COLUMNS)}) "
    f"VALUES ({', '.join(':' + name for name in _ITEM_COLUMNS)}) ON CONFLICT DO NOTHING"
)


def _item_rows(
    destination: Destination, order_id: str, payload: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The items table's rows of one accepted order."""
    return [
        {
            "destination": destination.key,
            "order_id": order_id,
            "item_id": str(item["orderItemId"]),
            "position": position,
            "product_id": str(item["productId"]),
            "variant_id": str(item["variantId"]),
            "quantity": int(item["quantity"]),
            "status": str(item["status"]),
            "order_status": str(payload["orderStatus"]),
            "cancelled": 0,
            "returned": 0,
        }
        for position, item in enumerate(payload["orderItems"])
    ]


def order_history(ledger: Ledger, destination_key: str, order_id: str) -> dict[str, Any]:
    """The order's items as posted and its changes (for ``uniload ledger show``; read only)."""
    engine = ledger.engine
    if not sa.inspect(engine).has_table(changes_table.name):  # a ledger from before
        return {"items": [], "changes": []}
    found: dict[str, Any] = {}
    for name, table, order in (
        ("items", items_table, items_table.c.position),
        ("changes", changes_table, changes_table.c.created_at),
    ):
        query = sa.select(table).where(
            table.c.destination == destination_key, table.c.order_id == order_id
        )
        with engine.begin() as conn:
            rows = conn.execute(query.order_by(order)).all()
        hidden = {"destination", "order_id", "position"}
        found[name] = [{k: v for k, v in r._mapping.items() if k not in hidden} for r in rows]
    return found


def posted_orders(
    ledger: Ledger, destination: Destination, order_ids: Iterable[str]
) -> dict[str, PostedOrder]:
    """The remembered items of each of ``order_ids`` accepted at ``destination``."""
    found: dict[str, list[Any]] = {}
    engine = _engine(ledger)
    for chunk in chunks(list(dict.fromkeys(order_ids)), LOOKUP_CHUNK):
        query = (
            sa.select(items_table)
            .where(items_table.c.destination == destination.key)
            .where(items_table.c.order_id.in_(chunk))
            .order_by(items_table.c.order_id, items_table.c.position)
        )
        with engine.begin() as conn:
            for row in conn.execute(query):
                found.setdefault(row.order_id, []).append(row)
    return {
        order_id: PostedOrder(
            order_id,
            rows[0].order_status,
            tuple(
                PostedItem(
                    r.item_id,
                    r.product_id,
                    r.variant_id,
                    r.quantity,
                    r.status,
                    r.cancelled,
                    r.returned,
                )
                for r in rows
            ),
        )
        for order_id, rows in found.items()
    }


def change_states(
    ledger: Ledger, destination: Destination, order_ids: Iterable[str]
) -> dict[str, tuple[ChangeState, str]]:
    """State and message of every change recorded for ``order_ids``, by change key."""
    found: dict[str, tuple[ChangeState, str]] = {}
    engine = _engine(ledger)
    for chunk in chunks(list(dict.fromkeys(order_ids)), LOOKUP_CHUNK):
        query = sa.select(
            changes_table.c.change_key, changes_table.c.state, changes_table.c.message
        ).where(changes_table.c.destination == destination.key, changes_table.c.order_id.in_(chunk))
        with engine.begin() as conn:
            found.update({r.change_key: (r.state, r.message) for r in conn.execute(query)})
    return found


def record_change_intent(
    ledger: Ledger, destination: Destination, change: Change, *, run_id: str
) -> tuple[ChangeState, str] | None:
    """Commit ``sending`` before the request, unless the change was settled before.

    Returns the earlier (state, message), or None for a change never recorded. An
    ``accepted`` or ``failed`` change is left as it is: the caller does not send it.
    """
    key = (changes_table.c.destination == destination.key, changes_table.c.change_key == change.key)
    now = datetime.now(UTC)
    try:
        with _engine(ledger).begin() as conn:
            found = conn.execute(sa.select(changes_table).where(*key).with_for_update()).first()
            if found is None:
                conn.execute(
                    sa.insert(changes_table),
                    {
                        "destination": destination.key,
                        "change_key": change.key,
                        "order_id": change.order_id,
                        "kind": change.kind,
                        "effect": json.dumps(change.effect),
                        "state": "sending",
                        "message": "",
                        "attempts": 0,
                        "http_status": None,
                        "run_id": run_id,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
                return None
            if found.state == "sending":
                conn.execute(
                    sa.update(changes_table).where(*key).values(run_id=run_id, updated_at=now)
                )
    except IntegrityError:  # another process recorded the same change meanwhile
        return record_change_intent(ledger, destination, change, run_id=run_id)
    return found.state, found.message


def record_change_outcome(
    ledger: Ledger,
    destination: Destination,
    change: Change,
    *,
    state: ChangeState,
    message: str,
    attempts: int,
    http_status: int | None,
) -> None:
    """Commit what came of the change; on ``accepted`` its effect goes to the items too."""
    key = (changes_table.c.destination == destination.key, changes_table.c.change_key == change.key)
    with _engine(ledger).begin() as conn:
        conn.execute(
            sa.update(changes_table)
            .where(*key)
            .values(
                state=state,
                message=message,
                http_status=http_status,
                attempts=changes_table.c.attempts + attempts,
                updated_at=datetime.now(UTC),
            )
        )
        if state == "accepted":
            _apply(conn, destination, change)


def _apply(conn: sa.Connection, destination: Destination, change: Change) -> None:
    """Cancellation: cumulative units cancelled per item; return: units added to returned."""
    column = items_table.c.cancelled if change.kind == "cancel" else items_table.c.returned
    for item_id, units in change.effect:
        value = sa.func.max(column, units) if change.kind == "cancel" else column + units
        if conn.engine.dialect.name != "sqlite" and change.kind == "cancel":
            value = sa.func.greatest(column, units)
        conn.execute(
            sa.update(items_table)
            .where(
                items_table.c.destination == destination.key,
                items_table.c.order_id == change.order_id,
                items_table.c.item_id == item_id,
            )
            .values({column.name: value})
        )
