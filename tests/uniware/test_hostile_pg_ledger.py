"""A PostgreSQL ledger that fails mid-run: its table dropped or its database gone.

Posting stops at the next order, every later order ends "not sent", and the message names
the ledger (its password hidden) and the rerun that finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.flows.runs import held
from tests.postgres import PostgresServer
from tests.uniware.deliveries import deliver, order
from uniware.delivery import Delivery
from uniware.exceptions import LedgerFailed
from uniware.ledger import Ledger
from uniware.redact import redact
from uniware.sandbox import running_sandbox

PASSWORD = "pg-canary-Zq81x"  # trust authentication ignores it; it must never be shown


def admin(server: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    """A superuser connection to the server's maintenance database."""
    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
    return psycopg.connect(dsn, autocommit=True)


def drop_table(server: PostgresServer, database: str) -> None:
    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname={database}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE uniload_ledger CASCADE")


def drop_database(server: PostgresServer, database: str) -> None:
    with admin(server) as conn:
        conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')  # ends its connections


class BreakingAfterFirst(list[Delivery]):
    """Deliveries seen; ``breaking`` runs once the first one is in."""

    def __init__(self, breaking: Callable[[], None]) -> None:
        super().__init__()
        self.breaking = breaking

    def append(self, delivery: Delivery) -> None:
        super().append(delivery)
        if len(self) == 1:
            self.breaking()


@pytest.mark.parametrize("breaking", [drop_table, drop_database], ids=["table", "database"])
def test_a_postgres_ledger_lost_mid_run_stops_posting_naming_it_without_the_password(
    postgres_server: PostgresServer, breaking: Callable[[PostgresServer, str], None]
) -> None:
    url = postgres_server.fresh_url().replace("postgres@", f"postgres:{PASSWORD}@", 1)
    database = urlsplit(url).path.lstrip("/")
    seen = BreakingAfterFirst(lambda: breaking(postgres_server, database))
    payloads = [order(n) for n in range(6)]
    with running_sandbox() as sandbox, Ledger.open(url) as ledger:
        with pytest.raises(LedgerFailed) as stopped:
            deliver(sandbox.base_url, payloads, ledger, concurrency=1, seen=seen)
        held_ids = held(sandbox.base_url, "orders")["ids"]
    message = str(stopped.value)
    assert PASSWORD not in message and PASSWORD not in redact(message)
    assert f"127.0.0.1:{postgres_server.port}/{database}" in message, message
    assert "posting stopped" in message and "run the same command again" in message
    assert "its database server, database and table" in message
    assert "\n" not in message
    assert [d.outcome for d in seen] == ["accepted"] + ["not_sent"] * 5
    assert held_ids == ["ORD-0"]
