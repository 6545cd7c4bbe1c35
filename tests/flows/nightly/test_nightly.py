"""The nightly deployment and its inbox: settled files only, each filed away once."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule

from flows.nightly.deployment import nightly_deployment
from flows.nightly.inbox import (
    claim_files,
    file_away,
    ready_files,
    release_claim,
    release_stale_claims,
)
from flows.pipeline import expand_paths

EXPORT = Path(__file__).parents[2] / "fixtures" / "exports" / "oker-orders.csv"


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


def test_the_inbox_and_a_folder_argument_take_every_kind_a_named_file_may_be(
    tmp_path: Path,
) -> None:
    names = ["a.csv", "b.tsv", "c.txt", "d.xlsx", "e.xlsm", "f.xls", "g.csv.gz", "h.zip"]
    files = [_touch(tmp_path / name, age=600) for name in names]
    assert ready_files(tmp_path) == files
    assert expand_paths([str(tmp_path)]) == files


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

    async def read() -> DeploymentResponse:
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    stored = asyncio.run(read())
    assert stored.name == "nightly"
    assert stored.parameters["inbox"] == str(tmp_path)
    (schedule,) = stored.schedules
    assert isinstance(schedule.schedule, CronSchedule)
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Asia/Kolkata"


def _claim_in_process(inbox: str, run_id: str, start: float) -> list[str]:
    while time.time() < start:  # all processes list the inbox at the same moment
        time.sleep(0.001)
    return [p.name for p in claim_files(Path(inbox), run_id=run_id, settle_seconds=0)]


def test_concurrent_runs_never_claim_the_same_file(tmp_path: Path) -> None:
    names = {f"export-{i:02}.csv" for i in range(60)}
    for name in names:
        _touch(tmp_path / name, age=600)
    start = time.time() + 1.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        taken = pool.starmap(
            _claim_in_process, [(str(tmp_path), f"run{i}", start) for i in range(3)]
        )
    everything = [name for claimed in taken for name in claimed]
    assert sorted(everything) == sorted(names), "each file claimed exactly once, none lost"
    for i, claimed in enumerate(taken):
        assert {p.name for p in (tmp_path / "processing" / f"run{i}").glob("*.csv")} == set(claimed)


def test_a_dead_runs_claim_is_released_after_the_timeout(tmp_path: Path) -> None:
    _touch(tmp_path / "a.csv", age=600)
    (claimed,) = claim_files(tmp_path, run_id="dead", settle_seconds=0)
    assert claimed == tmp_path / "processing" / "dead" / "a.csv"
    assert ready_files(tmp_path, settle_seconds=0) == []
    assert release_stale_claims(tmp_path, timeout_seconds=3600) == []  # heartbeat is fresh
    later = time.time() + 3601
    assert release_stale_claims(tmp_path, timeout_seconds=3600, now=later) == [tmp_path / "a.csv"]
    assert not (tmp_path / "processing" / "dead").exists()
    assert [p.name for p in claim_files(tmp_path, run_id="next", settle_seconds=0)] == ["a.csv"]


def test_releasing_a_claim_never_overwrites_a_newer_file(tmp_path: Path) -> None:
    _touch(tmp_path / "a.csv", age=600)
    claim_files(tmp_path, run_id="r1", settle_seconds=0)
    (tmp_path / "a.csv").write_text("a newer export of the same name")
    assert release_claim(tmp_path, run_id="r1") == []
    assert (tmp_path / "a.csv").read_text() == "a newer export of the same name"
    assert (tmp_path / "processing" / "r1" / "a.csv").read_text() == "x"  # kept, not lost


@pytest.mark.usefixtures("prefect_harness")
def test_an_empty_inbox_run_completes_saying_nothing_to_do(tmp_path: Path) -> None:
    from flows.upload import upload_orders
    from tests.flows.runs import run_summary

    state = upload_orders(inbox=str(tmp_path / "inbox"), return_state=True)
    assert state.is_completed()
    assert state.message == f"nothing to do: no settled export files in {tmp_path / 'inbox'}"
    assert run_summary(state)["rows_read"] == 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_stopped_by_uniware_puts_its_claimed_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.upload import upload_orders
    from tests.flows.sandboxes import point_at

    point_at(monkeypatch, "http://127.0.0.1:9")  # nothing listens: Uniware unreachable
    monkeypatch.setenv("UNIWARE_TIMEOUT_SECONDS", "1")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(EXPORT, inbox / EXPORT.name)
    os.utime(inbox / EXPORT.name, (time.time() - 600, time.time() - 600))
    state = upload_orders(
        inbox=str(inbox),
        ledger=str(tmp_path / "l.db"),
        report_dir=str(tmp_path / "r"),
        return_state=True,
    )
    assert state.is_failed()
    assert (inbox / EXPORT.name).is_file(), "the next run takes the file again"
    assert not list((inbox / "processing").glob("*/*"))


def test_a_killed_runs_claim_is_released_at_once_on_its_machine(tmp_path: Path) -> None:
    _touch(tmp_path / "a.csv", age=600)
    _touch(tmp_path / "b.csv", age=600)
    claimer = subprocess.run(  # a run that claimed a.csv, then died (here: exited)
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from flows.nightly.inbox import claim_files; "
         "claim_files(Path(sys.argv[1]), run_id='killed', settle_seconds=0, limit=1)",
         str(tmp_path)],
        cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert claimer.returncode == 0
    claim_files(tmp_path, run_id="alive", settle_seconds=0)  # this process: still running
    assert release_stale_claims(tmp_path, timeout_seconds=3600) == [tmp_path / "a.csv"]
    assert not (tmp_path / "processing" / "killed").exists()
    assert (tmp_path / "processing" / "alive" / "b.csv").exists()  # its run lives: kept


def test_a_claim_from_another_machine_waits_for_the_timeout(tmp_path: Path) -> None:
    _touch(tmp_path / "a.csv", age=600)
    claim_files(tmp_path, run_id="elsewhere", settle_seconds=0)
    beat = tmp_path / "processing" / "elsewhere" / ".heartbeat"
    beat.write_text("other-host:999999\nother-host/boot/ns\n")  # a pid this machine cannot check
    assert release_stale_claims(tmp_path, timeout_seconds=3600) == []
    later = time.time() + 3601
    assert release_stale_claims(tmp_path, timeout_seconds=3600, now=later) == [tmp_path / "a.csv"]
