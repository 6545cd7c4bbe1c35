"""Fan-out of the inbox: how a group splits the files, and a run claiming at most its share."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from flows.config import Settings
from flows.exceptions import ConfigError
from flows.nightly.fan_out import Share, fan_out_size, split
from flows.nightly.inbox import claim_files, ready_files

EXPORTS = Path(__file__).parents[2] / "fixtures" / "exports"


@pytest.mark.parametrize(
    ("ready", "size", "share"),
    [
        (4, 2, Share(siblings=1, files=2)),
        (5, 2, Share(siblings=1, files=3)),  # the runs together cover every file
        (7, 3, Share(siblings=2, files=3)),
        (2, 4, Share(siblings=1, files=1)),  # never more runs than files
        (1, 3, Share(siblings=0, files=None)),
        (0, 3, Share(siblings=0, files=None)),
        (9, 1, Share(siblings=0, files=None)),
    ],
)
def test_a_group_splits_the_ready_files(ready: int, size: int, share: Share) -> None:
    assert split(ready, size) == share
    if share.files is not None:
        assert (share.siblings + 1) * share.files >= ready > share.siblings * share.files


def test_the_group_size_is_the_parameter_else_the_environment() -> None:
    assert fan_out_size(None, Settings.from_env({}).fan_out) == 1
    assert fan_out_size(None, Settings.from_env({"UNILOAD_FAN_OUT": "3"}).fan_out) == 3
    assert fan_out_size(2, 3) == 2
    with pytest.raises(ConfigError, match="fan_out must be at least 1"):
        fan_out_size(0, 1)
    with pytest.raises(ConfigError, match="UNILOAD_FAN_OUT='two' is not a whole number"):
        Settings.from_env({"UNILOAD_FAN_OUT": "two"})


def _settled(inbox: Path, names: list[str]) -> None:
    inbox.mkdir(exist_ok=True)
    then = time.time() - 600
    for name in names:
        (inbox / name).write_text("x")
        os.utime(inbox / name, (then, then))


def test_a_run_claims_at_most_its_share(tmp_path: Path) -> None:
    _settled(tmp_path, ["a.csv", "b.csv", "c.csv"])
    first = claim_files(tmp_path, run_id="r1", settle_seconds=0, limit=2)
    second = claim_files(tmp_path, run_id="r2", settle_seconds=0, limit=2)
    assert [p.name for p in first] == ["a.csv", "b.csv"]
    assert [p.name for p in second] == ["c.csv"]
    assert ready_files(tmp_path, settle_seconds=0) == []


def _inbox_with_two_exports(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("oker-orders.csv", "shopify-orders.csv"):
        shutil.copy(EXPORTS / name, inbox / name)
    then = time.time() - 600
    for path in inbox.iterdir():
        os.utime(path, (then, then))
    return inbox


@pytest.mark.usefixtures("prefect_harness")
def test_max_files_leaves_the_rest_of_the_inbox_to_other_runs(tmp_path: Path) -> None:
    from flows.upload import upload_orders
    from tests.flows.runs import run_summary

    inbox = _inbox_with_two_exports(tmp_path)
    state = upload_orders(
        inbox=str(inbox), dry_run=True, report_dir=str(tmp_path / "r"), max_files=1,
        return_state=True,
    )  # fmt: skip
    assert state.is_completed()
    assert len(run_summary(state)["files"]) == 1
    assert len(list((inbox / "archive").iterdir())) == 1
    assert len(ready_files(inbox, settle_seconds=0)) == 1, "the other file waits for its run"


@pytest.mark.usefixtures("prefect_harness")
def test_fan_out_outside_a_deployment_runs_alone_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.upload import upload_orders
    from tests.flows.runs import run_summary

    inbox = _inbox_with_two_exports(tmp_path)
    state = upload_orders(
        inbox=str(inbox), dry_run=True, report_dir=str(tmp_path / "r"), fan_out=2,
        return_state=True,
    )  # fmt: skip
    assert state.is_completed()
    assert len(run_summary(state)["files"]) == 2
    assert ready_files(inbox, settle_seconds=0) == []
    assert "fan-out 2 ignored: only a deployment run can start runs of itself" in caplog.text


@pytest.mark.usefixtures("prefect_harness")
def test_max_files_below_one_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    from flows.upload import upload_orders

    inbox = _inbox_with_two_exports(tmp_path)
    state = upload_orders(inbox=str(inbox), dry_run=True, max_files=0, return_state=True)
    assert state.is_failed()
    assert state.message == "max_files must be at least 1 (files this run claims), got 0"
    assert len(ready_files(inbox, settle_seconds=0)) == 2, "nothing claimed"


@pytest.mark.usefixtures("prefect_harness")
def test_fan_out_with_paths_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    from flows.upload import upload_orders

    export = str(EXPORTS / "oker-orders.csv")
    state = upload_orders(paths=[export], dry_run=True, fan_out=2, return_state=True)
    assert state.is_failed()
    assert state.message == (
        "fan_out and max_files split an inbox: a run given paths takes exactly those files"
    )
