"""Address line 1 over the contract's limit continues into line 2 at a word boundary."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas.contract import MAX_ADDRESS_LINE

PAIRS: Final = (("ship_address1", "ship_address2"), ("bill_address1", "bill_address2"))


def split_line(line1: str, line2: str, limit: int = MAX_ADDRESS_LINE) -> tuple[str, str] | None:
    """(line 1, line 2) with line 1's overflow moved to the front of line 2, or None.

    None when line 1 fits, when it has no word boundary within the limit, or when line 2
    would then be over the limit itself (the row keeps its error: nothing is cut off).
    """
    if len(line1) <= limit:
        return None
    cut = line1.rfind(" ", 0, limit + 1)
    head = line1[:cut].rstrip(" ,") if cut > 0 else ""
    tail = line1[cut:].strip(" ,") if cut > 0 else ""
    if not head or not tail:
        return None
    rest = line2.strip()
    joined = f"{tail}, {rest}" if rest else tail
    return (head, joined) if len(joined) <= limit else None


def continue_long_lines(text: pd.DataFrame) -> dict[str, pd.Series]:
    """Split every too-long address line 1 that fits in two lines (in place); changed rows."""
    changed: dict[str, pd.Series] = {}
    for one, two in PAIRS:
        long_ = pd.Series(_lengths(text[one]) > MAX_ADDRESS_LINE, index=text.index)
        if not long_.any():
            continue
        firsts, seconds = text.loc[long_, one], text.loc[long_, two]
        fixed = {
            row: split_line(str(a), str(b))
            for row, a, b in zip(firsts.index, firsts, seconds, strict=True)
        }
        done = {row: pair for row, pair in fixed.items() if pair is not None}
        for row, (head, tail) in done.items():
            text.at[row, one], text.at[row, two] = head, tail
        changed[one] = pd.Series(text.index.isin(list(done)), index=text.index)
    return changed


def _lengths(column: pd.Series) -> npt.NDArray[np.float64]:
    """Each cell's length, NaN for a missing one: `str.len`, without pandas' cell-by-cell map."""
    values = column.tolist()
    try:
        return np.fromiter(map(len, values), np.float64, len(values))
    except TypeError:  # a cell that is not text
        return np.asarray(column.str.len().astype("float64"), dtype=np.float64)
