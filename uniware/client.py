"""The async Post Orders client: one request per order on one injected ``httpx.AsyncClient``.

Bounded against any server: a whole request (connect, send, every byte of the answer) must end
within ``deadline`` seconds (by default twice the client's configured timeout: one for the
connection and request, one for the answer; a single slow read still ends as httpx's own
timeout), and an answer is read
up to ``settings.MAX_ANSWER_BYTES``. A 2xx answer that is not a readable success or failure
(an HTML page from a proxy, cut-off JSON), or any answer too large to read, raises
``AnswerUnknown``: like a timeout, the order may or may not have been created. Server messages
are kept up to ``settings.MAX_MESSAGE_CHARS``, with a note saying how much was cut.
"""

from __future__ import annotations

import asyncio
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
from uniware.redact import redact

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
    readable: bool = True
    """False when the body was not Uniware's JSON (``message`` then previews the raw body)."""

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
        return self.http_status == THROTTLE_HTTP_STATUS or 500 <= self.http_status <= 599


class AnswerUnknown(httpx.TransportError):
    """An answer that says neither success nor failure: whether the order exists is unknown."""


class RequestDeadline(httpx.TimeoutException):
    """The whole request (answer included) took longer than its deadline."""


def cut_message(text: str, limit: int = settings.MAX_MESSAGE_CHARS) -> str:
    """``text`` up to ``limit`` characters, with a note of how many more were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit:,} chars]"


class UniwareClient:
    """Posts orders to Uniware; transport errors (timeouts, drops) propagate to the caller.

    ``direct``: the transport ``http`` sends through, to send straight to it. httpx's auth,
    redirect, cookie and event-hook layers then stay out of the way. This client uses none of
    them: the Post Orders contract authenticates each request by its headers, never by a
    cookie, and a redirect is an answer like any other. They cost a tenth of a posting run's
    CPU. Requests are still built by ``http`` (base URL, default headers, timeouts).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credentials: Credentials,
        deadline: float | None = None,
        direct: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = http
        self._direct = direct
        self._urls: dict[str, httpx.URL] = {}  # path -> absolute URL, joined once
        self._deadline = deadline if deadline is not None else _timeout_of(http)
        self._headers = {
            **credentials.as_headers(),
            "Content-Type": settings.CONTENT_TYPE_JSON,
            "Accept": settings.CONTENT_TYPE_JSON,
        }

    def __repr__(self) -> str:
        return f"UniwareClient(base_url={str(self._http.base_url)!r})"

    async def post_order(self, payload: Mapping[str, Any]) -> PostResponse:
        """POST one order; a 200 with ``"status": "failure"`` is a failure, not an exception."""
        return await self._post(settings.ORDER_PATH, payload, payload.get("id"))

    async def _post(self, path: str, payload: Mapping[str, Any], code: Any) -> PostResponse:
        """One request within the deadline; an answer neither success nor failure is unknown."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        url = self._urls.get(path) or self._urls.setdefault(path, self._url(path))
        request = self._http.build_request(
            "POST", url, content=body.encode("utf-8"), headers=self._headers
        )
        try:
            async with asyncio.timeout(self._deadline):
                response, content = await self._read(request)
        except TimeoutError:
            raise RequestDeadline(
                f"no complete answer within {self._deadline:g} s", request=request
            ) from None
        answer = read_response(response, content)
        if 200 <= response.status_code < 300 and answer.status == "failure" and not answer.readable:
            raise AnswerUnknown(
                f"HTTP {response.status_code} with an unreadable answer: {answer.message}",
                request=request,
            )
        logger.debug("%s %s: HTTP %d %s", path, code, answer.http_status, answer.status)
        return answer

    def _url(self, path: str) -> httpx.URL:
        """``path`` under the client's base URL, as httpx joins them."""
        return self._http.build_request("POST", path).url

    async def post_cancel(self, body: Mapping[str, Any]) -> PostResponse:
        """POST one cancellation (Post Cancel to UC); answered, bounded and read like an order."""
        return await self._post(settings.CANCEL_PATH, body, body.get("saleOrderCode"))

    async def post_return(self, body: Mapping[str, Any]) -> PostResponse:
        """POST one return (Post Return to UC); answered, bounded and read like an order."""
        return await self._post(settings.RETURN_PATH, body, body.get("saleOrderCode"))

    async def _read(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send ``request`` and read its answer (closed; and its body, decoded), refusing one
        past ``MAX_ANSWER_BYTES``."""
        if self._direct is not None:  # the client's auth, redirect and cookie layers: unused
            response = await self._direct.handle_async_request(request)
        else:
            response = await self._http.send(request, stream=True)
        try:
            content = bytearray()
            async for piece in response.aiter_bytes():  # decoded: a gzip bomb meets the cap
                content += piece
                if len(content) > settings.MAX_ANSWER_BYTES:
                    raise AnswerUnknown(
                        f"HTTP {response.status_code} with an answer over "
                        f"{settings.MAX_ANSWER_BYTES:,} bytes (not read further)",
                        request=request,
                    )
        finally:
            await response.aclose()
        return response, bytes(content)


def _timeout_of(http: httpx.AsyncClient) -> float:
    """Twice the longest of the client's timeouts: the deadline of a whole request."""
    timeout = http.timeout
    parts = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    known = [part for part in parts if part is not None]
    return 2 * (max(known) if known else settings.DEFAULT_TIMEOUT_SECONDS)


def read_response(response: httpx.Response, content: bytes | None = None) -> PostResponse:
    """Turn any HTTP response into a ``PostResponse`` (odd bodies become unreadable failures);
    ``content``: its body, already read from a streamed response."""
    body = response.content if content is None else content
    status, message, readable = _read_body(response, body)
    if not response.is_success:
        status = "failure"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    message = redact(message)  # a server that echoes the key: never stored or reported
    return PostResponse(response.status_code, status, message, retry_after, readable)


def _read_body(response: httpx.Response, content: bytes) -> tuple[ResponseStatus, str, bool]:
    def preview() -> str:  # only an odd answer is decoded as text
        return _preview(content.decode(response.encoding or "utf-8", errors="replace"))

    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return "failure", preview() or f"HTTP {response.status_code} with no body", False
    if not isinstance(body, dict) or body.get("status") not in ("success", "failure"):
        return "failure", preview(), False
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = preview()
    status: ResponseStatus = "success" if body["status"] == "success" else "failure"
    return status, cut_message(message), True


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
