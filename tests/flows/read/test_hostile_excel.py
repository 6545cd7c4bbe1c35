"""Excel sheets whose metadata lies: every row the sheet holds is read, or the file is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from flows.exceptions import UnreadableExport
from flows.read.exports import read_export
from tests.flows.hostile_xlsx import Row, write_crafted_xlsx

HEADER = ["Order Id", "SKU", "Quantity", "Price", "Pincode"]


def order_rows(count: int, first: int = 2) -> list[Row]:
    """``count`` data rows from spreadsheet row ``first`` on, after a header in row 1."""
    data: list[Row] = [
        (first + i, [f"OD-{i // 4}", f"SKU-{i}", i + 1, 99.5 + i, 560001]) for i in range(count)
    ]
    return [(1, list(HEADER)), *data]


def table_rows(path: Path) -> list[list[str]]:
    """The data rows of the export as text, with their spreadsheet row numbers first."""
    table = read_export(path).table
    assert list(table.columns) == HEADER
    return [
        [str(number), *row] for number, row in zip(table.index, table.values.tolist(), strict=True)
    ]


@pytest.mark.parametrize("dimension", ["A1:AK3", "A1:AK1", "A1:B2", "A1", None, "A1:E8", "C3:Z900"])
@pytest.mark.parametrize("inline", [False, True], ids=["shared", "inline"])
def test_every_row_and_column_is_read_whatever_the_dimension_says(
    tmp_path: Path, dimension: str | None, inline: bool
) -> None:
    path = write_crafted_xlsx(
        tmp_path / "orders.xlsx", order_rows(7), dimension=dimension, inline=inline
    )
    rows = table_rows(path)
    assert [row[0] for row in rows] == [str(n) for n in range(2, 9)]
    assert rows[6] == ["8", "OD-1", "SKU-6", "7", "105.5", "560001"]
    assert rows[0] == ["2", "OD-0", "SKU-0", "1", "99.5", "560001"]


def test_empty_rows_in_the_middle_keep_row_numbers(tmp_path: Path) -> None:
    rows = [*order_rows(2), (5, []), (9, ["OD-9", "SKU-9", 1, 10, 110001])]
    path = write_crafted_xlsx(tmp_path / "orders.xlsx", rows, dimension="A1:E3")
    assert table_rows(path) == [
        ["2", "OD-0", "SKU-0", "1", "99.5", "560001"],
        ["3", "OD-0", "SKU-1", "2", "100.5", "560001"],
        ["9", "OD-9", "SKU-9", "1", "10", "110001"],
    ]


def test_a_cell_past_the_declared_columns_is_read(tmp_path: Path) -> None:
    rows: list[Row] = [(1, [*HEADER, "Notes"]), (2, ["OD-1", "A", 1, 5, 560001, "fragile"])]
    path = write_crafted_xlsx(tmp_path / "orders.xlsx", rows, dimension="A1:C2")
    assert read_export(path).table.loc[2, "Notes"] == "fragile"


@pytest.mark.parametrize("order", [[3, 2], [2, 2]], ids=["out-of-order", "twice"])
def test_rows_out_of_order_or_twice_are_refused(tmp_path: Path, order: list[int]) -> None:
    rows: list[Row] = [(1, list(HEADER)), *[(n, [f"OD-{n}", "A", 1, 5, 1]) for n in order]]
    path = write_crafted_xlsx(tmp_path / "orders.xlsx", rows, dimension="A1:E3")
    with pytest.raises(UnreadableExport, match=r"orders\.xlsx.*sheet row 2"):
        read_export(path)


def test_a_truncated_sheet_is_refused_not_half_read(tmp_path: Path) -> None:
    good = write_crafted_xlsx(tmp_path / "good.xlsx", order_rows(7), dimension="A1:E8")
    with zipfile.ZipFile(good) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet[: sheet.index(b'<row r="6"') + 20]
    cut = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(cut, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(UnreadableExport, match=r"cut\.xlsx.*damaged"):
        read_export(cut)
