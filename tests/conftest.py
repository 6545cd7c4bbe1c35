"""Shared fixtures: an isolated Prefect home and the Prefect test harness, once per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.prefect_server import running_prefect_server

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
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` subprocess for the session; yields its API URL.

    Its own PREFECT_HOME and database, a free loopback port, the UI pointed at this API
    (`tests.prefect_server.ui_url(api_url)`); the whole process group stops at teardown.
    Give subprocesses `PREFECT_API_URL=<this url>` to run flows against it.
    """
    with running_prefect_server(tmp_path_factory.mktemp("prefect-server-home")) as api_url:
        yield api_url
