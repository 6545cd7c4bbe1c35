"""Seconds spent per stage of a run, kept only while someone records them (the benchmark).

`stage("parse")` wraps a stage; it does nothing but one context-variable look-up unless a
`recording()` is open in the same context, which then adds the stage's wall-clock seconds
to its dict. Stages entered more than once (payloads, built a chunk at a time) add up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_SECONDS: ContextVar[dict[str, float] | None] = ContextVar("stage_seconds", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage `name` when a recording is open; otherwise do nothing."""
    seconds = _SECONDS.get()
    if seconds is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Record the stages run inside the block: stage name -> seconds, in the order first seen."""
    seconds: dict[str, float] = {}
    token = _SECONDS.set(seconds)
    try:
        yield seconds
    finally:
        _SECONDS.reset(token)
