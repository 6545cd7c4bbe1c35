"""Dates written digit by digit read exactly as numpy writes them."""

from __future__ import annotations

import numpy as np

from transforms.date_text import date_texts


def _numpy_texts(moments: np.ndarray) -> list[str | None]:
    text = np.datetime_as_string(moments.astype("datetime64[s]"), unit="s").tolist()
    return [None if t == "NaT" else f"{t[:10]} {t[11:]}" for t in text]


def test_dates_from_1900_to_2199_read_as_numpy_writes_them() -> None:
    rng = np.random.default_rng(7)
    first = np.datetime64("1900-01-01", "ns").astype(np.int64)
    last = np.datetime64("2199-12-31T23:59:59", "ns").astype(np.int64)
    moments = rng.integers(first, last, 20_000).astype("datetime64[ns]")
    moments[::97] = np.datetime64("NaT")
    edges = ["1969-12-31T23:59:59.999999999", "1970-01-01", "1900-01-01T00:00:00.5", "2000-02-29"]
    moments[1 : 1 + len(edges)] = np.array(edges, dtype="datetime64[ns]")
    assert date_texts(moments) == _numpy_texts(moments)


def test_no_dates_and_only_missing_dates() -> None:
    assert date_texts(np.array([], dtype="datetime64[ns]")) == []
    assert date_texts(np.array(["NaT", "NaT"], dtype="datetime64[ns]")) == [None, None]


def test_a_year_beyond_four_digits_is_left_to_the_caller() -> None:
    assert date_texts(np.array(["10000-01-01"], dtype="datetime64[s]")) is None
