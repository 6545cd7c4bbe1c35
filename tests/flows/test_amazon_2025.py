"""The 2025 amazon.in order report layout: its names known, its missing prices explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.exceptions import ProfileNotDetected, UnreadableExport
from flows.pipeline import group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles

EXPORTS = Path(__file__).parents[1] / "fixtures" / "statuses"


def test_the_layout_with_prices_reads_buyer_phone_number_as_the_phone() -> None:
    profiles = load_profiles()
    exports = read_exports([str(EXPORTS / "amazon-2025-priced.txt")], profiles, sheet=None).exports
    validated = validate_exports(exports, profiles, profile_name=None)
    grouped = group_and_build(validated, facility_map=None, target_zone="UTC")
    assert grouped.validated.profiles == {"amazon-2025-priced.txt": "amazon"}
    assert grouped.validated.errors == []
    by_id = {p["id"]: p for p in grouped.built.payloads}
    first = by_id["408-3312907-5521101"]
    assert first["shippingAddress"]["phone"] == "9822041234"
    assert [i["orderItemPrice"]["sellingPrice"] for i in first["orderItems"]] == [999.0, 549.0]


@pytest.mark.parametrize("profile", [None, "amazon"], ids=["detected", "--profile amazon"])
def test_the_layout_without_prices_is_refused_naming_the_report_to_download(
    profile: str | None,
) -> None:
    profiles = load_profiles()
    exports = read_exports(
        [str(EXPORTS / "amazon-2025-unshipped.txt")], profiles, sheet=None
    ).exports
    with pytest.raises((ProfileNotDetected, UnreadableExport)) as caught:
        validate_exports(exports, profiles, profile_name=profile)
    message = str(caught.value)
    assert "amazon-2025-unshipped.txt" in message
    assert "'item-price'" in message
    assert "ship-phone-number" not in message  # buyer-phone-number stands in for it
    assert "Download an Amazon order report that has the item-price column" in message
