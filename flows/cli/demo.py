"""`uniload demo`: the samples posted to a fresh local sandbox, which is stopped after."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flows import settings
from flows.cli.commands import EXIT_OK, EXIT_ROWS_FAILED, EXIT_RUN_FAILED, fail
from flows.config import load_facility_map


def demo(args: argparse.Namespace) -> int:
    """`uniload demo` (`make run`): the samples against a fresh local sandbox, then stop it.

    The run is the real `uniload run` in a child process, the sandbox's address and
    credentials in the child's environment only (as an operator sets them); this process's
    environment is left as it is. Its lines are relayed; its report folder gives the summary.
    """
    import httpx

    from uniware.config import demo_credentials, uniware_env
    from uniware.sandbox import running_sandbox

    credentials = demo_credentials()
    facility_map = load_facility_map(str(settings.OKER_FACILITY_MAP))
    with (
        tempfile.TemporaryDirectory(prefix="uniload-demo-") as tmp,
        running_sandbox(
            db_path=Path(tmp) / "sandbox.db", facility_map=facility_map, credentials=credentials
        ) as sandbox,
    ):
        print(f"sandbox listening on {sandbox.base_url}", flush=True)
        env = {**os.environ, **uniware_env(sandbox.base_url, credentials)}
        command = [sys.executable, "-m", "flows.cli.main", "run", str(settings.SAMPLES_DIR)]
        command += ["--facility-map", str(settings.OKER_FACILITY_MAP)]
        command += ["--ledger", str(Path(tmp) / "ledger.db")]
        code, report = _relay(command, env)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=30).json()["count"]
        print(f"sandbox now holds {held} orders; stopping it")
    if code not in (EXIT_OK, EXIT_ROWS_FAILED):  # the run failed as a whole: it said why
        return code if code > 0 else EXIT_RUN_FAILED
    if report is None:
        return fail("the demo run printed no report folder")
    summary = _read_summary(report)
    # The samples hold deliberately bad rows: failed rows are the demonstration, not a failure.
    print(
        f"demo done: {summary['rows_accepted']} rows accepted, {summary['rows_failed']} failed "
        f"on purpose, {summary.get('rows_skipped', 0)} skipped (cancelled on the marketplace: "
        f"skipped.csv). Open {Path(report) / 'failures.xlsx'} to see each bad cell and its reason."
    )
    return EXIT_OK


REPORT_LINE = "report: "  # the last line of a run's summary (flows.report.summary_text)


def _relay(command: Sequence[str], env: Mapping[str, str]) -> tuple[int, str | None]:
    """Run `command`, its lines passed on to this stdout; its exit code and report folder."""
    report = None
    with subprocess.Popen(  # noqa: S603 - our own fixed command
        command, env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            if line.startswith(REPORT_LINE):
                report = line.removeprefix(REPORT_LINE).rstrip("\n")
    return child.returncode, report


def _read_summary(report: str) -> dict[str, Any]:
    """The summary.json of the report folder `report` (a local path or a report URL)."""
    import fsspec

    from flows.report.store import SUMMARY_JSON

    with fsspec.open(f"{report.rstrip('/')}/{SUMMARY_JSON}", "rb") as f:
        summary: dict[str, Any] = json.load(f)
    return summary
