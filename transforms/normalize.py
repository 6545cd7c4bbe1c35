"""Fixes that need no guessing: phone formatting, Indian state codes, country names, spaces.

Each function takes a text column and returns the fixed column plus a mask of the cells it
changed, so the caller can count them as warnings. Values it cannot fix are left as they are
for the schema to reject.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

INDIAN_STATES: Final[dict[str, str]] = {
    "AN": "Andaman and Nicobar Islands",
    "AP": "Andhra Pradesh",
    "AR": "Arunachal Pradesh",
    "AS": "Assam",
    "BR": "Bihar",
    "CH": "Chandigarh",
    "CT": "Chhattisgarh",
    "CG": "Chhattisgarh",
    "DN": "Dadra and Nagar Haveli and Daman and Diu",
    "DD": "Dadra and Nagar Haveli and Daman and Diu",
    "DL": "Delhi",
    "GA": "Goa",
    "GJ": "Gujarat",
    "HR": "Haryana",
    "HP": "Himachal Pradesh",
    "JK": "Jammu and Kashmir",
    "JH": "Jharkhand",
    "KA": "Karnataka",
    "KL": "Kerala",
    "LA": "Ladakh",
    "LD": "Lakshadweep",
    "MP": "Madhya Pradesh",
    "MH": "Maharashtra",
    "MN": "Manipur",
    "ML": "Meghalaya",
    "MZ": "Mizoram",
    "NL": "Nagaland",
    "OR": "Odisha",
    "OD": "Odisha",
    "PY": "Puducherry",
    "PB": "Punjab",
    "RJ": "Rajasthan",
    "SK": "Sikkim",
    "TN": "Tamil Nadu",
    "TG": "Telangana",
    "TS": "Telangana",
    "TR": "Tripura",
    "UP": "Uttar Pradesh",
    "UK": "Uttarakhand",
    "UT": "Uttarakhand",
    "WB": "West Bengal",
}
_STATE_LOOKUP: Final[dict[str, str]] = {
    **{code.casefold(): name for code, name in INDIAN_STATES.items()},
    **{f"in-{code}".casefold(): name for code, name in INDIAN_STATES.items()},
    **{name.casefold(): name for name in INDIAN_STATES.values()},
    "orissa": "Odisha",
    "pondicherry": "Puducherry",
    "new delhi": "Delhi",
    "nct of delhi": "Delhi",
    "uttaranchal": "Uttarakhand",
}
_COUNTRY_LOOKUP: Final[dict[str, str]] = {
    "in": "India",
    "ind": "India",
    "india": "India",
    "bharat": "India",
}

# What str.strip() removes: the characters str.isspace() accepts, none above U+3000. The last
# entry stands for every character above.
_SPACE: Final = np.array([chr(code).isspace() for code in range(0x3002)])

Fixer = Callable[[pd.Series], tuple[pd.Series, pd.Series]]


def empty_cells(column: pd.Series) -> npt.NDArray[np.bool_]:
    """True where a cell is "": numpy compares an object array with "" several times faster
    than `Series.eq`."""
    empty: npt.NDArray[np.bool_] = column.to_numpy(dtype=object) == ""
    return empty


def all_empty(column: pd.Series) -> bool:
    """True when every cell is "": a column with a value in its first cell is not looked at."""
    first = column.iloc[0] if len(column) else ""
    return isinstance(first, str) and first == "" and bool(empty_cells(column).all())


def distinct(column: pd.Series) -> tuple[npt.NDArray[np.intp], pd.Series]:
    """The column's distinct values (missing ones too) and, per cell, which one it holds."""
    if column.dtype == object:
        # pandas hashes an object column twice as fast when it may leave missing values out,
        # and text cells are never missing (a `str` column is faster the other way round).
        codes, uniques = pd.factorize(column)
        if not (codes < 0).any():
            return codes, pd.Series(uniques, dtype="object")
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes, pd.Series(uniques, dtype="object")


def all_distinct(values: npt.NDArray[np.object_]) -> bool:
    """True when every value is text and no two are alike: then no pair holding one of them
    repeats either, without hashing the pairs (a set of the texts is several times faster)."""
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return False
    return len(set(values.tolist())) == len(values)


def per_unique(column: pd.Series, fixer: Fixer) -> tuple[pd.Series, pd.Series]:
    """Apply a fixer once per distinct value: exports repeat states, cities and dates a lot."""
    codes, uniques = distinct(column)
    fixed, changed = fixer(uniques)
    return _spread_text(fixed, codes, column), _spread_mask(changed, codes, column)


def strip_and_fix(column: pd.Series, fixer: Fixer) -> tuple[pd.Series, pd.Series, pd.Series]:
    """`strip_spaces`, then `fixer`, once per distinct value (one hashing of the column): the
    fixed column, the cells stripped and the cells the fixer changed."""
    codes, uniques = distinct(column)
    stripped, spaced = strip_spaces(uniques)
    fixed, changed = fixer(stripped)
    return (
        _spread_text(fixed, codes, column),
        _spread_mask(spaced, codes, column),
        _spread_mask(changed, codes, column),
    )


def _spread_text(fixed: pd.Series, codes: npt.NDArray[np.intp], column: pd.Series) -> pd.Series:
    """Values fixed once per distinct value, back onto the column's cells."""
    return pd.Series(fixed.to_numpy()[codes], index=column.index, dtype="object")


def _spread_mask(changed: pd.Series, codes: npt.NDArray[np.intp], column: pd.Series) -> pd.Series:
    return pd.Series(changed.to_numpy(dtype=bool)[codes], index=column.index)


def strip_column(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`strip_spaces` for a whole export column: most cells need nothing, so one vectorised look
    at every cell's first and last character finds the few to strip (no hashing of every cell)."""
    stripped = strip_text(column)
    return per_unique(column, strip_spaces) if stripped is None else stripped


def strip_text(column: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """`strip_column` of a column whose cells are all text (None for any other)."""
    values = column.to_numpy(dtype=object)
    cells = values.tolist()
    joined = _joined(cells)
    if joined is None:
        return None
    if cells and joined.isascii() and _ascii_unspaced(joined, len(cells)):
        changed = np.zeros(len(cells), dtype=bool)  # most columns: nothing to strip
    else:
        shape = _shape_of(joined, len(cells))
        if shape is None:
            return None
        changed = _SPACE[shape.first] | _SPACE[shape.last]
    fixed = values.copy()
    if changed.any():
        fixed[changed] = [value.strip() for value in fixed[changed]]
    return (
        pd.Series(fixed, index=column.index, dtype="object", copy=False),
        pd.Series(changed, index=column.index),
    )


def _joined(cells: list[str]) -> str | None:
    """The cells joined by NUL, with a NUL before the first and after the last; None if a
    cell is not text."""
    try:
        return "\0" + "\0".join(cells) + "\0"
    except TypeError:
        return None


def _ascii_unspaced(joined: str, count: int) -> bool:
    """True when no cell of ASCII text `joined` (`count` cells) begins or ends with a character
    up to space, which every ASCII white space is; False also if a cell holds a NUL."""
    codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    cut = codes == 0
    if np.count_nonzero(cut) != count + 1:
        return False
    low = (codes <= ord(" ")) & ~cut
    return not ((cut[:-1] & low[1:]).any() or (low[:-1] & cut[1:]).any())


class TextShape(NamedTuple):
    """Per cell: its length, and its first and last character as an index into `_SPACE`."""

    lengths: npt.NDArray[np.intp]
    first: npt.NDArray[np.intp]
    last: npt.NDArray[np.intp]

    def spaced(self) -> npt.NDArray[np.bool_]:
        """True where a cell begins with white space."""
        starts: npt.NDArray[np.bool_] = _SPACE[self.first]
        return starts


def text_shape(cells: list[str]) -> TextShape | None:
    """Lengths and end characters of text cells, read off all of them joined by NUL (no
    Python call per cell). None if a cell is not text or holds a NUL itself."""
    joined = _joined(cells)
    return None if joined is None else _shape_of(joined, len(cells))


def joined_codes(cells: list[str]) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]] | None:
    """The code points of the cells joined by NUL (see `_joined`) and where the NULs are: cell
    k lies between cuts k and k + 1. None if a cell is not text or holds a NUL itself."""
    joined = _joined(cells)
    return None if joined is None else _code_points(joined, len(cells))


def _code_points(joined: str, count: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]] | None:
    """`joined_codes` of the `count` cells `joined`."""
    wide = not joined.isascii()
    try:
        encoded = joined.encode("utf-32-le" if wide else "ascii")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    codes = np.frombuffer(encoded, dtype=np.uint32 if wide else np.uint8)
    cuts = np.flatnonzero(codes == 0)
    return (codes, cuts) if len(cuts) == count + 1 else None


def _shape_of(joined: str, count: int) -> TextShape | None:
    """`text_shape` of the `count` cells `joined` (see `_joined`)."""
    if not count:  # "\0\0" would read as one empty cell
        nothing = np.zeros(0, dtype=np.intp)
        return TextShape(nothing, nothing, nothing)
    found = _code_points(joined, count)
    if found is None:
        return None
    codes, cuts = found
    first, last = codes[cuts[:-1] + 1], codes[cuts[1:] - 1]
    top = len(_SPACE) - 1
    return TextShape(
        np.diff(cuts) - 1,
        np.minimum(first, top, dtype=np.intp),
        np.minimum(last, top, dtype=np.intp),
    )


def strip_spaces(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Remove surrounding white space (a plain loop: several times faster than `.str.strip`)."""
    values = column.tolist()
    stripped = [v.strip() for v in values]
    fixed = pd.Series(stripped, index=column.index, dtype="object")
    changed = pd.Series([a != b for a, b in zip(values, stripped, strict=True)], index=column.index)
    return fixed, changed


def fix_phone(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`+91 98765 43210`, `098765-43210`, `(98765) 43210` -> `9876543210` (Indian numbers only)."""
    digits = column.str.replace(r"[\s\-().]", "", regex=True)
    indian = digits.str.fullmatch(r"(?:\+?91|0)?[6-9]\d{9}")
    fixed = column.where(~indian, digits.str[-10:])
    return fixed, fixed != column


INVISIBLE: Final = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def all_ascii(column: pd.Series) -> bool:
    """True when every cell is ASCII text: `fix_id` would leave each as it is."""
    try:
        return "".join(column.tolist()).isascii()
    except TypeError:  # a cell that is not text
        return False


def fix_id(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids as Uniware should see them: NFKC (full-width `ＯＤ１` -> `OD1`), invisible characters
    (zero-width spaces, soft hyphens, direction marks) dropped, so look-alikes are one id."""
    values = column.tolist()
    fixed = [
        value if not isinstance(value, str) or value.isascii() else id_text(value)
        for value in values
    ]
    out = pd.Series(fixed, index=column.index, dtype="object")
    return out, pd.Series([a != b for a, b in zip(values, fixed, strict=True)], index=column.index)


def id_text(value: str) -> str:
    """One id's text in NFKC without invisible characters."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", value)).strip()


def fix_state(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Indian state codes and upper-case names -> the name (`KA`, `KARNATAKA` -> `Karnataka`)."""
    known = column.str.casefold().map(_STATE_LOOKUP)
    fixed = column.where(known.isna(), known)
    return fixed, fixed != column


def fix_country(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`IN`, `IND`, `india` -> `India`."""
    known = column.str.casefold().map(_COUNTRY_LOOKUP)
    fixed = column.where(known.isna(), known)
    return fixed, fixed != column


def fix_pincode(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`560 001` -> `560001` (spaces inside a pincode)."""
    squeezed = column.str.replace(r"\s+", "", regex=True)
    fixed = column.where(~squeezed.str.fullmatch(r"\d{6}"), squeezed)
    return fixed, fixed != column
