"""Per-unit prices and cumulative item charges, whatever basis the export uses."""

from __future__ import annotations

from typing import Final

import pandas as pd

from schemas.profile import Profile

ITEM_CHARGES: Final = ("shipping_charges", "discount", "cod_charges", "gift_wrap_charges")


def apply_price_basis(typed: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Contract prices: selling/total price of ONE unit; item charges summed over all units.

    A "line" price is divided by the quantity; a "unit" charge multiplied by it. Rows whose
    quantity is missing or invalid keep their values (they fail on the quantity anyway).
    `total_price` defaults to the selling price.
    """
    quantity = typed["quantity"].astype("float64")
    usable = quantity.notna() & (quantity >= 1)
    if profile.prices.item_price == "line":
        for name in ("selling_price", "total_price"):
            typed[name] = typed[name].mask(usable, (typed[name] / quantity).round(2))
    if profile.prices.item_charges == "unit":
        for name in ITEM_CHARGES:
            typed[name] = typed[name].mask(usable, (typed[name] * quantity).round(2))
    typed["total_price"] = typed["total_price"].fillna(typed["selling_price"])
    return typed
