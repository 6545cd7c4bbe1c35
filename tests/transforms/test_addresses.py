"""Address line 1 over 100 characters continues into line 2 when the whole fits."""

from __future__ import annotations

from tests.transforms.toy import NOW, export, row, toy_profile
from transforms.addresses import split_line
from transforms.lines import to_lines

LONG = (
    "Flat 1204, Tower B, Prestige Shantiniketan Residential Complex, "
    "Whitefield Main Road, Hoodi Village, Mahadevapura"
)


def test_overflow_moves_to_line_two_at_a_word_boundary() -> None:
    assert len(LONG) > 100
    head, tail = split_line(LONG, "Near Hoodi Circle") or ("", "")
    assert len(head) <= 100 and head.endswith("Hoodi Village")
    assert tail == "Mahadevapura, Near Hoodi Circle"
    assert f"{head}, {tail}" == f"{LONG}, Near Hoodi Circle"


def test_no_split_when_line_two_would_overflow_or_no_word_boundary() -> None:
    assert split_line(LONG, "x" * 95) is None
    assert split_line("x" * 120, "") is None
    assert split_line("short", "") is None


def test_a_long_line_is_a_counted_fix_and_a_too_long_address_stays_an_error() -> None:
    raw = export(row("O1", "I1", Address_Line_1=LONG), row("O2", "I2", Address_Line_1="y" * 130))
    result = to_lines(raw, toy_profile(), file="x", now=NOW)
    assert [(e.row, e.field) for e in result.errors] == [(3, "Address Line 1")]
    assert result.frame.loc[0, "ship_address2"] == "Mahadevapura"
    assert result.warnings["Address Line 1: over 100 characters: continued in ship_address2"] == 1
