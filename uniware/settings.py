"""Uniware constants: endpoint, header names, timeouts, environment names and demo credentials."""

from __future__ import annotations

from typing import Final

PRODUCTION_BASE_URL: Final = "https://genericproxy.unicommerce.com"
ORDER_PATH: Final = "/uc/v1/order"
CANCEL_PATH: Final = "/uc/v1/order/cancel"  # Post Cancel to UC
RETURN_PATH: Final = "/uc/v1/returns"  # Post Return to UC

HEADER_CLIENT_ID: Final = "clientid"
HEADER_MERCHANT_ID: Final = "merchantid"
HEADER_SECURITY_KEY: Final = "securitykey"
CONTENT_TYPE_JSON: Final = "application/json"

DEFAULT_TIMEOUT_SECONDS: Final = 30.0
MESSAGE_PREVIEW_CHARS: Final = 200
MAX_MESSAGE_CHARS: Final = 2000  # a server message kept (ledger, reports) up to this length
MAX_ANSWER_BYTES: Final = 1 << 20  # an answer body is read up to 1 MiB, never further

ENV_BASE_URL: Final = "UNIWARE_BASE_URL"
ENV_CLIENT_ID: Final = "UNIWARE_CLIENT_ID"
ENV_MERCHANT_ID: Final = "UNIWARE_MERCHANT_ID"
ENV_SECURITY_KEY: Final = "UNIWARE_SECURITY_KEY"
ENV_TIMEOUT_SECONDS: Final = "UNIWARE_TIMEOUT_SECONDS"

# The local sandbox (never valid against a real Uniware).
DEMO_CLIENT_ID: Final = "uniload-demo"
DEMO_MERCHANT_ID: Final = "demo-seller"
DEMO_SECURITY_KEY: Final = "00000000-demo-demo-0000"
SANDBOX_HOST: Final = "127.0.0.1"
SANDBOX_PORT: Final = 8765
SANDBOX_DB_PATH: Final = ".uniload/sandbox.db"
SANDBOX_FACILITY_MAP: Final = "data/facility-maps/oker.json"
