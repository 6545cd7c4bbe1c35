"""Helpers for tests on a real process work pool: the prefect CLI, workers, flow runs, processes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.prefect_server import PrefectServer, api_post, background
from uniware.config import demo_credentials, uniware_env

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).with_name("prefect")
UNILOAD = Path(sys.executable).with_name("uniload")
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def prefect(env: dict[str, str], *args: str) -> str:
    """Run the prefect CLI from the repository root; its output."""
    done = subprocess.run(
        [str(PREFECT), "--no-prompt", *args], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def deploy(server: PrefectServer, pool: str, name: str) -> str:
    """A process pool and a deployment of upload_orders on it (prefect.yaml's pull step); its id."""
    base = server.env(PYTHONPATH=str(REPO_ROOT))
    prefect(base, "work-pool", "create", pool, "--type", "process", "--overwrite")
    prefect(base, "deploy", "flows/upload.py:upload_orders", "--name", name, "--pool", pool)
    found = httpx.get(f"{server.api_url}/deployments/name/upload-orders/{name}", timeout=10)
    return str(found.json()["id"])


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path, pool: str, limit: int | None = None) -> Iterator[None]:
    """A `prefect worker start` on the pool (at most `limit` runs at once), stopped on exit."""
    command = [str(PREFECT), "worker", "start", "--pool", pool, "--type", "process"]
    command += [] if limit is None else ["--limit", str(limit)]
    with background(command, env=env, log=log, cwd=REPO_ROOT):
        yield


def worker_env(
    server: PrefectServer, home: Path, ledger: str, sandbox_url: str, **extra: str
) -> dict[str, str]:
    """A worker's environment: its own reports, the shared ledger, the sandbox.

    No UNILOAD_HOME: the pull step then enters this checkout, where the entrypoint is (a home
    that is not a checkout would not hold ``flows/upload.py``).
    """
    creds = demo_credentials()
    home.mkdir(parents=True, exist_ok=True)
    return server.env(
        **uniware_env(sandbox_url, creds),
        UNILOAD_LEDGER=ledger,
        UNILOAD_REPORT_DIR=str(home / "reports"),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30",  # as prefect.yaml's job variables set it
        PYTHONPATH=str(REPO_ROOT),
        **extra,
    )


def submit(api: str, deployment_id: str, parameters: dict[str, Any]) -> str:
    """Create a flow run of the deployment (a worker picks it up); its id."""
    url = f"{api}/deployments/{deployment_id}/create_flow_run"
    return str(api_post(url, {"parameters": parameters})["id"])


def flow_run(api: str, run_id: str) -> dict[str, Any]:
    """The flow run as the server has it now."""
    answer = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def wait_finished(api: str, run_ids: list[str], seconds: float, logs: list[Path]) -> list[Any]:
    """The flow runs once all have finished."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = [flow_run(api, r) for r in run_ids]
        if all(run["state"]["type"] in FINAL for run in runs):
            return runs
        time.sleep(1)
    tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
    pytest.fail(f"flow runs not finished in {seconds} s; workers said:\n{tails}")


def processes_of_run(run_id: str) -> list[int]:
    """Pids of this machine whose environment names the flow run (its engine process)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if f"PREFECT__FLOW_RUN_ID={run_id}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return found
