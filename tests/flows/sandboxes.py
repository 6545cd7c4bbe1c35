"""Shared test plumbing: point a run's UNIWARE_* variables at a local sandbox."""

from __future__ import annotations

import pytest

from uniware.config import Credentials, demo_credentials


def point_at(
    monkeypatch: pytest.MonkeyPatch, base_url: str, creds: Credentials | None = None
) -> None:
    """UNIWARE_* variables for a run against `base_url` (demo credentials by default)."""
    creds = creds or demo_credentials()
    monkeypatch.setenv("UNIWARE_BASE_URL", base_url)
    monkeypatch.setenv("UNIWARE_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("UNIWARE_MERCHANT_ID", creds.merchant_id)
    monkeypatch.setenv("UNIWARE_SECURITY_KEY", creds.security_key)
