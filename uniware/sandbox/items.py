"""Item states of the sandbox's orders: units ordered, cancelled and returned, and returns.

Rules (the sandbox's reading of ../shared/uniware-cancel-returns.md): an item's open units are
``quantity - cancelled - returned``. A cancellation names items by productId + variantId as
posted; units are taken from the matching items in posting order. Cancelling more than is open,
an item the order does not have, or an order already fully cancelled is refused, and nothing of
the request is applied. A return names items by channelProductId (the posted productId); no
items means every open unit; a returnID is accepted once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS items (
    order_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    returned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS returns (
    return_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    type TEXT NOT NULL,
    units INTEGER NOT NULL
);
"""
_ITEMS: Final = (
    "SELECT position, item_id, product_id, variant_id, quantity, cancelled, returned "
    "FROM items WHERE order_id = ? ORDER BY position"
)

Unit = tuple[str, int]  # (what names the item, units)


def record_items(db: sqlite3.Connection, order_id: str, payload: str) -> None:
    """Store the items of a just-created order (all units open)."""
    items = json.loads(payload).get("orderItems", [])
    db.executemany(
        "INSERT OR IGNORE INTO items (order_id, position, item_id, product_id, variant_id, "
        "quantity) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (order_id, k, i["orderItemId"], i["productId"], i["variantId"], int(i["quantity"]))
            for k, i in enumerate(items)
        ],
    )


def item_states(db: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """Each item of the order with its units ordered, cancelled, returned and still open."""
    return [
        {
            "orderItemId": item_id,
            "productId": product,
            "variantId": variant,
            "quantity": quantity,
            "cancelled": cancelled,
            "returned": returned,
            "open": quantity - cancelled - returned,
        }
        for _, item_id, product, variant, quantity, cancelled, returned in db.execute(
            _ITEMS, (order_id,)
        )
    ]


def cancel(db: sqlite3.Connection, order_id: str, units: Sequence[Unit]) -> str:
    """Cancel units named ``productId/variantId``; "" when done, else why nothing was done."""
    rows = db.execute(_ITEMS, (order_id,)).fetchall()
    if not rows:
        return f"INVALID_SALE_ORDER: order {order_id} does not exist"
    if all(c == q for *_, q, c, _ in rows):
        return f"ORDER_ALREADY_CANCELLED: order {order_id} is already cancelled"
    taken = _take(rows, units, key=lambda row: f"{row[2]}/{row[3]}", verb="cancel")
    if isinstance(taken, str):
        return taken
    db.executemany(
        "UPDATE items SET cancelled = cancelled + ? WHERE order_id = ? AND position = ?",
        [(n, order_id, position) for position, n in taken.items()],
    )
    return ""


def add_return(
    db: sqlite3.Connection, order_id: str, return_id: str, kind: str, units: Sequence[Unit]
) -> str:
    """Record return ``return_id`` of units named by product id; "" when done, else why not."""
    rows = db.execute(_ITEMS, (order_id,)).fetchall()
    if not rows:
        return f"INVALID_SALE_ORDER: order {order_id} does not exist"
    if db.execute("SELECT 1 FROM returns WHERE return_id = ?", (return_id,)).fetchone():
        return f"DUPLICATE_RETURN: return {return_id} already exists"
    wanted = units or [
        (row[2], row[4] - row[5] - row[6]) for row in rows if row[4] > row[5] + row[6]
    ]
    if not wanted:
        return f"INVALID_QUANTITY: order {order_id} has no units left to return"
    taken = _take(rows, wanted, key=lambda row: str(row[2]), verb="return")
    if isinstance(taken, str):
        return taken
    db.executemany(
        "UPDATE items SET returned = returned + ? WHERE order_id = ? AND position = ?",
        [(n, order_id, position) for position, n in taken.items()],
    )
    db.execute(
        "INSERT INTO returns (return_id, order_id, type, units) VALUES (?, ?, ?, ?)",
        (return_id, order_id, kind, sum(taken.values())),
    )
    return ""


def returns_of(db: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The returns recorded for the order."""
    query = "SELECT return_id, type, units FROM returns WHERE order_id = ? ORDER BY rowid"
    return [{"returnID": r, "type": t, "units": n} for r, t, n in db.execute(query, (order_id,))]


def _take(rows: list[Any], units: Sequence[Unit], *, key: Any, verb: str) -> dict[int, int] | str:
    """Units per item position for each (name, units) wanted, or why they cannot be taken."""
    open_units = {row[0]: row[4] - row[5] - row[6] for row in rows}
    taken: dict[int, int] = {}
    for name, wanted in units:
        matching = [row[0] for row in rows if key(row) == name]
        if not matching:
            return f"INVALID_ITEM: the order has no item {name}"
        available = sum(open_units[p] for p in matching)
        if wanted > available:
            return f"INVALID_QUANTITY: cannot {verb} {wanted} of {name}: {available} open"
        for position in matching:
            n = min(wanted, open_units[position])
            open_units[position] -= n
            taken[position] = taken.get(position, 0) + n
            wanted -= n
    return taken
