"""Real exports mean what they say: COD arrives as COD, fulfilled/cancelled orders are skipped."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.upload import upload_orders
from tests.flows.runs import run_summary
from tests.flows.sandboxes import point_at
from uniware.config import demo_credentials
from uniware.sandbox import SandboxServer, running_sandbox

EXPORTS = Path(__file__).parents[1] / "fixtures" / "statuses"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with running_sandbox(
        db_path=tmp_path / "sandbox.db", facility_map={}, credentials=demo_credentials()
    ) as server:
        point_at(monkeypatch, server.base_url)
        yield server


def _run(tmp_path: Path, *paths: Path, **params: object) -> dict[str, Any]:
    state = upload_orders(
        paths=[str(p) for p in paths],
        report_dir=str(tmp_path / "reports"),
        ledger=str(tmp_path / "ledger.db"),
        return_state=True,
        **params,
    )
    assert not state.is_failed(), state.message
    return run_summary(state)


def _accounted(summary: dict[str, Any]) -> None:
    parts = ("rows_accepted", "rows_ready", "rows_failed", "rows_skipped")
    assert summary["rows_read"] == sum(summary[p] for p in parts)


@pytest.mark.usefixtures("prefect_harness")
def test_shopify_statuses_are_posted_as_the_export_says(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    summary = _run(tmp_path, EXPORTS / "shopify-statuses.csv")
    _accounted(summary)
    held = httpx.get(f"{sandbox.base_url}/_sandbox/orders").json()["ids"]
    assert sorted(held) == ["#92001", "#92002", "#92003", "#92006", "#92008", "#92010", "#92011"]

    def payload(order_id: str) -> dict[str, Any]:
        url = f"{sandbox.base_url}/_sandbox/orders/{order_id.replace('#', '%23')}"
        return dict(httpx.get(url).json()["payload"])

    for cod in ("#92001", "#92002", "#92003", "#92010"):  # GoKwik, Pay on Delivery, COD, (COD)
        assert payload(cod)["paymentType"] == "COD"
    assert payload("#92011")["paymentType"] == "PREPAID"  # PhonePe
    partly = payload("#92006")  # one line restocked
    assert [i["status"] for i in partly["orderItems"]] == ["CREATED", "CANCELLED"]
    shipped_part = payload("#92008")  # Fulfillment Status partial
    assert [i["status"] for i in shipped_part["orderItems"]] == ["DISPATCHED", "CREATED"]
    address = payload("#92011")["shippingAddress"]
    assert len(address["addressLine1"]) <= 100
    assert address["addressLine2"] == "Mahadevapura, Near Hoodi Circle"

    assert (summary["rows_skipped"], summary["orders_skipped"]) == (4, 3)
    assert summary["orders_skipped_by_reason"] == {
        "skipped: already fulfilled on Shopify (Fulfillment Status 'fulfilled')": 1,
        "skipped: cancelled on Shopify (Cancelled at is set)": 1,
        "skipped: cancelled on Shopify (Financial Status 'refunded')": 1,
    }
    assert summary["files"][0]["rows_skipped"] == 4
    skipped_csv = Path(summary["report"]) / "skipped.csv"
    rows = list(csv.DictReader(skipped_csv.open(encoding="utf-8-sig")))
    assert [(r["Name"], r["skip_row"]) for r in rows] == [
        ("#92004", "5"),
        ("#92004", "6"),
        ("#92005", "7"),
        ("#92007", "10"),
    ]
    assert rows[2]["skip_reason"] == "cancelled on Shopify (Cancelled at is set)"
    assert rows[2]["Payment Method"] == "GoKwik Cash on Delivery"  # original columns kept
    failures = Path(summary["report"]) / "failures.csv"
    failed = list(csv.DictReader(failures.open(encoding="utf-8-sig")))
    assert [(r["Name"], r["error_field"]) for r in failed] == [("#92009", "Payment Method")]
    assert "[values.payment_type]" in failed[0]["error_reason"]
    assert (
        summary["warnings_by_reason"][
            "Shipping Address1: over 100 characters: continued in Shipping Address2"
        ]
        == 1
    )


@pytest.mark.usefixtures("prefect_harness")
def test_a_dry_run_accounts_for_every_row_too(tmp_path: Path, sandbox: SandboxServer) -> None:
    summary = _run(tmp_path, EXPORTS / "woocommerce-statuses.csv", dry_run=True)
    _accounted(summary)
    assert (summary["rows_ready"], summary["rows_failed"], summary["rows_skipped"]) == (2, 2, 2)
    assert (
        "skipped: already fulfilled on WooCommerce (Order Status 'completed')"
        in summary["orders_skipped_by_reason"]
    )


def test_stray_nul_bytes_are_removed_from_their_cells_and_named_as_a_warning() -> None:
    from flows.pipeline import group_and_build, read_exports, validate_exports
    from flows.read.profiles import load_profiles

    profiles = load_profiles()
    exports = read_exports([str(EXPORTS / "shopify-damaged.csv")], profiles, sheet=None).exports
    validated = validate_exports(exports, profiles, profile_name=None)
    grouped = group_and_build(validated, facility_map=None, target_zone="UTC")
    assert grouped.validated.errors == []
    note = "shopify-damaged.csv: stray control bytes (NUL...) removed from cells, rows 3"
    assert grouped.validated.warnings[note] == 1
    lines = {p["id"]: p["shippingAddress"]["addressLine1"] for p in grouped.built.payloads}
    assert lines == {"#93001": "22, Lake View Apartments", "#93002": "17, Temple Street"}


def test_an_unknown_woocommerce_status_lists_the_shops_values_only() -> None:
    from flows.pipeline import read_exports, validate_exports
    from flows.read.profiles import load_profiles

    profiles = load_profiles()
    path = str(EXPORTS / "woocommerce-statuses.csv")
    exports = read_exports([path], profiles, sheet=None).exports
    validated = validate_exports(exports, profiles, profile_name=None)
    [error] = [e for e in validated.errors if e.field == "Order Status"]
    assert error.value == "shipped" and error.code == "value.unmapped"
    known = error.reason.split("known: ")[1].split(".")[0]
    assert "completed" in known and "processing" in known
    for contract_value in ("CREATED", "PENDING_VERIFICATION", "CANCELLED", "DISPATCHED"):
        assert contract_value not in error.reason
    skipped = validated.lines[validated.lines["order_id"] == "20401"]
    assert skipped["skip_reason"].tolist() == [
        "already fulfilled on WooCommerce (Order Status 'completed')"
    ]


@pytest.mark.usefixtures("prefect_harness")
def test_a_streamed_run_skips_and_lists_the_same_rows(tmp_path: Path) -> None:
    whole = _run(tmp_path, EXPORTS / "shopify-statuses.csv", dry_run=True)
    streamed = _run(tmp_path, EXPORTS / "shopify-statuses.csv", dry_run=True, chunk_rows=3)
    _accounted(streamed)
    keys = ("rows_read", "rows_ready", "rows_failed", "rows_skipped", "orders_skipped")
    assert {k: streamed[k] for k in keys} == {k: whole[k] for k in keys}
    assert streamed["orders_skipped_by_reason"] == whole["orders_skipped_by_reason"]
    assert streamed["files"][0]["rows_skipped"] == 4

    def listed(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
        with (Path(summary["report"]) / "skipped.csv").open(encoding="utf-8-sig") as f:
            return [(r["Name"], r["skip_row"], r["skip_reason"]) for r in csv.DictReader(f)]

    assert listed(streamed) == listed(whole)
    assert len(listed(whole)) == 4
