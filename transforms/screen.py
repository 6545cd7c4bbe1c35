"""Which orders might break the Post Orders contract: a whole column at a time.

The builder holds every payload to `schemas.contract.check_order`, the check the sandbox runs.
Calling it on each of half a million payloads costs more than building them, so this screen
looks at the columns the payloads are built from and marks every order that could break a
rule. Only marked orders get the full check, which decides and words the reason. The screen
may mark too much, never too little: tests/transforms/test_screen.py holds it to that.

The columns are the builder's (`transforms/payloads.py`): one row per order (`heads`, the first
line of each order) or per item, money already rounded, dates already written as text. Fields
the builder leaves out when blank (addresses, optional texts) are screened as the builder
sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, NamedTuple, cast

import numpy as np
import pandas as pd

from schemas import contract
from schemas.lines import ITEM_CHARGES, ORDER_CHARGES
from transforms import normalize

Mask = np.ndarray
Ok = Callable[[object], bool]

# (canonical column, required, at most this many characters)
_ADDRESS: Final = (
    ("name", True, None),
    ("address1", True, contract.MAX_ADDRESS_LINE),
    ("address2", False, contract.MAX_ADDRESS_LINE),
    ("city", True, None),
    ("state", True, None),
    ("country", True, None),
    ("phone", True, None),
    ("email", False, None),
)
_ITEM_TEXTS: Final = (
    ("order_item_id", True, contract.MAX_ID_LENGTH),
    ("product_id", True, contract.MAX_ID_LENGTH),
    ("variant_id", True, contract.MAX_ID_LENGTH),
    ("sku", True, None),
    ("title", True, None),
)
_ORDER_TOTALS: Final = tuple(ORDER_CHARGES)
_ITEM_CHARGES: Final = tuple(ITEM_CHARGES)
_TOTAL_OF: Final = {key: name for name, key in ORDER_CHARGES.items()}
_CHARGE_OF: Final = {key: name for name, key in ITEM_CHARGES.items()}
# the contract's charges rule in canonical names: (order-level total, its item-level part)
_CHARGE_PAIRS: Final = tuple((_TOTAL_OF[t], _CHARGE_OF[c]) for t, c in contract.CHARGE_PAIRS)


def suspect_orders(
    heads: pd.DataFrame, items: pd.DataFrame, counts: np.ndarray, *, send_facility: bool
) -> Mask:
    """True for each order (one per row of `heads`) that might break the contract."""
    order_of_item = np.repeat(np.arange(len(heads)), counts)
    suspect = _order_fields(heads) | (counts > contract.MAX_ITEMS)
    per_item = _item_fields(items, send_facility) | _repeated_item_ids(items, order_of_item)
    suspect |= np.bincount(order_of_item[per_item], minlength=len(heads)) > 0
    marked: Mask = suspect | _charges_at_both_levels(heads, items, order_of_item)
    return marked


def _order_fields(heads: pd.DataFrame) -> Mask:
    bad = _texts(heads["order_id"].astype("str"), required=True, sent_if_given=False, ids=True)
    bad |= _texts(heads["display_order_number"], required=False, ids=True)
    bad |= _texts(heads["additional_info"], required=False)
    bad |= heads["order_date"].isna().to_numpy() | heads["sla"].isna().to_numpy()
    bad |= _choice(heads["order_status"], contract.ORDER_STATUSES, required=True)
    bad |= _per_unique(heads["payment_type"], _sent_if_given(_is_in(contract.PAYMENT_TYPES)))
    bad |= _per_unique(heads["currency"], _currency_ok)
    bad |= _numbers(heads, _ORDER_TOTALS, required=False)
    for side in ("ship", "bill"):
        for part, required, longest in _ADDRESS:
            bad |= _texts(heads[f"{side}_{part}"], required=required, max_length=longest)
        bad |= _per_unique(heads[f"{side}_pincode"], _pincode_ok)
    return bad


def _item_fields(items: pd.DataFrame, send_facility: bool) -> Mask:
    bad = np.zeros(len(items), dtype=bool)
    for name, required, longest in _ITEM_TEXTS:
        ids = name == "order_item_id"
        bad |= _texts(
            items[name], required=required, max_length=longest, sent_if_given=False, ids=ids
        )
    bad |= _choice(items["item_status"], contract.ITEM_STATUSES, required=True)
    bad |= _per_unique(items["shipping_method"], _sent_if_given(_is_in(contract.SHIPPING_METHODS)))
    quantity = items["quantity"]
    bad |= (quantity.isna() | (quantity.fillna(0) < 1)).to_numpy(dtype=bool)
    packets = items["packet_number"]
    bad |= (packets.notna() & (packets.fillna(1) < 1)).to_numpy(dtype=bool)
    if send_facility:
        bad |= _texts(items["facility_code"], required=False)
    bad |= _numbers(items, ("selling_price", "total_price"), required=True)
    bad |= _numbers(items, (*_ITEM_CHARGES, "gift_wrap_charges"), required=False)
    bad |= _per_unique(items["currency"], _currency_ok)
    bad |= _texts(items["gift_wrap_message"], required=False)
    return bad


def _repeated_item_ids(items: pd.DataFrame, order_of_item: np.ndarray) -> Mask:
    ids = items["order_item_id"].to_numpy()
    if normalize.all_distinct(ids):  # item ids unique in the whole file (most exports)
        return np.zeros(len(items), dtype=bool)
    pairs = pd.DataFrame({"order": order_of_item, "item": ids})
    return pairs.duplicated(keep=False).to_numpy()


def _charges_at_both_levels(
    heads: pd.DataFrame, items: pd.DataFrame, order_of_item: np.ndarray
) -> Mask:
    suspect = np.zeros(len(heads), dtype=bool)
    gift = items["gift_wrap_charges"].notna() | items["gift_wrap_message"].fillna("").astype(bool)
    for total, each in (*_CHARGE_PAIRS, (_TOTAL_OF["totalGiftCharges"], None)):
        given = gift if each is None else items[each].notna()
        in_order = np.bincount(order_of_item[given.to_numpy()], minlength=len(heads)) > 0
        suspect |= heads[total].notna().to_numpy() & in_order
    return suspect


def _per_unique(values: pd.Series, ok: Ok, texts: TextRule | None = None) -> Mask:
    """`ok` on each distinct value once (exports repeat themselves), taken back to the rows.

    Given the `texts` rule `ok` stands for, distinct values that are all `str` are held to it
    as a whole (`_texts_ok`) instead of one call of `ok` each.
    """
    codes, uniques = pd.factorize(values)  # a missing value gets code -1:
    cells = uniques.tolist()  # plain Python values
    good = _texts_ok(cells, texts) if texts is not None else None
    if good is None:
        good = np.fromiter(map(ok, cells), bool, len(cells))
    return ~np.append(good, ok(None))[codes]  # ... and -1 picks ok(None), the last


def _texts(
    values: pd.Series,
    *,
    required: bool,
    max_length: int | None = None,
    sent_if_given: bool = True,
    ids: bool = False,
) -> Mask:
    """Cells breaking `_text_ok` (as the builder sends them when `sent_if_given`).

    `ids`: the values nearly all differ, so cells all of type `str` are measured as they are,
    without hashing them to find the distinct ones (which costs more than the measuring).
    """
    rule = TextRule(required, max_length)
    if ids:
        cells = values.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(cells, skipna=False) == "string":
            good = _texts_ok(cells.tolist(), rule)
            if good is not None:
                return ~good
    ok = _text_ok(required=required, max_length=max_length)
    if sent_if_given:
        ok = _sent_if_given(ok, required=required)
    return _per_unique(values, ok, rule)


class TextRule(NamedTuple):
    """What `_text_ok` asks of a text: not blank (when required), at most so many characters."""

    required: bool
    max_length: int | None


def _texts_ok(cells: list[object], rule: TextRule) -> Mask | None:
    """`_text_ok` on cells all of type `str`, measured at once; None for any other cells.

    For a `str`, `_sent_if_given` changes nothing: "" passes exactly when not required. A
    cell beginning with white space is marked when required (it might be all white space).
    """
    if set(map(type, cells)) - {str}:
        return None
    good = np.ones(len(cells), dtype=bool)
    if not rule.required and rule.max_length is None:
        return good
    shape = normalize.text_shape(cast(list[str], cells))
    if shape is None:
        return None
    if rule.required:
        good &= (shape.lengths > 0) & ~shape.spaced()
    if rule.max_length is not None:
        good &= shape.lengths <= rule.max_length
    return good


def _text_ok(*, required: bool, max_length: int | None = None) -> Ok:
    def ok(value: object) -> bool:
        if value is None:
            return not required
        return (
            type(value) is str
            and (not required or bool(value.strip()))
            and (max_length is None or len(value) <= max_length)
        )

    return ok


def _sent_if_given(ok: Ok, *, required: bool = False) -> Ok:
    """The builder leaves out blank ('' or missing) optional fields and address parts."""

    def sent(value: object) -> bool:
        return ok(value) if value else not required

    return sent


def _is_in(allowed: Iterable[str]) -> Ok:
    choices = frozenset(allowed)
    return lambda value: type(value) is str and value in choices


def _choice(values: pd.Series, allowed: tuple[str, ...], *, required: bool) -> Mask:
    return _per_unique(values, _sent_if_given(_is_in(allowed), required=required))


def _currency_ok(value: object) -> bool:
    """`[A-Z]{3}`, as the contract's check, or not given."""
    if value is None:
        return True
    return (
        type(value) is str
        and len(value) == 3
        and value.isascii()
        and value.isalpha()
        and value.isupper()
    )


def _pincode_ok(value: object) -> bool:
    return (
        type(value) is str
        and value.isascii()
        and value.isdigit()
        and len(value) >= contract.MIN_PINCODE_DIGITS
    )


def _numbers(frame: pd.DataFrame, names: Iterable[str], *, required: bool) -> Mask:
    bad = np.zeros(len(frame), dtype=bool)
    for name in names:
        values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        bad |= ~missing & ~(np.isfinite(values) & (values >= 0))
        if required:
            bad |= missing
    return bad
