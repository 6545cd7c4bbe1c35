"""Validate parsed lines against the OrderLine schema and say each failure in a seller's words."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import pandas as pd
import pandera.errors
from pandera.api.pandas.container import DataFrameSchema

from schemas.lines import FIELDS, OrderLine
from transforms.columns import ColumnMap
from transforms.errors import ErrorTable, RowError, concat, error_table, factorize_together
from transforms.exceptions import SchemaMismatch
from transforms.sure_pass import doubtful_columns

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
    already: Iterable[RowError] | ErrorTable,
) -> ErrorTable:
    """Every schema failure of every cell, except cells already reported while parsing."""
    found = _schema_errors(typed, text, columns, file)
    before = ErrorTable.of(already).frame
    if len(found) and len(before):
        seen = pd.MultiIndex.from_frame(before[["row", "field"]])
        found = found.where(~pd.MultiIndex.from_frame(found.frame[["row", "field"]]).isin(seen))
    return concat([found, _date_errors(typed, text, columns, file, now)])


def _schema_errors(
    typed: pd.DataFrame, text: pd.DataFrame, columns: ColumnMap, file: str
) -> ErrorTable:
    doubtful = doubtful_columns(_SCHEMA, typed, _TEXT_COLUMNS)
    if not doubtful:
        return ErrorTable()
    try:
        # inplace: no copy of the lines (coerce is off: the schema changes nothing)
        _schema_of(tuple(doubtful)).validate(_as_checked(typed, doubtful), lazy=True, inplace=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return ErrorTable()
    whole_column = cases[cases["index"].isna()]
    if len(whole_column):
        raise SchemaMismatch(f"parsed lines fail the schema as a whole:\n{whole_column}")
    # Pandera sorts its cases with an unstable sort: put them back in schema order (column,
    # check, row), so the order of a row's errors does not depend on the other rows.
    cases = cases[cases["column"].isin(text.columns)].sort_index(kind="stable")
    if not len(cases):
        return ErrorTable()
    names = cases["column"].astype(str).to_numpy(dtype=object)
    checks = cases["check"].astype(str).to_numpy(dtype=object)
    rows = cases["index"].to_numpy(dtype="int64")
    values = np.empty(len(cases), dtype=object)
    for name, at in pd.Series(names).groupby(names, sort=False).indices.items():
        values[at] = text[name].reindex(rows[at]).astype(str).to_numpy(dtype=object)
    # One reason per distinct (column, check, value): rendered once, shared by every row.
    keys, firsts = factorize_together(names, checks, values)
    distinct = list(zip(names[firsts], checks[firsts], values[firsts], strict=True))
    reasons = np.array([explain(n, c, v) for n, c, v in distinct], dtype=object)[keys]
    codes = np.array([check_code(n, c) for n, c, _ in distinct], dtype=object)[keys]
    labels = {name: columns.label(name) for name in set(names)}
    frame = pd.DataFrame(
        {
            "file": file,
            "row": rows,
            "stage": "validate",
            "field": [labels[n] for n in names],
            "value": values,
            "reason": reasons,
            "order_id": "",
            "item_id": "",
            "code": codes,
        }
    )
    return ErrorTable(frame.astype({c: object for c in frame.columns if c != "row"}))


@functools.cache
def _schema_of(names: tuple[str, ...]) -> DataFrameSchema:
    """The schema of these of its columns (all: the schema itself)."""
    return _SCHEMA if len(names) == len(_SCHEMA.columns) else _SCHEMA.select_columns(list(names))


def _as_checked(typed: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The lines' columns `names` as the schema sees them: text in pandas' `str` dtype.

    Pandera checks an object column against `str` with a Python call per cell; a `str` column
    passes with one dtype comparison. The canonical frame keeps its object columns, which later
    stages rely on, so only this view is converted, once every cell is known to be text or
    missing: `astype("str")` would quietly turn anything else into text.
    """
    view = typed[[name for name in typed.columns if name in names]]
    for name in _TEXT_COLUMNS:
        if name not in names:
            continue
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


def check_code(field: str, check: str) -> str:
    """The stable code of a pandera check failing on a field (see `explain` for its words)."""
    if check == "not_nullable":
        return "value.missing"
    if field.endswith("pincode"):
        return "pincode.digits"
    if field == "currency":
        return "currency.code"
    for prefix, code in _CHECK_CODES:
        if check.startswith(prefix):
            return code
    return "value.invalid"


_CHECK_CODES: Final = (
    ("text_length", "text.length"),
    ("isin", "value.unknown"),
    ("greater_than_or_equal_to", "number.too_small"),
    ("less_than_or_equal_to", "number.too_large"),
)
_DATE_RULES: Final = (
    ("order_date", "date.too_early", "order date is before 2000: check the date format"),
    ("order_date", "date.future", "order date is in the future: check the date and its time zone"),
    ("sla", "sla.before_order", "SLA date is before the order date"),
    ("sla", "sla.too_late", "SLA date is more than 3 years after the order date"),
)


def _date_errors(
    typed: pd.DataFrame, text: pd.DataFrame, columns: ColumnMap, file: str, now: datetime
) -> ErrorTable:
    dates = typed["order_date"]
    latest = pd.Timestamp(now).tz_convert("UTC") + FUTURE_TOLERANCE
    masks = (
        dates < EARLIEST,
        dates > latest,
        typed["sla"] < dates,
        typed["sla"] > dates + SLA_HORIZON,
    )
    found = []
    for mask, (name, code, reason) in zip(masks, _DATE_RULES, strict=True):
        rows = typed.index[mask.fillna(False).to_numpy(dtype=bool)]
        values = text[name].reindex(rows).astype(str)
        found.append(error_table(file, rows, "validate", columns.label(name), values, reason, code))
    return concat(found)
