"""Where and as whom to post: credentials, base URL and timeout, read from the environment."""

from __future__ import annotations

import ipaddress
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from uniware import settings
from uniware.exceptions import ConfigurationError
from uniware.redact import redact, register

LOOPBACK_NAMES: Final = frozenset({"localhost"})
DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Credentials:
    """The three values Uniware issues; ``repr``/``str`` never show the security key."""

    client_id: str
    merchant_id: str
    security_key: str = field(repr=False)

    def __post_init__(self) -> None:
        for name, value in (
            (settings.ENV_CLIENT_ID, self.client_id),
            (settings.ENV_MERCHANT_ID, self.merchant_id),
            (settings.ENV_SECURITY_KEY, self.security_key),
        ):
            check_header_value(name, value)
        register(self.security_key)

    def as_headers(self) -> dict[str, str]:
        """The three authentication headers of every request."""
        return {
            settings.HEADER_CLIENT_ID: self.client_id,
            settings.HEADER_MERCHANT_ID: self.merchant_id,
            settings.HEADER_SECURITY_KEY: self.security_key,
        }


def check_header_value(name: str, value: str) -> None:
    """Refuse a credential that cannot travel in an HTTP header, without showing it."""
    for position, char in enumerate(value, start=1):
        if not " " <= char <= "~":
            kind = (
                "a control character (a line break?)" if char.isascii() else "a non-ASCII character"
            )
            raise ConfigurationError(
                f"{name} holds {kind} at position {position} (the value is not shown): copy it "
                "again from Unicommerce as plain text, on one line, and set it again"
            )


def demo_credentials() -> Credentials:
    """The local sandbox's default credentials (never valid against a real Uniware)."""
    return Credentials(
        client_id=settings.DEMO_CLIENT_ID,
        merchant_id=settings.DEMO_MERCHANT_ID,
        security_key=settings.DEMO_SECURITY_KEY,
    )


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(base_url: str) -> str:
    """Lower-case scheme and host, no default port, no trailing slash; refuse unsafe URLs."""
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port
    except ValueError:  # "Port out of range", "Invalid IPv6 URL"
        raise ConfigurationError(
            f"{settings.ENV_BASE_URL} {redact(base_url)!r} is not a valid URL (a port from 0 to "
            f"65535, brackets closed): give one like {settings.PRODUCTION_BASE_URL}"
        ) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"{settings.ENV_BASE_URL} holds a user name or password before '@' (not shown): "
            f"give only scheme and host, like {settings.PRODUCTION_BASE_URL}; the credentials go "
            f"in {settings.ENV_CLIENT_ID}, {settings.ENV_MERCHANT_ID} and "
            f"{settings.ENV_SECURITY_KEY}"
        )
    if scheme not in DEFAULT_PORTS or not host:
        raise ConfigurationError(
            f"{settings.ENV_BASE_URL} {base_url!r} is not a URL like "
            f"{settings.PRODUCTION_BASE_URL}: give scheme and host"
        )
    if scheme != "https" and not is_loopback(host):
        raise ConfigurationError(
            f"{settings.ENV_BASE_URL} {base_url!r} is not HTTPS: the security key would travel "
            "in clear text; use https:// (plain http is allowed only for localhost)"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Destination:
    """One Uniware tenant: a base URL and a merchant; ``key`` names it in the ledger."""

    base_url: str
    merchant_id: str

    @cached_property
    def key(self) -> str:
        """Stable text key, e.g. ``demo-seller@http://127.0.0.1:8765``."""
        return f"{self.merchant_id}@{normalise_base_url(self.base_url)}"


@dataclass(frozen=True)
class UniwareConfig:
    """A checked Uniware target: HTTPS (or loopback) base URL, credentials, request timeout."""

    base_url: str
    credentials: Credentials
    timeout_seconds: float = settings.DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalise_base_url(self.base_url))
        if not 0 < self.timeout_seconds < math.inf:  # nan and inf fail too
            raise ConfigurationError(
                f"{settings.ENV_TIMEOUT_SECONDS} must be a number of seconds above 0, "
                f"got {self.timeout_seconds!r}"
            )

    @property
    def destination(self) -> Destination:
        """The tenant this configuration posts to."""
        return Destination(base_url=self.base_url, merchant_id=self.credentials.merchant_id)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> UniwareConfig:
        """Read UNIWARE_BASE_URL, _CLIENT_ID, _MERCHANT_ID, _SECURITY_KEY (and _TIMEOUT_SECONDS)."""
        base_url = _required(environ, settings.ENV_BASE_URL)
        credentials = Credentials(
            client_id=_required(environ, settings.ENV_CLIENT_ID),
            merchant_id=_required(environ, settings.ENV_MERCHANT_ID),
            security_key=_required(environ, settings.ENV_SECURITY_KEY),
        )
        return cls(
            base_url=base_url,
            credentials=credentials,
            timeout_seconds=_timeout(environ),
        )


def uniware_env(base_url: str, credentials: Credentials) -> dict[str, str]:
    """The UNIWARE_* variables ``UniwareConfig.from_env`` reads back as this destination."""
    return {
        settings.ENV_BASE_URL: base_url,
        settings.ENV_CLIENT_ID: credentials.client_id,
        settings.ENV_MERCHANT_ID: credentials.merchant_id,
        settings.ENV_SECURITY_KEY: credentials.security_key,
    }


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError.missing_variable(name)
    return value


def _timeout(environ: Mapping[str, str]) -> float:
    text = environ.get(settings.ENV_TIMEOUT_SECONDS, "").strip()
    if not text:
        return settings.DEFAULT_TIMEOUT_SECONDS
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(
            f"{settings.ENV_TIMEOUT_SECONDS} must be a number of seconds, got {text!r}"
        ) from None


def read_facility_map(path: Path) -> dict[str, str]:
    """The seller's warehouse -> facility JSON map: non-empty text to non-empty text."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"facility map {path} not found: check the --facility-map path"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigurationError(
            f"facility map {path} is not a JSON object like "
            f'{{"MarketplaceWarehouseCode": "UniwareFacilityCode"}}: {err}'
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in data.items()
    ):
        raise ConfigurationError(
            f"facility map {path} must map warehouse codes to facility codes, all non-empty text"
        )
    return data
