"""One of several concurrent delivery runs: ``python -m tests.uniware.concurrent_child``.

Arguments: URL LEDGER RUN_ID FIRST END. Posts orders ``CONC-FIRST`` .. ``CONC-(END-1)`` to the
sandbox at URL with the ledger at LEDGER (a path or a database URL), and prints every delivery
as JSON lines ``[order_id, outcome, message]`` on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

from tests.uniware import make_item, make_order
from tests.uniware.deliveries import destination, sending
from uniware.delivery import Delivery, deliver_orders
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy

CONCURRENCY = 6


def concurrent_order(n: int) -> dict[str, Any]:
    """The n-th order of the concurrency tests."""
    return make_order(f"CONC-{n}", orderItems=[make_item(orderItemId=f"CONC-{n}-1")])


async def run(base_url: str, ledger: Ledger, run_id: str, numbers: range) -> list[Delivery]:
    """Deliver the orders of ``numbers``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as http:
        return await deliver_orders(
            (concurrent_order(n) for n in numbers),
            sending(
                http,
                ledger,
                destination(base_url),
                run_id=run_id,
                concurrency=CONCURRENCY,
                retry=RetryPolicy(attempts=8, base_delay=0.02, max_delay=0.3),
            ),
        )


def main(argv: list[str]) -> int:
    """Entry point: arguments URL LEDGER RUN_ID FIRST END."""
    base_url, ledger_url, run_id, first, end = argv
    with Ledger.open(ledger_url) as ledger:
        deliveries = asyncio.run(run(base_url, ledger, run_id, range(int(first), int(end))))
    for d in deliveries:
        print(json.dumps([d.order_id, d.outcome, d.message]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
