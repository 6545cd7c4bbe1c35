"""The nightly deployment and its inbox: settled files only, each filed away once."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from flows.inbox import file_away, ready_files
from flows.nightly import nightly_deployment


def _touch(path: Path, *, age: float) -> Path:
    path.write_text("x")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_only_settled_export_files_are_ready(tmp_path: Path) -> None:
    old = _touch(tmp_path / "a.csv", age=600)
    _touch(tmp_path / "b.csv", age=1)  # still being written
    _touch(tmp_path / "c.csv.part", age=600)
    _touch(tmp_path / ".hidden.csv", age=600)
    _touch(tmp_path / "notes.pdf", age=600)
    (tmp_path / "archive").mkdir()
    assert ready_files(tmp_path) == [old]


def test_filed_away_files_never_overwrite_each_other(tmp_path: Path) -> None:
    first = file_away(_touch(tmp_path / "a.csv", age=0), run_id="r1", to="archive")
    second = file_away(_touch(tmp_path / "a.csv", age=0), run_id="r1", to="failed", note="bad")
    third = file_away(_touch(tmp_path / "a.csv", age=0), run_id="r1", to="archive")
    assert first == tmp_path / "archive" / "r1-a.csv"
    assert second == tmp_path / "failed" / "r1-a.csv"
    assert (tmp_path / "failed" / "r1-a.csv.reason.txt").read_text() == "bad\n"
    assert third == tmp_path / "archive" / "r1-2-a.csv"
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_nightly_deployment_exists_with_its_cron_schedule(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    deployment = nightly_deployment(inbox=str(tmp_path), cron="0 2 * * *", timezone="Asia/Kolkata")
    deployment_id = deployment.apply()

    async def read() -> object:
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    stored = asyncio.run(read())
    assert stored.name == "nightly"  # type: ignore[attr-defined]
    assert stored.parameters["inbox"] == str(tmp_path)  # type: ignore[attr-defined]
    (schedule,) = stored.schedules  # type: ignore[attr-defined]
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Asia/Kolkata"
