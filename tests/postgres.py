"""A real PostgreSQL server for the tests, from Debian's ``postgresql`` package binaries.

``initdb`` and ``pg_ctl`` run on a temporary data directory, loopback only, on a free port, with
trust authentication. PostgreSQL refuses to run as root: as root they run as the ``postgres``
user (created by the package), which owns the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
START_SECONDS = 60
SUPERUSER = "postgres"


@dataclass
class PostgresServer:
    """A running server; ``fresh_url()`` creates an empty database and returns its URL."""

    port: int
    _numbers: Iterator[int]

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def fresh_url(self) -> str:
        """A new, empty database's URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._numbers)}"
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL binaries directory (None: not installed)."""
    for directory in PG_BIN_DIRS:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _as_owner(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when this process is root."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", SUPERUSER, "--", *command]
    return ["su", SUPERUSER, "-s", "/bin/sh", "-c", " ".join(command)]


@contextmanager
def running_postgres(port: int) -> Iterator[PostgresServer]:
    """Start a throwaway server on ``port``; stop it and delete its data on exit."""
    binaries = pg_bin()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL is not installed: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="uniload-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    root.chmod(0o755)
    log = root / "server.log"
    run = subprocess.run
    run(
        _as_owner([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust"]),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    start = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", f"'{options}'"]
    if os.geteuid() != 0 or shutil.which("runuser") is not None:
        start[-1] = options
    run(_as_owner([*start, "-w", "-t", str(START_SECONDS), "start"]), check=True, cwd=root)
    try:
        _wait_ready(port)
        yield PostgresServer(port, count(1))
    finally:
        stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        run(_as_owner(stop), check=False, capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int) -> None:
    """Until the server answers a query."""
    import psycopg

    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            dsn = f"host=127.0.0.1 port={port} user={SUPERUSER} dbname=postgres"
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
