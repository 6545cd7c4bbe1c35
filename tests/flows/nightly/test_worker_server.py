"""prefect.yaml on a process work pool: a worker anywhere runs the nightly job from its home.

Real `prefect server start`, `prefect deploy` from the repository's prefect.yaml, and a
`prefect worker start` launched from an unrelated directory with its own UNILOAD_HOME: the
flow run enters that home (the pull step reads the worker's environment at run time, not the
deploying machine's), drains its inbox into the sandbox with its ledger, and archives the file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.settings import DATA, REPO
from tests.prefect_server import PrefectServer, api_post, background
from uniware.config import demo_credentials, uniware_env
from uniware.sandbox import running_sandbox

EXPORT = Path(__file__).parents[2] / "fixtures" / "exports" / "oker-orders.csv"
BIN = Path(sys.executable).parent
POOL = "uniload-test-pool"
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def _worker(env: dict[str, str], cwd: Path, log: Path) -> Iterator[None]:
    command = [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--limit", "2"]
    with background(command, env=env, log=log, cwd=cwd):
        yield


def _prefect(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_worker_runs_the_deployment_from_its_own_home(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    home, elsewhere = tmp_path / "worker-home", tmp_path / "elsewhere"
    (home / "inbox").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copytree(DATA / "facility-maps", home / "data" / "facility-maps")  # as prefect.yaml
    shutil.copy(EXPORT, home / "inbox" / EXPORT.name)
    old = time.time() - 3600
    os.utime(home / "inbox" / EXPORT.name, (old, old))
    creds = demo_credentials()
    with running_sandbox(db_path=tmp_path / "sandbox.db", credentials=creds) as sandbox:
        deployer = prefect_server.env(UNILOAD_HOME="/nonexistent/deploying-machine")
        _prefect(deployer, "work-pool", "create", POOL, "--type", "process")
        _prefect(deployer, "deploy", "--name", "nightly", "--pool", POOL)
        env = prefect_server.env(
            **uniware_env(sandbox.base_url, creds),
            UNILOAD_HOME=str(home),
            UNILOAD_LEDGER="state/ledger.db",
            PREFECT_WORKER_QUERY_SECONDS="2",
        )
        deployment = httpx.get(f"{api}/deployments/name/upload-orders/nightly", timeout=10).json()
        beat = deployment["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]
        assert beat == "30", "runs beat as often as crash-silent-runs.json expects"
        created = api_post(f"{api}/deployments/{deployment['id']}/create_flow_run", {})
        log = tmp_path / "worker.log"
        with _worker(env, elsewhere, log):
            run = _wait_finished(api, created["id"], log)
        assert run["state"]["type"] == "COMPLETED", (run["state"], log.read_text()[-3000:])
        assert run["state"]["name"] == "Completed with failures"  # the fixture's bad rows
        assert (home / "state" / "ledger.db").is_file()
        assert [p.name for p in (home / "inbox" / "archive").iterdir()] == [
            f"{created['id']}-{EXPORT.name}"
        ]
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=10).json()["count"]
        assert held > 0


def _wait_finished(api: str, run_id: str, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run: dict[str, Any] = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(2)
    pytest.fail(f"flow run {run_id} did not finish; worker log:\n{log.read_text()[-3000:]}")
