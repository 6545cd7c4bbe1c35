"""Shared test plumbing: point a run's UNIWARE_* variables at a local sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flows.settings import OKER_FACILITY_MAP
from uniware.config import Credentials, demo_credentials, uniware_env
from uniware.sandbox import SandboxServer, running_sandbox


def point_at(
    monkeypatch: pytest.MonkeyPatch, base_url: str, creds: Credentials | None = None
) -> None:
    """UNIWARE_* variables for a run against `base_url` (demo credentials by default)."""
    for name, value in uniware_env(base_url, creds or demo_credentials()).items():
        monkeypatch.setenv(name, value)


@contextmanager
def oker_sandbox(folder: Path) -> Iterator[SandboxServer]:
    """A sandbox in a thread with the Oker facility map and the demo credentials."""
    facility_map = json.loads(OKER_FACILITY_MAP.read_text(encoding="utf-8"))
    with running_sandbox(
        db_path=folder / "sandbox.db", facility_map=facility_map, credentials=demo_credentials()
    ) as server:
        yield server
