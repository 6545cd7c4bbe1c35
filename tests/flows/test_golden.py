"""Golden payloads: for each marketplace sample, the exact Post Orders JSON of a few orders.

The expected files in tests/fixtures/golden/ were reviewed by hand against the sample rows
(dates converted from each profile's zone to UTC, per-unit prices, billing from shipping
where the export has none, phone and state normalised). Regenerate only after such a review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.config import load_facility_map
from flows.pipeline import group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles
from flows.settings import OKER_FACILITY_MAP, SAMPLES_DIR

GOLDEN = sorted((Path(__file__).parents[1] / "fixtures" / "golden").glob("*.json"))


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_payloads_match_the_reviewed_json_exactly(golden: Path) -> None:
    expected = json.loads(golden.read_text(encoding="utf-8"))
    profiles = load_profiles()
    exports = read_exports([str(SAMPLES_DIR / expected["file"])], profiles, sheet=None).exports
    validated = validate_exports(exports, profiles, profile_name=None)
    grouped = group_and_build(
        validated, facility_map=load_facility_map(str(OKER_FACILITY_MAP)), target_zone="UTC"
    )
    by_id = {p["id"]: p for p in grouped.built.payloads}
    for order_id, payload in expected["orders"].items():
        assert by_id[order_id] == payload
