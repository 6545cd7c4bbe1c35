"""Export table -> canonical order lines: map, fill, fix, parse, validate; bad cells as data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import pandas as pd

from schemas.lines import BILL_FIELDS, FIELDS, MAX_LINE, ORDER_FIELDS, SHIP_FIELDS
from schemas.profile import Profile
from transforms import normalize
from transforms.addresses import continue_long_lines
from transforms.columns import ColumnMap, lift_text, resolve_columns
from transforms.disposition import DISPOSITION, SKIP, SKIP_REASON, decide
from transforms.errors import ErrorTable, concat
from transforms.prices import apply_price_basis
from transforms.rules import check_lines
from transforms.stages import stage
from transforms.typed_columns import parse_columns
from transforms.values import BILLING_COPIED, FACTS, apply_defaults, derive_fields, map_values

FILE: Final = "_file"
ROW: Final = "_row"
FAILED: Final = "_failed"
DEFAULT_SLA_HOURS: Final = 48
DATE_TEXTS: Final = ("order_date", "sla")
IDS: Final = frozenset({"order_id", "order_item_id"})
FALLBACK_ORIGINS: Final = {"item_status": "order_status", "total_price": "selling_price"}

_FIXERS: Final = {
    "phone": (normalize.fix_phone, "phone number reformatted"),
    "state": (normalize.fix_state, "state name written out"),
    "country": (normalize.fix_country, "country name written out"),
    "pincode": (normalize.fix_pincode, "spaces removed from pincode"),
}


@dataclass
class Lines:
    """Canonical lines of one export (every row kept; `_failed` marks rows with errors)."""

    frame: pd.DataFrame
    errors: ErrorTable
    columns: ColumnMap
    warnings: Counter[str] = field(default_factory=Counter)


def to_lines(raw: pd.DataFrame, profile: Profile, *, file: str, now: datetime) -> Lines:
    """Turn a raw export (all text, index = spreadsheet row) into validated canonical lines."""
    columns = resolve_columns(list(raw.columns), profile)
    warnings: Counter[str] = Counter()
    found: list[ErrorTable] = []
    with stage("normalize"):
        text = _canonical_text(raw, profile, columns, warnings)
        text = map_values(text, profile, columns, file=file, errors=found)
        decided = _decide(text, profile, columns, concat(found))
        text["order_status"], text["item_status"] = decided["order_status"], decided["item_status"]
    with stage("parse"):
        typed, unparsed = parse_columns(text, profile, columns, file)
        found.append(unparsed)
        typed = apply_price_basis(typed, profile)
        typed["sla"] = _default_sla(typed, profile)
    with stage("validate"):
        early = concat(found)
        errors = _first_per_cell(
            concat([early, check_lines(typed, text, columns, file=file, now=now, already=early)])
        )
        errors = _with_ids(_without_copied_billing(errors, text, columns), text)
        skipped = text.index[decided[DISPOSITION] == SKIP]
        errors = errors.where(~errors.frame["row"].isin(skipped))  # never posted: nothing to fix
        typed[DISPOSITION], typed[SKIP_REASON] = decided[DISPOSITION], decided[SKIP_REASON]
        for name in DATE_TEXTS:
            typed[f"_text_{name}"] = text[name]
        typed[FILE] = file
        typed[ROW] = typed.index.astype("int64")
        typed[FAILED] = typed.index.isin(errors.frame["row"].unique())
    return Lines(typed.reset_index(drop=True), errors, columns, warnings)


def _canonical_text(
    raw: pd.DataFrame, profile: Profile, columns: ColumnMap, warnings: Counter[str]
) -> pd.DataFrame:
    """The export's columns as canonical text: tidied, continued, filled, defaulted, derived."""
    text = lift_text(raw, profile, columns)
    text = _normalise(text, columns, warnings)
    for name, changed in continue_long_lines(text).items():
        line2 = columns.label(name.replace("address1", "address2"))
        _count(
            warnings, columns, name, f"over {MAX_LINE} characters: continued in {line2}", changed
        )
    if profile.order_fields == "first_row":
        text = _fill_within_orders(text)
    text = apply_defaults(text, profile)
    text = derive_fields(text, profile)
    _label_derived(columns, profile)
    return text


def _decide(
    text: pd.DataFrame, profile: Profile, columns: ColumnMap, errors: ErrorTable
) -> pd.DataFrame:
    """Disposition of every line (transforms/disposition.py) from the mapped status facts."""
    facts = {f: columns.label(f) for f in (*FACTS, "cancelled_at")}
    frame = errors.frame
    unread = frame.loc[frame["field"].isin(list(facts.values())), "row"].unique()
    marketplace = profile.disposition.marketplace or profile.name.capitalize()
    blocked = pd.Series(text.index.isin(unread), index=text.index)
    return decide(text, profile.disposition, marketplace=marketplace, labels=facts, blocked=blocked)


def _default_sla(typed: pd.DataFrame, profile: Profile) -> pd.Series:
    hours = float(profile.defaults.get("sla_hours", DEFAULT_SLA_HOURS))
    return typed["sla"].fillna(typed["order_date"] + pd.Timedelta(hours=hours))


def _label_derived(columns: ColumnMap, profile: Profile) -> None:
    """Errors on a field filled from another point at the other field's column."""
    origins = dict(FALLBACK_ORIGINS)
    for name, rule in profile.derive.items():
        if name == "billing":
            origins.update(zip(BILL_FIELDS, SHIP_FIELDS, strict=True))
        else:
            origins[name] = rule if rule in FIELDS else "order_id"
    for name, origin in origins.items():
        if name not in columns.sources and origin in columns.sources:
            columns.sources[name] = columns.sources[origin]


def _with_ids(errors: ErrorTable, text: pd.DataFrame) -> ErrorTable:
    """Name the order and item of each error's row, so the report can be sorted by order."""
    frame = errors.frame.copy()
    rows = frame["row"].to_numpy()
    frame["order_id"] = text["order_id"].reindex(rows).astype(str).to_numpy(dtype=object)
    frame["item_id"] = text["order_item_id"].reindex(rows).astype(str).to_numpy(dtype=object)
    return ErrorTable(frame)


def _without_copied_billing(
    errors: ErrorTable, text: pd.DataFrame, columns: ColumnMap
) -> ErrorTable:
    """A billing address copied from shipping was already checked there: report it once."""
    if BILLING_COPIED not in text:
        return errors
    copied = text.index[text[BILLING_COPIED]]
    billing = {columns.label(f) for f in BILL_FIELDS} - {columns.label(f) for f in SHIP_FIELDS}
    frame = errors.frame
    return errors.where(~(frame["row"].isin(copied) & frame["field"].isin(list(billing))))


def _first_per_cell(errors: ErrorTable) -> ErrorTable:
    """One error per (row, column): a bad cell is not reported again through fields made from it."""
    return errors.where(~errors.frame.duplicated(["row", "field"]))


def _normalise(text: pd.DataFrame, columns: ColumnMap, warnings: Counter[str]) -> pd.DataFrame:
    for name in list(columns.sources):
        part = name.removeprefix("ship_").removeprefix("bill_")
        if name != part and part in _FIXERS:
            fixer, reason = _FIXERS[part]
            fixed, stripped, changed = normalize.strip_and_fix(text[name], fixer)
            _count(warnings, columns, name, "surrounding spaces removed", stripped)
            _count(warnings, columns, name, reason, changed)
        else:
            fixed, stripped = normalize.strip_column(text[name])
            _count(warnings, columns, name, "surrounding spaces removed", stripped)
            if name in IDS and not normalize.all_ascii(fixed):  # ASCII ids need no fixing
                fixed, changed = normalize.per_unique(fixed, normalize.fix_id)
                _count(
                    warnings,
                    columns,
                    name,
                    "invisible or look-alike characters normalised",
                    changed,
                )
        text[name] = fixed
    return text


def _count(
    warnings: Counter[str], columns: ColumnMap, name: str, reason: str, changed: pd.Series
) -> None:
    n = int(changed.sum())
    if n:
        warnings[f"{columns.label(name)}: {reason}"] += n


def _fill_within_orders(text: pd.DataFrame) -> pd.DataFrame:
    """First-row-only exports: blank order-level cells take their order's value from other rows."""
    codes, _ = pd.factorize(text["order_id"])
    for name in ORDER_FIELDS:
        if name == "order_id" or not (text[name] != "").any():
            continue
        values = text[name].replace("", None)
        first = values.groupby(codes).transform("first")
        text[name] = values.fillna(first).fillna("")
    return text
