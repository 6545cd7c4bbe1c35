"""Bundled samples and held-out exports: detected, read intact, failing exactly where expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.config import load_facility_map
from flows.pipeline import group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles
from flows.settings import OKER_FACILITY_MAP, SAMPLES_DIR
from schemas import contract

FIXTURES = Path(__file__).parents[1] / "fixtures" / "exports"
STATUSES = Path(__file__).parents[1] / "fixtures" / "statuses"  # tests/fixtures/statuses/make_*
EXPECTED = [
    *sorted(SAMPLES_DIR.glob("*.expected.json")),
    *sorted(FIXTURES.glob("*.expected.json")),
    *sorted(STATUSES.glob("*.expected.json")),
]


def _exports_of(expected: Path) -> list[Path]:
    stem = expected.name.removesuffix(".expected.json")
    return sorted(p for p in expected.parent.glob(f"{stem}.*") if not p.name.endswith(".json"))


@pytest.mark.parametrize(
    "expected", EXPECTED, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in EXPECTED]
)
def test_every_injected_bad_cell_is_reported_and_no_other_row(expected: Path) -> None:
    profiles = load_profiles()
    exports = read_exports([str(p) for p in _exports_of(expected)], profiles, sheet=None).exports
    grouped = group_and_build(
        validate_exports(exports, profiles, profile_name=None),
        facility_map=load_facility_map(str(OKER_FACILITY_MAP)),
        target_zone="UTC",
    )
    validated, built = grouped.validated, grouped.built  # every error, grouping's included
    wanted = {
        (e["file"], e["row"], e["column"], e["stage"]) for e in json.loads(expected.read_text())
    }
    got = {(e.file, e.row, e.field, e.stage) for e in validated.errors}
    assert {(f, r) for f, r, _, _ in got} == {(f, r) for f, r, _, _ in wanted}
    assert {w for w in wanted if w[2]} <= got  # every bad cell named by its own column
    for export in exports:  # each file detected as its own marketplace
        assert validated.profiles[export.name] == export.name.split("-")[0]
    skipped = int((validated.lines["disposition"] == "skip").sum())  # cancelled/fulfilled
    ok_rows = len(validated.lines) - len({(e.file, e.row) for e in validated.errors}) - skipped
    assert sum(len(p["orderItems"]) for p in built.payloads) == ok_rows
    assert all(contract.check_order(p) == [] for p in built.payloads)
