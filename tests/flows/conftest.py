"""Fixtures shared by the flow tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.cli.main import QUIET_PREFECT
from tests.flows.sandboxes import oker_sandbox, point_at
from uniware.sandbox import SandboxServer


@pytest.fixture
def oker_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """A sandbox with the Oker facility map, and the run's UNIWARE_* pointed at it."""
    with oker_sandbox(tmp_path) as sandbox:
        point_at(monkeypatch, sandbox.base_url)
        yield sandbox


@pytest.fixture
def quiet_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings main() sets for Prefect, undone after each test (modules that run the CLI)."""
    for key, value in QUIET_PREFECT.items():
        monkeypatch.setenv(key, value)
