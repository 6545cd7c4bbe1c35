"""Validate parsed lines against the OrderLine schema and say each failure in a seller's words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import pandas as pd
import pandera.errors

from schemas.lines import FIELDS, OrderLine
from transforms.columns import ColumnMap
from transforms.errors import RowError
from transforms.exceptions import SchemaMismatch

EARLIEST: Final = pd.Timestamp("2000-01-01", tz="UTC")
FUTURE_TOLERANCE: Final = timedelta(days=1)
SLA_HORIZON: Final = timedelta(days=3 * 366)  # a dispatch promise years ahead is a typo
_NUMBER: Final = r"[-+]?\d+(?:\.\d+)?"
_SCHEMA: Final = OrderLine.to_schema()
_TEXT_COLUMNS: Final = tuple(name for name in _SCHEMA.columns if FIELDS[name] == "text")


def check_lines(
    typed: pd.DataFrame,
    text: pd.DataFrame,
    columns: ColumnMap,
    *,
    file: str,
    now: datetime,
    already: Iterable[RowError],
) -> list[RowError]:
    """Every schema failure of every cell, except cells already reported while parsing."""
    seen = {(e.row, e.field) for e in already}
    errors = [e for e in _schema_errors(typed, text, columns, file) if (e.row, e.field) not in seen]
    errors += _date_errors(typed, text, columns, file, now)
    return errors


def _schema_errors(
    typed: pd.DataFrame, text: pd.DataFrame, columns: ColumnMap, file: str
) -> list[RowError]:
    try:
        _SCHEMA.validate(_as_checked(typed), lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    whole_column = cases[cases["index"].isna()]
    if len(whole_column):
        raise SchemaMismatch(f"parsed lines fail the schema as a whole:\n{whole_column}")
    # Pandera sorts its cases with an unstable sort: put them back in schema order (column,
    # check, row), so the order of a row's errors does not depend on the other rows.
    cases = cases[cases["column"].isin(text.columns)].sort_index(kind="stable")
    out: list[RowError] = []
    cells: dict[str, dict[int, object]] = {}  # per column, row -> cell, built once
    for name, check, row in zip(cases["column"], cases["check"], cases["index"], strict=True):
        if name not in cells:
            cells[name] = dict(zip(text.index.tolist(), text[name].tolist(), strict=True))
        value = str(cells[name][row])
        reason = explain(name, str(check), value)
        out.append(RowError(file, int(row), "validate", columns.label(name), value, reason))
    return out


def _as_checked(typed: pd.DataFrame) -> pd.DataFrame:
    """The lines as the schema sees them: text columns in pandas' `str` dtype.

    Pandera checks an object column against `str` with a Python call per cell; a `str` column
    passes with one dtype comparison. The canonical frame keeps its object columns, which later
    stages rely on, so only this view is converted, once every cell is known to be text or
    missing: `astype("str")` would quietly turn anything else into text.
    """
    view = typed.copy(deep=False)
    for name in _TEXT_COLUMNS:
        column = typed[name]
        if column.dtype != object:
            continue
        if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
            raise SchemaMismatch(f"{name}: parsed text column holds non-text values")
        view[name] = column.astype("str")
    return view


def explain(field: str, check: str, value: str) -> str:
    """A pandera check name on a field -> a reason a seller understands."""
    if check == "not_nullable":
        return "required, but empty"
    if field.endswith("pincode"):
        return f"pincode must have 6 digits, got {value!r}"
    if field == "currency":
        return f"currency must be a 3-letter code such as INR, got {value!r}"
    if check.startswith("text_length"):
        limits = re.findall(r"\d+", check)
        most = limits[-1] if limits else "?"
        return f"must have 1 to {most} characters, got {len(value)}"
    if check.startswith("isin"):
        allowed = re.findall(r"'([^']*)'", check)
        return f"unknown value {value!r}; accepted: {', '.join(allowed)}"
    if check.startswith("greater_than_or_equal_to"):
        least = re.findall(_NUMBER, check)
        least_text = least[0] if least else "0"
        return f"must be at least {least_text}, got {value!r}"
    if check.startswith("less_than_or_equal_to"):
        most = re.findall(_NUMBER, check)
        return f"must be at most {most[0] if most else '?'}, got {value!r}"
    return f"invalid value {value!r} ({check})"


def _date_errors(
    typed: pd.DataFrame, text: pd.DataFrame, columns: ColumnMap, file: str, now: datetime
) -> list[RowError]:
    dates = typed["order_date"]
    latest = pd.Timestamp(now).tz_convert("UTC") + FUTURE_TOLERANCE
    errors = []
    for mask, reason in (
        (dates < EARLIEST, "order date is before 2000: check the date format"),
        (dates > latest, "order date is in the future: check the date and its time zone"),
        (typed["sla"] < dates, "SLA date is before the order date"),
        (typed["sla"] > dates + SLA_HORIZON, "SLA date is more than 3 years after the order date"),
    ):
        label = columns.label("sla" if reason.startswith("SLA") else "order_date")
        name = "sla" if reason.startswith("SLA") else "order_date"
        for row in typed.index[mask.fillna(False)]:
            errors.append(
                RowError(file, int(row), "validate", label, str(text.at[row, name]), reason)
            )
    return errors
