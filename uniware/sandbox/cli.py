"""The sandbox's command line: ``uniload sandbox`` / ``python -m uniware.sandbox``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from uniware import settings
from uniware.config import Credentials, read_facility_map
from uniware.exceptions import ConfigurationError
from uniware.sandbox.faults import DEFAULT_HANG_SECONDS, DEFAULT_RETRY_AFTER, Faults

if TYPE_CHECKING:  # the server (http.server, email) loads only when the sandbox runs
    from uniware.sandbox.server import SandboxServer

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_FACILITY_MAP: Final = REPO_ROOT / settings.SANDBOX_FACILITY_MAP
LISTENING: Final = "sandbox listening on"


def share(text: str) -> float:
    """An argparse type: a number between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to ``parser``."""
    add = parser.add_argument
    add("--host", default=settings.SANDBOX_HOST, help="address to listen on")
    add("--port", type=int, default=settings.SANDBOX_PORT, help="port (0 picks a free one)")
    add("--db", type=Path, default=Path(settings.SANDBOX_DB_PATH), help="SQLite file")
    add("--facility-map", type=Path, default=DEFAULT_FACILITY_MAP, help="warehouse→facility JSON")
    add("--no-facility-map", action="store_true", help="accept any facilityCode")
    add("--latency-ms", type=float, default=0.0, help="arrival to answer of each order request")
    add("--p429", type=share, default=0.0, help="share of requests answered 429")
    add("--p5xx", type=share, default=0.0, help="share of requests answered 503/500")
    add("--phang", type=share, default=0.0, help="share of requests that hang, then drop")
    add("--pdrop", type=share, default=0.0, help="share of connections dropped unanswered")
    add("--p-drop-after-commit", type=share, default=0.0, help="share of lost 'created' answers")
    add("--retry-after", type=float, default=DEFAULT_RETRY_AFTER, help="Retry-After seconds")
    add("--hang-seconds", type=float, default=DEFAULT_HANG_SECONDS, help="how long a hang lasts")
    add("--seed", type=int, default=None, help="make the faults repeatable")
    add("--reset", action="store_true", help="forget stored orders and requests first")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; 0 on a clean stop, 2 on bad options."""
    try:
        server = _build(args)
    except (ValueError, OSError, ConfigurationError) as err:
        print(f"sandbox: {err}", file=sys.stderr)
        return 2
    _stop_on_signals()
    try:
        print(f"{LISTENING} {server.base_url}", flush=True)
        print(describe_credentials(os.environ), flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("sandbox stopped", flush=True)
    finally:
        server.shutdown()
    return 0


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop cleanly, even when started with SIGINT ignored (background)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _build(args: argparse.Namespace) -> SandboxServer:
    faults = Faults(
        latency_ms=args.latency_ms,
        p429=args.p429,
        p5xx=args.p5xx,
        phang=args.phang,
        pdrop=args.pdrop,
        retry_after=args.retry_after,
        hang_seconds=args.hang_seconds,
        seed=args.seed,
        p_drop_after_commit=args.p_drop_after_commit,
    )
    facility_map = None if args.no_facility_map else read_facility_map(args.facility_map)
    from uniware.sandbox.server import serve_sandbox

    server = serve_sandbox(
        host=args.host,
        port=args.port,
        db_path=args.db,
        facility_map=facility_map,
        credentials=credentials_from_env(os.environ),
        faults=faults,
    )
    if args.reset:
        server.store.reset()
    return server


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    """UNIWARE_* credentials, each falling back to the demo default."""
    return Credentials(
        client_id=environ.get(settings.ENV_CLIENT_ID) or settings.DEMO_CLIENT_ID,
        merchant_id=environ.get(settings.ENV_MERCHANT_ID) or settings.DEMO_MERCHANT_ID,
        security_key=environ.get(settings.ENV_SECURITY_KEY) or settings.DEMO_SECURITY_KEY,
    )


def describe_credentials(environ: Mapping[str, str]) -> str:
    """Which credentials the sandbox expects and where each comes from (never the key)."""
    credentials = credentials_from_env(environ)
    return (
        f"credentials: client id {credentials.client_id!r} "
        f"({_source(environ, settings.ENV_CLIENT_ID)}), merchant {credentials.merchant_id!r} "
        f"({_source(environ, settings.ENV_MERCHANT_ID)}), security key "
        f"({_source(environ, settings.ENV_SECURITY_KEY)}, not shown)"
    )


def _source(environ: Mapping[str, str], name: str) -> str:
    return f"from {name}" if environ.get(name) else "demo default"
