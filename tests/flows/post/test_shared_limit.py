"""The throttle shared by workers: two processes under one Prefect global rate limit.

A real ``prefect server start``, a real sandbox and two worker processes posting disjoint
orders through ``flows.post.posting`` at once. Together they never start more requests in any
second than the limit's rate; every order reaches the sandbox once. The rate they achieve is
measured by the bench (``python -m bench``: ``rate_vs_limit``), never asserted here.

The window bound is checked on the requests' start times (when each worker's throttle let
them go, one clock for both processes): that is what the pacer guarantees. The sandbox logs a
request when its handler thread gets to it, which on a loaded machine comes up to a few
hundred milliseconds later (measured: 99th percentile 260 ms at a load of 9 on 2 cores), far
beyond any margin a sender can keep, so its log is checked for exactly-once only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.exceptions import ConfigError
from flows.preflight import check_shared_limit
from tests.prefect_server import PrefectServer, api_post
from uniware.sandbox import SandboxProcess

pytestmark = pytest.mark.slow

RATE = 10  # requests per second, both workers together (the limit's slot decay)
CAPACITY = 20  # slots one worker takes at once: 2 s of requests
ORDERS = 60  # per worker: about 12 s of posting at the limit
REPO = Path(__file__).resolve().parents[3]


def create_limit(server: PrefectServer, name: str, *, limit: int, decay: float) -> None:
    """``prefect gcl create NAME --limit LIMIT --slot-decay-per-second DECAY``, by the API."""
    body = {"name": name, "limit": limit, "slot_decay_per_second": decay}
    api_post(f"{server.api_url}/v2/concurrency_limits/", body)


def start_worker(
    server: PrefectServer, base_url: str, name: str, first: int, tmp: Path
) -> subprocess.Popen[str]:
    """One worker process (tests/flows/post/shared_limit_child.py); it says "ready" when built."""
    command = [sys.executable, "-m", "tests.flows.post.shared_limit_child", base_url, name]
    command += [str(first), str(ORDERS), str(tmp / f"ledger-{first}.db")]
    command += [str(tmp / f"starts-{first}.json")]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=server.env(PREFECT_LOGGING_LEVEL="WARNING"),
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def busiest_second(times: list[float]) -> int:
    """The most events in any window [t, t + 1 s)."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered[i:] if u < t + 1.0) for i, t in enumerate(ordered))


def test_two_workers_under_one_prefect_rate_limit_never_start_more_than_it_together(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    create_limit(prefect_server, "uniware-posts-two", limit=CAPACITY, decay=RATE)
    with SandboxProcess() as sandbox:
        workers = [
            start_worker(prefect_server, sandbox.base_url, "uniware-posts-two", first, tmp_path)
            for first in (0, ORDERS)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdin is not None
            assert worker.stdout.readline().strip() == "ready", worker.communicate()[1]
        for worker in workers:  # both start posting together
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            _, err = worker.communicate(timeout=240)
            assert worker.returncode == 0, err[-3000:]
        log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=10).json()["requests"]
    assert sorted(r["id"] for r in log) == sorted(f"SHARED-{n}" for n in range(2 * ORDERS))
    starts = [t for first in (0, ORDERS) for t in read_starts(tmp_path / f"starts-{first}.json")]
    assert len(starts) == 2 * ORDERS
    assert busiest_second(starts) <= RATE, f"sandbox saw {busiest_second([r['t'] for r in log])}"


def read_starts(path: Path) -> list[float]:
    """The start times one worker wrote."""
    starts: list[float] = json.loads(path.read_text())
    return starts


@pytest.fixture
def prefect_api(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    """This process's Prefect client pointed at the test server for the test."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        yield prefect_server


def test_a_missing_limit_is_refused_before_posting_with_the_command_that_creates_it(
    prefect_api: PrefectServer,
) -> None:
    with pytest.raises(ConfigError) as refused:
        check_shared_limit("no-such-limit")
    assert "prefect gcl create no-such-limit --limit" in str(refused.value)


@pytest.mark.parametrize(
    ("limit", "decay", "fix"),
    [
        (1, 20.0, "prefect gcl update one-slot --limit 100"),  # the old advice: --limit 1
        (5, 0.0, "--slot-decay-per-second"),  # a concurrency limit, not a rate
    ],
    ids=["one-slot", "no-decay"],
)
def test_a_limit_that_cannot_pace_is_refused_with_its_fix(
    prefect_api: PrefectServer, limit: int, decay: float, fix: str
) -> None:
    name = "one-slot" if limit == 1 else "no-decay"
    create_limit(prefect_api, name, limit=limit, decay=decay)
    with pytest.raises(ConfigError) as refused:
        check_shared_limit(name)
    assert fix in str(refused.value)


def test_a_run_ending_mid_batch_gives_back_its_slots_to_the_next_run(
    prefect_api: PrefectServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two short runs in turn under a limit of 4 s batches: the second starts about a window
    (1 s + guard) after the first's last request, not when the first's batch would have run out."""
    from flows.config import RunOptions
    from flows.post.posting import post_payloads
    from tests.flows.post.shared_limit_child import record_starts
    from tests.uniware import make_item, make_order
    from uniware.batch_pacer import BatchPacer
    from uniware.config import UniwareConfig, demo_credentials

    create_limit(prefect_api, "uniware-posts-back", limit=40, decay=10)
    starts: list[float] = []
    monkeypatch.setattr(BatchPacer, "acquire", record_starts(starts))
    with SandboxProcess() as sandbox:
        config = UniwareConfig(base_url=sandbox.base_url, credentials=demo_credentials())
        for run in ("first", "second"):
            orders = [
                make_order(f"BACK-{run}-{n}", orderItems=[make_item(orderItemId=f"{run}-{n}")])
                for n in range(3)
            ]
            options = RunOptions(
                rate=None, concurrency=4, shared_limit="uniware-posts-back",
                ledger=str(tmp_path / f"{run}.db"),
            )  # fmt: skip
            done = post_payloads(orders, config=config, options=options, run_id=run)
            assert [d.outcome for d in done] == ["accepted"] * 3
    assert len(starts) == 6
    gap = starts[3] - starts[2]
    assert 1.0 <= gap < 3.0, f"the second run started {gap:.2f} s after the first's last request"
