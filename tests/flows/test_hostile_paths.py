"""Paths and stores someone tampered with: inbox links, linked run folders, edited summaries,
nonsense options; each is refused or tolerated in one line, never a traceback."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from flows.config import RunOptions
from flows.exceptions import ConfigError
from flows.nightly.inbox import ready_files
from flows.report.store import ReportStore
from tests.flows.runs import uniload
from uniware.config import UniwareConfig
from uniware.exceptions import ConfigurationError

pytestmark = pytest.mark.usefixtures("quiet_prefect")

OLD = time.time() - 3600


def aged(path: Path, text: str = "Order ID\nOD1\n") -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (OLD, OLD))
    return path


def test_the_inbox_takes_only_regular_files_that_live_in_it(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "private"
    inbox.mkdir()
    elsewhere.mkdir()
    own = aged(inbox / "orders.csv")
    secret = aged(elsewhere / "secret.csv")
    (inbox / "link-out.csv").symlink_to(secret)
    (inbox / "link-in.csv").symlink_to(own)
    (inbox / "dangling.csv").symlink_to(tmp_path / "missing.csv")
    (inbox / "folder.csv").mkdir()
    assert ready_files(inbox) == [own]


def make_run(store: Path, run_id: str, summary: object) -> Path:
    folder = store / run_id
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "failures.csv").write_text("x\n", encoding="utf-8")
    return folder


def test_reports_list_tolerates_edited_summaries(tmp_path: Path) -> None:
    good = {"finished_at": "2026-11-20T10:00:00+00:00", "rows_read": 5, "rows_failed": 1}
    make_run(tmp_path, "good", good)
    make_run(tmp_path, "odd-counts", {"finished_at": 7, "rows_read": "many", "rows_failed": [1]})
    make_run(tmp_path, "not-a-dict", ["x"])
    (make_run(tmp_path, "broken", {}) / "summary.json").write_bytes(b"{\xff\xfe not json")
    runs = {run.run_id: run for run in ReportStore(str(tmp_path)).list_runs()}
    assert set(runs) == {"good", "odd-counts"}
    assert (runs["good"].rows_read, runs["good"].rows_failed) == (5, 1)
    assert (runs["odd-counts"].rows_read, runs["odd-counts"].rows_failed) == (0, 0)


def test_reports_download_stays_inside_the_store(tmp_path: Path) -> None:
    store, outside = tmp_path / "reports", tmp_path / "outside"
    store.mkdir()
    secret_run = make_run(outside, "run-x", {"rows_read": 1})
    (store / "run-x").symlink_to(secret_run, target_is_directory=True)
    with pytest.raises(ConfigError, match="link or leads outside"):
        ReportStore(str(store)).download("run-x", tmp_path / "copy")
    own = make_run(store, "run-y", {"rows_read": 1})
    (own / "passwd.csv").symlink_to(outside / "run-x" / "failures.csv")
    copied = ReportStore(str(store)).download("run-y", tmp_path / "copy2")
    assert sorted(p.name for p in copied) == ["failures.csv", "summary.json"]


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_nonsense_rate_is_a_config_error(rate: float) -> None:
    with pytest.raises(ConfigError, match="--rate must be above 0"):
        RunOptions(rate=rate)


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1"])
def test_a_nonsense_timeout_is_a_config_error(timeout: str) -> None:
    env = {
        "UNIWARE_BASE_URL": "https://uniware.example",
        "UNIWARE_CLIENT_ID": "c1",
        "UNIWARE_MERCHANT_ID": "m1",
        "UNIWARE_SECURITY_KEY": "k-123456",
        "UNIWARE_TIMEOUT_SECONDS": timeout,
    }
    with pytest.raises(ConfigurationError, match="UNIWARE_TIMEOUT_SECONDS must be a number"):
        UniwareConfig.from_env(env)


@pytest.mark.parametrize("args", [["--rate", "nan"], ["--rate", "inf"], ["--concurrency", "0"]])
def test_nonsense_options_are_one_line_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    export = aged(tmp_path / "orders.csv")
    result = uniload(capsys, "run", str(export), "--dry-run", *args)
    assert result.code == 1, result.text
    assert "Traceback" not in result.text and result.err.startswith("uniload: ")
    assert result.err.count("\n") == 1
