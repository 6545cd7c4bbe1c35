"""The Uniware client and its configuration: headers, answers, Retry-After, secrets kept secret."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from tests.uniware import make_order
from uniware import settings
from uniware.client import AnswerUnknown, PostResponse, UniwareClient, parse_retry_after
from uniware.config import (
    Credentials,
    Destination,
    UniwareConfig,
    demo_credentials,
    uniware_env,
)
from uniware.exceptions import ConfigurationError, CredentialsRefused, UniwareError
from uniware.sandbox import running_sandbox

SECRET = "12121212-232323-232323"
CREDENTIALS = Credentials("client-7", "seller-7", SECRET)
ENV = {
    "UNIWARE_BASE_URL": "https://genericproxy.unicommerce.com/",
    "UNIWARE_CLIENT_ID": "client-7",
    "UNIWARE_MERCHANT_ID": "seller-7",
    "UNIWARE_SECURITY_KEY": SECRET,
}


def post_with(handler: Any, payload: dict[str, Any] | None = None) -> PostResponse:
    """Post one order through a fake transport answering with ``handler``."""

    async def go() -> PostResponse:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="https://uw.test") as http:
            client = UniwareClient(http, credentials=CREDENTIALS)
            return await client.post_order(payload or make_order())

    return asyncio.run(go())


def answer(status: int, body: Any = None, *, text: str = "", **headers: str) -> Any:
    """A handler that always gives the same response."""

    def handle(request: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=text, headers=headers)

    return handle


def test_sends_one_json_order_with_the_three_headers() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "success", "message": "Order created"})

    response = post_with(handle, make_order("OKR-9"))
    [request] = seen
    assert request.method == "POST"
    assert request.url == "https://uw.test/uc/v1/order"
    assert request.headers["clientid"] == "client-7"
    assert request.headers["merchantid"] == "seller-7"
    assert request.headers["securitykey"] == SECRET
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == make_order("OKR-9")
    assert response == PostResponse(200, "success", "Order created", None)
    assert response.ok


def test_a_200_with_status_failure_is_a_failure_with_the_message_verbatim() -> None:
    message = "INVALID_ITEM_SKU_CODE: Invalid item sku code SKU-RED-M"
    response = post_with(answer(200, {"status": "failure", "message": message, "data": None}))
    assert response.status == "failure"
    assert not response.ok
    assert response.message == message
    assert not response.transient


@pytest.mark.parametrize(
    ("status", "body", "text", "expected"),
    [
        (
            502,
            None,
            "<html><body>Bad   Gateway</body></html>",
            "<html><body>Bad Gateway</body></html>",
        ),
        (500, None, "", "HTTP 500 with no body"),
        (503, {"status": "success", "message": "odd"}, "", "odd"),
    ],
    ids=["html-502", "empty-500", "success-body-on-503"],
)
def test_odd_answers_are_failures_with_a_short_message(
    status: int, body: Any, text: str, expected: str
) -> None:
    response = post_with(answer(status, body, text=text))
    assert (response.http_status, response.status, response.message) == (
        status,
        "failure",
        expected,
    )
    assert not response.ok


@pytest.mark.parametrize(
    ("body", "text", "expected"),
    [(None, "OK", "OK"), ({"result": "done"}, "", '{"result":"done"}')],
    ids=["plain-text-200", "json-without-status"],
)
def test_a_2xx_neither_success_nor_failure_is_an_unknown_answer(
    body: Any, text: str, expected: str
) -> None:
    # Issue 17: a proxy may have created the order; this is no definite failure.
    with pytest.raises(AnswerUnknown, match=f"HTTP 200 with an unreadable answer: {expected}"):
        post_with(answer(200, body, text=text))


def test_a_long_body_is_cut_short() -> None:
    response = post_with(answer(500, text="x" * 5000))
    assert len(response.message) <= settings.MESSAGE_PREVIEW_CHARS + 1


def test_429_carries_retry_after_in_seconds() -> None:
    response = post_with(
        answer(429, {"status": "failure", "message": "slow"}, **{"Retry-After": "7"})
    )
    assert response.retry_after == 7.0
    assert response.transient


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 7, 30, 8, 0, 0, tzinfo=UTC)
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    )
    assert parse_retry_after("Wed, 30 Jul 2025 07:00:00 GMT", now=now) == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    seconds = post_with(answer(503, text="busy", **{"Retry-After": later})).retry_after
    assert seconds is not None
    assert 100 < seconds <= 120


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "nan", "inf"], ids=repr)
def test_unusable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


@pytest.mark.parametrize(
    ("response", "refused"),
    [
        (PostResponse(401, "failure", "AUTHENTICATION_FAILURE: bad key"), True),
        (PostResponse(200, "failure", "ACCESS_DENIED: not allowed"), True),
        (PostResponse(200, "failure", "DUPLICATE_SALE_ORDER: order 1 already exists"), False),
    ],
    ids=["401", "access-denied-200", "duplicate"],
)
def test_refused_credentials_are_recognised(response: PostResponse, refused: bool) -> None:
    assert response.credentials_refused is refused


def test_network_errors_propagate() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(httpx.ConnectError):
        post_with(handle)


def test_talks_to_the_sandbox_over_http() -> None:
    async def go(base_url: str) -> list[PostResponse]:
        async with httpx.AsyncClient(base_url=base_url) as http:
            client = UniwareClient(http, credentials=demo_credentials())
            first = await client.post_order(make_order("OKR-1"))
            again = await client.post_order(make_order("OKR-1"))
            wrong = UniwareClient(http, credentials=Credentials("a", "b", "c"))
            return [first, again, await wrong.post_order(make_order("OKR-2"))]

    with running_sandbox() as sandbox:
        first, again, refused = asyncio.run(go(sandbox.base_url))
    assert first.ok
    assert (again.http_status, again.ok) == (200, False)
    assert again.message == "DUPLICATE_SALE_ORDER: order OKR-1 already exists"
    assert refused.http_status == 401
    assert refused.credentials_refused


def test_the_key_never_shows_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = UniwareConfig.from_env(ENV)
    post_with(answer(200, {"status": "success", "message": "Order created successfully"}))
    shown = [repr(CREDENTIALS), str(CREDENTIALS), repr(config), str(config), caplog.text]
    assert all(SECRET not in text for text in shown)
    assert "OKR-1001" in caplog.text


def test_config_reads_the_environment() -> None:
    config = UniwareConfig.from_env(ENV)
    assert config.base_url == "https://genericproxy.unicommerce.com"
    assert config.credentials == CREDENTIALS
    assert config.timeout_seconds == settings.DEFAULT_TIMEOUT_SECONDS
    assert config.destination.key == "seller-7@https://genericproxy.unicommerce.com"


@pytest.mark.parametrize("name", sorted(ENV))
def test_a_missing_variable_is_named_with_the_fix(name: str) -> None:
    environ = {key: value for key, value in ENV.items() if key != name}
    with pytest.raises(ConfigurationError, match=f"{name} is not set: export {name}="):
        UniwareConfig.from_env(environ)


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(ConfigurationError, match="not HTTPS"):
        UniwareConfig.from_env({**ENV, "UNIWARE_BASE_URL": "http://genericproxy.unicommerce.com"})
    for url in ("http://localhost:8765", "http://127.0.0.9:1", "http://[::1]:8765"):
        assert UniwareConfig(base_url=url, credentials=CREDENTIALS).base_url == url


@pytest.mark.parametrize("url", ["genericproxy.unicommerce.com", "ftp://x.test", "https://"])
def test_a_base_url_that_is_not_a_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="UNIWARE_BASE_URL"):
        UniwareConfig(base_url=url, credentials=CREDENTIALS)


def test_a_bad_timeout_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="UNIWARE_TIMEOUT_SECONDS"):
        UniwareConfig.from_env({**ENV, "UNIWARE_TIMEOUT_SECONDS": "soon"})
    assert UniwareConfig.from_env({**ENV, "UNIWARE_TIMEOUT_SECONDS": "2.5"}).timeout_seconds == 2.5


def test_destination_key_is_the_same_for_the_same_tenant() -> None:
    keys = {
        Destination("https://UW.example.com:443/", "seller").key,
        Destination("https://uw.example.com", "seller").key,
    }
    assert keys == {"seller@https://uw.example.com"}
    assert Destination("https://uw.example.com", "other").key not in keys


def test_exceptions_are_actionable_and_pickle() -> None:
    import pickle

    refused = CredentialsRefused.for_merchant(
        base_url="https://uw.test", merchant_id="seller-7", reply="AUTHENTICATION_FAILURE"
    )
    assert isinstance(refused, UniwareError)
    assert "UNIWARE_SECURITY_KEY" in str(refused)
    assert str(pickle.loads(pickle.dumps(refused))) == str(refused)


def test_the_environment_of_a_destination_reads_back_as_that_destination() -> None:
    credentials = Credentials(client_id="c-1", merchant_id="m-1", security_key="k-1")
    config = UniwareConfig.from_env(uniware_env("https://seller.unicommerce.com", credentials))
    assert (config.base_url, config.credentials) == ("https://seller.unicommerce.com", credentials)
