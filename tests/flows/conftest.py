"""Fixtures shared by the flow tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.sandboxes import oker_sandbox, point_at
from uniware.sandbox import SandboxServer


@pytest.fixture
def oker_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """A sandbox with the Oker facility map, and the run's UNIWARE_* pointed at it."""
    with oker_sandbox(tmp_path) as sandbox:
        point_at(monkeypatch, sandbox.base_url)
        yield sandbox
