"""Where a browser gets run reports: the report server's address, and serving the store."""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from flows import settings
from flows.config import Settings
from flows.exceptions import ConfigError

if TYPE_CHECKING:  # http.server loads only when serving: `uniload --help` stays light
    from flows.report.server import ReportServer

LOOPBACK = ("127.0.0.1", "::1", "localhost")
Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, flush=True)


def report_location(given: str | None, environ: MutableMapping[str, str] = os.environ) -> str:
    """The report location: the option, else $UNILOAD_REPORT_DIR, else "reports" (in the home)."""
    if given:
        return given
    env = Settings.from_env(environ)
    return env.locate(env.report_dir)


def check_reports_url(value: str) -> str:
    """A reports base URL without its trailing "/"; anything but http(s)://host is an error."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{settings.ENV_REPORTS_URL}={value!r} is not an http(s) address: set it to the "
            "address a browser opens for the report server, e.g. http://reports-host:8787"
        )
    return value.strip().rstrip("/")


def reports_base_url(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """$UNILOAD_REPORTS_URL checked, or None when it is unset or empty."""
    value = Settings.from_env(environ).reports_url
    return check_reports_url(value) if value else None


def run_page_url(base_url: str, run_id: str) -> str:
    """The report server's page of one run."""
    return f"{base_url.rstrip('/')}/runs/{quote(run_id)}/"


def local_root(location: str) -> Path | None:
    """The folder of a local report store, or None for another fsspec location."""
    if location.startswith("file://"):
        return Path(urlsplit(location).path)
    return None if "://" in location else Path(location).expanduser().absolute()


def serve_beside(
    report_dir: str | None,
    *,
    host: str = settings.DEFAULT_REPORTS_HOST,
    port: int = settings.DEFAULT_REPORTS_PORT,
    environ: MutableMapping[str, str] = os.environ,
    say: Say = _say,
) -> ReportServer | None:
    """Start the report server for `uniload serve` (port 0: none) and point its runs' links at it.

    Sets $UNILOAD_REPORTS_URL for the flow runs this process starts, unless the operator set it.
    """
    configured = reports_base_url(environ)  # a bad value stops `serve` before it starts
    location = report_location(report_dir, environ)
    root = local_root(location)
    if port == 0 or root is None:
        why = "--reports-port 0" if port == 0 else f"{location} is not a local folder"
        say(f"reports: not served here ({why}); links use {configured or 'the store itself'}")
        return None
    from flows.report.server import start_report_server

    try:
        server = start_report_server(root, host=host, port=port)
    except OSError as err:
        raise ConfigError(
            f"Cannot serve reports on {host}:{port}: {err.strerror or err}. Pass "
            "--reports-port with a free port, or --reports-port 0 to serve none."
        ) from err
    environ.setdefault(settings.ENV_REPORTS_URL, server.url)
    link = environ[settings.ENV_REPORTS_URL]
    say(f"reports: {server.url}/ serves {root} read-only; links in the UI use {link}")
    _warn_if_public(host, say)
    return server


def _warn_if_public(host: str, say: Say) -> None:
    if host not in LOOPBACK:
        say(
            "reports: listening beyond this machine: anyone who reaches it can download "
            "customers' personal data; keep it behind a VPN or an authenticating proxy"
        )


def serve_reports(location: str, *, host: str, port: int, say: Say = _say) -> int:
    """`uniload reports serve`: serve a local store until Ctrl-C (port 0: any free port)."""
    root = local_root(location)
    if root is None:
        raise ConfigError(
            f"{location} is not a local folder: its links are the store's own (pre-signed) "
            "URLs; `uniload reports serve` serves local folders only"
        )
    from flows.report.server import start_report_server

    try:
        server = start_report_server(root, host=host, port=port)
    except OSError as err:
        raise ConfigError(f"Cannot serve reports on {host}:{port}: {err.strerror or err}") from err
    say(f"serving {root} read-only on {server.url}/ ; Ctrl-C stops")
    _warn_if_public(host, say)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        say("stopped")
    finally:
        server.stop()
    return 0
