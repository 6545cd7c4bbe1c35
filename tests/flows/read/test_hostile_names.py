"""Look-alike names: headers equal but for case, spaces or invisible characters are refused;
ids differing only so are one id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.exceptions import UnreadableExport
from flows.read.exports import read_export
from tests.flows.runs import (
    SAMPLE_ORDERS,
    held,
    oker_export,
    report_folder,
    run_options,
    uniload,
)
from uniware.sandbox import SandboxServer

pytestmark = pytest.mark.usefixtures("quiet_prefect")


@pytest.mark.parametrize(
    "twin",
    [
        "ORDER ID",
        "order id",
        "Order\u00a0ID",
        "Order\u200b ID",
        "Ｏｒｄｅｒ ＩＤ",
        " Order  ID\ufeff",
    ],
    ids=["upper", "lower", "no-break-space", "zero-width", "full-width", "spaces-and-bom"],
)
def test_headers_equal_but_for_case_spaces_or_look_alikes_are_refused(
    tmp_path: Path, twin: str
) -> None:
    path = oker_export(tmp_path / "orders.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + f",{twin}", *(line + ",X" for line in lines[1:])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UnreadableExport) as refused:
        read_export(path)
    message = str(refused.value)
    assert "'Order ID'" in message and repr(twin.strip()) in message, message
    assert "ambiguous" in message and "Fix: " in message


@pytest.mark.usefixtures("prefect_harness")
def test_ids_differing_only_by_invisible_or_full_width_characters_are_one_order(
    tmp_path: Path, oker_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    changes = {
        "OKI00000000202": {"Order ID": "OKR\u200b000000002"},
        "OKI00000000203": {"Order ID": "ＯＫＲ000000002"},
        "OKI00000000204": {"Order Item ID": "OKI0000\u00ad0000204"},
    }
    export = oker_export(tmp_path / "orders.csv", changes)
    result = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert result.code == 0, result.text
    summary = json.loads((report_folder(result) / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings_by_reason"] == {
        "Order ID: invisible or look-alike characters normalised": 2,
        "Order Item ID: invisible or look-alike characters normalised": 1,
    }
    assert sorted(held(oker_server.base_url, "orders")["ids"]) == SAMPLE_ORDERS
