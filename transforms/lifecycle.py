"""Plan what Uniware must be told about accepted orders that changed on the marketplace since.

Input: the current export's canonical lines (every line, whatever its `disposition`) and, per
accepted order, the items as posted with the units since cancelled/returned (the ledger's).

- Cancellations (Post Cancel): an order whose lines are all CANCELLED (or whose order status
  is) cancels every open unit; a CANCELLED item cancels its open units; an item whose quantity
  went down cancels the difference. One request per order, items named by productId and
  variantId as posted. Its key is the order id and each item's cumulative cancelled units, so
  the same change planned again has the same key (sent once), and a later, larger cancellation
  is a new change.
- Returns (Post Return), when the lines carry `return_id` (and `return_type`, optional
  `return_reason`, `return_quantity`, `return_tracking`, `return_courier`): one request per
  return id, keyed by order id + return id.
- What Uniware has no API for (an item added, removed or raised in quantity, a cancellation
  undone, a return over the open units) is reported "changed after posting", never sent.
  DISPATCHED/DELIVERED are Uniware's own states once it ships: nothing to send for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from schemas.changes import RETURN_TYPES, Change, ChangeResult, PostedItem, PostedOrder

CANCELLED: Final = "CANCELLED"
CANCEL_REASON: Final = "cancelled on the marketplace"
RETURN_REASON: Final = "returned on the marketplace"
CHANGED: Final = "changed after posting: update it in Uniware ({detail})"

Current = dict[str, tuple[str, int | None]]  # item id -> (item status, quantity)


@dataclass
class Plan:
    """The changes to send, and the changes that cannot be sent (never resent as orders)."""

    changes: list[Change] = field(default_factory=list)
    unsendable: list[ChangeResult] = field(default_factory=list)


def plan_changes(
    lines: pd.DataFrame, posted: Mapping[str, PostedOrder], *, done: Collection[str] = ()
) -> Plan:
    """Cancellations and returns for the accepted orders in ``lines``; ``done``: accepted keys."""
    plan = Plan()
    ours = lines[lines["order_id"].isin(list(posted)) & lines["order_item_id"].notna()]
    for order_id, rows in ours.groupby("order_id", sort=False):
        order = posted[str(order_id)]
        current = _current(rows)
        whole = bool(rows["order_status"].eq(CANCELLED).all() or _all_cancelled(current))
        targets, notes = _targets(order, current, whole=whole)
        cancel = _cancel(order, targets)
        if cancel is not None:
            plan.changes.append(cancel)
        if "return_id" in rows:
            returns, more = _returns(order, rows, done)
            plan.changes += returns
            notes += more
        if notes:
            detail = "; ".join(notes)
            plan.unsendable.append(
                ChangeResult(order.order_id, "changed_after_posting", CHANGED.format(detail=detail))
            )
    return plan


def change_key(kind: str, order_id: str, parts: Collection[str]) -> str:
    """sha256 naming one change: the same change always gets the same key."""
    text = "\x1f".join([kind, order_id, *sorted(parts)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def restore_posted(payload: Mapping[str, Any], order: PostedOrder) -> dict[str, Any]:
    """The payload with statuses and quantities as posted (to compare everything else)."""
    posted = {item.item_id: item for item in order.items}
    items = []
    for item in payload.get("orderItems", []):
        before = posted.get(str(item.get("orderItemId")))
        if before is not None:
            item = {**item, "status": before.status, "quantity": before.quantity}
        items.append(item)
    return {**payload, "orderStatus": order.order_status, "orderItems": items}


def _current(rows: pd.DataFrame) -> Current:
    """Each item's status and quantity in the export (the first line of a repeated item id)."""
    current: Current = {}
    for item_id, status, quantity in zip(
        rows["order_item_id"], rows["item_status"], rows["quantity"], strict=True
    ):
        units = None if pd.isna(quantity) else int(quantity)
        current.setdefault(str(item_id), (str(status) if not pd.isna(status) else "", units))
    return current


def _all_cancelled(current: Current) -> bool:
    return bool(current) and all(status == CANCELLED for status, _ in current.values())


def _targets(
    order: PostedOrder, current: Current, *, whole: bool
) -> tuple[dict[str, int], list[str]]:
    """Cumulative units each posted item should have cancelled, and what cannot be sent."""
    targets: dict[str, int] = {}
    notes = [f"item {i} added after posting" for i in current if i not in _ids(order)]
    for item in order.items:
        target, note = (item.quantity - item.returned, "") if whole else _target(item, current)
        if target < item.cancelled:
            note = (
                note or f"item {item.item_id}: fewer units cancelled than the {item.cancelled} sent"
            )
            target = item.cancelled
        if note:
            notes.append(note)
        targets[item.item_id] = min(target, item.quantity - item.returned)
    return targets, notes


def _target(item: PostedItem, current: Current) -> tuple[int, str]:
    """One item's cumulative cancelled units per the export, or a note on what changed."""
    found = current.get(item.item_id)
    if found is None:
        return item.cancelled, f"item {item.item_id} is no longer in the export"
    status, quantity = found
    if status == CANCELLED:
        return item.quantity - item.returned, ""
    if quantity is None or quantity == item.quantity:
        return 0, ""
    if quantity < item.quantity:
        return item.quantity - quantity, ""
    return item.cancelled, f"item {item.item_id}: quantity {item.quantity} → {quantity}"


def _cancel(order: PostedOrder, targets: Mapping[str, int]) -> Change | None:
    """One cancellation of every unit newly cancelled, or None."""
    newly = [(item, targets[item.item_id] - item.cancelled) for item in order.items]
    newly = [(item, units) for item, units in newly if units > 0]
    if not newly:
        return None
    body = {
        "saleOrderCode": order.order_id,
        "cancellationReason": CANCEL_REASON,
        "cancelledSkuCodes": [
            {"quantity": units, "productId": item.product_id, "variantId": item.variant_id}
            for item, units in newly
        ],
    }
    effect = tuple((item.item_id, targets[item.item_id]) for item, _ in newly)
    key = change_key("cancel", order.order_id, [f"{i}={n}" for i, n in effect])
    return Change("cancel", order.order_id, key, body, tuple(i for i, _ in effect), effect)


def _returns(
    order: PostedOrder, rows: pd.DataFrame, done: Collection[str]
) -> tuple[list[Change], list[str]]:
    """One return per return id on the lines, unless accepted before; notes on bad ones."""
    changes, notes = [], []
    posted = {item.item_id: item for item in order.items}
    marked = rows[rows["return_id"].notna() & rows["return_id"].astype("str").str.strip().ne("")]
    for return_id, lines in marked.groupby("return_id", sort=False):
        key = change_key("return", order.order_id, [str(return_id)])
        if key in done:
            continue
        change, note = _return(order, str(return_id), lines, posted, key)
        if change is not None:
            changes.append(change)
        else:
            notes.append(note)
    return changes, notes


def _return(
    order: PostedOrder,
    return_id: str,
    lines: pd.DataFrame,
    posted: Mapping[str, PostedItem],
    key: str,
) -> tuple[Change | None, str]:
    first = lines.iloc[0]
    kind = _text(first, "return_type")
    if kind not in RETURN_TYPES:
        return None, f"return {return_id}: type {kind!r} is not one of {', '.join(RETURN_TYPES)}"
    units: list[tuple[PostedItem, int]] = []
    for _, line in lines.iterrows():
        item = posted.get(str(line["order_item_id"]))
        if item is None:
            return None, f"return {return_id}: item {line['order_item_id']} was never posted"
        wanted = line.get("return_quantity")
        count = int(line["quantity"] if wanted is None or pd.isna(wanted) else wanted)
        if count > item.open:
            return (
                None,
                f"return {return_id}: {count} units of item {item.item_id}, {item.open} open",
            )
        units.append((item, count))
    body = {
        "saleOrderCode": order.order_id,
        "returnID": return_id,
        "type": kind,
        "reason": _text(first, "return_reason") or RETURN_REASON,
        "trackingNumber": _text(first, "return_tracking"),
        "shippingProviderCode": _text(first, "return_courier"),
        "status": "CREATED",
        "orderItems": [{"channelProductId": i.product_id, "quantity": n} for i, n in units],
    }
    effect = tuple((item.item_id, n) for item, n in units)
    return Change("return", order.order_id, key, body, tuple(i for i, _ in effect), effect), ""


def _text(line: pd.Series, name: str) -> str:
    value = line.get(name)
    return "" if value is None or pd.isna(value) else str(value).strip()


def _ids(order: PostedOrder) -> set[str]:
    return {item.item_id for item in order.items}
