"""The profile model: a profile with a mistake is refused naming the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import PROFILES_DIR
from schemas.exceptions import ProfileError
from schemas.profile import parse_profile

INVALID = Path(__file__).parents[1] / "fixtures" / "profiles" / "invalid"
TOY = INVALID.parent / "toy.toml"

# file -> words the message must hold: the key, what is wrong, what to write instead
REFUSALS: dict[str, tuple[str, ...]] = {
    "unknown-field.toml": (
        "key 'columns'",
        "unknown canonical field(s) shiping_pincode",
        "known: ",
        "ship_pincode",
    ),
    "unknown-key.toml": ("key 'marketplace'", "unknown key", "the keys here are: name, "),
    "misplaced-key.toml": (
        "key 'dates.item_price'",
        "unknown key",
        "the keys here are: formats, source_zone",
    ),
    "bad-mapping.toml": (
        "key 'values'",
        "values.payment_type.'Prepaid' maps to 'PREPAYD', which is not a value of payment_type",
        "use one of: COD, PREPAID",
    ),
    "bad-status-mapping.toml": (
        "values.order_status.'Confirmed' maps to 'SHIPPED'",
        "use one of: CANCELLED, CREATED, DELIVERED, DISPATCHED, PENDING_VERIFICATION",
    ),
}


def test_every_invalid_fixture_has_its_expected_refusal() -> None:
    assert sorted(p.name for p in INVALID.glob("*.toml")) == sorted(REFUSALS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_profile_with_a_mistake_is_refused_naming_file_key_and_fix(name: str) -> None:
    path = INVALID / name
    with pytest.raises(ProfileError) as refused:
        parse_profile(path.read_text(encoding="utf-8"), source=str(path))
    message = str(refused.value)
    assert message.startswith(f"profile {path}: "), message
    for words in REFUSALS[name]:
        assert words in message, (words, message)
    assert "Value error" not in message and "Extra inputs" not in message  # pydantic's words


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('[patterns.payment_type]\n"upi" = "ONLINE"\n', "patterns.payment_type.'upi' maps to"),
        ("[defaults]\npayment_type_unmapped = 'CARD'\n", "defaults.payment_type_unmapped maps"),
    ],
    ids=["pattern", "unmapped-default"],
)
def test_patterns_and_deliberate_defaults_must_name_a_value_uniware_takes(
    table: str, words: str
) -> None:
    with pytest.raises(ProfileError, match="use one of: COD, PREPAID") as refused:
        parse_profile(_with_table(TOY.read_text(encoding="utf-8"), table), source="toy.toml")
    assert words in str(refused.value)


def _with_table(text: str, table: str) -> str:
    """The profile text with ``table``'s keys added (merged into a table it already has)."""
    header = table.partition("\n")[0]
    if header in text:
        return text.replace(header + "\n", table, 1)
    return text + "\n" + table


def test_values_a_status_may_map_to_include_the_disposition_facts() -> None:
    toy = TOY.read_text(encoding="utf-8")
    text = toy.replace('"Confirmed" = "CREATED"', '"Shipped" = "dispatched"')
    profile = parse_profile(text, source="toy.toml")
    assert profile.values["order_status"] == {"shipped": "dispatched"}


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_the_bundled_profiles_are_valid(path: Path) -> None:
    assert parse_profile(path.read_text(encoding="utf-8"), source=str(path)).name == path.stem
