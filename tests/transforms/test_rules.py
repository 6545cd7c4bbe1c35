"""The schema check: bad cells are row errors; a column of the wrong type is a bug, never hidden."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from schemas.lines import FIELDS, OrderLine
from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.exceptions import SchemaMismatch
from transforms.lines import Lines, to_lines
from transforms.rules import check_lines


def _lines() -> Lines:
    return to_lines(export(row("O1", "I1"), row("O2", "I2")), toy_profile(), file="x.csv", now=NOW)


KIND_DTYPES = {  # the column type of each kind of canonical field once parsed
    "text": "object",
    "datetime": "datetime64[ns, UTC]",
    "number": "float64",
    "integer": "Int64",
    "boolean": "boolean",
}


def test_parsed_lines_have_the_column_types_the_schema_declares() -> None:
    frame = _lines().frame
    assert {name: str(frame[name].dtype) for name in FIELDS} == {
        name: KIND_DTYPES[kind] for name, kind in FIELDS.items()
    }
    checked = OrderLine.validate(frame, lazy=True)  # raises SchemaErrors on any failure
    assert checked["order_id"].tolist() == ["O1", "O2"]


def _naive_dates(frame: pd.DataFrame) -> None:
    frame["order_date"] = frame["order_date"].dt.tz_localize(None)


def _microsecond_dates(frame: pd.DataFrame) -> None:
    frame["order_date"] = frame["order_date"].astype("datetime64[us, UTC]")


def _numbers_as_sku(frame: pd.DataFrame) -> None:
    frame["sku"] = 5


def _a_number_among_skus(frame: pd.DataFrame) -> None:
    frame["sku"] = pd.Series(["S1", 5], dtype="object")


@pytest.mark.parametrize(
    "spoil", [_naive_dates, _microsecond_dates, _numbers_as_sku, _a_number_among_skus]
)
def test_a_column_of_the_wrong_type_is_a_bug_not_a_row_error(
    spoil: Callable[[pd.DataFrame], None],
) -> None:
    lines = _lines()
    spoil(lines.frame)
    with pytest.raises(SchemaMismatch):
        check_lines(lines.frame, lines.frame, lines.columns, file="x.csv", now=NOW, already=[])
