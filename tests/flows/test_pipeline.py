"""Values, not mutations, between steps: each step returns a new value and leaves its input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from flows.config import RunOptions, load_facility_map
from flows.pipeline import Grouped, Validated, group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles
from flows.report.finish import RunReport, finish_run
from flows.settings import OKER_FACILITY_MAP, SAMPLES_DIR
from transforms.lines import FAILED
from uniware.delivery import Delivery

SAMPLE = SAMPLES_DIR / "oker-orders.csv"  # bad cells, conflicting orders, an unmapped warehouse


@pytest.fixture
def validated() -> Validated:
    """The Oker sample, read and validated (grouping not done yet)."""
    profiles = load_profiles()
    exports = read_exports([str(SAMPLE)], profiles, sheet=None).exports
    return validate_exports(exports, profiles, profile_name=None)


def _group(validated: Validated) -> Grouped:
    facility_map = load_facility_map(str(OKER_FACILITY_MAP))
    return group_and_build(validated, facility_map=facility_map, target_zone="UTC")


def test_grouping_returns_the_marks_and_errors_and_leaves_its_input_as_it_was(
    validated: Validated,
) -> None:
    lines, errors = validated.lines.copy(deep=True), list(validated.errors)
    grouped = _group(validated)
    pd.testing.assert_frame_equal(validated.lines, lines)
    assert list(validated.errors) == errors
    # what grouping found is in the returned value: its errors after the earlier ones, its marks
    found = list(grouped.validated.errors)
    assert found[: len(errors)] == errors
    assert {e.stage for e in found[len(errors) :]} == {"group"}
    named = {(e.file, e.row) for e in found}
    failed = grouped.validated.lines[grouped.validated.lines[FAILED]]
    assert set(zip(failed["_file"], failed["_row"], strict=True)) == named
    assert len(failed) > int(validated.lines[FAILED].sum())


def test_finishing_a_run_leaves_the_lines_and_errors_it_was_given(tmp_path: Path) -> None:
    profiles = load_profiles()
    exports = read_exports([str(SAMPLE)], profiles, sheet=None).exports
    grouped = _group(validate_exports(exports, profiles, profile_name=None))
    first, second = list(grouped.built.payloads.order_ids)[:2]
    run = RunReport(
        run_id="values-run",
        options=RunOptions(report_dir=str(tmp_path)),
        validated=grouped.validated,
        built=grouped.built,
        deliveries=[
            Delivery(first, "accepted", "created"),
            Delivery(second, "failed", "Uniware refused the order: invalid SKU"),
        ],  # every other built order: not sent (the run stopped)
        started=datetime.now(UTC),
        seconds=1.0,
        destination="demo-seller@http://127.0.0.1:1",
    )
    lines, errors = grouped.validated.lines.copy(deep=True), list(grouped.validated.errors)
    summary = finish_run(run, publish=False)
    pd.testing.assert_frame_equal(run.validated.lines, lines)
    assert list(run.validated.errors) == errors
    assert run.validated is grouped.validated
    # the posting failures are counted in the summary all the same
    before = int(lines[FAILED].sum())
    assert summary["rows_failed"] == len(lines) - summary["rows_accepted"] - summary["rows_skipped"]
    assert summary["rows_failed"] > before
