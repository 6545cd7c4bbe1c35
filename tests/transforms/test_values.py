"""Value maps: exact values, case-insensitive patterns, a deliberate default, never a guess."""

from __future__ import annotations

import pytest

from schemas.exceptions import ProfileError
from schemas.profile import parse_profile
from tests.transforms.toy import NOW, TOY, export, row, toy_profile
from transforms.lines import to_lines

COD_TEXTS = [
    "GoKwik Cash on Delivery",
    "Cash on Delivery (COD)",
    "COD",
    "cod",
    "Pay on Delivery",
    "cash_on_delivery",
    "Razorpay + Cash on Delivery",
]


def _with_payment_rules(extra: str) -> str:
    text = TOY.read_text(encoding="utf-8")
    return text + "\n" + extra


PATTERNS = """
[patterns.payment_type]
'cash[ _-]*on[ _-]*delivery' = "COD"
'pay[ _-]*on[ _-]*delivery' = "COD"
'(^|[^a-z])cod([^a-z]|$)' = "COD"
'razorpay' = "PREPAID"
"""


@pytest.mark.parametrize("value", COD_TEXTS)
def test_cash_on_delivery_in_any_gateways_words_is_cod(value: str) -> None:
    profile = parse_profile(_with_payment_rules(PATTERNS), source="toy")
    result = to_lines(export(row("O1", "I1", Payment_Mode=value)), profile, file="x", now=NOW)
    assert result.errors == []
    assert result.frame["payment_type"].tolist() == ["COD"]


def test_a_value_no_rule_covers_is_an_error_naming_value_column_and_key() -> None:
    profile = parse_profile(_with_payment_rules(PATTERNS), source="toy")
    raw = export(row("O1", "I1", Payment_Mode="manual"), row("O2", "I2"))
    result = to_lines(raw, profile, file="x", now=NOW)
    [error] = result.errors
    assert (error.row, error.field, error.value, error.code) == (
        2,
        "Payment Mode",
        "manual",
        "value.unmapped",
    )
    assert "[values.payment_type]" in error.reason and "'manual'" in error.reason
    assert "data/profiles/toy.toml" in error.reason


def test_a_deliberate_default_covers_unmapped_values_only() -> None:
    text = _with_payment_rules(PATTERNS).replace(
        "[defaults]", '[defaults]\npayment_type_unmapped = "PREPAID"'
    )
    profile = parse_profile(text, source="toy")
    raw = export(row("O1", "I1", Payment_Mode="manual"), row("O2", "I2", Payment_Mode="COD"))
    result = to_lines(raw, profile, file="x", now=NOW)
    assert result.errors == []
    assert result.frame["payment_type"].tolist() == ["PREPAID", "COD"]


def test_the_catch_all_wildcard_is_refused_with_the_way_out() -> None:
    text = _with_payment_rules("").replace('"Prepaid" = "PREPAID"', '"*" = "PREPAID"')
    with pytest.raises(ProfileError, match="payment_type_unmapped"):
        parse_profile(text, source="toy")


def test_a_bad_pattern_fails_the_profile() -> None:
    with pytest.raises(ProfileError, match="not a regex"):
        parse_profile(
            _with_payment_rules("[patterns.payment_type]\n'(cod' = \"COD\"\n"), source="t"
        )


def test_shipped_profiles_have_no_wildcards() -> None:
    from flows.read.profiles import load_profiles

    for profile in load_profiles().values():
        for mapping in profile.values.values():
            assert "*" not in mapping, profile.name
    assert toy_profile().patterns == {}
