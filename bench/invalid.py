"""An Oker export where nearly every row is bad: order id and SKU filled, the rest empty or junk.

The shape of a broken export at scale (a wrong sheet, a half-filled template): every row fails
several rules, so `uniload validate` must report hundreds of thousands of failures quickly and
in bounded memory. Same arguments, same bytes; nothing is kept in memory while writing.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from bench.layouts import OKER_HEADER, csv_text

FILLED: Final = ("Order ID", "SKU")
SKUS: Final = tuple(
    f"OKB-{good}-{colour}"
    for good in ("TEE", "POLO", "JEAN", "KURTA", "SAREE", "SNKR", "BAG", "BOTL", "MUG", "LAMP")
    for colour in ("BLK", "BLU", "MRN")
)
# column -> junk a broken export holds there instead of a value (else the cell is empty)
JUNK: Final = {
    "Order Date": ("yesterday", "31/13/2026", "N/A"),
    "Order Status": ("Whatever", "pending?"),
    "Payment Mode": ("Cheque", "UPI later"),
    "Quantity": ("two", "-1", "1.5"),
    "Selling Price": ("free", "Rs 499/-"),
    "Total Price": ("n/a",),
    "Pincode": ("ABCDEF", "56003"),
    "Phone": ("call me",),
    "Country": ("Atlantis",),
    "State": ("Nowhere",),
}
JUNK_SHARE: Final = 0.3  # of the cells JUNK names; the others stay empty
ROWS_PER_ORDER: Final = 2


def invalid_row(index: int, spoil: random.Random) -> list[str]:
    """Row `index` (0-based, data rows): order id and SKU, then empty or junk cells."""
    cells = dict.fromkeys(OKER_HEADER, "")
    cells["Order ID"] = f"OKR{index // ROWS_PER_ORDER + 1:09d}"
    cells["SKU"] = SKUS[index % len(SKUS)]
    for column, junk in JUNK.items():
        if spoil.random() < JUNK_SHARE:
            cells[column] = junk[int(spoil.random() * len(junk))]
    return [cells[name] for name in OKER_HEADER]


def write_invalid_oker(path: Path, *, rows: int, seed: int = 11) -> int:
    """Stream `rows` invalid Oker rows (two per order id) to `path`; return the rows written."""
    spoil = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(csv_text(OKER_HEADER) + "\n")
        for index in range(rows):
            out.write(csv_text(invalid_row(index, spoil)) + "\n")
    return rows


def measure_invalid(tmp: Path, *, rows: int) -> dict[str, float]:
    """`uniload validate` of `rows` invalid rows, whole process and report: rows/s, peak MB."""
    export = tmp / "invalid-oker.csv"
    write_invalid_oker(export, rows=rows)
    exe = Path(sys.executable).with_name("uniload")
    command = [str(exe), "validate", str(export), "--report-dir", str(tmp / "invalid-reports")]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 2:  # 2: rows failed, as every row here does
        raise RuntimeError(f"uniload validate of the invalid export ended {child.returncode}")
    return {
        "validate_invalid_rows": rows,
        "validate_invalid_seconds": round(seconds, 2),
        "validate_invalid_rows_per_second": round(rows / seconds),
        "validate_invalid_peak_rss_mb": round(usage.ru_maxrss / 1024),
    }
