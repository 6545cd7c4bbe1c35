"""The async Post Orders client: one request per order on one injected ``httpx.AsyncClient``."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import httpx

from uniware import settings
from uniware.config import Credentials

ResponseStatus = Literal["success", "failure"]

REFUSAL_CODES: Final = ("AUTHENTICATION_FAILURE", "ACCESS_DENIED")
REFUSAL_HTTP_STATUSES: Final = (401, 403)
THROTTLE_HTTP_STATUS: Final = 429

logger = logging.getLogger("uniware.client")


@dataclass(frozen=True)
class PostResponse:
    """Uniware's answer to one order: HTTP status, body status, verbatim message, Retry-After."""

    http_status: int
    status: ResponseStatus
    message: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """The order was created: HTTP 2xx and ``"status": "success"``."""
        return 200 <= self.http_status < 300 and self.status == "success"

    @property
    def credentials_refused(self) -> bool:
        """Uniware refused the credentials (401/403 or AUTHENTICATION_FAILURE/ACCESS_DENIED)."""
        return self.http_status in REFUSAL_HTTP_STATUSES or self.message.startswith(REFUSAL_CODES)

    @property
    def transient(self) -> bool:
        """A 429 or 5xx: the server may accept the same order later."""
        return self.http_status == THROTTLE_HTTP_STATUS or self.http_status >= 500


class UniwareClient:
    """Posts orders to Uniware; transport errors (timeouts, drops) propagate to the caller."""

    def __init__(self, http: httpx.AsyncClient, *, credentials: Credentials) -> None:
        self._http = http
        self._headers = {
            **credentials.as_headers(),
            "Content-Type": settings.CONTENT_TYPE_JSON,
            "Accept": settings.CONTENT_TYPE_JSON,
        }

    def __repr__(self) -> str:
        return f"UniwareClient(base_url={str(self._http.base_url)!r})"

    async def post_order(self, payload: Mapping[str, Any]) -> PostResponse:
        """POST one order; a 200 with ``"status": "failure"`` is a failure, not an exception."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        response = await self._http.post(
            settings.ORDER_PATH, content=body.encode("utf-8"), headers=self._headers
        )
        answer = read_response(response)
        logger.debug("order %s: HTTP %d %s", payload.get("id"), answer.http_status, answer.status)
        return answer

    async def post_cancel(self, body: Mapping[str, Any]) -> PostResponse:
        """POST one cancellation (Post Cancel to UC); answered like an order."""
        return await self._post_change(settings.CANCEL_PATH, body)

    async def post_return(self, body: Mapping[str, Any]) -> PostResponse:
        """POST one return (Post Return to UC); answered like an order."""
        return await self._post_change(settings.RETURN_PATH, body)

    async def _post_change(self, path: str, body: Mapping[str, Any]) -> PostResponse:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        response = await self._http.post(path, content=text.encode("utf-8"), headers=self._headers)
        answer = read_response(response)
        code = body.get("saleOrderCode")
        logger.debug("%s %s: HTTP %d %s", path, code, answer.http_status, answer.status)
        return answer


def read_response(response: httpx.Response) -> PostResponse:
    """Turn any HTTP response into a ``PostResponse`` (odd bodies become failures)."""
    status, message = _read_body(response)
    if not response.is_success:
        status = "failure"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return PostResponse(response.status_code, status, message, retry_after)


def _read_body(response: httpx.Response) -> tuple[ResponseStatus, str]:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return "failure", _preview(response.text) or f"HTTP {response.status_code} with no body"
    if not isinstance(body, dict) or body.get("status") not in ("success", "failure"):
        return "failure", _preview(response.text)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = _preview(response.text)
    status: ResponseStatus = "success" if body["status"] == "success" else "failure"
    return status, message


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    limit = settings.MESSAGE_PREVIEW_CHARS
    return flat if len(flat) <= limit else flat[:limit] + "…"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP-date); None if absent/odd."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now or datetime.now(UTC))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
