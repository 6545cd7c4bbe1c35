"""Constants: where things live and what runs default to. Secrets never live here."""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
DATA: Final = REPO / "data"
PROFILES_DIR: Final = DATA / "profiles"
SAMPLES_DIR: Final = DATA / "samples"
OKER_FACILITY_MAP: Final = DATA / "facility-maps" / "oker.json"

DEFAULT_REPORT_DIR: Final = "reports"
DEFAULT_LEDGER: Final = ".uniload/ledger.db"
DEFAULT_TARGET_ZONE: Final = "UTC"  # Uniware's API notes: dates are exchanged in UTC
DEFAULT_RATE: Final = 20.0  # requests per second
DEFAULT_CONCURRENCY: Final = 8
DEFAULT_CRON: Final = "0 2 * * *"
DEFAULT_INBOX: Final = "inbox"
DEFAULT_TIMEZONE: Final = "Asia/Kolkata"  # of the nightly schedule: sellers are in India
DEFAULT_CLAIM_TIMEOUT_SECONDS: Final = 6 * 3600.0  # a claimed inbox file's run is presumed dead
DEFAULT_BLOCK_ROWS: Final = 50_000  # rows per block when a run goes block by block
DEFAULT_STREAM_ABOVE_BYTES: Final = 256 << 20  # a larger CSV/TSV export runs block by block
DEFAULT_REPORTS_HOST: Final = "127.0.0.1"  # the report server: loopback unless asked
DEFAULT_REPORTS_PORT: Final = 8787

# Environment variables a run reads (besides UNIWARE_* credentials, read by uniware.config):
# UNILOAD_HOME, UNILOAD_PROFILES_DIR, and UNILOAD_<NAME> for each field of flows.config.Settings
# (UNILOAD_RATE, UNILOAD_LEDGER...). The ones other modules name:
ENV_PREFIX: Final = "UNILOAD_"
ENV_HOME: Final = ENV_PREFIX + "HOME"
ENV_PROFILES_DIR: Final = ENV_PREFIX + "PROFILES_DIR"
ENV_LEDGER_SECRET: Final = ENV_PREFIX + "LEDGER_SECRET"
ENV_REPORT_DIR: Final = ENV_PREFIX + "REPORT_DIR"
ENV_LEDGER: Final = ENV_PREFIX + "LEDGER"
ENV_REPORTS_URL: Final = ENV_PREFIX + "REPORTS_URL"  # where a browser reaches the report server
