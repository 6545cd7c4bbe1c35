"""The posting floor: a bare HTTP/1.1 client on raw sockets, against the same sandbox.

No ledger, no retries, no httpx: each of ``concurrency`` keep-alive connections sends a
prebuilt request, reads its answer, and sends the next. What it reaches is what the sandbox
and the machine allow at that latency; the run's own posting is measured beside it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from uniware import settings
from uniware.config import demo_credentials


def _requests(first: int, count: int) -> Iterator[bytes]:
    """Whole order requests, built before the clock starts."""
    from bench.measure import _payload

    head = "".join(f"{k}: {v}\r\n" for k, v in demo_credentials().as_headers().items())
    for n in range(first, first + count):
        body = json.dumps(_payload(n)).encode()
        yield (
            f"POST {settings.ORDER_PATH} HTTP/1.1\r\nHost: sandbox\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body


async def _post_raw(base_url: str, requests: list[bytes], concurrency: int) -> float:
    parts = urlsplit(base_url)
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for request in queue:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200") or b'"success"' not in body:
                raise RuntimeError(
                    f"the sandbox refused a floor order: {head[:40]!r} {body[:200]!r}"
                )
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - start


def post_floor(base_url: str, *, first: int, orders: int, concurrency: int) -> float:
    """Orders per second of the bare client: ``orders`` new orders, ``concurrency`` in flight."""
    requests = list(_requests(first, orders))
    seconds = asyncio.run(_post_raw(base_url, requests, concurrency))
    return orders / seconds
