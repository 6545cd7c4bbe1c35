"""Run choices (typed, from options or the environment) and the facility map file."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows import settings
from flows.exceptions import ConfigError
from uniware.config import read_facility_map
from uniware.exceptions import ConfigurationError


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
    chunk_rows: int | None = None  # rows per block (flows/streaming.py); None: by file size
    strict: bool = False  # one unreadable file fails the whole run (else it is reported)

    def __post_init__(self) -> None:
        if self.chunk_rows is not None and self.chunk_rows < 1:
            raise ConfigError(f"--chunk-rows must be at least 1, got {self.chunk_rows}")
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
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


SECRET_MARKERS: Final = ("password", "secret", "token")


@dataclass(frozen=True)
class Settings:
    """Every ``UNILOAD_*`` setting of the process that runs the flow (CLI, serve or a worker).

    Read inside each flow run, so a run started by the CLI, ``uniload serve``, a worker or
    ``prefect deployment run`` resolves the same values the same way: explicit parameter >
    this environment > default. A relative path here is relative to ``home``
    (``UNILOAD_HOME``, default: the process's working directory), never to wherever a
    worker was started. Secrets (a ledger URL with a password) live only here, never in
    flow parameters: ``UNILOAD_LEDGER`` or ``UNILOAD_LEDGER_SECRET`` (a Prefect Secret block).
    """

    home: Path
    ledger: str = settings.DEFAULT_LEDGER
    ledger_secret: str | None = None
    report_dir: str = settings.DEFAULT_REPORT_DIR
    reports_url: str | None = None
    rate: float = settings.DEFAULT_RATE
    concurrency: int = settings.DEFAULT_CONCURRENCY
    target_zone: str = settings.DEFAULT_TARGET_ZONE
    shared_limit: str | None = None
    inbox: str = settings.DEFAULT_INBOX
    facility_map: str | None = None
    claim_timeout_seconds: float = settings.DEFAULT_CLAIM_TIMEOUT_SECONDS
    fan_out: int = 1
    stream_above_bytes: int = settings.DEFAULT_STREAM_ABOVE_BYTES  # larger: block by block

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read every UNILOAD_* variable; a malformed value is a one-line ConfigError."""
        home = Path(environ.get(settings.ENV_HOME) or os.getcwd()).expanduser()
        values: dict[str, Any] = {}
        for key in (f.name for f in fields(cls) if f.name != "home"):
            name = settings.ENV_PREFIX + key.upper()  # rate: UNILOAD_RATE
            text = environ.get(name, "").strip()
            if text:
                values[key] = _typed(name, text, _NUMBERS.get(key, str))
        return cls(home=home.resolve(), **values)

    def locate(self, value: str) -> str:
        """A path relative to ``home`` made absolute; URLs and absolute paths as given."""
        if "://" in value:
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.home / path)


# Every other Settings field is text.
_NUMBERS: Final[Mapping[str, type]] = {
    "rate": float,
    "concurrency": int,
    "claim_timeout_seconds": float,
    "fan_out": int,
    "stream_above_bytes": int,
}


def _typed(name: str, text: str, kind: type) -> Any:
    try:
        value = kind(text)
    except ValueError:
        noun = {float: "a number", int: "a whole number"}.get(kind, "text")
        raise ConfigError(f"{name}={text!r} is not {noun}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}={text!r} is not a finite number")
    return value


def has_password(url: str) -> bool:
    """True when a URL carries a password (``scheme://user:password@host``)."""
    return "://" in url and urlsplit(url).password is not None


def check_not_secret(name: str, value: str | None) -> None:
    """Refuse a flow parameter that would store a secret in Prefect's database and UI."""
    if value and has_password(value):
        raise ConfigError(
            f"the {name} URL holds a password: flow parameters are stored and shown by Prefect, "
            f"so set it in the worker's environment ({settings.ENV_LEDGER}) or in a Prefect "
            f"Secret block named by {settings.ENV_LEDGER_SECRET}"
        )


def resolve_options(
    given: Mapping[str, Any],
    env: Settings,
    *,
    dry_run: bool = False,
    read_secret: Callable[[str], str] | None = None,
) -> RunOptions:
    """Run options: each explicit (non-None) value, else the environment's, else the default.

    The ledger comes from the parameter, else the Secret block named by
    ``UNILOAD_LEDGER_SECRET`` (read with ``read_secret``), else ``UNILOAD_LEDGER``.
    """
    check_not_secret("ledger", given.get("ledger"))
    ledger = given.get("ledger")
    if ledger is None and env.ledger_secret:
        if read_secret is None:
            raise ConfigError(f"{settings.ENV_LEDGER_SECRET} is set but no Prefect is available")
        ledger = read_secret(env.ledger_secret)

    def pick(key: str) -> Any:
        value = given.get(key)
        return getattr(env, key) if value is None else value

    facility_map = pick("facility_map")
    return RunOptions(
        profile=given.get("profile"),
        facility_map=env.locate(facility_map) if facility_map else None,
        dry_run=dry_run,
        report_dir=env.locate(pick("report_dir")),
        ledger=env.locate(ledger or env.ledger),
        rate=pick("rate") or None,  # 0: no rate limit, only the concurrency cap
        concurrency=pick("concurrency"),
        target_zone=pick("target_zone"),
        shared_limit=pick("shared_limit"),
        sheet=given.get("sheet"),
        chunk_rows=given.get("chunk_rows"),
        strict=bool(given.get("strict")),
    )


def load_facility_map(path: str | None) -> dict[str, str] | None:
    """The seller's warehouse -> facility JSON map, or None (then Uniware allocates)."""
    if not path:
        return None
    try:
        return read_facility_map(Path(path))
    except ConfigurationError as err:
        raise ConfigError(str(err)) from None


def read_secret_block(name: str) -> str:
    """The value of the Prefect Secret block ``name`` (a ledger URL with its password)."""
    from prefect.blocks.system import Secret

    try:
        block: Any = Secret.load(name)  # sync here: the flow is synchronous
        value = block.get()
    except ValueError as err:
        raise ConfigError(f"no Prefect Secret block named {name!r}: create it first") from err
    return str(value)
