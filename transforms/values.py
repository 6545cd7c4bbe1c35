"""Profile defaults, derived fields and value maps (statuses, payment types, flags)."""

from __future__ import annotations

import re
from typing import Any, Final

import pandas as pd

from schemas import contract
from schemas.lines import BILL_FIELDS, SHIP_FIELDS
from schemas.profile import Profile
from transforms import normalize
from transforms.columns import ColumnMap
from transforms.errors import RowError
from transforms.normalize import empty_cells

WILDCARD: Final = "*"
BILLING_COPIED: Final = "_billing_copied"  # rows whose billing address is the shipping one
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "order_status": frozenset(contract.ORDER_STATUSES),
    "item_status": frozenset(contract.ITEM_STATUSES),
    "payment_type": frozenset(contract.PAYMENT_TYPES),
    "shipping_method": frozenset({"STD"}),
}
# Item status follows the order's status unless the export gives one per line.
ITEM_STATUS_FOR_ORDER: Final = {
    "CREATED": "CREATED",
    "PENDING_VERIFICATION": "CREATED",
    "CANCELLED": "CANCELLED",
}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_defaults(text: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Blank cells of fields with a profile default take the default."""
    defaults = dict(profile.defaults)
    country = defaults.pop("country", None)
    defaults.pop("sla_hours", None)
    if country is not None:
        fixed, _ = normalize.fix_country(pd.Series([str(country)], dtype="object"))
        defaults.setdefault("ship_country", fixed.iloc[0])
        defaults.setdefault("bill_country", fixed.iloc[0])
    for name, value in defaults.items():
        text[name] = text[name].mask(empty_cells(text[name]), _as_text(value))
    return text


def derive_fields(text: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Fill blank derived fields: copies (`product_id = "sku"`), templates, billing = shipping."""
    for name, rule in profile.derive.items():
        if name == "billing":
            text = _billing_from_shipping(text)
        elif "{" in rule:
            text[name] = text[name].mask(empty_cells(text[name]), _from_template(text, rule))
        else:
            text[name] = text[name].mask(empty_cells(text[name]), text[rule])
    return text


def _from_template(text: pd.DataFrame, template: str) -> pd.Series:
    """`"{order_id}-{line}"`: any canonical field, or {line} = 1-based line number in the order."""
    out = pd.Series("", index=text.index, dtype="object")
    for i, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            out = out + piece
        elif piece == "line":
            line = text.groupby(text["order_id"], sort=False).cumcount() + 1
            out = out + line.astype("str")
        else:
            out = out + text[piece].astype("str")
    return out


def _billing_from_shipping(text: pd.DataFrame) -> pd.DataFrame:
    no_billing = pd.Series(
        empty_cells(text["bill_name"]) & empty_cells(text["bill_address1"]),
        text.index,
    )
    for bill, ship in zip(BILL_FIELDS, SHIP_FIELDS, strict=True):
        text[bill] = text[bill].mask(no_billing, text[ship])
    text[BILLING_COPIED] = no_billing
    return text


def map_values(
    text: pd.DataFrame, profile: Profile, columns: ColumnMap, *, file: str, errors: list[RowError]
) -> pd.DataFrame:
    """Translate export values into contract values; unknown values become row errors."""
    for name, mapping in profile.values.items():
        if name in ALLOWED:
            text[name] = _map_closed(text[name], mapping, name, columns, file, errors)
        else:
            folded = text[name].str.strip().str.casefold()
            mapped = folded.map({k: _as_text(v) for k, v in mapping.items()})
            text[name] = text[name].mask(mapped.notna(), mapped)
    for name in ALLOWED:
        if name not in profile.values:
            text[name] = _map_closed(text[name], {}, name, columns, file, errors)
    derived = text["order_status"].map(ITEM_STATUS_FOR_ORDER).fillna("")
    text["item_status"] = text["item_status"].mask(empty_cells(text["item_status"]), derived)
    return text


def _map_closed(
    column: pd.Series,
    mapping: dict[str, Any],
    name: str,
    columns: ColumnMap,
    file: str,
    errors: list[RowError],
) -> pd.Series:
    allowed = ALLOWED[name]
    # Once per distinct value: a status column holds a handful of them.
    codes, uniques = normalize.distinct(column)
    folded = uniques.str.strip().str.casefold()
    table = {k: str(v).upper() for k, v in mapping.items() if k != WILDCARD}
    table.update({a.casefold(): a for a in allowed})
    mapped = folded.map(table)
    if WILDCARD in mapping:
        mapped = mapped.mask(mapped.isna() & (folded != ""), str(mapping[WILDCARD]).upper())
    unknown = (mapped.isna() & (folded != "")).to_numpy()[codes]
    accepted = sorted({*mapping.keys(), *(a.casefold() for a in allowed)} - {WILDCARD})
    label = columns.label(name)
    for row, value in zip(column.index[unknown].tolist(), column[unknown].tolist(), strict=True):
        reason = f"unknown value {value!r}; accepted: {', '.join(accepted)}"
        errors.append(RowError(file, int(row), "validate", label, str(value), reason))
    return pd.Series(mapped.fillna("").array.take(codes), index=column.index)
