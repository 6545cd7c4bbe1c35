"""Life after posting, end to end: a real sandbox process, real runs of the upload flow.

Upload an Oker export, then a re-export in which one order is cancelled whole, one item of
another order is cancelled, and a third order's address changed: exactly two cancellations
reach Uniware, with the units as posted; the address change is reported, not sent; a rerun
of the re-export sends nothing. The fixture is the Oker layout with an `Item Status` column
(the stock profile plus that column's mapping, written here).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.cli.main import main
from flows.upload import upload_orders
from tests.flows.runs import run_summary
from tests.flows.sandboxes import point_at
from uniware.config import demo_credentials
from uniware.sandbox import SandboxProcess

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lifecycle"
FACILITY_MAP = REPO / "data" / "facility-maps" / "oker.json"
ITEM_STATUS = """
[values.item_status]
"Confirmed" = "CREATED"
"Cancelled" = "CANCELLED"
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(facility_map=FACILITY_MAP) as process:
        yield process


@pytest.fixture
def env(sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    point_at(monkeypatch, sandbox.base_url)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    stock = (REPO / "data" / "profiles" / "oker.toml").read_text(encoding="utf-8")
    if "item_status" not in stock:  # the stock profile does not read Item Status (yet)
        stock = stock.replace("[columns]\n", '[columns]\nitem_status = "Item Status"\n', 1)
        stock += ITEM_STATUS
    (profiles / "oker.toml").write_text(stock, encoding="utf-8")
    monkeypatch.setenv("UNILOAD_PROFILES_DIR", str(profiles))


def _run(tmp_path: Path, export: Path) -> dict[str, Any]:
    state = upload_orders(
        paths=[str(export)],
        facility_map=str(FACILITY_MAP),
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        return_state=True,
    )
    assert not state.is_failed(), state.message
    return run_summary(state)


def _requests(sandbox: SandboxProcess, **query: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params=query)
    requests: list[dict[str, Any]] = answer.json()["requests"]
    return requests


def _items(sandbox: SandboxProcess, order_id: str) -> dict[str, tuple[int, int, int]]:
    held = httpx.get(f"{sandbox.base_url}/_sandbox/orders/{order_id}").json()
    return {i["orderItemId"]: (i["quantity"], i["cancelled"], i["open"]) for i in held["items"]}


def _failures(summary: dict[str, Any]) -> list[dict[str, str]]:
    report = Path(summary["report"]) / "failures.csv"
    return list(csv.DictReader(report.open(encoding="utf-8-sig")))


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness", "env")
def test_cancellations_after_posting_are_sent_once(
    tmp_path: Path, sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _run(tmp_path, FIXTURES / "oker-orders.csv")
    assert (first["orders_accepted"], first["rows_failed"], first["cancelled"]) == (4, 0, 0)
    before = len(_requests(sandbox))

    second = _run(tmp_path, FIXTURES / "oker-reexport.csv")
    new = _requests(sandbox)[before:]
    assert [(r["kind"], r["id"], r["outcome"]) for r in new] == [
        ("cancel", "OKR000091001", "cancelled"),
        ("cancel", "OKR000091002", "cancelled"),
    ] or [(r["kind"], r["id"], r["outcome"]) for r in new] == [
        ("cancel", "OKR000091002", "cancelled"),
        ("cancel", "OKR000091001", "cancelled"),
    ]
    assert _items(sandbox, "OKR000091001") == {
        "OKI00009100101": (1, 1, 0),
        "OKI00009100102": (2, 2, 0),
    }
    assert _items(sandbox, "OKR000091002") == {
        "OKI00009100201": (1, 0, 1),
        "OKI00009100202": (3, 3, 0),
    }
    assert _items(sandbox, "OKR000091003") == {"OKI00009100301": (2, 0, 2)}
    assert (second["cancelled"], second["cancel_failed"], second["changed_after_posting"]) == (
        2,
        0,
        1,
    )
    assert second["rows_read"] == second["rows_accepted"] + second["rows_failed"] == 6
    told = (Path(second["report"]) / "summary.md").read_text(encoding="utf-8")
    assert "- After posting: cancelled 2, changed after posting (update in Uniware) 1" in told
    [changed] = _failures(second)  # the address edit: reported, never resent
    assert (changed["Order ID"], changed["error_stage"]) == ("OKR000091004", "sync")
    assert changed["error_reason"].startswith("changed after posting: update it in Uniware")

    book = ["ledger", "--ledger", str(tmp_path / "ledger.db"), "show", "OKR000091002"]
    assert main(book) == 0
    [shown] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(i["item_id"], i["quantity"], i["cancelled"]) for i in shown["items"]] == [
        ("OKI00009100201", 1, 0),
        ("OKI00009100202", 3, 3),
    ]
    assert [(c["kind"], c["state"]) for c in shown["changes"]] == [("cancel", "accepted")]

    third = _run(tmp_path, FIXTURES / "oker-reexport.csv")
    assert _requests(sandbox)[before + len(new) :] == []  # a rerun sends nothing
    assert (third["cancelled"], third["changed_after_posting"], third["rows_failed"]) == (0, 1, 1)
    assert _items(sandbox, "OKR000091002")["OKI00009100202"] == (3, 3, 0)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness", "env")
def test_a_refused_cancellation_is_reported_with_uniwares_reason_and_not_resent(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    _run(tmp_path, FIXTURES / "oker-orders.csv")
    headers = demo_credentials().as_headers()
    by_hand = {  # someone cancelled the whole order in Uniware already
        "saleOrderCode": "OKR000091001",
        "cancellationReason": "customer called",
        "cancelledSkuCodes": [
            {"quantity": 1, "productId": "OKP00005", "variantId": "OKV000015"},
            {"quantity": 2, "productId": "OKP00007", "variantId": "OKV000022"},
        ],
    }
    assert httpx.post(f"{sandbox.base_url}/uc/v1/order/cancel", json=by_hand, headers=headers)
    before = len(_requests(sandbox))

    second = _run(tmp_path, FIXTURES / "oker-reexport.csv")
    said = "ORDER_ALREADY_CANCELLED: order OKR000091001 is already cancelled"
    assert (second["cancelled"], second["cancel_failed"]) == (1, 1)
    refused = [f for f in _failures(second) if f["Order ID"] == "OKR000091001"]
    assert [(f["error_row"], f["error_stage"], f["error_reason"]) for f in refused] == [
        ("2", "sync", said),
        ("3", "sync", said),
    ]
    assert second["rows_read"] == second["rows_accepted"] + second["rows_failed"]

    sent = len(_requests(sandbox))
    third = _run(tmp_path, FIXTURES / "oker-reexport.csv")
    assert len(_requests(sandbox)) == sent == before + 2  # nothing resent
    assert third["cancel_failed"] == 1
    again = [f["error_reason"] for f in _failures(third) if f["Order ID"] == "OKR000091001"]
    assert (
        again
        == [f"Uniware refused this cancel in an earlier run and it was not sent again: {said}"] * 2
    )
