"""Validate parsed lines against the OrderLine schema and say each failure in a seller's words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import pandas as pd
import pandera.errors

from schemas.lines import OrderLine
from transforms.columns import ColumnMap
from transforms.errors import RowError

EARLIEST: Final = pd.Timestamp("2000-01-01", tz="UTC")
FUTURE_TOLERANCE: Final = timedelta(days=1)
_NUMBER: Final = r"[-+]?\d+(?:\.\d+)?"


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
        OrderLine.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    cases = cases[cases["index"].notna() & cases["column"].isin(text.columns)]
    out: list[RowError] = []
    for name, check, row in zip(cases["column"], cases["check"], cases["index"], strict=True):
        value = str(text.at[row, name])
        reason = explain(name, str(check), value)
        out.append(RowError(file, int(row), "validate", columns.label(name), value, reason))
    return out


def explain(field: str, check: str, value: str) -> str:
    """A pandera check name on a field -> a reason a seller understands."""
    if check == "not_nullable":
        return "required, but empty"
    if field.endswith("pincode"):
        return f"pincode must have 6 digits, got {value!r}"
    if field == "currency":
        return f"currency must be a 3-letter code such as INR, got {value!r}"
    if check.startswith("str_length"):
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
    ):
        label = columns.label("sla" if reason.startswith("SLA") else "order_date")
        name = "sla" if reason.startswith("SLA") else "order_date"
        for row in typed.index[mask.fillna(False)]:
            errors.append(
                RowError(file, int(row), "validate", label, str(text.at[row, name]), reason)
            )
    return errors
