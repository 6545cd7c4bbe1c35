"""Fixes that need no guessing: phone formatting, Indian state codes, country names, spaces.

Each function takes a text column and returns the fixed column plus a mask of the cells it
changed, so the caller can count them as warnings. Values it cannot fix are left as they are
for the schema to reject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

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


Fixer = Callable[[pd.Series], tuple[pd.Series, pd.Series]]


def per_unique(column: pd.Series, fixer: Fixer) -> tuple[pd.Series, pd.Series]:
    """Apply a fixer once per distinct value: exports repeat states, cities and dates a lot."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    fixed, changed = fixer(pd.Series(uniques, dtype="object"))
    return (
        pd.Series(fixed.to_numpy()[codes], index=column.index, dtype="object"),
        pd.Series(changed.to_numpy(dtype=bool)[codes], index=column.index),
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
