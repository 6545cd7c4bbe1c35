"""Schema columns that certainly pass, found with one whole-column look each.

Pandera validates a column in several passes (it looks for missing values twice, makes an
element-wise dtype result for text, then runs the check), about 10 ms a column per 100,000
rows, and most columns of most exports have nothing wrong. `doubtful_columns` names the
columns pandera might fail on; the rules (transforms/rules.py) hand pandera only those, so a
column with a bad cell is reported by pandera exactly as before. The look may doubt too much,
never too little: a check, dtype or missing value it does not know sends the column to pandera.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final

import numpy as np
import pandas as pd
from pandera.api.pandas.components import Column
from pandera.api.pandas.container import DataFrameSchema
from pandera.engines.pandas_engine import Engine

from transforms import normalize

# A text column as the rules hand it to pandera: `astype("str")` of text and None cells.
_AS_TEXT: Final = pd.Series([""], dtype=object).astype("str")


def doubtful_columns(
    schema: DataFrameSchema, frame: pd.DataFrame, text_columns: Collection[str]
) -> list[str]:
    """The schema's columns, in its order, that might fail on `frame`: all but those that
    certainly pass. `text_columns` reach pandera as `str` (object cells: text or None)."""
    if not _plain_frame(schema):
        return list(schema.columns)
    return [
        name
        for name, column in schema.columns.items()
        if not (name in frame and _passes(column, frame[name], text=name in text_columns))
    ]


def _plain_frame(schema: DataFrameSchema) -> bool:
    """A schema that checks nothing beyond its columns, and changes nothing it validates."""
    frame_wide = (schema.checks, schema.parsers, schema.unique, schema.strict, schema.ordered)
    changes = (schema.coerce, schema.add_missing_columns, schema.drop_invalid_rows)
    return schema.index is None and not any(frame_wide) and not any(changes)


def _passes(column: Column, series: pd.Series, *, text: bool) -> bool:
    """True only when pandera would pass `series` (as handed to it) on every count."""
    if not _plain(column):
        return False
    cells: list[str] | pd.Series | None
    if text:
        cells = _text_cells(series)
        if cells is None or not _dtype_passes(column, _AS_TEXT):
            return False
        missing = len(cells) < len(series)
    else:
        missing = series.hasnans
        if not _dtype_passes(column, series):
            return False
        cells = series[series.notna()] if missing else series
    if missing and not column.nullable:
        return False
    return all(_check_passes(check.name, check.statistics, cells) for check in column.checks)


def _plain(column: Column) -> bool:
    """A column validated only by its dtype, nullability and checks this module knows."""
    return (
        column.required
        and not (column.unique or column.coerce or column.regex or column.parsers)
        and all(
            check.ignore_na
            and check.groupby is None
            and not (check.element_wise or check.raise_warning)
            for check in column.checks
        )
    )


def _text_cells(series: pd.Series) -> list[str] | None:
    """The cells that are not missing, when all of them are `str`: the column `astype("str")`
    takes as text (rules._as_checked refuses any other)."""
    if series.dtype != object:
        return None
    values = series.to_numpy()
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        cells: list[str] = values.tolist()
        return cells
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    given: list[str] = values[~pd.isna(values)].tolist()
    try:
        "".join(given)  # raises unless every cell is text
    except TypeError:
        return None
    return given


def _dtype_passes(column: Column, series: pd.Series) -> bool:
    """Pandera's own dtype check, read as pandera reads it."""
    if column.dtype is None:
        return True
    try:
        result = column.dtype.check(Engine.dtype(series.dtype), series)
    except (TypeError, ValueError):
        return False
    return result if isinstance(result, bool) else bool(np.all(np.asarray(result)))


def _check_passes(name: str | None, statistics: dict[str, Any], cells: Any) -> bool:
    """A known check on the cells that are not missing (text: `str` list, else a Series)."""
    text = isinstance(cells, list)
    if name == "text_length" and text:
        least, most = statistics.get("min_value"), statistics.get("max_value")
        if most is None and (least or 0) <= 1:  # at least one character: not ""
            return not least or "" not in cells
        lengths = _lengths(cells)
        return (least is None or bool((lengths >= least).all())) and (
            most is None or bool((lengths <= most).all())
        )
    if name == "text_matches" and text:
        match = re.compile(statistics["pattern"]).match
        return all(match(value) is not None for value in set(cells))
    if name == "isin" and text:
        return set(cells) <= set(statistics["allowed_values"])
    if name in _BOUNDS and not text and cells.dtype.kind in "iuf":
        op, key = _BOUNDS[name]
        return bool(op(cells, statistics[key]).all())
    return False


def _lengths(cells: list[str]) -> np.ndarray:
    """Each cell's length, read off all of them joined by NUL (`normalize.joined_codes`)."""
    joined = normalize.joined_codes(cells)
    if joined is None:  # a cell holds a NUL or a lone surrogate
        return np.fromiter(map(len, cells), np.int64, len(cells))
    return np.diff(joined[1]) - 1


_BOUNDS: Final = {
    "greater_than_or_equal_to": (pd.Series.ge, "min_value"),
    "less_than_or_equal_to": (pd.Series.le, "max_value"),
}
