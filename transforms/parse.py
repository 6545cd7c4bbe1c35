"""Vectorised parsing of text cells into dates, numbers, integers and booleans.

Every parser returns the parsed column with missing values where a cell is blank or cannot be
parsed; the caller compares with the blank mask to find the cells that were bad. Values out of
range parse as missing too, so one wild cell is one bad row, never an overflow later: dates
outside the years 1900-2199 (``9999-12-31``: pandas' nanosecond timestamps end in 2262) and
amounts beyond ``MAX_AMOUNT`` or not finite (``1e308`` overflows to infinity once multiplied
or summed, which JSON cannot hold). ``dates_out_of_range`` and ``numbers_out_of_range`` tell
those cells from unreadable ones. Parsing here,
before the schema, means every problem of every cell shows on the first run (pandera skips a
column's other checks when its coercion fails).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from transforms import normalize

ISO8601: Final = "ISO8601"
_OFFSET: Final = r"(?:Z|[+-]\d{2}:?\d{2})$"
_OFFSET_AT_END: Final = re.compile(_OFFSET)
_CURRENCY: Final = r"^\s*(?:₹|Rs\.?|INR|\$|USD)\s*"
_GROUPED: Final = r"^-?\d{1,3}(?:,\d{2,3})+(?:\.\d+)?$"
_NOT_APPLICABLE: Final = frozenset({"na", "n/a", "none", "null", "-"})
_TRUE: Final = frozenset({"true", "yes", "y", "1", "t"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "f"})
_UTC: Final = "datetime64[ns, UTC]"
FIRST_DATE: Final = pd.Timestamp("1900-01-01", tz="UTC")
END_DATE: Final = pd.Timestamp("2200-01-01", tz="UTC")
# Rs 100 crore for one unit: beyond any marketplace item, exact to the paisa in a float
# (1e11 paise < 2**53), and an order of 1999 such lines x 100,000 units stays finite.
MAX_AMOUNT: Final = 1e9


def parse_datetimes(text: pd.Series, *, formats: Sequence[str], source_zone: str) -> pd.Series:
    """Parse with each format in turn; values without an offset are in `source_zone`. UTC out."""
    out = pd.Series(pd.NaT, index=text.index, dtype=_UTC)
    stripped = normalize.strip_text(text) if text.dtype == object else None
    text = text.str.strip() if stripped is None else stripped[0]  # most need no stripping
    todo = text != ""
    for fmt in formats:
        if not todo.any():
            break
        parsed = _parse_with(text[todo], fmt, source_zone)
        out[parsed.index] = out[parsed.index].fillna(parsed)
        todo &= out.isna()
    return out


def _parse_with(text: pd.Series, fmt: str, zone: str) -> pd.Series:
    with_offset = _has_offset(text)
    explicit = fmt if fmt != ISO8601 else ISO8601
    aware = _in_range(pd.to_datetime(text[with_offset], format=explicit, errors="coerce", utc=True))
    if fmt != ISO8601 and "%z" in fmt:
        return aware.astype(_UTC)
    naive_fmt = fmt.replace(" %z", "").replace("%z", "")
    naive = pd.to_datetime(text[~with_offset], format=naive_fmt, errors="coerce")
    bounded: pd.Series = _in_range(naive.dt.tz_localize("UTC")).dt.tz_localize(None)
    local: pd.Series = bounded.dt.tz_localize(
        zone, ambiguous="NaT", nonexistent="NaT"
    ).dt.tz_convert("UTC")
    return pd.concat([aware.astype(_UTC), local.astype(_UTC)]).reindex(text.index)


def _in_range(parsed: pd.Series) -> pd.Series:
    """UTC dates from 1900 to 2199 kept, others missing (before any nanosecond conversion)."""
    return parsed.where((parsed >= FIRST_DATE) & (parsed < END_DATE))


def dates_out_of_range(text: pd.Series, *, formats: Sequence[str]) -> pd.Series:
    """True where a cell is a date in one of ``formats`` but outside the years 1900-2199."""
    text = text.str.strip()
    found = pd.Series(False, index=text.index)
    for fmt in formats:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        found |= (parsed.notna() & ((parsed < FIRST_DATE) | (parsed >= END_DATE))).astype(bool)
    return found


def _has_offset(text: pd.Series) -> pd.Series:
    """`text.str.contains(_OFFSET)`, twice as fast: an offset ends the text (or precedes a last
    newline), so it starts at most 7 characters from the end and each search starts there."""
    search = _OFFSET_AT_END.search
    cells = text.tolist()
    maybe = _offset_marks(cells)
    if maybe is None:
        try:
            found = [search(value, len(value) - 7) is not None for value in cells]
        except TypeError:  # a missing cell: pandas knows what that means
            return text.str.contains(_OFFSET, regex=True)
        return pd.Series(found, index=text.index, dtype=bool)
    at = np.flatnonzero(maybe).tolist()  # only cells with a Z, + or - near the end
    hits = [search(cells[i], len(cells[i]) - 7) is not None for i in at]
    has = np.zeros(len(cells), dtype=bool)
    has[at] = hits
    return pd.Series(has, index=text.index, dtype=bool)


def _offset_marks(cells: list[str]) -> np.ndarray | None:
    """True for each text cell with a `Z`, `+` or `-` among its last 7 characters, where
    every offset begins; read off all cells joined by NUL. None if a cell is not text or
    holds a NUL itself."""
    joined = normalize.joined_codes(cells)
    if joined is None:
        return None
    codes, cuts = joined
    marks = np.cumsum((codes == ord("Z")) | (codes == ord("+")) | (codes == ord("-")))
    ends = cuts[1:]
    starts = np.maximum(ends - 7, cuts[:-1] + 1)
    found: np.ndarray = marks[ends - 1] - marks[starts - 1] > 0
    return found


def parse_numbers(text: pd.Series) -> pd.Series:
    """`1299`, `1,299.00`, `₹ 1,299`, `Rs. 99.5` -> floats; `NA`, blanks, out of range -> NaN."""
    plain = _any_numbers(text)
    return plain.where(np.isfinite(plain) & (plain.abs() <= MAX_AMOUNT))  # "inf" is no price


def numbers_out_of_range(text: pd.Series) -> pd.Series:
    """True where a cell is a number, but infinite or beyond ``MAX_AMOUNT`` either way."""
    plain = _any_numbers(text)
    return pd.Series((plain.abs() > MAX_AMOUNT).to_numpy(), index=text.index, dtype=bool)


def _any_numbers(text: pd.Series) -> pd.Series:
    """Every cell that reads as a number, infinite and huge ones included; others NaN."""
    plain = pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")
    messy = ~np.isfinite(plain) & text.ne("")
    if messy.any():  # only cells that are not plain numbers pay for the cleaning
        plain[messy] = _parse_messy(text[messy])
    return plain


def _parse_messy(text: pd.Series) -> pd.Series:
    cleaned = text.str.strip().str.replace(_CURRENCY, "", regex=True)
    grouped = cleaned.str.fullmatch(_GROUPED)
    cleaned = cleaned.where(~grouped, cleaned.str.replace(",", "", regex=False))
    cleaned = cleaned.where(~cleaned.str.casefold().isin(_NOT_APPLICABLE), "")
    return pd.to_numeric(cleaned.replace("", None), errors="coerce").astype("float64")


def not_applicable(text: pd.Series) -> pd.Series:
    """True where a numeric cell says it does not apply (`NA`, `N/A`, `-`)."""
    return text.str.strip().str.casefold().isin(_NOT_APPLICABLE)


def parse_integers(text: pd.Series) -> pd.Series:
    """Whole numbers (`2`, `2.0`) -> Int64; fractions and text -> <NA>."""
    numbers = _any_numbers(text)
    whole = numbers.where((numbers % 1 == 0) & (numbers.abs() < 2**53))
    return whole.astype("Int64")


def parse_booleans(text: pd.Series) -> pd.Series:
    """`true/yes/y/1` and `false/no/n/0` (any case) -> boolean; others -> <NA>."""
    folded = text.str.strip().str.casefold()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[folded.isin(_TRUE)] = True
    out[folded.isin(_FALSE)] = False
    return out
