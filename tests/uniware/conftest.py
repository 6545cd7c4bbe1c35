"""Fixtures shared by the Uniware tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uniware.ledger import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh SQLite ledger for one test."""
    with Ledger.open(str(tmp_path / "ledger.db")) as opened:
        yield opened
