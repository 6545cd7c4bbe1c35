"""The contract of Post Cancel (`/uc/v1/order/cancel`) and Post Return (`/uc/v1/returns`) bodies.

Held to the rules of ../shared/uniware-cancel-returns.md: mandatory fields present, texts are
text, quantities whole numbers of at least 1. Where the public pages leave a type open
("number" quantity), whole units are required: Uniware counts items in units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from schemas.contract import (
    MAX_ID_LENGTH,
    Violation,
    _integer,
    _invalid,
    _missing,
    _show,
    _text,
)

RETURN_TYPES: Final = ("CUSTOMER_RETURN", "COURIER_RETURN")
_CREATED_ON: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


def check_cancel(body: object) -> list[Violation]:
    """Every way ``body`` breaks the Post Cancel contract (empty list: valid)."""
    if not isinstance(body, Mapping):
        return [_invalid("", f"the cancellation must be a JSON object, got {_show(body)}")]
    out: list[Violation] = []
    _text(body, "saleOrderCode", "", out, required=True)
    _text(body, "cancellationReason", "", out, required=True)
    for prefix, item in _list(body, "cancelledSkuCodes", out, required=True):
        _integer(item, "quantity", prefix, out, required=True, minimum=1)
        _text(item, "productId", prefix, out, required=True, max_length=MAX_ID_LENGTH)
        _text(item, "variantId", prefix, out, required=True, max_length=MAX_ID_LENGTH)
    return out


def check_return(body: object) -> list[Violation]:
    """Every way ``body`` breaks the Post Return contract (empty list: valid)."""
    if not isinstance(body, Mapping):
        return [_invalid("", f"the return must be a JSON object, got {_show(body)}")]
    out: list[Violation] = []
    for key in ("saleOrderCode", "returnID", "reason"):
        _text(body, key, "", out, required=True)
    kind = body.get("type")
    if kind is None:
        out.append(_missing("type"))
    elif kind not in RETURN_TYPES or type(kind) is not str:
        out.append(_invalid("type", f"type must be one of {', '.join(RETURN_TYPES)}"))
    for key in ("trackingNumber", "shippingProviderCode"):  # mandatory, may be empty
        if key not in body:
            out.append(_missing(key))
        elif type(body[key]) is not str:
            out.append(_invalid(key, f"{key} must be text, got {_show(body[key])}"))
    for key in ("returnWarehouseCode", "status"):
        _text(body, key, "", out, required=False)
    created = body.get("createdOn")
    if created is not None and (type(created) is not str or not _CREATED_ON.fullmatch(created)):
        out.append(_invalid("createdOn", f"createdOn must be yyyy-MM-dd HH:mm:ss, got {created!r}"))
    for prefix, item in _list(body, "orderItems", out, required=False):
        _text(item, "channelProductId", prefix, out, required=True)
        _integer(item, "quantity", prefix, out, required=True, minimum=1)
    return out


def _list(
    body: Mapping[str, Any], key: str, out: list[Violation], *, required: bool
) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of list ``key`` with their paths; a missing, empty or odd list is a violation."""
    items = body.get(key)
    if items is None:
        if required:
            out.append(_missing(key))
        return []
    if not isinstance(items, list) or (required and not items):
        out.append(_invalid(key, f"{key} must be a list of at least one item, got {_show(items)}"))
        return []
    found = []
    for index, item in enumerate(items):
        prefix = f"{key}[{index}]"
        if isinstance(item, Mapping):
            found.append((prefix, item))
        else:
            out.append(_invalid(prefix, f"{prefix} must be an object, got {_show(item)}"))
    return found


ChangeKind = Literal["cancel", "return"]
ChangeOutcome = Literal[
    "cancelled",  # Uniware accepted the cancellation in this run
    "returned",  # Uniware accepted the return in this run
    "cancel_failed",  # Uniware answered failure (now or in an earlier run: not resent)
    "return_failed",
    "unsure",  # no definitive answer: the next run sends it again
    "changed_after_posting",  # a change Uniware has no API for: the seller updates it there
    "in_sync",  # differs from the accepted version only in what Uniware was told or keeps itself
]


@dataclass(frozen=True, slots=True)
class PostedItem:
    """One item of an accepted order as it was posted, with the units since cancelled/returned."""

    item_id: str
    product_id: str
    variant_id: str
    quantity: int
    status: str
    cancelled: int = 0
    returned: int = 0

    @property
    def open(self) -> int:
        """Units neither cancelled nor returned."""
        return self.quantity - self.cancelled - self.returned


@dataclass(frozen=True, slots=True)
class PostedOrder:
    """An accepted order as the ledger remembers it, item by item."""

    order_id: str
    order_status: str
    items: tuple[PostedItem, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One request to send: a cancellation or a return of an accepted order.

    ``key`` names the change (the same change planned again has the same key: sent once);
    ``items`` are the item ids whose rows it concerns; ``effect`` the units per item id it
    takes (cancellation: cumulative units cancelled; return: units returned).
    """

    kind: ChangeKind
    order_id: str
    key: str
    body: dict[str, Any]
    items: tuple[str, ...]
    effect: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What became of one change (or of a change Uniware has no API for) in this run."""

    order_id: str
    outcome: ChangeOutcome
    message: str
    items: tuple[str, ...] = ()
    kind: ChangeKind | None = None
    attempts: int = 0
    http_status: int | None = None
