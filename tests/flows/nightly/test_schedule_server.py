"""The nightly job on a real Prefect server: the schedule fires, the run drains the inbox.

A real `prefect server start` (tests/conftest.py `prefect_server`) and a real `uniload serve`
subprocess with `--cron "* * * * *"`: the server's scheduler must create a run by itself (with
SQLAlchemy 2.1.x it never did), the run must use the worker environment's ledger and report
folder (not the parameter defaults), post the inbox file to the sandbox and archive it. Then
a manual `uniload run` of the same export with the same environment sends nothing, a
deployment run given `paths` processes those paths, and a run over the empty inbox ends
Completed with "nothing to do".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.settings import OKER_FACILITY_MAP
from tests.prefect_server import PrefectServer, api_post, background, free_port
from uniware.config import demo_credentials, uniware_env
from uniware.sandbox import running_sandbox

EXPORT = Path(__file__).parents[2] / "fixtures" / "exports" / "oker-orders.csv"
UNILOAD = Path(sys.executable).with_name("uniload")
SCHEDULE_WAIT_SECONDS = 170  # the next minute boundary, a scheduler loop and a runner poll
pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Any]:
    creds = demo_credentials()
    with running_sandbox(db_path=tmp_path / "sandbox.db", credentials=creds) as server:
        yield server


def _worker_env(server: PrefectServer, sandbox_url: str, home: Path) -> dict[str, str]:
    creds = demo_credentials()
    return server.env(
        **uniware_env(sandbox_url, creds),
        UNILOAD_HOME=str(home),
        UNILOAD_LEDGER="state/worker-ledger.db",  # relative: to UNILOAD_HOME
        UNILOAD_REPORT_DIR=str(home / "worker-reports"),
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )


def _settled_copy(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    shutil.copy(source, target)
    old = time.time() - 3600
    os.utime(target, (old, old))
    return target


def _wait_for(what: str, check: Callable[[], Any], seconds: float, log: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    pytest.fail(f"{what} within {seconds} s; serve's output:\n{log.read_text()[-3000:]}")


def _runs(api: str, deployment_id: str) -> list[dict[str, Any]]:
    body = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "START_TIME_ASC"}
    answer = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10)
    answer.raise_for_status()
    return list(answer.json())


def _finished(run: dict[str, Any]) -> bool:
    return run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _requests(sandbox_url: str) -> int:
    return len(httpx.get(f"{sandbox_url}/_sandbox/requests", timeout=10).json()["requests"])


@contextlib.contextmanager
def _serving(env: dict[str, str], inbox: Path, log: Path) -> Iterator[None]:
    command = [
        str(UNILOAD),
        "serve",
        "--inbox",
        str(inbox),
        "--cron",
        "* * * * *",
        "--facility-map",
        str(OKER_FACILITY_MAP),
        "--reports-port",
        str(free_port()),
    ]
    with background(command, env=env, log=log):
        yield


def test_the_schedule_fires_and_the_run_honours_the_worker_environment(
    prefect_server: PrefectServer, sandbox: Any, tmp_path: Path
) -> None:
    api, home = prefect_server.api_url, tmp_path / "home"
    inbox, log = home / "inbox", tmp_path / "serve.log"
    _settled_copy(EXPORT, inbox)
    env = _worker_env(prefect_server, sandbox.base_url, home)
    with _serving(env, inbox, log):
        deployment = _wait_for(
            "the nightly deployment registered",
            lambda: _deployment(api),
            60,
            log,
        )
        assert deployment["schedules"][0]["schedule"]["timezone"] == "Asia/Kolkata"
        first = _wait_for(
            "a scheduled run finished",
            lambda: [r for r in _runs(api, deployment["id"]) if _finished(r)],
            SCHEDULE_WAIT_SECONDS,
            log,
        )[0]
        assert first["auto_scheduled"], "the run was created by the server's scheduler"
        assert first["state"]["type"] == "COMPLETED", first["state"]
        assert first["state"]["name"] == "Completed with failures"  # the fixture's bad rows
        assert "rows failed" in first["state"]["message"]
        assert first["name"].startswith("oker-orders.csv · ")
        assert (home / "state" / "worker-ledger.db").is_file(), "the worker's UNILOAD_LEDGER"
        assert not (home / ".uniload").exists(), "not the parameter default ledger"
        assert list((home / "worker-reports").iterdir()), "the worker's UNILOAD_REPORT_DIR"
        assert not [p for p in inbox.iterdir() if p.is_file()], "the file was taken"
        (archived,) = (inbox / "archive").iterdir()
        assert archived.name.endswith("oker-orders.csv")
        assert not list((inbox / "processing").glob("*/*")), "no claim left behind"
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=10).json()["count"]
        assert held > 0
        sent = _requests(sandbox.base_url)

        # A manual run of the same export, same environment: the same ledger, nothing sent.
        manual = subprocess.run(
            [str(UNILOAD), "run", str(archived), "--facility-map", str(OKER_FACILITY_MAP)],
            env=env,
            cwd=tmp_path,  # another directory: the ledger is still found through UNILOAD_HOME
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert manual.returncode == 2, manual.stderr  # the same bad rows, reported again
        assert _requests(sandbox.base_url) == sent, "the manual run re-sent orders"

        # A deployment run given paths processes those paths (not the deployment's inbox).
        other = _settled_copy(EXPORT, tmp_path / "elsewhere")
        by_paths = _run_deployment(api, deployment["id"], {"paths": [str(other)]}, log)
        assert by_paths["state"]["type"] == "COMPLETED", by_paths["state"]
        assert "rows failed" in by_paths["state"]["message"]
        assert other.exists(), "a file given by path is not archived like an inbox file"

        # The inbox is empty now: a run over it completes and says so.
        empty = _run_deployment(api, deployment["id"], {}, log)
        assert empty["state"]["type"] == "COMPLETED", empty["state"]
        assert empty["state"]["message"].startswith("nothing to do")


def _deployment(api: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{api}/deployments/name/upload-orders/nightly", timeout=10)
    return dict(answer.json()) if answer.status_code == 200 else None


def _run_deployment(
    api: str, deployment_id: str, parameters: dict[str, Any], log: Path
) -> dict[str, Any]:
    url = f"{api}/deployments/{deployment_id}/create_flow_run"
    run_id = api_post(url, {"parameters": parameters})["id"]

    def done() -> dict[str, Any] | None:
        run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        return dict(run) if _finished(run) else None

    result: dict[str, Any] = _wait_for(f"deployment run {run_id} finished", done, 120, log)
    return result
