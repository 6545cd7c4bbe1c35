"""`uniload demo` (`make run`): the real `uniload run` as a child; our environment is kept."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flows.cli import demo
from tests.prefect_server import PrefectServer

UNIWARE_VARIABLES = ("UNIWARE_BASE_URL", "UNIWARE_CLIENT_ID", "UNIWARE_MERCHANT_ID")


@pytest.mark.slow
@pytest.mark.usefixtures("quiet_prefect")
def test_the_demo_runs_uniload_run_as_a_child_and_leaves_its_own_environment(
    tmp_path: Path,
    prefect_server: PrefectServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in (*UNIWARE_VARIABLES, "UNIWARE_SECURITY_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in prefect_server.env(UNILOAD_REPORT_DIR=str(tmp_path / "reports")).items():
        monkeypatch.setenv(name, value)
    launched: list[tuple[list[str], dict[str, str], dict[str, str]]] = []
    real_popen = subprocess.Popen

    def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        launched.append((list(command), dict(kwargs["env"]), dict(os.environ)))
        return real_popen(command, **kwargs)

    monkeypatch.setattr("flows.cli.demo.subprocess.Popen", popen)
    before = dict(os.environ)
    code = demo.demo(argparse.Namespace(command="demo"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert dict(os.environ) == before
    [(command, child_env, ours)] = launched
    assert command[command.index("flows.cli.main") + 1] == "run"
    url = re.search(r"^sandbox listening on (\S+)$", out, re.MULTILINE)
    assert url and child_env["UNIWARE_BASE_URL"] == url.group(1)
    assert not any(name in ours for name in UNIWARE_VARIABLES)  # only the child had them
    # the child's summary lines are relayed; the last lines come from its report folder
    report = re.search(r"^report: (.+)$", out, re.MULTILINE)
    assert report and Path(report.group(1)).parent == tmp_path / "reports"
    summary = json.loads((Path(report.group(1)) / "summary.json").read_text(encoding="utf-8"))
    assert re.search(rf"rows accepted\s+{summary['rows_accepted']}\s", out)
    held = f"sandbox now holds {summary['orders_accepted']} orders; stopping it"
    done = (
        f"demo done: {summary['rows_accepted']} rows accepted, {summary['rows_failed']} failed "
        f"on purpose, {summary['rows_skipped']} skipped"
    )
    assert out.splitlines()[-2] == held
    assert out.splitlines()[-1].startswith(done)
    assert summary["rows_failed"] > 0 and summary["rows_accepted"] > 0
