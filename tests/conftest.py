"""Shared fixtures: an isolated Prefect home, the Prefect test harness and a real Prefect server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, pg_bin, running_postgres
from tests.prefect_server import PrefectServer, free_port, running_prefect_server, ui_url

# Prefect reads its home at import: give the test session its own, never ~/.prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="uniload-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Run flows against a temporary Prefect server shared by the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real `prefect server start` subprocess for the session (tests/prefect_server.py).

    Its own PREFECT_HOME and database, a free loopback port, the UI pointed at this API, the
    scheduler looping every 5 s; the whole process group stops at teardown. Give
    subprocesses `prefect_server.env(...)` to run flows, serve or workers against it.
    """
    home = tmp_path_factory.mktemp("prefect-server-home")
    with running_prefect_server(home) as api_url:
        yield PrefectServer(api_url=api_url, ui_url=ui_url(api_url), home=home)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (Debian's binaries; skipped if absent)."""
    if pg_bin() is None:
        absent = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(absent)  # CI installs it: a skip there would hide the Postgres ledger
        pytest.skip(absent)
    with running_postgres(free_port()) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres_server.fresh_url()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger location: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.fresh_url()
