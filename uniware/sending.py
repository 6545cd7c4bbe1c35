"""What every worker of one sending run shares: client, ledger, destination, run, pace, retries."""

from __future__ import annotations

from dataclasses import dataclass

from uniware.client import UniwareClient
from uniware.config import Destination
from uniware.ledger import Ledger
from uniware.retry import RetryPolicy
from uniware.throttle import Throttle


@dataclass(slots=True)
class Sending:
    """The client and ledger one run sends through, for one destination, paced and retried."""

    client: UniwareClient
    ledger: Ledger
    destination: Destination
    run_id: str
    throttle: Throttle
    retry: RetryPolicy
