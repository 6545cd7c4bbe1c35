"""One wild cell is one bad row: huge, infinite and far-off values never crash a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.flows.runs import (
    held,
    oker_export,
    read_csv,
    report_folder,
    run_options,
    uniload,
)
from transforms import parse
from uniware.sandbox import SandboxServer

pytestmark = pytest.mark.usefixtures("quiet_prefect")

WILD = {
    "OKI00000000201": {"Selling Price": "1e308"},
    "OKI00000000202": {"Total Price": "inf"},
    "OKI00000000203": {"Shipping Charges": "-1e400"},
    "OKI00000000301": {"Order Date": "9999-12-31 23:59:59"},
    "OKI00000000302": {"SLA Date": "2263-01-01 00:00:00"},
}
REASONS = {
    ("OKI00000000201", "Selling Price"): "number out of range: must be at most 1,000,000,000",
    ("OKI00000000202", "Total Price"): "number out of range: must be at most 1,000,000,000",
    ("OKI00000000203", "Shipping Charges"): "number out of range",
    ("OKI00000000301", "Order Date"): "date out of range: must be in the years 1900 to 2199",
    ("OKI00000000302", "SLA Date"): "date out of range: must be in the years 1900 to 2199",
}


def failures_by_cell(folder: Path) -> dict[tuple[str, str], str]:
    """The failure report's first reason per (item, column) for the validate stage."""
    found: dict[tuple[str, str], str] = {}
    for row in read_csv(folder / "failures.csv"):
        if row["error_stage"] == "validate":
            found.setdefault((row["Order Item ID"], row["error_field"]), row["error_reason"])
    return found


@pytest.mark.usefixtures("prefect_harness")
def test_wild_values_are_row_errors_and_the_rest_is_posted(
    tmp_path: Path, oker_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    export = oker_export(tmp_path / "orders.csv", WILD)
    checked = uniload(capsys, "validate", str(export))
    assert checked.code == 2, checked.text
    assert "Traceback" not in checked.text
    result = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert result.code == 2, result.text
    assert "Traceback" not in result.text
    reasons = failures_by_cell(report_folder(result))
    for cell, reason in REASONS.items():
        assert reason in reasons[cell], (cell, reasons)
    assert held(oker_server.base_url, "orders")["ids"] == ["OKR000000001"]


@pytest.mark.usefixtures("prefect_harness")
def test_an_sla_years_after_the_order_is_a_row_error(
    tmp_path: Path, oker_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    late = {"OKI00000000101": {"SLA Date": "2031-01-01 00:00:00"}}
    result = uniload(
        capsys, "run", str(oker_export(tmp_path / "o.csv", late)), *run_options(tmp_path)
    )
    assert result.code == 2, result.text
    reasons = failures_by_cell(report_folder(result))
    reason = "SLA date is more than 3 years after the order date"
    assert reason in reasons[("OKI00000000101", "SLA Date")]
    assert sorted(held(oker_server.base_url, "orders")["ids"]) == ["OKR000000002", "OKR000000003"]


def test_the_ceiling_and_years_are_inclusive_where_they_should_be() -> None:
    cells = pd.Series(["1000000000", "1000000000.01", "2199-12-31 23:59:59", "2200-01-01 00:00:00"])
    numbers = parse.parse_numbers(cells[:2])
    assert numbers.tolist()[0] == 1e9 and pd.isna(numbers.tolist()[1])
    dates = parse.parse_datetimes(cells[2:], formats=["%Y-%m-%d %H:%M:%S"], source_zone="UTC")
    assert dates.notna().tolist() == [True, False]
