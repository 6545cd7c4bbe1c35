"""The canary key against a real Prefect server: used, echoed by Uniware, and found nowhere.

A `uniload run` subprocess posts to a server that quotes the request headers (the key among
them) in its failure message. Afterwards everything the Prefect server holds about the run is
read through its API -- events, logs, artifacts, flow and task runs with their states -- and
searched for the key.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.settings import OKER_FACILITY_MAP
from tests.flows.runs import oker_export
from tests.prefect_server import PrefectServer, api_post
from tests.uniware.hostile_server import echo, hostile_server

UNILOAD = Path(sys.executable).with_name("uniload")
pytestmark = pytest.mark.slow

CANARY = "CANARY-3e7a-ev3nts-k3y"  # the security key no Prefect record may hold


def all_events(api: str, since: datetime) -> list[dict[str, Any]]:
    """Every event since ``since``, following the API's pages."""
    body = {"filter": {"occurred": {"since": since.isoformat()}}, "limit": 50}
    page = api_post(f"{api}/events/filter", body)
    events = list(page["events"])
    while page.get("next_page"):
        page = httpx.get(page["next_page"], timeout=30).json()
        events += page["events"]
    return events


def wait_for_events(api: str, since: datetime, run_id: str) -> list[dict[str, Any]]:
    """The events, once the run's final state event has arrived (events are asynchronous)."""
    deadline = time.monotonic() + 60
    while True:
        events = all_events(api, since)
        final = [
            e
            for e in events
            if e["resource"]["prefect.resource.id"] == f"prefect.flow-run.{run_id}"
            and e["event"].startswith("prefect.flow-run.Completed")
        ]
        if final or time.monotonic() > deadline:
            return events
        time.sleep(1)


def everything_about(api: str, run_id: str) -> dict[str, Any]:
    """Logs, artifacts, the flow run, its task runs and every state of them, as the API has them."""
    runs = {"flow_runs": {"id": {"any_": [run_id]}}}
    tasks = api_post(f"{api}/task_runs/filter", runs)
    states = httpx.get(f"{api}/flow_run_states/", params={"flow_run_id": run_id}, timeout=30)
    task_states = [
        httpx.get(f"{api}/task_run_states/", params={"task_run_id": t["id"]}, timeout=30).json()
        for t in tasks
    ]
    return {
        "logs": api_post(f"{api}/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}}),
        "artifacts": api_post(f"{api}/artifacts/filter", runs),
        "flow_run": httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json(),
        "flow_run_states": states.json(),
        "task_runs": tasks,
        "task_run_states": task_states,
    }


def around(text: str, word: str) -> str:
    at = text.find(word)
    return text[max(at - 100, 0) : at + 40]


def test_an_echoed_key_reaches_no_prefect_event_log_artifact_or_state(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    since = datetime.now(UTC)
    export = oker_export(tmp_path / "orders.csv")
    with hostile_server(echo) as server:
        env = prefect_server.env(
            UNILOAD_HOME=str(tmp_path),
            UNIWARE_BASE_URL=server.base_url,
            UNIWARE_CLIENT_ID="c1",
            UNIWARE_MERCHANT_ID="m1",
            UNIWARE_SECURITY_KEY=CANARY,
        )
        command = [
            str(UNILOAD), "run", str(export), "--facility-map", str(OKER_FACILITY_MAP),
            "--report-dir", str(tmp_path / "reports"), "--ledger", str(tmp_path / "ledger.db"),
        ]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert any(CANARY.encode() in request for request in server.requests)  # used and echoed
    found = re.search(r"^run ([0-9a-f-]{36})", done.stdout, re.MULTILINE)
    assert found, done.stdout + done.stderr
    run_id = found.group(1)

    events = wait_for_events(api, since, run_id)
    mine = [e for e in events if run_id in json.dumps(e)]
    assert any(e["event"].startswith("prefect.flow-run.Completed") for e in mine), mine
    assert any("rows failed" in json.dumps(e) for e in mine)  # the state message is there
    held = everything_about(api, run_id)
    assert held["logs"] and held["artifacts"] and held["task_runs"]
    assert "INVALID_REQUEST: could not process POST" in json.dumps(held["artifacts"])

    texts = {"events": json.dumps(events), "stdout": done.stdout, "stderr": done.stderr}
    texts.update({name: json.dumps(value) for name, value in held.items()})
    leaks = {name: around(text, CANARY) for name, text in texts.items() if CANARY in text}
    assert not leaks
