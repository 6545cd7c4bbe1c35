"""The failure table, formula neutralising, top reasons, the summary markdown and masking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.errors import RowError
from transforms.failure_table import ERROR_COLUMNS, cell_notes, failure_table, neutralise_formulas
from transforms.markdown import summary_markdown
from transforms.reasons import ReasonCount, mask_personal, top_reasons

FILE = "oker.csv"


def _raw(**columns: list[str]) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.Index(range(2, rows + 2), name="row"))


def _error(
    row: int, stage: Any = "validate", field: str = "", reason: str = "bad", **kw: Any
) -> RowError:
    return RowError(kw.pop("file", FILE), row, stage, field, kw.pop("value", ""), reason, **kw)


def test_failure_table_keeps_original_columns_and_only_failed_rows_in_file_order() -> None:
    raw = _raw(**{"Order ID": ["A", "B", "C"], "Pincode": ["395007", "39500", "x"]})
    errors = [_error(4, field="Pincode"), _error(3, field="Pincode")]
    table = failure_table(raw, errors, FILE)
    assert list(table.columns) == ["Order ID", "Pincode", *ERROR_COLUMNS]
    assert table["Order ID"].tolist() == ["B", "C"]
    assert table["error_row"].tolist() == [3, 4]
    assert set(table["error_file"]) == {FILE}


def test_failure_table_merges_every_error_of_a_row() -> None:
    raw = _raw(**{"Order ID": ["A"], "Pincode": ["39500"], "Phone": [""]})
    errors = [
        _error(2, "post", reason="DUPLICATE_SALE_ORDER", order_id="A"),
        _error(2, "validate", "Pincode", "must have 6 digits, got '39500'"),
        _error(2, "validate", "Phone", "is required"),
    ]
    row = failure_table(raw, errors, FILE).iloc[0]
    assert row["error_stage"] == "validate"
    assert row["error_field"] == "Pincode\nPhone\n-"  # one line per error, aligned
    assert row["error_reason"] == (
        "Pincode: must have 6 digits, got '39500'\nPhone: is required\nDUPLICATE_SALE_ORDER"
    )
    assert row["error_order_id"] == "A"


def test_field_and_reason_lines_stay_aligned_whatever_a_reason_holds() -> None:
    raw = _raw(**{"Order ID": ["A"], "Pincode": ["39500"], "Phone": [""]})
    errors = [
        _error(2, "build", "shippingAddress.pincode", "pincode: too short; phone: missing"),
        _error(2, "build", "Phone", "server said:\nline one\r\nline two"),
        _error(2, "post", reason="REFUSED; try again"),
    ]
    row = failure_table(raw, errors, FILE).iloc[0]
    fields, reasons = row["error_field"].split("\n"), row["error_reason"].split("\n")
    assert fields == ["shippingAddress.pincode", "Phone", "-"]
    assert len(reasons) == 3
    assert reasons[0].endswith("too short; phone: missing")
    assert reasons[1] == "Phone: server said: line one line two"


def test_failure_table_ignores_other_files_and_drops_old_error_columns() -> None:
    raw = _raw(**{"Order ID": ["A"], "error_reason": ["old"], "error_row": ["2"]})
    errors = [_error(2, reason="new"), _error(2, file="other.csv", reason="elsewhere")]
    table = failure_table(raw, errors, FILE)
    assert list(table.columns) == ["Order ID", *ERROR_COLUMNS]
    assert table["error_reason"].tolist() == ["new"]


def test_a_row_missing_from_the_raw_table_is_still_reported() -> None:
    raw = _raw(**{"Order ID": ["A", "B"]})
    table = failure_table(raw, [_error(9, "read", reason="unreadable line"), _error(3)], FILE)
    assert table["error_row"].tolist() == [3, 9]
    assert table["Order ID"].tolist() == ["B", ""]


def test_nothing_failed_gives_a_header_only_table() -> None:
    table = failure_table(_raw(**{"Order ID": ["A"]}), [], FILE)
    assert table.empty
    assert list(table.columns) == ["Order ID", *ERROR_COLUMNS]


@pytest.mark.slow
def test_failure_table_handles_a_million_rows_with_50k_errors() -> None:
    n = 1_000_000
    raw = pd.DataFrame(
        {"Order ID": np.char.mod("O%d", np.arange(n)).astype(object)},
        index=pd.Index(np.arange(2, n + 2), name="row"),
    ).astype(str)
    errors = [_error(r, field="Order ID") for r in range(n + 1, 1, -20)]
    table = failure_table(raw, errors, FILE)
    assert len(table) == 50_000
    assert table["error_row"].is_monotonic_increasing
    assert (table["Order ID"] == "O" + (table["error_row"] - 2).astype(str)).all()


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+91 98765 43210", "'+91 98765 43210"),
        ("-12.5", "'-12.5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
    ids=["equals", "plus-phone", "minus-number", "at", "tab", "cr", "plain", "inner", "blank"],
)
def test_neutralise_formulas_prefixes_risky_cells(cell: str, expected: str) -> None:
    out = neutralise_formulas(pd.DataFrame({"c": [cell]}))
    assert out["c"].tolist() == [expected]


def test_neutralise_formulas_leaves_numbers_and_the_input_alone() -> None:
    df = pd.DataFrame({"text": ["=1", "ok"], "n": [-1, 2]})
    out = neutralise_formulas(df)
    assert out["n"].tolist() == [-1, 2]
    assert df["text"].tolist() == ["=1", "ok"]
    assert out["text"].tolist() == ["'=1", "ok"]


@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_neutralised_cells_are_safe_and_strip_back_to_the_original(cells: list[str]) -> None:
    out = neutralise_formulas(pd.DataFrame({"c": cells}))["c"].tolist()
    for before, after in zip(cells, out, strict=True):
        assert not after.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert after == before or after == "'" + before


def test_top_reasons_counts_rows_and_generalises_quoted_values() -> None:
    errors = [
        _error(2, field="Pincode", reason="must have 6 digits, got '39500'"),
        _error(3, field="Pincode", reason="must have 6 digits, got '1'"),
        _error(3, field="Pincode", reason="must have 6 digits, got '1'"),
        _error(4, "post", reason="server down"),
    ]
    top = top_reasons(errors)
    assert top[0] == ReasonCount("validate", "Pincode", "must have 6 digits, got '…'", 2)
    assert top[1] == ReasonCount("post", "", "server down", 1)
    assert len(top_reasons(errors, n=1)) == 1


def test_cell_notes_group_reasons_by_row_and_field() -> None:
    errors = [_error(2, field="Pincode", reason="a"), _error(2, field="Pincode", reason="b")]
    errors += [_error(2, reason="no field"), _error(3, field="Phone", reason="c")]
    assert cell_notes(errors, FILE) == {2: {"Pincode": "a; b"}, 3: {"Phone": "c"}}


SUMMARY: dict[str, Any] = {
    "run_id": "run-1",
    "started_at": "2025-01-01T00:00:00+00:00",
    "finished_at": "2025-01-01T00:01:00+00:00",
    "duration_seconds": 60.0,
    "rows_read": 12000,
    "rows_accepted": 11000,
    "rows_already_accepted": 500,
    "rows_failed": 500,
    "orders_built": 6000,
    "orders_accepted": 5500,
    "orders_failed": 250,
    "orders_already_accepted": 250,
    "warnings": 7,
    "rows_failed_by_stage": {"post": 100, "validate": 400},
    "files": [{"name": "oker.csv", "rows_read": 12000, "rows_failed": 500, "profile": "oker"}],
    "dry_run": False,
    "destination": "https://user:secret@genericproxy.unicommerce.com",
    "throughput_orders_per_second": 91.7,
}


def test_summary_markdown_shows_counts_stages_files_and_reasons() -> None:
    reasons = [ReasonCount("validate", "Pincode", "must have 6 digits | got '…'", 400)]
    text = summary_markdown(SUMMARY, reasons)
    assert "| rows | 12,000 | 11,000 | 500 | 500 |" in text
    assert "| orders | 6,000 | 5,500 | 250 | 250 |" in text
    assert text.index("| validate | 400 |") < text.index("| post | 100 |")
    assert "| oker.csv | oker | 12,000 | 500 |" in text
    assert "| 400 | validate | Pincode | must have 6 digits \\| got '…' |" in text
    assert "60.0 s" in text
    assert "91.7 orders/s" in text


def test_summary_markdown_never_shows_credentials_and_marks_dry_runs() -> None:
    text = summary_markdown({**SUMMARY, "dry_run": True}, [])
    assert "secret" not in text
    assert "https://genericproxy.unicommerce.com" in text
    assert "dry run" in text
    assert "No row failed." in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john.doe@example.com now", "mail j***@example.com now"),
        ("+91 98765 43210", "+** ***** ***10"),
        ("9876543210", "********10"),
        ("got '09876543210'", "got '*********10'"),
    ],
    ids=["email", "intl-phone", "phone", "quoted-phone"],
)
def test_mask_personal_hides_emails_and_phone_numbers(text: str, expected: str) -> None:
    assert mask_personal(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "403-1234567-1234567",
        "2025-07-30 08:34:47",
        "must have 6 digits, got '39500'",
        "OD123456789012345678",
        "12.50",
    ],
    ids=["amazon-order", "datetime", "pincode", "flipkart-order", "price"],
)
def test_mask_personal_keeps_order_ids_dates_and_pincodes(text: str) -> None:
    assert mask_personal(text) == text
