"""Chunk boundaries for streaming: whole orders per block, ids that come back, bounded memory.

A streamed export arrives in chunks of raw rows. `OrderBoundaries` turns them into blocks
that never split an order: the rows of a chunk's last order are held back and put in front
of the next chunk. Streaming needs each order's rows to stand together (every real export
writes them so); rows of an order id that come back after its order ended fail with a reason
that says how to fix the file. Rows with a blank order id belong to no order: they pass
straight through (validation reports them).

Memory: the held-back rows (at most one order) and, per completed order, a 64-bit hash of
its id and its last row number (16 bytes, in sorted numpy arrays). Two different ids with
the same hash would make the later one fail as "appeared again": about 1 in 10^6 for a file
of 5 million orders, and never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from schemas import contract
from schemas.profile import Joined, Profile
from transforms.columns import resolve_columns
from transforms.errors import RowError
from transforms.exceptions import MissingColumns

AGAIN: Final = (
    "order {order} appeared again at row {row} after its order was complete at row {done}; "
    "sort the file by order id: a large file is read in blocks, so an order's rows must "
    "stand together"
)
TOO_LONG: Final = (
    "order {order} (from row {first}) runs past {limit} rows; Uniware takes at most "
    "{limit} items in one order: split the order"
)
NO_ROW: Final = 0  # spreadsheet rows start at 2 (header = 1): 0 means "not seen"


def order_keys(raw: pd.DataFrame, profile: Profile) -> pd.Series:
    """Each raw row's order id as validation will read it (stripped text; "" when blank)."""
    try:
        sources = resolve_columns([str(c) for c in raw.columns], profile).sources
    except MissingColumns:  # validation reports the missing columns for the whole file
        sources = {}
    headers = sources.get("order_id")
    if not headers:
        return pd.Series("", index=raw.index, dtype=object)
    spec = profile.columns["order_id"]
    sep = spec.sep if isinstance(spec, Joined) else ""
    key = raw[headers[0]].astype("str").str.strip()
    for header in headers[1:]:
        key = key + sep + raw[header].astype("str").str.strip()
    return key.str.strip().fillna("").astype(object)


class CompletedOrders:
    """Hashes of completed order ids with their last row, as a few sorted numpy arrays."""

    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._levels)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(hashes.nbytes + rows.nbytes for hashes, rows in self._levels)

    def last_rows(self, hashes: np.ndarray) -> np.ndarray:
        """The last row of each hashed id's completed order, NO_ROW when not completed."""
        found = np.full(len(hashes), NO_ROW, dtype=np.int64)
        for known, rows in self._levels:
            at = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
            hit = known[at] == hashes
            found[hit] = rows[at[hit]]
        return found

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Record completed orders; levels merge like a binary counter (log n levels)."""
        if len(hashes) == 0:
            return
        order = np.argsort(hashes, kind="stable")
        self._levels.append((hashes[order], rows[order].astype(np.int64)))
        while len(self._levels) > 1 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (h1, r1), (h2, r2) = self._levels.pop(), self._levels.pop()
            merged, values = np.concatenate([h2, h1]), np.concatenate([r2, r1])
            order = np.argsort(merged, kind="stable")
            self._levels.append((merged[order], values[order]))


def hash_ids(ids: np.ndarray) -> np.ndarray:
    """Stable 64-bit hashes of order ids (the same in every process and run)."""
    return pd.util.hash_array(ids.astype(object))


@dataclass(frozen=True)
class Block:
    """Raw rows holding whole orders only; `held_out` rows already failed (see `errors`)."""

    table: pd.DataFrame
    held_out: pd.Index
    errors: tuple[RowError, ...]

    @property
    def sound(self) -> pd.DataFrame:
        """The rows to validate, group, build and post."""
        return self.table.drop(index=self.held_out)


@dataclass(frozen=True)
class Runs:
    """Stretches of consecutive rows with the same (non-blank) order id, in file order."""

    keys: np.ndarray  # the order id of each run
    starts: np.ndarray  # position of each run's first row in the block
    ends: np.ndarray  # position of each run's last row in the block
    members: list[np.ndarray]  # positions of each run's rows (blank-id rows excluded)


def find_runs(keys: pd.Series) -> Runs:
    """The runs of `keys` (positions are 0-based in `keys`)."""
    at = np.flatnonzero(keys.to_numpy(dtype=object) != "")
    ids = keys.to_numpy(dtype=object)[at]
    first = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.zeros(0, dtype=bool)
    heads = np.flatnonzero(first)
    tails = np.r_[heads[1:] - 1, len(ids) - 1] if len(heads) else heads
    members = np.split(at, heads[1:]) if len(heads) else []
    return Runs(ids[heads], at[heads], at[tails], members)


class OrderBoundaries:
    """Cuts a stream of raw chunks (index = spreadsheet row) into blocks of whole orders."""

    def __init__(
        self,
        *,
        file: str,
        field: str,
        max_items: int = contract.MAX_ITEMS,
        completed: CompletedOrders | None = None,
    ) -> None:
        self.file = file
        self.field = field  # the export's order id column, for the report
        self.max_items = max_items
        # shared by the files of one run: an order id of an earlier file fails as repeated
        self.completed = CompletedOrders() if completed is None else completed
        self._carry: tuple[pd.DataFrame, pd.Series] | None = None
        self._failing: tuple[str, str] | None = None  # a block's last stretch failed: id, reason

    def feed(self, chunk: pd.DataFrame, keys: pd.Series) -> Block:
        """The next block: the held-back rows, then `chunk` less the rows of its last order."""
        span_limit = self.max_items + len(chunk)  # bounds blank-id rows inside one order
        if self._carry is not None:
            chunk = pd.concat([self._carry[0], chunk])
            keys = pd.concat([self._carry[1], keys])
        self._carry = None
        return self._cut(chunk, keys, span_limit=span_limit)

    def finish(self) -> Block | None:
        """The held-back rows, once the export has ended (None when nothing is held back)."""
        if self._carry is None:
            return None
        table, keys = self._carry
        self._carry = None
        return self._cut(table, keys, span_limit=None)

    def _cut(self, table: pd.DataFrame, keys: pd.Series, *, span_limit: int | None) -> Block:
        runs = find_runs(keys)
        rows = table.index.to_numpy(dtype=np.int64)
        hashes = hash_ids(runs.keys)
        reasons = self._reasons(runs, rows, hashes)
        keep = np.ones(len(table), dtype=bool)
        open_end = span_limit is not None and len(runs.keys) > 0 and not reasons[-1]
        if open_end and not self._hold_back(runs, table, keys, keep, span_limit=span_limit or 0):
            first = int(rows[runs.starts[-1]])
            reasons[-1] = TOO_LONG.format(order=runs.keys[-1], first=first, limit=self.max_items)
            self.completed.add(hashes[-1:], rows[runs.ends[-1:]])
        failing = bool(len(runs.keys)) and bool(reasons[-1]) and span_limit is not None
        self._failing = (str(runs.keys[-1]), reasons[-1]) if failing else None
        errors, out = self._failures(runs, rows, reasons)
        return Block(table[keep], pd.Index(out, dtype="int64"), tuple(errors))

    def _reasons(self, runs: Runs, rows: np.ndarray, hashes: np.ndarray) -> list[str]:
        """Why each run fails ("" when it does not); complete orders are recorded."""
        done = self.completed.last_rows(hashes)
        if len(runs.keys):
            frame = pd.DataFrame({"key": runs.keys, "tail": rows[runs.ends]})
            earlier = frame.groupby("key", sort=False)["tail"].transform("first").to_numpy()
            repeated = frame["key"].duplicated().to_numpy()
            done = np.where((done == NO_ROW) & repeated, earlier, done)
        firsts = rows[runs.starts]
        reasons = [
            AGAIN.format(order=key, row=first, done=last) if last != NO_ROW else ""
            for key, first, last in zip(runs.keys, firsts.tolist(), done.tolist(), strict=True)
        ]
        if self._failing and len(runs.keys) and runs.keys[0] == self._failing[0]:
            reasons[0] = self._failing[1]  # the rest of a stretch that failed in the last block
        fresh = np.array([not r for r in reasons], dtype=bool)
        fresh[-1:] = False  # the last run may be held back: recorded once it is complete
        self.completed.add(hashes[fresh], rows[runs.ends[fresh]])
        return reasons

    def _hold_back(
        self, runs: Runs, table: pd.DataFrame, keys: pd.Series, keep: np.ndarray, *, span_limit: int
    ) -> bool:
        """Hold the last order back for the next block; False when it is too long to be one."""
        start, end = int(runs.starts[-1]), int(runs.ends[-1])
        if len(runs.members[-1]) > self.max_items or end - start + 1 > span_limit:
            return False
        self._carry = (table.iloc[start : end + 1], keys.iloc[start : end + 1])
        keep[start : end + 1] = False
        return True

    def _failures(
        self, runs: Runs, rows: np.ndarray, reasons: list[str]
    ) -> tuple[list[RowError], list[int]]:
        """Row errors (and their rows) of the runs that fail."""
        errors: list[RowError] = []
        held: list[int] = []
        for run, reason in enumerate(reasons):
            if reason:
                order, where = str(runs.keys[run]), rows[runs.members[run]].tolist()
                code = "order.too_many_items" if "runs past" in reason else "order.scattered"
                errors += [
                    RowError(self.file, r, "group", self.field, order, reason, order, code=code)
                    for r in where
                ]
                held += where
        return errors, held
