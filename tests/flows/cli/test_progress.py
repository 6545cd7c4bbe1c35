"""Progress is passed in: each run creates its reporter, the CLI's runs show it, others do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.cli.progress import stage_progress
from flows.upload import upload_orders
from tests.flows.runs import OKER_MAP, oker_export, run_options, uniload
from tests.flows.sandboxes import oker_sandbox, point_at
from uniware.config import demo_credentials

pytestmark = pytest.mark.usefixtures("quiet_prefect")
STAGE_LINE = re.compile(r"^uniload: (.+) done in \d+\.\d s$", re.MULTILINE)


def test_each_reporter_is_its_own_and_only_a_shown_one_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with stage_progress(show=True) as shown, stage_progress(show=False) as quiet:
        assert shown is not quiet
        shown.start("read")
        quiet.start("validate")
        quiet.finish("validate")
        shown.finish("read")
    captured = capsys.readouterr()  # not a terminal: one plain line per stage, on stderr
    assert STAGE_LINE.findall(captured.err) == ["read exports"]
    assert captured.out == ""


@pytest.mark.usefixtures("prefect_harness")
def test_a_cli_run_shows_every_stage_of_its_flow_and_a_deployment_style_run_shows_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = oker_export(tmp_path / "orders.csv")
    with oker_sandbox(tmp_path) as sandbox:
        point_at(monkeypatch, sandbox.base_url, demo_credentials())
        result = uniload(capsys, "run", str(export), *run_options(tmp_path))
        assert result.code == 0, result.text
        assert STAGE_LINE.findall(result.err) == [
            "read exports",
            "validate rows",
            "group & build orders",
            "post to Uniware",
            "send cancellations & returns",
            "write report",
        ]
        # the flow called as a deployment calls it (no show_progress): its reporter is inert
        summary = upload_orders(
            paths=[str(export)],
            facility_map=str(OKER_MAP),
            report_dir=str(tmp_path / "reports"),
            ledger=str(tmp_path / "ledger.db"),
        )
    assert isinstance(summary, dict) and summary["rows_already_accepted"] > 0
    assert STAGE_LINE.findall(capsys.readouterr().err) == []
