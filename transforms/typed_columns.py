"""Canonical text columns -> typed columns: each distinct cell parsed once, bad cells as errors."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import pandas as pd

from schemas.lines import FIELDS, FieldKind
from schemas.profile import Profile
from transforms import normalize, parse
from transforms.columns import ColumnMap
from transforms.errors import ErrorTable, concat, error_table

EMPTY_DTYPES: Final = {
    "text": "object",
    "datetime": "datetime64[ns, UTC]",
    "number": "float64",
    "integer": "Int64",
    "boolean": "boolean",
}

_KIND_CODES: Final = {
    "datetime": "date",
    "number": "number",
    "integer": "integer",
    "boolean": "flag",
}


def parse_columns(
    text: pd.DataFrame, profile: Profile, columns: ColumnMap, file: str
) -> tuple[pd.DataFrame, ErrorTable]:
    """Every canonical field in its type, and the errors of the cells that are not."""
    typed = pd.DataFrame(index=text.index)
    errors: list[ErrorTable] = []
    for name, kind in FIELDS.items():
        column = text[name]
        if kind == "text":
            typed[name] = _as_text(column)
            continue
        if normalize.all_empty(column):  # a field the export lacks: no hashing
            typed[name] = pd.Series(None, index=text.index, dtype=EMPTY_DTYPES[kind])
            continue
        # Exports repeat dates, prices and flags a lot: parse each distinct cell once.
        codes, distinct = normalize.distinct(column)
        empty = distinct.eq("")  # cells were stripped when made canonical
        values, expected = _parse_kind(distinct, kind, profile)
        if kind == "number":
            empty |= parse.not_applicable(distinct)
        bad_distinct = values.isna() & ~empty
        wild = _out_of_range(distinct, bad_distinct, kind, profile)
        if bad_distinct.any():  # most columns have no bad cell: no error tables to make
            bad = (bad_distinct & ~wild).to_numpy()[codes]
            label = columns.label(name)
            errors.append(_parse_errors(column[bad], label, expected, kind, file=file))
            errors.append(_range_errors(column[wild.to_numpy()[codes]], label, kind, file))
        typed[name] = pd.Series(values.array.take(codes), index=text.index)
    return typed, concat(errors)


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
