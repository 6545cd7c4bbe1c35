"""Fault injection for the sandbox: which requests are slowed, hung, dropped or refused."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Final, Literal

Fault = Literal["none", "hang", "drop", "throttle", "server_error"]

DEFAULT_RETRY_AFTER: Final = 1.0
DEFAULT_HANG_SECONDS: Final = 30.0
SERVER_ERROR_STATUSES: Final = (503, 500)


@dataclass(frozen=True)
class Faults:
    """Shares (0..1) of order requests that meet each fault, decided before anything is stored.

    ``latency_ms``: each order, cancel or return request is answered (or dropped) no sooner than
    this after it arrived, the sandbox's own work included, as a remote server's latency is.
    ``phang``: wait ``hang_seconds`` then close without answering; ``pdrop``: close at once;
    ``p429``: 429 with ``Retry-After: retry_after``; ``p5xx``: 503 or 500. The four shares
    add up to at most 1. ``p_drop_after_commit``: share of created orders whose answer is
    dropped after storing (a lost answer). ``seed`` makes the draws repeatable.
    """

    latency_ms: float = 0.0
    p429: float = 0.0
    p5xx: float = 0.0
    phang: float = 0.0
    pdrop: float = 0.0
    retry_after: float = DEFAULT_RETRY_AFTER
    hang_seconds: float = DEFAULT_HANG_SECONDS
    seed: int | None = None
    p_drop_after_commit: float = 0.0

    def __post_init__(self) -> None:
        shares = {
            "p429": self.p429,
            "p5xx": self.p5xx,
            "phang": self.phang,
            "pdrop": self.pdrop,
            "p_drop_after_commit": self.p_drop_after_commit,
        }
        for name, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {share}")
        if self.phang + self.pdrop + self.p429 + self.p5xx > 1.0:
            raise ValueError("phang + pdrop + p429 + p5xx must add up to at most 1")
        for name, amount in (
            ("latency_ms", self.latency_ms),
            ("retry_after", self.retry_after),
            ("hang_seconds", self.hang_seconds),
        ):
            if not amount >= 0:
                raise ValueError(f"{name} must be 0 or more, got {amount}")


class FaultDice:
    """Draws faults for requests from one seeded generator, safely across threads."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()

    def draw(self) -> Fault:
        """The fault for the next order request ("none" most of the time)."""
        f = self.faults
        with self._lock:
            roll = self._random.random()
        shares: tuple[tuple[Fault, float], ...] = (
            ("hang", f.phang),
            ("drop", f.pdrop),
            ("throttle", f.p429),
            ("server_error", f.p5xx),
        )
        for fault, share in shares:
            if roll < share:
                return fault
            roll -= share
        return "none"

    def server_error_status(self) -> int:
        """503 or 500, at random."""
        with self._lock:
            return self._random.choice(SERVER_ERROR_STATUSES)

    def drop_after_commit(self) -> bool:
        """Whether the answer to a just-stored order is lost."""
        if self.faults.p_drop_after_commit <= 0:
            return False
        with self._lock:
            return self._random.random() < self.faults.p_drop_after_commit
