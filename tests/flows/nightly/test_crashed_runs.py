"""A flow run whose process is SIGKILLed mid-post ends Crashed, and nothing it sent is lost.

Against a real `prefect server start`: (a) a deployment run on a process worker, its engine
process killed — the worker sees the exit and reports Crashed; (b) a `uniload run` killed —
nothing is left to report, so the bundled recipe data/automations/crash-silent-runs.json (run
heartbeats every 30 s, Crashed after 90 s of silence), installed by `uniload automations
install`, marks it. To spare the suite a minute, the test then reinstalls the same recipe with
only its silence window shortened (SILENCE_SECONDS), through the same install code path; the run
is killed right after its first beat, well inside that window. Prefect will not beat faster
than every 30 s (its floor), so the run's own interval stays the shipped one. Then `uniload
ledger pending` lists the orders the dead run left `sending`, and the next run resolves them:
every order once in the sandbox, no row failed, nothing pending.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.exports import ExportFacts, write_oker_export
from flows.cli.automations import install
from flows.settings import DATA, OKER_FACILITY_MAP
from tests.flows.work_pools import (
    FINAL,
    UNILOAD,
    deploy,
    flow_run,
    processes_of_run,
    submit,
    worker,
    worker_env,
)
from tests.prefect_server import PrefectServer
from uniware.config import demo_credentials, uniware_env
from uniware.sandbox import Faults, SandboxProcess

pytestmark = pytest.mark.slow

POOL = "uniload-crash-test"
RECIPE = DATA / "automations" / "crash-silent-runs.json"
ROWS = 80  # about 40 orders: 10 s of posting at 2 in flight, 0.5 s each
SLOW = Faults(latency_ms=500)
SHIPPED_SILENCE_SECONDS = 90
# The test's window: the run is killed a few seconds after its first beat, well inside it.
SILENCE_SECONDS = 30
CRASH_SECONDS = SILENCE_SECONDS + 60  # the window, then the server's evaluation and some slack


@pytest.fixture
def crash_automation(prefect_server: PrefectServer, tmp_path: Path) -> Iterator[str]:
    """The bundled recipe, installed by `uniload automations install`; then its window shortened.

    The shipped file is what the command installs. The same recipe with only `within` changed
    is then installed by the code the command runs (flows.cli.automations.install): it updates
    the same automation, so the server still holds one. Removed afterwards: later tests' runs
    on this server are not watched by it.
    """
    api = prefect_server.api_url
    command = [str(UNILOAD), "automations", "install", "crash-silent-runs"]
    done = subprocess.run(
        command, env=prefect_server.env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("installed crash-silent-runs: "), done.stdout
    shipped = json.loads(RECIPE.read_text())
    assert shipped["trigger"]["within"] == SHIPPED_SILENCE_SECONDS
    assert _installed(api, shipped["name"])["trigger"]["within"] == SHIPPED_SILENCE_SECONDS
    shorter = tmp_path / "automations" / RECIPE.name
    shorter.parent.mkdir()
    shorter.write_text(
        json.dumps({**shipped, "trigger": {**shipped["trigger"], "within": SILENCE_SECONDS}})
    )
    assert install(api, [shorter]) == [f"updated crash-silent-runs: {shipped['name']}"]
    automation = _installed(api, shipped["name"])
    assert automation["trigger"]["within"] == SILENCE_SECONDS
    yield str(automation["id"])
    httpx.delete(f"{api}/automations/{automation['id']}", timeout=10)


def _installed(api: str, name: str) -> dict[str, Any]:
    """The one automation of this name on the server."""
    listed = httpx.post(f"{api}/automations/filter", json={}, timeout=10).json()
    (automation,) = [a for a in listed if a["name"] == name]
    return dict(automation)


def uniload_env(server: PrefectServer, sandbox_url: str, home: Path) -> dict[str, str]:
    """The environment of a `uniload` command posting to the sandbox."""
    creds = demo_credentials()
    return server.env(
        **uniware_env(sandbox_url, creds),
        UNILOAD_REPORT_DIR=str(home / "reports"),
        UNILOAD_CONCURRENCY="2",
    )


def run_command(export: Path, ledger: str) -> list[str]:
    """`uniload run` of the export with this ledger."""
    map_option = ["--facility-map", str(OKER_FACILITY_MAP)]
    return [str(UNILOAD), "run", str(export), "--ledger", ledger, *map_option]


def wait_for_requests(sandbox_url: str, count: int, seconds: float = 120) -> None:
    """Until the sandbox has answered `count` order requests: the run is mid-post."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = httpx.get(f"{sandbox_url}/_sandbox/requests", timeout=10).json()["requests"]
        if len(log) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"the sandbox saw fewer than {count} requests in {seconds} s")


def wait_final(api: str, run_id: str, seconds: float) -> dict[str, Any]:
    """The flow run once it is in a final state (or as it is when time runs out)."""
    deadline = time.monotonic() + seconds
    run = flow_run(api, run_id)
    while run["state"]["type"] not in FINAL and time.monotonic() < deadline:
        time.sleep(2)
        run = flow_run(api, run_id)
    return run


def pending(env: dict[str, str], ledger: str) -> list[dict[str, Any]]:
    """`uniload ledger pending`, one JSON object per pending order."""
    command = [str(UNILOAD), "ledger", "--ledger", ledger, "pending"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def rerun_resolves(
    env: dict[str, str], export: Path, ledger: str, sandbox_url: str, facts: ExportFacts
) -> None:
    """The next run ends clean, every order is once in the sandbox, nothing is pending."""
    done = subprocess.run(
        run_command(export, ledger), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    held = httpx.get(f"{sandbox_url}/_sandbox/orders", timeout=10).json()
    assert held["count"] == len(set(held["ids"])) == facts.posted_orders
    assert pending(env, ledger) == []
    summaries = sorted(Path(env["UNILOAD_REPORT_DIR"]).glob("*/summary.json"))
    latest = max((json.loads(p.read_text()) for p in summaries), key=lambda s: s["started_at"])
    assert latest["rows_failed"] == 0
    assert latest["orders_accepted"] == facts.posted_orders  # fresh, or found sent by us


def assert_left_sending(listed: list[dict[str, Any]], run_id: str) -> None:
    """The dead run's in-flight orders are pending, held by it, its process gone."""
    assert listed, "the run was killed mid-post: some order must be left sending"
    assert {line["run_id"] for line in listed} == {run_id}
    assert all(line["lease"].startswith("owner process gone") for line in listed), listed


def test_a_worker_reports_its_killed_flow_run_crashed(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    export = tmp_path / "orders.csv"
    facts = write_oker_export(export, rows=ROWS, seed=23)
    ledger = str(tmp_path / "ledger.db")
    deployment_id = deploy(prefect_server, POOL, "crash-test")
    with SandboxProcess(faults=SLOW, facility_map=OKER_FACILITY_MAP) as sandbox:
        env = worker_env(prefect_server, tmp_path / "host", ledger, sandbox.base_url)
        with worker(env, tmp_path / "worker.log", POOL):
            parameters = {
                "paths": [str(export)],
                "facility_map": str(OKER_FACILITY_MAP),
                "concurrency": 2,
            }
            run_id = submit(api, deployment_id, parameters)
            wait_for_requests(sandbox.base_url, 3)
            engines = processes_of_run(run_id)
            assert engines, "the worker's flow-run process carries PREFECT__FLOW_RUN_ID"
            for pid in engines:
                os.kill(pid, signal.SIGKILL)
            run = wait_final(api, run_id, 60)
        assert run["state"]["type"] == "CRASHED", run["state"]
        cli = uniload_env(prefect_server, sandbox.base_url, tmp_path / "rerun")
        assert_left_sending(pending(cli, ledger), run_id)
        rerun_resolves(cli, export, ledger, sandbox.base_url, facts)


def test_a_killed_uniload_run_is_marked_crashed_by_the_heartbeat_recipe(
    prefect_server: PrefectServer, crash_automation: str, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    export = tmp_path / f"killed-{os.getpid()}-{time.time_ns()}.csv"
    facts = write_oker_export(export, rows=ROWS, seed=29)
    ledger = str(tmp_path / "ledger.db")
    with SandboxProcess(faults=SLOW, facility_map=OKER_FACILITY_MAP) as sandbox:
        env = uniload_env(prefect_server, sandbox.base_url, tmp_path)
        with (tmp_path / "killed.log").open("wb") as log:
            process = subprocess.Popen(
                run_command(export, ledger), env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            try:
                wait_for_requests(sandbox.base_url, 3)
                run_id = run_of_export(api, export.name)
                wait_heartbeat(api, run_id)
            finally:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert flow_run(api, run_id)["state"]["type"] == "RUNNING"  # nobody told the server
        killed = time.monotonic()
        run = wait_final(api, run_id, CRASH_SECONDS)
        assert run["state"]["type"] == "CRASHED", run["state"]
        assert "No heartbeat" in run["state"]["message"]
        assert time.monotonic() - killed < CRASH_SECONDS
        assert_left_sending(pending(env, ledger), run_id)
        rerun_resolves(env, export, ledger, sandbox.base_url, facts)


def run_of_export(api: str, name: str) -> str:
    """The id of the one flow run named after this export file."""
    body = {"flow_runs": {"name": {"like_": name}}}
    runs = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()
    assert len(runs) == 1, runs
    return str(runs[0]["id"])


def wait_heartbeat(api: str, run_id: str, seconds: float = 30) -> None:
    """Until the server holds a heartbeat event of the run (the recipe starts from one)."""
    body = {
        "filter": {
            "event": {"name": ["prefect.flow-run.heartbeat"]},
            "resource": {"id": [f"prefect.flow-run.{run_id}"]},
        },
        "limit": 5,
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = httpx.post(f"{api}/events/filter", json=body, timeout=10)
        if answer.status_code == 200 and answer.json()["events"]:
            return
        time.sleep(0.5)
    pytest.fail(f"no heartbeat of run {run_id} reached the server in {seconds} s")
