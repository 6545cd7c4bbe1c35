"""A delivery run for the crash test: ``python -m tests.uniware.crash_child URL LEDGER N RUN_ID``.

Posts orders ``CRASH-0`` .. ``CRASH-(N-1)`` to the sandbox at URL with the ledger at LEDGER;
the parent SIGKILLs it at random moments and starts it again. Exit 0 when every order is
accepted (now or in an earlier run), 3 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx

from tests.uniware import make_item, make_order
from tests.uniware.deliveries import destination, sending
from uniware.delivery import deliver_orders
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy

CONCURRENCY = 8
DONE = {"accepted", "already_accepted"}


def crash_order(n: int) -> dict[str, Any]:
    """The n-th order of the crash test."""
    return make_order(f"CRASH-{n}", orderItems=[make_item(orderItemId=f"CRASH-{n}-1")])


async def run(base_url: str, ledger: Ledger, orders: int, run_id: str) -> bool:
    """Deliver every crash order once; True when all are accepted."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as http:
        deliveries = await deliver_orders(
            (crash_order(n) for n in range(orders)),
            sending(
                http,
                ledger,
                destination(base_url),
                run_id=run_id,
                concurrency=CONCURRENCY,
                retry=RetryPolicy(base_delay=0.01, max_delay=0.2),
            ),
        )
    return all(delivery.outcome in DONE for delivery in deliveries)


def main(argv: list[str]) -> int:
    """Entry point: arguments URL LEDGER N RUN_ID."""
    base_url, ledger_path, orders, run_id = argv
    with Ledger.open(ledger_path) as ledger:
        done = asyncio.run(run(base_url, ledger, int(orders), run_id))
    return 0 if done else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
