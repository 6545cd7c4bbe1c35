"""The bench's targets table: each key against its bar, with its same-run baseline."""

from __future__ import annotations

from bench.targets import table, verdict


def test_keys_are_held_to_their_bars_and_a_bar_may_be_another_key() -> None:
    results = {"dry_run_vs_read": 3.9, "read_seconds": 0.3, "post_vs_bound": 0.9,
               "busiest_second": 41, "rate_limit": 40.0}  # fmt: skip
    assert verdict("dry_run_vs_read", results) == "met"
    assert verdict("post_vs_bound", results) == "MISSED"
    assert verdict("busiest_second", results) == "MISSED"  # over rate_limit
    assert verdict("run_overhead_seconds", results) == ""  # no bar
    assert verdict("help_seconds", results) == ""  # not measured


def test_the_table_shows_value_bar_verdict_and_baseline() -> None:
    lines = table({"dry_run_vs_read": 4.5, "read_seconds": 0.28})
    [row] = [line for line in lines if line.startswith("dry_run_vs_read")]
    assert row.split()[:4] == ["dry_run_vs_read", "4.5", "<=", "4.0"]
    assert "MISSED" in row and row.endswith("read_seconds = 0.28")
