"""Parsing text cells: every bad cell found, nothing good lost."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import normalize, parse


def _s(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="object")


def test_dates_without_offset_are_in_the_source_zone() -> None:
    out = parse.parse_datetimes(
        _s("2026-11-20 10:00:00"), formats=["%Y-%m-%d %H:%M:%S"], source_zone="Asia/Kolkata"
    )
    assert out.iloc[0] == pd.Timestamp("2026-11-20 04:30:00", tz="UTC")


def test_dates_with_an_offset_keep_it() -> None:
    out = parse.parse_datetimes(
        _s("2025-07-30T08:34:47+00:00", "2026-11-20 17:18:52 +0530", "2026-11-20T10:00:00"),
        formats=["ISO8601", "%Y-%m-%d %H:%M:%S %z"],
        source_zone="Asia/Kolkata",
    )
    assert out.tolist() == [
        pd.Timestamp("2025-07-30 08:34:47", tz="UTC"),
        pd.Timestamp("2026-11-20 11:48:52", tz="UTC"),
        pd.Timestamp("2026-11-20 04:30:00", tz="UTC"),
    ]


def test_formats_are_tried_in_order_and_bad_dates_are_missing() -> None:
    out = parse.parse_datetimes(
        _s("Aug 26, 2026", "08/26/26", "31/13/2026", ""),
        formats=["%b %d, %Y", "%m/%d/%y"],
        source_zone="UTC",
    )
    assert out.iloc[0] == out.iloc[1] == pd.Timestamp("2026-08-26", tz="UTC")
    assert out.iloc[2:].isna().all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1299", 1299.0),
        ("1,299.00", 1299.0),
        ("₹ 1,299", 1299.0),
        ("Rs. 99.5", 99.5),
        ("1,00,000", 100000.0),
        ("-5", -5.0),
    ],
    ids=["plain", "thousands", "rupee-sign", "rs-prefix", "indian-grouping", "negative"],
)
def test_numbers_as_sellers_write_them(text: str, expected: float) -> None:
    assert parse.parse_numbers(_s(text)).iloc[0] == expected


NOT_NUMBERS = ["abc", "12,5", "1.2.3", "NA", "", "inf", "-inf", "Rs inf"]


@pytest.mark.parametrize("text", NOT_NUMBERS, ids=str)
def test_not_numbers_are_missing(text: str) -> None:
    assert pd.isna(parse.parse_numbers(_s(text)).iloc[0])


def test_integers_reject_fractions() -> None:
    out = parse.parse_integers(_s("2", "2.0", "2.5", "x"))
    assert out.iloc[0] == 2 and out.iloc[1] == 2
    assert out.iloc[2:].isna().all()


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_any_integer_round_trips(n: int) -> None:
    assert parse.parse_integers(_s(str(n))).iloc[0] == n


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_any_price_round_trips(d: object) -> None:
    assert parse.parse_numbers(_s(str(d))).iloc[0] == pytest.approx(float(str(d)))


def test_phone_state_country_fixes_without_guessing() -> None:
    phones, changed = normalize.fix_phone(
        _s("+91 98765 43210", "098765-43210", "12345", "9876543210")
    )
    assert phones.tolist() == ["9876543210", "9876543210", "12345", "9876543210"]
    assert changed.tolist() == [True, True, False, False]
    states, _ = normalize.fix_state(_s("GJ", "GUJARAT", "Gujarat", "Atlantis"))
    assert states.tolist() == ["Gujarat", "Gujarat", "Gujarat", "Atlantis"]
    countries, _ = normalize.fix_country(_s("IN", "india", "Nepal"))
    assert countries.tolist() == ["India", "India", "Nepal"]


# Cells mixing what matters to stripping: ASCII and other spaces, NUL, wide characters.
_CELL = st.text(alphabet=" \t\n\x00\x1c\xa0\u2003\u3000\u3001ab1₹😀", max_size=5)


@given(st.lists(_CELL, max_size=12), st.sampled_from(["object", "str"]))
def test_stripping_a_column_at_once_matches_stripping_each_value(
    cells: list[str], dtype: str
) -> None:
    column = pd.Series(cells, dtype=dtype, index=range(7, 7 + len(cells)))
    fixed, changed = normalize.strip_column(column)
    expected, expected_changed = normalize.per_unique(column, normalize.strip_spaces)
    pd.testing.assert_series_equal(fixed, expected)
    pd.testing.assert_series_equal(changed, expected_changed)


@given(st.lists(st.text(alphabet="Z+-05:3 \na1", max_size=12), max_size=12))
def test_offsets_are_found_as_the_pattern_finds_them(cells: list[str]) -> None:
    text = _s(*cells)
    expected = text.str.contains(parse._OFFSET, regex=True).astype(bool)
    pd.testing.assert_series_equal(parse._has_offset(text), expected)


@given(st.lists(st.one_of(st.text(alphabet="ab", max_size=2), st.none(), st.just(float("nan")))))
def test_all_distinct_only_when_no_pair_of_values_repeats(values: list[object]) -> None:
    column = pd.Series(values, dtype="object")
    repeats = pd.DataFrame({"order": 0, "item": column}).duplicated(keep=False).any()
    if normalize.all_distinct(column.to_numpy()):
        assert not repeats
        assert all(isinstance(v, str) for v in values)


@given(st.lists(st.text(alphabet="Z+-05:3 \n\x00é😀a1", max_size=12), max_size=12))
def test_offsets_are_found_as_the_pattern_finds_them_in_any_text(cells: list[str]) -> None:
    text = _s(*cells)
    expected = text.str.contains(parse._OFFSET, regex=True).astype(bool)
    pd.testing.assert_series_equal(parse._has_offset(text), expected)


@given(st.lists(_CELL, max_size=12))
def test_dates_are_parsed_alike_however_their_cells_are_stripped(cells: list[str]) -> None:
    text = _s(*(c + "2026-11-20 14:05" + c for c in cells))
    parsed = parse.parse_datetimes(text, formats=["%Y-%m-%d %H:%M"], source_zone="Asia/Kolkata")
    expected = parse.parse_datetimes(
        text.astype("str"), formats=["%Y-%m-%d %H:%M"], source_zone="Asia/Kolkata"
    )
    pd.testing.assert_series_equal(parsed, expected)


@given(st.lists(st.text(alphabet=" \t\x0b\x01\x1f\x00!ab~", max_size=5), max_size=12))
def test_stripping_ascii_cells_at_once_matches_stripping_each_value(cells: list[str]) -> None:
    column = pd.Series(cells, dtype="object")
    fixed, changed = normalize.strip_column(column)
    expected, expected_changed = normalize.per_unique(column, normalize.strip_spaces)
    pd.testing.assert_series_equal(fixed, expected)
    pd.testing.assert_series_equal(changed, expected_changed)
