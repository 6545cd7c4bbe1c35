"""Run names and state messages a person reads in the Prefect UI's runs list."""

from __future__ import annotations

from datetime import datetime

from flows.naming import describe_inputs
from flows.report.summary_text import outcome_message

DAY = datetime(2026, 11, 27, 2, 0)


def test_a_run_is_named_after_its_first_input_and_the_day() -> None:
    assert describe_inputs(["/in/oker-orders.csv"], when=DAY) == "oker-orders.csv · 2026-11-27"
    assert describe_inputs(["a.csv", "b.xlsx", "c.csv"], when=DAY) == "a.csv +2 · 2026-11-27"
    assert describe_inputs([], when=DAY) == "inbox · 2026-11-27"
    assert len(describe_inputs(["x" * 500 + ".csv"], when=DAY)) < 100


def test_the_state_message_says_how_many_rows_failed_and_the_top_reason() -> None:
    summary = {
        "rows_read": 300,
        "rows_failed": 12,
        "top_reasons": [
            {"stage": "validate", "field": "pincode", "reason": "not 6 digits", "rows": 7}
        ],
    }
    assert outcome_message(summary) == "12 of 300 rows failed: top reason (7 rows) not 6 digits"
    assert outcome_message({"rows_read": 5, "rows_failed": 0}) == "all 5 rows accepted"
    assert outcome_message({"rows_read": 5, "rows_failed": 0, "dry_run": True}) == (
        "all 5 rows valid (dry run)"
    )
    assert outcome_message({"nothing_to_do": "no settled export files in inbox"}).startswith(
        "nothing to do"
    )
