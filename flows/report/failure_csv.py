"""Failure tables as CSV files: one per input, UTF-8 with a BOM and CRLF, formula-safe cells."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd

from flows.report.xlsx import unique_names
from transforms.errors import ErrorTable, RowError
from transforms.failure_table import failure_table, neutralise_formulas

CSV_ENCODING: Final = "utf-8-sig"
CSV_LINE_END: Final = "\r\n"
NAME_LIMIT: Final = 60
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def build_failure_tables(
    files: Sequence[tuple[str, pd.DataFrame]], errors: Sequence[RowError] | ErrorTable
) -> list[tuple[str, pd.DataFrame]]:
    """Formula-safe failure tables per input, plus any file named only by errors."""
    named = dict(files)
    errors = ErrorTable.of(errors)
    for file in errors.frame["file"].unique().tolist():
        named.setdefault(file, pd.DataFrame(index=pd.Index([], dtype="int64", name="row")))
    return [
        (name, neutralise_formulas(failure_table(raw, errors, name))) for name, raw in named.items()
    ]


def csv_names(inputs: Sequence[str]) -> list[str]:
    """failures.csv for one input, else failures-<safe input name>.csv, unique."""
    if len(inputs) == 1:
        return ["failures.csv"]
    paths = [Path(n.replace("\\", "/")) for n in inputs]
    stems = [p.stem for p in paths]
    clash = {s for s in stems if stems.count(s) > 1}  # orders.csv + orders.xlsx
    names = [f"{p.stem}-{p.suffix.lstrip('.')}" if p.stem in clash else p.stem for p in paths]
    safe = [_UNSAFE.sub("_", n).strip("._-") for n in names]
    return [f"failures-{s}.csv" for s in unique_names(safe, NAME_LIMIT)]


def csv_bytes(table: pd.DataFrame, *, header: bool = True) -> bytes:
    """A failure table as CSV: UTF-8 with BOM, CRLF, every cell as written.

    Without `header`, rows to append to such a file: no header row, no BOM.
    """
    text = table.to_csv(index=False, header=header, lineterminator=CSV_LINE_END)
    return text.encode(CSV_ENCODING if header else "utf-8")
