"""Profile defaults, derived fields and value maps (statuses, payment types, flags)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from schemas.lines import BILL_FIELDS, SHIP_FIELDS
from schemas.profile import CLOSED_VALUES, FACT_ONLY, UNMAPPED_SUFFIX, Profile
from transforms import normalize
from transforms.columns import ColumnMap
from transforms.errors import ErrorTable, error_table
from transforms.normalize import empty_cells

UNMAPPED: Final = "value.unmapped"  # the stable code of a value no rule of the profile covers
SOURCE: Final = "_source_"  # `_source_order_status`: the export's own text, before mapping
BILLING_COPIED: Final = "_billing_copied"  # rows whose billing address is the shipping one
FACTS: Final = ("order_status", "item_status", "fulfillment_status")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_defaults(text: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Blank cells of fields with a profile default take the default."""
    defaults = {k: v for k, v in profile.defaults.items() if not k.endswith(UNMAPPED_SUFFIX)}
    country = defaults.pop("country", None)
    defaults.pop("sla_hours", None)
    if country is not None:
        fixed, _ = normalize.fix_country(pd.Series([str(country)], dtype="object"))
        defaults.setdefault("ship_country", fixed.iloc[0])
        defaults.setdefault("bill_country", fixed.iloc[0])
    for name, value in defaults.items():
        blank = empty_cells(text[name])
        if blank.any():  # most columns have no blank: leave them as they are
            text[name] = text[name].mask(blank, _as_text(value))
    return text


def derive_fields(text: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Fill blank derived fields: copies (`product_id = "sku"`), templates, billing = shipping."""
    for name, rule in profile.derive.items():
        if name == "billing":
            text = _billing_from_shipping(text)
        elif not (blank := empty_cells(text[name])).any():
            continue
        elif "{" in rule:
            text[name] = text[name].mask(blank, _from_template(text, rule))
        else:
            text[name] = text[name].mask(blank, text[rule])
    return text


def _from_template(text: pd.DataFrame, template: str) -> pd.Series:
    """`"{order_id}-{line}"`: any canonical field, or {line} = 1-based line number in the order."""
    out = pd.Series("", index=text.index, dtype="object")
    for i, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            out = out + piece
        elif piece == "line":
            line = text.groupby(text["order_id"], sort=False).cumcount() + 1
            out = out + line.astype("str")
        else:
            out = out + text[piece].astype("str")
    return out


def _billing_from_shipping(text: pd.DataFrame) -> pd.DataFrame:
    no_billing = pd.Series(
        empty_cells(text["bill_name"]) & empty_cells(text["bill_address1"]),
        text.index,
    )
    if no_billing.any():  # else every row has its own billing address
        for bill, ship in zip(BILL_FIELDS, SHIP_FIELDS, strict=True):
            text[bill] = text[bill].mask(no_billing, text[ship])
    text[BILLING_COPIED] = no_billing
    return text


def map_values(
    text: pd.DataFrame,
    profile: Profile,
    columns: ColumnMap,
    *,
    file: str,
    errors: list[ErrorTable],
) -> pd.DataFrame:
    """Translate export values into contract values; a value no rule covers is a row error.

    A value maps by, in turn: its `[values.<field>]` entry (case-insensitive), being a
    contract value already, the first `[patterns.<field>]` regex found in it, and last the
    `[defaults] <field>_unmapped` value a seller set on purpose. The marketplace's own texts
    of the status fields are kept in `_source_<field>` (skip reasons quote them).
    """
    for name in FACTS:
        text[f"{SOURCE}{name}"] = text[name]
    for name in CLOSED_VALUES:
        rules = ValueRules.of(profile, name)
        text[name] = _map_closed(text[name], rules, columns, file, errors)
    for name, mapping in profile.values.items():
        if name not in CLOSED_VALUES:
            folded = text[name].str.strip().str.casefold()
            mapped = folded.map({k: _as_text(v) for k, v in mapping.items()})
            text[name] = text[name].mask(mapped.notna(), mapped)
    return text


@dataclass(frozen=True)
class ValueRules:
    """How one closed field's export values become contract values, from the profile."""

    name: str
    profile: str
    exact: dict[str, str]
    patterns: list[tuple[re.Pattern[str], str]]
    unmapped: str | None

    @classmethod
    def of(cls, profile: Profile, name: str) -> ValueRules:
        """The field's value map, patterns and deliberate default, as the profile gives them."""
        exact = {k: str(v).upper() for k, v in profile.values.get(name, {}).items()}
        patterns = [
            (re.compile(p, re.IGNORECASE), str(v).upper())
            for p, v in profile.patterns.get(name, {}).items()
        ]
        default = profile.defaults.get(f"{name}{UNMAPPED_SUFFIX}")
        unmapped = None if default is None else str(default).upper()
        return cls(name, profile.name, exact, patterns, unmapped)

    def lookup(self, folded: str) -> str | None:
        """The contract value of one stripped, case-folded export value (None: no rule)."""
        if folded in self.exact:
            return self.exact[folded]
        allowed = CLOSED_VALUES[self.name]
        if folded.upper() in allowed:
            return folded.upper()
        for pattern, value in self.patterns:
            if pattern.search(folded):
                return value
        return self.unmapped

    def accepted(self) -> str:
        """The marketplace's values this profile knows (contract values if it maps none)."""
        closed = CLOSED_VALUES[self.name]
        shown = list(self.exact) or sorted(a for a in closed if a not in FACT_ONLY)
        more = f" (and {len(self.patterns)} pattern(s))" if self.patterns else ""
        return ", ".join(shown) + more


def _map_closed(
    column: pd.Series, rules: ValueRules, columns: ColumnMap, file: str, errors: list[ErrorTable]
) -> pd.Series:
    # Once per distinct value: a status column holds a handful of them.
    codes, uniques = normalize.distinct(column)
    folded = uniques.str.strip().str.casefold()
    mapped = pd.Series([rules.lookup(v) if v else "" for v in folded], dtype="object")
    unknown = mapped.isna().to_numpy()[codes]
    if unknown.any():
        # One reason per distinct unknown value, shared by every row that holds it.
        said = {i: _unmapped_reason(str(v), rules) for i, v in enumerate(uniques) if v}
        at = codes[unknown]
        reasons = [said.get(int(i), "") for i in at]
        bad = column[unknown]
        label = columns.label(rules.name)
        errors.append(error_table(file, bad.index, "validate", label, bad, reasons, UNMAPPED))
    return pd.Series(mapped.fillna("").array.take(codes), index=column.index)


def _unmapped_reason(value: str, rules: ValueRules) -> str:
    return (
        f"{value!r} is not a value the {rules.profile} profile maps ({UNMAPPED}); known: "
        f"{rules.accepted()}. Add it to [values.{rules.name}] (or a regex to "
        f"[patterns.{rules.name}]) in data/profiles/{rules.profile}.toml"
    )
