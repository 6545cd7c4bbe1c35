"""Where posting's cycle goes: ``python -m bench.posting_parts [CONCURRENCY] [ORDERS] [ROUNDS]``.

A diagnostic beside ``post_vs_bound``, not a target. Against one sandbox answering 50 ms after
each request arrives, in alternating rounds, it measures as shares of the bound
(concurrency / latency):

- ``full``: the run's client as shipped (``bench.measure._post``);
- ``free_ledger``: the same client with the ledger's writes answered at once (every claim
  granted, every outcome taken, nothing written). Never a mode of the tool: it shows what
  writing intent before each request and its outcome after costs the cycle;
- ``floor``: the bare raw-socket client of ``bench/floor.py``.

``full`` to ``free_ledger`` is the ledger's share; ``free_ledger`` to ``floor`` the HTTP client's,
the throttle's and the retry policy's.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from bench.floor import post_floor
from bench.measure import _post
from uniware.ledger_entries import Claim, ClaimWanted, Settled
from uniware.ledger_writer import LedgerWriter, Written

LATENCY_MS = 50.0
PARTS = ("full", "free_ledger", "floor")


@contextmanager
def free_ledger() -> Iterator[None]:
    """Inside: a run's ledger writer grants every claim and takes every outcome, writing none."""

    async def claim(self: LedgerWriter, wanted: ClaimWanted) -> Claim:
        return Claim("granted", secrets.token_hex(16), None)

    def settle(
        self: LedgerWriter, settled: Settled, *, items: Mapping[str, Any] | None, written: Written
    ) -> None:
        written(True)

    kept = LedgerWriter.claim, LedgerWriter.settle
    LedgerWriter.claim, LedgerWriter.settle = claim, settle  # type: ignore[method-assign]  # the free ledger, put back below
    try:
        yield
    finally:
        LedgerWriter.claim, LedgerWriter.settle = kept  # type: ignore[method-assign]  # put back


def posting_parts(
    tmp: Path, *, concurrency: int, orders: int, rounds: int
) -> dict[str, list[float]]:
    """Each part's share of the bound, one per round, the parts alternating in each round."""
    from uniware.sandbox import Faults, SandboxProcess

    bound = concurrency / (LATENCY_MS / 1000)
    shares: dict[str, list[float]] = {part: [] for part in PARTS}
    with SandboxProcess(faults=Faults(latency_ms=LATENCY_MS)) as sandbox:
        url, first, c = sandbox.base_url, 10**7, concurrency
        _post(url, tmp, min(orders, 50), rate=None, concurrency=c, first=first)  # warm-up
        for _ in range(rounds):
            for part in PARTS:
                first += orders
                if part == "floor":
                    speed = post_floor(url, first=first, orders=orders, concurrency=c)
                else:
                    with free_ledger() if part == "free_ledger" else nullcontext():
                        seconds = _post(url, tmp, orders, rate=None, concurrency=c, first=first)
                    speed = orders / seconds
                shares[part].append(round(speed / bound, 3))
    return shares


def main(argv: list[str]) -> int:
    """Print each part's shares and median as JSON lines."""
    concurrency, orders, rounds = (int(a) for a in (argv + ["8", "400", "3"][len(argv) :])[:3])
    with tempfile.TemporaryDirectory() as tmp:
        shares = posting_parts(Path(tmp), concurrency=concurrency, orders=orders, rounds=rounds)
    for part, got in shares.items():
        median = sorted(got)[len(got) // 2]
        print(
            json.dumps({"concurrency": concurrency, "part": part, "shares": got, "median": median})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
