"""The sandbox as a subprocess (``python -m uniware.sandbox``), for crash tests and benchmarks."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from uniware.sandbox.cli import LISTENING, REPO_ROOT
from uniware.sandbox.faults import Faults

START_TIMEOUT_SECONDS: Final = 20.0
STOP_TIMEOUT_SECONDS: Final = 10.0


class SandboxProcess:
    """Start the sandbox as a subprocess on a free port; stop it (Ctrl-C) on exit.

    The database defaults to a fresh temporary file, so ``restart()`` keeps what was accepted.
    """

    def __init__(
        self,
        *,
        db_path: str | Path | None = None,
        faults: Faults | None = None,
        facility_map: str | Path | None = None,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        reset: bool = False,
    ) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="uniware-sandbox-")
        self.db_path = Path(db_path or Path(self._workdir.name) / "sandbox.db")
        self._command = [sys.executable, "-m", "uniware.sandbox", "--host", host, "--port", "0"]
        self._command += ["--db", str(self.db_path), *fault_arguments(faults or Faults())]
        if facility_map is not None:
            self._command += ["--facility-map", str(facility_map)]
        if reset:
            self._command.append("--reset")
        self._env = {**os.environ, **(env or {})}
        self._env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), self._env.get("PYTHONPATH", "")])
        )
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self.base_url = ""

    @property
    def pid(self) -> int:
        """The sandbox process id."""
        assert self._process is not None, "the sandbox is not running"
        return self._process.pid

    def start(self) -> SandboxProcess:
        """Start the process and wait for its "listening" line."""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - our own fixed command
            self._command, stdout=subprocess.PIPE, stderr=self._stderr, env=self._env
        )
        line = _first_line(self._process, START_TIMEOUT_SECONDS)
        if not line.startswith(LISTENING):
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line or self._errors()}")
        self.base_url = line.removeprefix(LISTENING).strip()
        return self

    def stop(self) -> int | None:
        """Interrupt the process (as Ctrl-C would), kill it if it lingers; its exit code."""
        process, self._process = self._process, None
        code = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                code = process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return code

    def restart(self) -> SandboxProcess:
        """Stop and start again on the same database (the port may change)."""
        self.stop()
        return self.start()

    def _errors(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-2000:]

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        self._workdir.cleanup()


def fault_arguments(faults: Faults) -> list[str]:
    """The command-line options that reproduce ``faults``."""
    arguments = [
        f"--latency-ms={faults.latency_ms}",
        f"--p429={faults.p429}",
        f"--p5xx={faults.p5xx}",
        f"--phang={faults.phang}",
        f"--pdrop={faults.pdrop}",
        f"--p-drop-after-commit={faults.p_drop_after_commit}",
        f"--retry-after={faults.retry_after}",
        f"--hang-seconds={faults.hang_seconds}",
    ]
    return arguments if faults.seed is None else [*arguments, f"--seed={faults.seed}"]


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The process's first stdout line ("" if it exits or stays silent for ``timeout``)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in data and time.monotonic() < deadline:
            if not selector.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
