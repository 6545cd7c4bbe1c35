"""The local sandbox over real loopback HTTP: auth, contract, duplicates, facilities, faults."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.uniware import make_item, make_order
from uniware.client import PostResponse, UniwareClient
from uniware.config import Credentials, demo_credentials, read_facility_map
from uniware.sandbox import Faults, SandboxProcess, SandboxServer, running_sandbox
from uniware.sandbox.cli import (
    DEFAULT_FACILITY_MAP,
    configure_parser,
    describe_credentials,
)

OKER_MAP = {"OKR-BLR-01": "BLR_FC1", "OKR-DEL-01": "DEL_FC1", "OKR-MUM-01": "MUM_FC1"}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with running_sandbox(facility_map=OKER_MAP) as server:
        yield server


def post_all(
    base_url: str, *payloads: Any, credentials: Credentials | None = None, timeout: float = 5.0
) -> list[PostResponse]:
    """Post the orders one after the other; transport errors propagate."""

    async def go() -> list[PostResponse]:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
            client = UniwareClient(http, credentials=credentials or demo_credentials())
            return [await client.post_order(payload) for payload in payloads]

    return asyncio.run(go())


def inspect(server: SandboxServer, path: str) -> Any:
    """GET an inspection endpoint."""
    return httpx.get(server.base_url + path).json()


def test_a_valid_order_is_created_and_kept(sandbox: SandboxServer) -> None:
    [response] = post_all(sandbox.base_url, make_order("OKR-1"))
    assert (response.http_status, response.status) == (200, "success")
    assert response.message == "Order created successfully"
    assert inspect(sandbox, "/_sandbox/orders") == {"count": 1, "ids": ["OKR-1"]}
    kept = inspect(sandbox, "/_sandbox/orders/OKR-1")
    item = {"orderItemId": "OKR-1001-1", "productId": "SKU-RED-M", "variantId": "SKU-RED-M"}
    states = {"quantity": 2, "cancelled": 0, "returned": 0, "open": 2}
    assert kept == {
        "id": "OKR-1",
        "payload": make_order("OKR-1"),
        "requests": 1,
        "items": [{**item, **states}],
        "returns": [],
    }


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (Credentials("uniload-demo", "demo-seller", "wrong-key"), "not recognised"),
        (Credentials("uniload-demo", "someone-else", "00000000-demo-demo-0000"), "not recognised"),
        (Credentials("uniload-demo", "demo-seller", ""), "missing header securitykey"),
    ],
    ids=["wrong-key", "wrong-merchant", "missing-key"],
)
def test_wrong_credentials_get_401(
    sandbox: SandboxServer, credentials: Credentials, reason: str
) -> None:
    [response] = post_all(sandbox.base_url, make_order(), credentials=credentials)
    assert response.http_status == 401
    assert response.message.startswith("AUTHENTICATION_FAILURE: ")
    assert reason in response.message
    assert "wrong-key" not in response.message
    assert inspect(sandbox, "/_sandbox/orders")["count"] == 0


def test_a_contract_violation_is_a_200_failure_naming_the_field(sandbox: SandboxServer) -> None:
    bad = make_order("OKR-2", orderItems=[make_item(quantity=0)])
    [response] = post_all(sandbox.base_url, bad)
    assert (response.http_status, response.status) == (200, "failure")
    assert response.message.startswith("INVALID_FORMAT: orderItems[0].quantity ")
    assert inspect(sandbox, "/_sandbox/orders")["count"] == 0


def test_many_violations_are_summarised(sandbox: SandboxServer) -> None:
    [response] = post_all(sandbox.base_url, {"id": "OKR-3"})
    assert response.message.startswith("MISSING_REQUIRED_PARAMETERS: orderDate is required")
    assert response.message.endswith("more)")


def test_a_body_that_is_not_json_is_a_400(sandbox: SandboxServer) -> None:
    headers = demo_credentials().as_headers()
    response = httpx.post(sandbox.base_url + "/uc/v1/order", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith("INVALID_FORMAT: ")


def test_a_second_post_of_an_id_is_a_duplicate(sandbox: SandboxServer) -> None:
    first, second = post_all(sandbox.base_url, make_order("OKR-4"), make_order("OKR-4"))
    assert first.ok
    assert (second.http_status, second.status) == (200, "failure")
    assert second.message == "DUPLICATE_SALE_ORDER: order OKR-4 already exists"
    stats = inspect(sandbox, "/_sandbox/stats")
    assert stats["accepted"] == 1
    assert stats["requests"] == 2
    assert stats["duplicate_ids_received"] == ["OKR-4"]
    assert inspect(sandbox, "/_sandbox/orders/OKR-4")["requests"] == 2


def test_concurrent_posts_of_one_id_create_it_once(sandbox: SandboxServer) -> None:
    async def go() -> list[PostResponse]:
        async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
            client = UniwareClient(http, credentials=demo_credentials())
            return await asyncio.gather(
                *(client.post_order(make_order("OKR-5")) for _ in range(20))
            )

    responses = asyncio.run(go())
    assert sum(response.ok for response in responses) == 1
    assert inspect(sandbox, "/_sandbox/stats")["accepted"] == 1


@pytest.mark.parametrize(
    ("code", "created"),
    [("OKR-DEL-01", True), (None, True), ("DEL_FC1", False), ("OKR-XXX-99", False)],
    ids=["marketplace-code", "no-code", "uniware-code", "unknown-code"],
)
def test_facility_codes_must_be_keys_of_the_map(
    sandbox: SandboxServer, code: str | None, created: bool
) -> None:
    order = make_order("OKR-6", orderItems=[make_item(1), make_item(2, facilityCode=code)])
    [response] = post_all(sandbox.base_url, order)
    assert response.ok is created
    if not created:
        assert response.message.startswith(
            f"INVALID_FACILITY_CODE: orderItems[1].facilityCode '{code}'"
        )
        assert "OKR-BLR-01" in response.message


def test_without_a_map_any_facility_code_is_accepted() -> None:
    with running_sandbox(facility_map=None) as server:
        [response] = post_all(server.base_url, make_order(orderItems=[make_item(facilityCode="X")]))
    assert response.ok


def test_the_oker_seed_map_is_the_default() -> None:
    assert read_facility_map(DEFAULT_FACILITY_MAP) == OKER_MAP


def test_429_has_retry_after_and_creates_nothing() -> None:
    with running_sandbox(faults=Faults(p429=1.0, retry_after=0.5)) as server:
        [response] = post_all(server.base_url, make_order("OKR-7"))
        assert (response.http_status, response.retry_after) == (429, 0.5)
        assert inspect(server, "/_sandbox/orders")["count"] == 0
        log = inspect(server, "/_sandbox/requests")["requests"]
    assert [(r["id"], r["status"], r["outcome"]) for r in log] == [("OKR-7", 429, "throttled")]


def test_5xx_creates_nothing() -> None:
    with running_sandbox(faults=Faults(p5xx=1.0, seed=3)) as server:
        responses = post_all(server.base_url, *(make_order(f"OKR-{i}") for i in range(6)))
        assert inspect(server, "/_sandbox/orders")["count"] == 0
    assert {r.http_status for r in responses} == {500, 503}
    assert all(r.transient and not r.ok for r in responses)


def test_a_dropped_connection_gives_no_answer_and_creates_nothing() -> None:
    with running_sandbox(faults=Faults(pdrop=1.0)) as server:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            post_all(server.base_url, make_order("OKR-8"))
        assert inspect(server, "/_sandbox/orders")["count"] == 0
        [record] = inspect(server, "/_sandbox/requests")["requests"]
    assert (record["id"], record["status"], record["outcome"]) == ("OKR-8", 0, "dropped")


def test_a_hang_times_the_client_out() -> None:
    faults = Faults(phang=1.0, hang_seconds=1.0)
    with running_sandbox(faults=faults) as server, pytest.raises(httpx.ReadTimeout):
        post_all(server.base_url, make_order("OKR-9"), timeout=0.2)


def test_a_lost_answer_still_creates_the_order() -> None:
    with running_sandbox(faults=Faults(p_drop_after_commit=1.0)) as server:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            post_all(server.base_url, make_order("OKR-10"))
        [retry] = post_all(server.base_url, make_order("OKR-10"))
        stats = inspect(server, "/_sandbox/stats")
    assert retry.message.startswith("DUPLICATE_SALE_ORDER")
    assert stats["accepted"] == 1
    assert stats["answer_lost_ids"] == stats["duplicate_ids_received"] == ["OKR-10"]


def outcomes_with_seed(seed: int) -> list[str]:
    faults = Faults(p429=0.3, p5xx=0.3, seed=seed)
    with running_sandbox(faults=faults) as server:
        post_all(server.base_url, *(make_order(f"OKR-{i}") for i in range(12)))
        return [r["outcome"] for r in inspect(server, "/_sandbox/requests")["requests"]]


def test_seeded_faults_repeat() -> None:
    first = outcomes_with_seed(7)
    assert first == outcomes_with_seed(7)
    assert {"accepted", "throttled", "server_error"} == set(first)


def test_requests_log_and_reset(sandbox: SandboxServer) -> None:
    post_all(sandbox.base_url, make_order("B"), make_order("A"), {"id": "C"})
    assert inspect(sandbox, "/_sandbox/orders")["ids"] == ["B", "A"]
    log = inspect(sandbox, "/_sandbox/requests")["requests"]
    assert [(r["id"], r["status"], r["outcome"]) for r in log] == [
        ("B", 200, "accepted"),
        ("A", 200, "accepted"),
        ("C", 200, "invalid"),
    ]
    assert log[0]["t"] <= log[1]["t"] <= log[2]["t"]
    assert len(inspect(sandbox, "/_sandbox/requests?id=A")["requests"]) == 1
    assert httpx.get(sandbox.base_url + "/_sandbox/orders/C").status_code == 404
    assert httpx.post(sandbox.base_url + "/_sandbox/reset").status_code == 200
    assert inspect(sandbox, "/_sandbox/stats") == {
        "accepted": 0,
        "requests": 0,
        "requests_by_kind": {},
        "duplicate_ids_received": [],
        "answer_lost_ids": [],
    }


@pytest.mark.parametrize("faults", [Faults(), Faults(pdrop=1.0), Faults(p5xx=1.0, seed=1)])
def test_a_request_is_logged_before_its_answer_leaves(
    faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_sandbox(faults=faults) as server:
        log_request = server.store.log_request

        def slow_log(record: Any) -> None:
            time.sleep(0.3)  # a busy disk: the answer must still wait for the log
            log_request(record)

        monkeypatch.setattr(server.store, "log_request", slow_log)
        with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError):
            post_all(server.base_url, make_order("OKR-11"))
        logged = [r.order_id for r in server.store.requests()]
    assert logged == ["OKR-11"]


def test_order_ids_with_slashes_can_be_inspected(sandbox: SandboxServer) -> None:
    post_all(sandbox.base_url, make_order("403-123/45"))
    assert inspect(sandbox, "/_sandbox/orders/403-123%2F45")["id"] == "403-123/45"


@pytest.mark.parametrize(
    "faults",
    [{"p429": 1.5}, {"pdrop": -0.1}, {"p429": 0.6, "p5xx": 0.6}, {"hang_seconds": -1}],
    ids=["share-above-1", "negative-share", "shares-add-above-1", "negative-hang"],
)
def test_impossible_faults_are_refused(faults: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        Faults(**faults)


def test_cli_validates_shares_and_hides_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--p429", "1.5"])
    assert "not a share between 0 and 1" in capsys.readouterr().err
    args = parser.parse_args([])
    assert (args.port, str(args.db)) == (8765, ".uniload/sandbox.db")
    text = describe_credentials({"UNIWARE_SECURITY_KEY": "s3cr3t", "UNIWARE_CLIENT_ID": "c"})
    assert "s3cr3t" not in text
    assert "'c' (from UNIWARE_CLIENT_ID)" in text
    assert "demo default" in text


@pytest.mark.slow
def test_the_sandbox_process_keeps_orders_across_restarts_and_stops_cleanly() -> None:
    with SandboxProcess(faults=Faults(latency_ms=1)) as process:
        [response] = post_all(process.base_url, make_order("OKR-11"))
        assert response.ok
        process.restart()
        [again] = post_all(process.base_url, make_order("OKR-11"))
        assert again.message.startswith("DUPLICATE_SALE_ORDER")
        assert process.stop() == 0
