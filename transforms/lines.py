"""Export table -> canonical order lines: map, fill, fix, parse, validate; bad cells as data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import pandas as pd

from schemas.lines import BILL_FIELDS, FIELDS, MAX_LINE, ORDER_FIELDS, SHIP_FIELDS, FieldKind
from schemas.profile import Profile
from transforms import normalize, parse
from transforms.addresses import continue_long_lines
from transforms.columns import ColumnMap, lift_text, resolve_columns
from transforms.disposition import DISPOSITION, SKIP, SKIP_REASON, decide
from transforms.errors import ErrorTable, concat, error_table
from transforms.prices import apply_price_basis
from transforms.rules import check_lines
from transforms.stages import stage
from transforms.values import BILLING_COPIED, FACTS, apply_defaults, derive_fields, map_values

FILE: Final = "_file"
ROW: Final = "_row"
FAILED: Final = "_failed"
DEFAULT_SLA_HOURS: Final = 48
DATE_TEXTS: Final = ("order_date", "sla")
IDS: Final = frozenset({"order_id", "order_item_id"})
EMPTY_DTYPES: Final = {
    "text": "object",
    "datetime": "datetime64[ns, UTC]",
    "number": "float64",
    "integer": "Int64",
    "boolean": "boolean",
}
FALLBACK_ORIGINS: Final = {"item_status": "order_status", "total_price": "selling_price"}

_KIND_CODES: Final = {
    "datetime": "date",
    "number": "number",
    "integer": "integer",
    "boolean": "flag",
}
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
        typed = _parse(text, profile, columns, file=file, errors=found)
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
            if name in IDS:
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


def _parse(
    text: pd.DataFrame,
    profile: Profile,
    columns: ColumnMap,
    *,
    file: str,
    errors: list[ErrorTable],
) -> pd.DataFrame:
    typed = pd.DataFrame(index=text.index)
    for name, kind in FIELDS.items():
        column = text[name]
        if kind == "text":
            typed[name] = _as_text(column)
            continue
        # Exports repeat dates, prices and flags a lot: parse each distinct cell once.
        codes, distinct = normalize.distinct(column)
        empty = distinct.eq("")  # cells were stripped by _normalise
        if empty.all():
            typed[name] = pd.Series(None, index=text.index, dtype=EMPTY_DTYPES[kind])
            continue
        values, expected = _parse_kind(distinct, kind, profile)
        if kind == "number":
            empty |= parse.not_applicable(distinct)
        bad_distinct = values.isna() & ~empty
        wild = _out_of_range(distinct, bad_distinct, kind, profile)
        bad = (bad_distinct & ~wild).to_numpy()[codes]
        errors.append(_parse_errors(column[bad], columns.label(name), expected, kind, file=file))
        errors.append(
            _range_errors(column[wild.to_numpy()[codes]], columns.label(name), kind, file)
        )
        typed[name] = pd.Series(values.array.take(codes), index=text.index)
    return typed


def _as_text(column: pd.Series) -> pd.Series:
    """Object dtype, blank cells None (all-blank column: all missing, as EMPTY_DTYPES says)."""
    empty = normalize.empty_cells(column)
    if empty.all():
        return pd.Series(None, index=column.index, dtype=EMPTY_DTYPES["text"])
    return (column.where(~empty, None) if empty.any() else column).astype("object")


def _parse_kind(distinct: pd.Series, kind: FieldKind, profile: Profile) -> tuple[pd.Series, str]:
    """Distinct non-text cells parsed, and what a good cell looks like."""
    if kind == "datetime":
        formats, zone = profile.dates.formats, profile.dates.source_zone
        values = parse.parse_datetimes(distinct, formats=formats, source_zone=zone)
        return values, "a date like " + _example(formats)
    if kind == "number":
        return parse.parse_numbers(distinct), "a number"
    if kind == "integer":
        return parse.parse_integers(distinct), "a whole number"
    return parse.parse_booleans(distinct), "true or false"


def _out_of_range(
    distinct: pd.Series, bad: pd.Series, kind: FieldKind, profile: Profile
) -> pd.Series:
    """Among the distinct cells that did not parse, those that are values out of range."""
    wild = pd.Series(False, index=distinct.index)
    if not bad.any() or kind not in ("datetime", "number"):
        return wild
    cells = distinct[bad]
    if kind == "datetime":
        wild[bad] = parse.dates_out_of_range(cells, formats=profile.dates.formats)
    else:
        wild[bad] = parse.numbers_out_of_range(cells)
    return wild


def _range_errors(bad: pd.Series, label: str, kind: FieldKind, file: str) -> ErrorTable:
    if kind == "datetime":
        reason = "date out of range: must be in the years 1900 to 2199"
    else:
        reason = f"number out of range: must be at most {parse.MAX_AMOUNT:,.0f}"
    code = f"{_KIND_CODES[kind]}.range"
    return error_table(file, bad.index, "validate", label, bad, _per_value(bad, reason), code)


def _per_value(bad: pd.Series, reason: str) -> pd.Series:
    """`reason, got <value>` for each cell, rendered once per distinct value."""
    codes, distinct = normalize.distinct(bad)
    said = pd.Series([f"{reason}, got {v!r}" for v in distinct], dtype="object")
    return pd.Series(said.array.take(codes), index=bad.index)


def _example(formats: list[str]) -> str:
    sample = datetime(2026, 11, 20, 14, 5, 9)
    fmt = formats[0]
    return (
        "2026-11-20T14:05:09+05:30"
        if fmt == parse.ISO8601
        else sample.strftime(fmt.replace("%z", "+0530"))
    )


def _parse_errors(
    bad: pd.Series, label: str, expected: str, kind: FieldKind, *, file: str
) -> ErrorTable:
    reasons = _per_value(bad, f"must be {expected}")
    code = f"{_KIND_CODES[kind]}.format"
    return error_table(file, bad.index, "validate", label, bad, reasons, code)
