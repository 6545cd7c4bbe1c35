"""A run with failed rows is told apart from a clean one, in the UI and by an automation.

Against a real Prefect server: the bundled automation recipe
(data/automations/alert-on-failed-rows.json) is installed as is; a run with failed rows ends
in the state "Completed with failures" (its own event), a clean run in "Completed"; the
automation fires for the first and not for the second; the run's log reaches the server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from flows.settings import DATA
from tests.prefect_server import PrefectServer

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exports"
RECIPE = DATA / "automations" / "alert-on-failed-rows.json"
UNILOAD = Path(sys.executable).with_name("uniload")
pytestmark = pytest.mark.slow


def _clean_copy(source: Path, expected: Path, target: Path) -> Path:
    """The export without the orders the fixture's expectations say fail."""
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    bad_rows = {e["row"] for e in json.loads(expected.read_text())}
    order_column = "Order ID" if "Order ID" in raw.columns else raw.columns[0]
    bad_orders = {raw.loc[row - 2, order_column] for row in bad_rows if row - 2 < len(raw)}
    raw[~raw[order_column].isin(bad_orders)].to_csv(target, index=False)
    return target


def _dry_run(server: PrefectServer, export: Path, home: Path) -> tuple[int, str]:
    done = subprocess.run(
        [str(UNILOAD), "run", "--dry-run", str(export)],
        env=server.env(UNILOAD_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = re.search(r"^run ([0-9a-f-]{36})", done.stdout, re.MULTILINE)
    assert found, done.stdout + done.stderr
    return done.returncode, found.group(1)


def _events(api: str, since: datetime, resource_id: str) -> list[dict[str, Any]]:
    body = {
        "filter": {"occurred": {"since": since.isoformat()}, "resource": {"id": [resource_id]}},
        "limit": 50,
    }
    answer = httpx.post(f"{api}/events/filter", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


def _resource_events(api: str, since: datetime, run_id: str) -> list[str]:
    return [e["event"] for e in _events(api, since, f"prefect.flow-run.{run_id}")]


def _triggered(api: str, since: datetime, automation_id: str) -> list[dict[str, Any]]:
    events = _events(api, since, f"prefect.automation.{automation_id}")
    return [e for e in events if e["event"] == "prefect.automation.triggered"]


def _until(read: Callable[[], list[str]], final: str, seconds: float = 60) -> list[str]:
    """The run's event names, once one starting with prefect.flow-run.<final> is among them."""
    deadline = time.monotonic() + seconds
    while True:
        names = read()
        if any(n.startswith(f"prefect.flow-run.{final}") for n in names):
            return names
        if time.monotonic() > deadline:
            return names
        time.sleep(1)


def test_failed_rows_have_their_own_state_event_and_alert(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    since = datetime.now(UTC)
    created = httpx.post(f"{api}/automations/", json=json.loads(RECIPE.read_text()), timeout=10)
    assert created.status_code == 201, created.text
    automation_id = created.json()["id"]

    source = FIXTURES / "oker-orders.csv"
    clean = _clean_copy(source, FIXTURES / "oker-orders.expected.json", tmp_path / "clean.csv")
    code, failing_run = _dry_run(prefect_server, source, tmp_path)
    assert code == 2
    code, clean_run = _dry_run(prefect_server, clean, tmp_path)
    assert code == 0

    failing = httpx.get(f"{api}/flow_runs/{failing_run}", timeout=10).json()
    assert failing["state"]["type"] == "COMPLETED"
    assert failing["state"]["name"] == "Completed with failures"
    assert re.match(r"\d+ of \d+ rows failed: top reason", failing["state"]["message"])
    assert failing["name"].startswith("oker-orders.csv · ")
    clean_state = httpx.get(f"{api}/flow_runs/{clean_run}", timeout=10).json()["state"]
    assert clean_state["name"] == "Completed"

    # events reach the server's store a little after the state: wait for them
    failing_events = _until(lambda: _resource_events(api, since, failing_run), "Completed with")
    assert "prefect.flow-run.Completed with failures" in failing_events
    clean_events = _until(lambda: _resource_events(api, since, clean_run), "Completed")
    assert "prefect.flow-run.Completed" in clean_events
    assert "prefect.flow-run.Completed with failures" not in clean_events

    deadline = time.monotonic() + 60
    while not _triggered(api, since, automation_id) and time.monotonic() < deadline:
        time.sleep(1)
    fired = _triggered(api, since, automation_id)
    assert len(fired) == 1, fired
    time.sleep(3)  # a late second firing (for the clean run) would show by now
    assert len(_triggered(api, since, automation_id)) == 1

    logs = httpx.post(
        f"{api}/logs/filter",
        json={"logs": {"flow_run_id": {"any_": [failing_run]}}, "limit": 200},
        timeout=10,
    ).json()
    text = "\n".join(entry["message"] for entry in logs)
    assert "rows failed" in text and "report:" in text, text
