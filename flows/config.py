"""Run choices (typed, from options or the environment) and the facility map file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows import settings
from flows.exceptions import ConfigError


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides its input files and Uniware credentials."""

    profile: str | None = None
    facility_map: str | None = None
    dry_run: bool = False
    report_dir: str = settings.DEFAULT_REPORT_DIR
    ledger: str = settings.DEFAULT_LEDGER
    rate: float | None = settings.DEFAULT_RATE
    concurrency: int = settings.DEFAULT_CONCURRENCY
    target_zone: str = settings.DEFAULT_TARGET_ZONE
    shared_limit: str | None = None
    sheet: str | None = None
    chunk_rows: int | None = None  # streaming mode (flows/streaming.py) when set
    strict: bool = False  # one unreadable file fails the whole run (else it is reported)

    def __post_init__(self) -> None:
        if self.chunk_rows is not None and self.chunk_rows < 1:
            raise ConfigError(f"--chunk-rows must be at least 1, got {self.chunk_rows}")
        if self.rate is not None and self.rate <= 0:
            raise ConfigError(f"--rate must be above 0 requests per second, got {self.rate}")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, got {self.concurrency}")
        try:
            ZoneInfo(self.target_zone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError(
                f"unknown target time zone {self.target_zone!r}: use an IANA name like UTC "
                "or Asia/Kolkata"
            ) from err


def env_defaults(environ: Mapping[str, str] = os.environ) -> dict[str, object]:
    """Run options set in the environment (UNILOAD_*); options given explicitly win."""
    out: dict[str, object] = {}
    for name, key, kind in (
        (settings.ENV_REPORT_DIR, "report_dir", str),
        (settings.ENV_LEDGER, "ledger", str),
        (settings.ENV_RATE, "rate", float),
        (settings.ENV_CONCURRENCY, "concurrency", int),
        (settings.ENV_TARGET_ZONE, "target_zone", str),
        (settings.ENV_SHARED_LIMIT, "shared_limit", str),
    ):
        if environ.get(name):
            try:
                out[key] = kind(environ[name])
            except ValueError as err:
                raise ConfigError(
                    f"{name}={environ[name]!r} is not a valid {kind.__name__}"
                ) from err
    return out


def load_facility_map(path: str | None) -> dict[str, str] | None:
    """The seller's warehouse -> facility JSON map, or None (then Uniware allocates)."""
    if not path:
        return None
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"facility map {file} not found: check the --facility-map path") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"facility map {file} is not a JSON object like "
            f'{{"MarketplaceWarehouseCode": "UniwareFacilityCode"}}: {err}'
        ) from err
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in data.items()
    ):
        raise ConfigError(
            f"facility map {file} must map warehouse codes to facility codes, all non-empty text"
        )
    return data
