"""Stage timings: recorded per stage while a recording is open, nothing otherwise."""

from __future__ import annotations

import time

from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.lines import to_lines
from transforms.stages import recording, stage


def test_to_lines_reports_its_stages_in_order_while_recording() -> None:
    raw = export(row("A1", "A1-1"), row("A1", "A1-2"), row("B2", "B2-1"))
    with recording() as seconds:
        to_lines(raw, toy_profile(), file="toy.csv", now=NOW)
    assert list(seconds) == ["normalize", "parse", "validate"]
    assert all(s >= 0 for s in seconds.values())


def test_a_stage_entered_twice_adds_up_and_outside_a_recording_nothing_is_kept() -> None:
    with recording() as seconds:
        for _ in range(2):
            with stage("payloads"):
                time.sleep(0.01)
    assert seconds["payloads"] >= 0.02
    with stage("payloads"):  # no recording open: a no-op
        pass
    with recording() as later:
        pass
    assert later == {}
    assert list(seconds) == ["payloads"]


def test_a_stage_that_raises_is_still_timed() -> None:
    with recording() as seconds:
        try:
            with stage("read"):
                raise ValueError("unreadable")
        except ValueError:
            pass
    assert "read" in seconds
