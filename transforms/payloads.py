"""Orders -> Post Orders payloads, each held to the contract, built a chunk at a time.

Every payload is held to `schemas.contract.check_order`, the check the sandbox runs: the
orders the vectorised screen (transforms/screen.py) marks get the full check, which decides
and words the reason; the screen marks every order that could break a rule. The dicts are
made from whole columns (transforms/assemble.py), never row by row through pandas.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas import contract
from schemas.lines import LINE_FIELDS, ORDER_FIELDS
from transforms.assemble import collector_paused, payload_dicts
from transforms.disposition import to_post
from transforms.errors import RowError
from transforms.lines import FAILED, FILE, ROW
from transforms.screen import suspect_orders
from transforms.stages import stage

_HEAD_COLUMNS: Final = list(ORDER_FIELDS)
_ITEM_COLUMNS: Final = [*LINE_FIELDS, "currency", "order_id", FILE, ROW]
CHUNK_ORDERS: Final = 50_000  # orders built at a time
Chunk = tuple[pd.DataFrame, pd.DataFrame, np.ndarray]  # (first lines, lines, order ends)


class Payloads(Sequence[dict[str, Any]]):
    """The payloads of the orders that passed, built a chunk of orders at a time when read.

    Held all at once, a million-row export's 500,000 payloads take about 1.5 GB; posting
    takes them one after another, so only the chunk in hand is in memory. Each read builds
    them again (from the canonical lines, whose payload fields do not change after build).
    """

    def __init__(
        self,
        lines: pd.DataFrame,
        positions: npt.NDArray[np.intp],
        stops: npt.NDArray[np.intp],
        *,
        target_zone: str,
        send_facility: bool,
    ) -> None:
        self._lines = lines
        self._positions = positions  # row positions of the lines, each order's rows together
        self._stops = stops  # where each order's rows end in `positions`
        self._target_zone = target_zone
        self._send_facility = send_facility
        self._rejected = np.zeros(len(stops), dtype=bool)
        self._held: Chunk | None = None  # a one-chunk build's chunk, from check to first read

    def check(self, *, check_all: bool) -> list[RowError]:
        """Hold every order to the contract (screened; see the module doc); reject the bad."""
        errors: list[RowError] = []
        for first, chunk in self._chunks():
            self._hold(chunk)
            heads, items, stops = chunk
            counts = np.diff(stops, prepend=0)
            if check_all:
                suspect = np.ones(len(heads), dtype=bool)
            else:
                suspect = suspect_orders(heads, items, counts, send_facility=self._send_facility)
            marked = np.flatnonzero(suspect)
            if not len(marked):
                continue
            rows = _rows_of(_starts(stops)[marked], counts[marked])  # only the marked orders
            built = self._payloads(heads.iloc[marked], items.iloc[rows], np.cumsum(counts[marked]))
            for k, payload in zip(marked.tolist(), built, strict=True):
                violations = contract.check_order(payload)
                if violations:
                    self._rejected[first + k] = True
                    order_rows = items.iloc[stops[k] - counts[k] : stops[k]]
                    errors += _violation_errors(order_rows, violations)
        return errors

    @property
    def order_ids(self) -> list[str]:
        """The ids of the orders sent, in order."""
        firsts = self._positions[_starts(self._stops)]
        ids = self._lines["order_id"].to_numpy()[firsts[~self._rejected]]
        return [str(order_id) for order_id in ids]

    def __len__(self) -> int:
        return int((~self._rejected).sum())

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return list(self)[index]  # builds them all: read them in order instead

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for first in range(0, len(self._stops), CHUNK_ORDERS):
            with stage("payloads"):
                heads, items, stops = self._chunk(first)
                rejected = self._rejected[first : first + len(heads)].tolist()
                built = self._payloads(heads, items, stops)
                kept = [p for p, bad in zip(built, rejected, strict=True) if not bad]
            yield from kept

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable, as == compares contents

    def __repr__(self) -> str:
        return f"Payloads({len(self)} orders)"

    def _chunks(self) -> Iterator[tuple[int, Chunk]]:
        """(first order number, (its first lines, its lines, where each order ends))."""
        for first in range(0, len(self._stops), CHUNK_ORDERS):
            yield first, self._chunk(first)

    def _chunk(self, first: int) -> Chunk:
        """The chunk of orders from order number `first` (see `_chunks`)."""
        if self._held is not None:  # the only chunk: taken once for the check and a read
            held, self._held = self._held, None
            return held
        stops = self._stops[first : first + CHUNK_ORDERS]
        begin = int(self._stops[first - 1]) if first else 0
        rows = self._positions[begin : int(stops[-1])]
        local = stops - begin
        firsts = rows[_starts(local)]
        items = self._lines[_ITEM_COLUMNS].iloc[rows]  # only the columns each level needs
        heads = self._lines[_HEAD_COLUMNS].iloc[firsts]
        return heads, items, local

    def _hold(self, chunk: Chunk) -> None:
        """Keep the chunk just checked for the first read, when it is the only one."""
        self._held = chunk if len(self._stops) <= CHUNK_ORDERS else None

    def _payloads(
        self, heads: pd.DataFrame, items: pd.DataFrame, stops: np.ndarray
    ) -> list[dict[str, Any]]:
        with collector_paused():
            return payload_dicts(
                heads, items, stops.tolist(), self._target_zone, self._send_facility
            )


@dataclass(frozen=True)
class Built:
    """Payloads that passed the contract check, and row errors of those that did not."""

    payloads: Payloads
    errors: list[RowError]


def build_payloads(
    lines: pd.DataFrame, *, target_zone: str, send_facility: bool, check_all: bool = False
) -> Built:
    """One payload per order whose rows all passed; contract violations fail the whole order.

    `check_all` runs the full contract check on every payload instead of the screened ones
    (slower; the tests compare both).
    """
    ready = ~lines[FAILED] & lines["order_id"].notna() & to_post(lines)  # skipped: never built
    ok = np.flatnonzero(ready.to_numpy(dtype=bool))
    codes, _ = pd.factorize(lines["order_id"].to_numpy()[ok])
    positions = ok[np.argsort(codes, kind="stable")]  # an order's lines together, in file order
    stops = np.cumsum(np.bincount(codes)) if len(codes) else np.zeros(0, dtype=np.intp)
    payloads = Payloads(
        lines, positions, stops, target_zone=target_zone, send_facility=send_facility
    )
    errors = payloads.check(check_all=check_all)
    return Built(payloads, errors)


def _starts(stops: np.ndarray) -> np.ndarray:
    """Where each order's rows begin, from where they end."""
    starts: np.ndarray = stops - np.diff(stops, prepend=0)
    return starts


def _rows_of(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The row positions of orders given by their first row and row count, in order."""
    before = np.cumsum(counts) - counts  # rows of the earlier orders
    rows: np.ndarray = np.repeat(starts - before, counts) + np.arange(int(counts.sum()))
    return rows


def _violation_errors(rows: pd.DataFrame, violations: list[contract.Violation]) -> list[RowError]:
    reason = "; ".join(f"{v.field}: {v.message}" for v in violations)
    field = violations[0].field
    return [
        RowError(file, int(row), "build", field, "", reason, str(order), str(item), "contract")
        for file, row, order, item in zip(
            rows[FILE], rows[ROW], rows["order_id"], rows["order_item_id"], strict=True
        )
    ]
