"""The one pass over a text export's bytes that lets the reader skip looking at every cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.read.byte_scan import BLOCK_BYTES, ByteScan, scan_bytes
from flows.read.exports import read_export


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("id,name\r\n1,Asha\tRao\n", ByteScan(control=False, apostrophe=False)),
        ("id,name\n1,Asha\x00 Rao\n", ByteScan(control=True, apostrophe=False)),
        ("id,name\n1,Asha\x7f\n", ByteScan(control=True, apostrophe=False)),
        ("id,name\n1,'0042\n", ByteScan(control=False, apostrophe=True)),
        ("id,name\n1,D’Souza é\n", ByteScan(control=False, apostrophe=False)),
    ],
    ids=["clean", "nul", "delete", "apostrophe", "curly-quote-and-accent"],
)
def test_what_the_bytes_may_hold(tmp_path: Path, text: str, found: ByteScan) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert scan_bytes(path, "utf-8") == found


def test_utf16_and_a_byte_past_the_first_block_are_not_missed(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"id,name\n" + b"1,Asha\n" * (BLOCK_BYTES // 7 + 1) + b"2,'7\x01\n")
    assert scan_bytes(path, "utf-8") == ByteScan(control=True, apostrophe=True)
    assert scan_bytes(path, "utf-16") == ByteScan()  # every cell is looked at


def test_a_file_with_marks_and_stray_bytes_is_still_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order ID,Pincode,Name\nA1,'560001,Asha\x00\nA2,560002,Ravi\n", "utf-8")
    export = read_export(path)
    assert export.table["Pincode"].tolist() == ["560001", "560002"]
    assert export.table["Name"].tolist() == ["Asha", "Ravi"]
    assert export.cleaned_rows == (2,)
