"""A real `prefect server start` in a subprocess: its own home, a loopback port, its own group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PREFECT = Path(sys.executable).with_name("prefect")
STARTUP_SECONDS = 180.0  # a first start migrates a new database
STOP_SECONDS = 15.0
LINGER_SECONDS = 5.0  # a background process's grace after Ctrl-C


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(home: Path, api_url: str) -> dict[str, str]:
    """The server's environment: its own home and database, the UI calling this API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_UI_API_URL=api_url,  # else the UI in a browser calls port 4200
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",  # a due schedule fires quickly
    )
    return env


@dataclass(frozen=True)
class PrefectServer:
    """A running server: its API and UI addresses and its home folder."""

    api_url: str
    ui_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for processes (serve, workers, CLI runs) that use this server.

        Logging levels are left as uniload sets them: INFO to the server, warnings on screen.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.home / "client"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
        )
        env.update(extra)
        return env


def ui_url(api_url: str) -> str:
    """The UI's address for a server's API URL (http://host:port/api)."""
    return api_url.removesuffix("/api")


@contextmanager
def running_prefect_server(home: Path) -> Iterator[str]:
    """Start `prefect server start` on a free loopback port; yield its API URL once healthy."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=server_environment(home, api_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops every child
        )
        try:
            _wait_healthy(api_url, process, log_path)
            yield api_url
        finally:
            _stop_group(process)


def _wait_healthy(api_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited {process.returncode}: {_tail(log_path)}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"prefect server not healthy in {STARTUP_SECONDS:.0f} s: {_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group, then SIGKILL to whatever is left of it."""
    _signal_group(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)  # stragglers (uvicorn workers, services)
    process.wait(timeout=STOP_SECONDS)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@contextmanager
def background(
    command: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running process (serve, a worker) in its own group, output to `log`.

    Stopped at exit as Ctrl-C would (SIGINT to the group), then killed if it lingers past
    LINGER_SECONDS: a worker that has run flows sometimes waits 30 s and more before it
    exits on Ctrl-C late in the suite, and every test has its runs finished by then.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            _signal_group(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=LINGER_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()


def api_post(url: str, body: object, *, seconds: float = 60) -> Any:
    """POST to the server's API, retried on 5xx as Prefect's own client does (a busy SQLite)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = httpx.post(url, json=body, timeout=30)
        if answer.status_code < 500 or time.monotonic() > deadline:
            answer.raise_for_status()
            return answer.json()
        time.sleep(1)
