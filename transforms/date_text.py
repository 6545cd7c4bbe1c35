"""Dates as `yyyy-MM-dd HH:mm:ss` text, written digit by digit with array arithmetic.

numpy's `datetime_as_string` takes about half a microsecond a date; this writes each digit's
character code into a fixed-width text array at once. Only 4-digit years are written here.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

WIDTH: Final = 19  # yyyy-MM-dd HH:mm:ss
# (first column, digits, field) of each number; the separators sit between them
_FIELDS: Final = ((0, 4, "year"), (5, 2, "month"), (8, 2, "day"))
_TIMES: Final = ((11, 2, "hour"), (14, 2, "minute"), (17, 2, "second"))
_SEPARATORS: Final = ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"))


def date_texts(moments: npt.NDArray[np.datetime64]) -> list[str | None] | None:
    """Each naive datetime as `yyyy-MM-dd HH:mm:ss` (cast to whole seconds), None for NaT;
    None for all when a year is not 1000-9999 (the caller writes those another way)."""
    missing = np.isnat(moments)
    seconds = np.where(missing, np.datetime64(0, "s"), moments.astype("datetime64[s]"))
    days = seconds.astype("datetime64[D]")  # numpy rounds down, also before 1970
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    into_day = (seconds - days).astype(np.int64)
    parts = {
        "year": years.astype(np.int64) + 1970,
        "month": (months - years).astype(np.int64) + 1,
        "day": (days - months).astype(np.int64) + 1,
        "hour": into_day // 3600,
        "minute": into_day // 60 % 60,
        "second": into_day % 60,
    }
    if ((parts["year"] < 1000) | (parts["year"] > 9999)).any():
        return None
    codes = np.empty((len(moments), WIDTH), dtype=np.uint32)
    for column, char in _SEPARATORS:
        codes[:, column] = ord(char)
    for first, digits, name in (*_FIELDS, *_TIMES):
        value = parts[name]
        for k in range(digits):
            codes[:, first + k] = ord("0") + value // 10 ** (digits - 1 - k) % 10
    texts: list[str | None] = codes.view(f"U{WIDTH}").ravel().tolist()
    for at in np.flatnonzero(missing).tolist():
        texts[at] = None
    return texts
