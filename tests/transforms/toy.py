"""A small profile and export builder shared by the transform and flow tests."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from schemas.profile import Profile, parse_profile

TOY = Path(__file__).parents[1] / "fixtures" / "profiles" / "toy.toml"
FIXTURE_PROFILES = TOY.parent  # UNILOAD_PROFILES_DIR for runs of toy exports
NOW = datetime(2026, 11, 23, tzinfo=UTC)
HEADER = [
    "Order ID",
    "Order Item ID",
    "Order Date",
    "Order Status",
    "Payment Mode",
    "SKU",
    "Product Title",
    "Quantity",
    "Selling Price",
    "Warehouse Code",
    "Customer Name",
    "Address Line 1",
    "City",
    "State",
    "Pincode",
    "Phone",
]


def toy_profile(**changes: object) -> Profile:
    """The toy profile, with top-level keys replaced."""
    profile = parse_profile(TOY.read_text(encoding="utf-8"), source=str(TOY))
    return profile.model_copy(update=changes) if changes else profile


def row(order: str, item: str, **cells: str) -> list[str]:
    """One valid export row; keyword arguments replace cells (spaces for underscores)."""
    base = {
        "Order ID": order,
        "Order Item ID": item,
        "Order Date": "2026-11-20 10:00:00",
        "Order Status": "Confirmed",
        "Payment Mode": "Prepaid",
        "SKU": f"SKU-{item}",
        "Product Title": "Cotton shirt",
        "Quantity": "1",
        "Selling Price": "499",
        "Warehouse Code": "OKR-BLR-01",
        "Customer Name": "Asha Rao",
        "Address Line 1": "12 MG Road",
        "City": "Bengaluru",
        "State": "Karnataka",
        "Pincode": "560001",
        "Phone": "9876543210",
    }
    base.update({k.replace("_", " "): v for k, v in cells.items()})
    return [base[h] for h in HEADER]


def export(*rows: list[str]) -> pd.DataFrame:
    """Rows as a raw export table: text cells, index = spreadsheet row (header = 1)."""
    index = pd.RangeIndex(2, 2 + len(rows), name="row")
    return pd.DataFrame(list(rows), columns=HEADER, index=index, dtype="object")


def write_export(path: Path, rows: list[list[str]]) -> Path:
    """Rows as a toy export CSV file at ``path`` (header first)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path
