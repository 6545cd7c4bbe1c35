"""A worker under a shared Prefect rate limit: ``python -m tests.flows.post.shared_limit_child``.

Arguments: URL LIMIT FIRST COUNT LEDGER STARTS. Builds orders ``SHARED-FIRST`` .. and prints
``ready``; once a line arrives on stdin, posts them to the sandbox at URL through
``flows.post.posting`` (the run's throttle with the shared limit LIMIT, from PREFECT_API_URL), then
writes the start time (``time.time()``, when the throttle let it go) of every request as a JSON
list to STARTS.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from flows.config import RunOptions
from flows.post.posting import post_payloads
from tests.uniware import make_item, make_order
from uniware.batch_pacer import BatchPacer
from uniware.config import UniwareConfig, demo_credentials

CONCURRENCY = 8


def record_starts(starts: list[float]) -> Callable[[BatchPacer], Coroutine[Any, Any, None]]:
    """A replacement for ``BatchPacer.acquire`` that appends when each start was let go
    (``time.time()``: one clock for every process of the host) to ``starts``."""
    acquire = BatchPacer.acquire

    async def recorded(self: BatchPacer) -> None:
        await acquire(self)
        starts.append(time.time())

    return recorded


def main(url: str, limit: str, first: int, count: int, ledger: str, starts_path: str) -> None:
    """Post ``count`` orders under ``limit``; record when each request was let go."""
    starts: list[float] = []
    BatchPacer.acquire = record_starts(starts)  # type: ignore[method-assign,assignment]  # recording wrapper
    orders = [
        make_order(f"SHARED-{n}", orderItems=[make_item(orderItemId=f"SHARED-{n}-1")])
        for n in range(first, first + count)
    ]
    config = UniwareConfig(base_url=url, credentials=demo_credentials())
    options = RunOptions(rate=None, concurrency=CONCURRENCY, shared_limit=limit, ledger=ledger)
    print("ready", flush=True)
    sys.stdin.readline()
    done = post_payloads(orders, config=config, options=options, run_id=f"shared-{first}")
    assert [d.outcome for d in done] == ["accepted"] * count, done
    Path(starts_path).write_text(json.dumps(starts))


if __name__ == "__main__":
    url, limit, first, count, ledger, starts_path = sys.argv[1:7]
    main(url, limit, int(first), int(count), ledger, starts_path)
