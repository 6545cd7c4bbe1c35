"""The marketplace profile: how one export's columns map onto canonical order lines."""

from __future__ import annotations

import re
import tomllib
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from schemas import contract
from schemas.exceptions import ProfileError
from schemas.lines import FIELDS, REQUIRED

MAPPABLE_VALUES: Final = frozenset(
    {
        "order_status",
        "item_status",
        "payment_type",
        "shipping_method",
        "third_party_shipping",
        "on_hold",
        "fulfillment_status",
    }
)
# Values a status may map to that are facts for the disposition step, not contract values:
# an order the marketplace already DISPATCHED/DELIVERED, an order it fulfilled in PARTIAL.
FACT_ONLY: Final = frozenset({"DISPATCHED", "DELIVERED", "PARTIAL"})
# The values each closed field may map to (a value map, pattern or `_unmapped` default).
CLOSED_VALUES: Final[dict[str, frozenset[str]]] = {
    "order_status": frozenset({*contract.ORDER_STATUSES, "DISPATCHED", "DELIVERED"}),
    "item_status": frozenset(contract.ITEM_STATUSES),
    "fulfillment_status": frozenset({"CREATED", "CANCELLED", *FACT_ONLY}),
    "payment_type": frozenset(contract.PAYMENT_TYPES),
    "shipping_method": frozenset({"STD"}),
}
UNMAPPED_SUFFIX: Final = "_unmapped"  # `[defaults] payment_type_unmapped = "PREPAID"`: on purpose
WILDCARD: Final = "*"
DERIVABLE: Final = frozenset({"product_id", "variant_id", "order_item_id", "title", "billing"})


class Joined(BaseModel):
    """A canonical field made by joining several export columns (e.g. first + last name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    join: list[str] = Field(min_length=1)
    sep: str = " "


ColumnSpec = Annotated[str | list[str] | Joined, Field(union_mode="left_to_right")]


class Dates(BaseModel):
    """How the export writes dates, and in which zone when they carry no offset."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    formats: list[str] = Field(default_factory=lambda: ["ISO8601"], min_length=1)
    source_zone: str = "Asia/Kolkata"

    @field_validator("source_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from err
        return value


class Prices(BaseModel):
    """Whether price and charge columns are per unit or totals of the line."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    item_price: Literal["unit", "line"] = "unit"
    item_charges: Literal["unit", "line"] = "line"


class Disposition(BaseModel):
    """What to do with orders the marketplace already fulfilled (cancelled ones are skipped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    marketplace: str = ""  # named in skip reasons ("already fulfilled on Shopify")
    fulfilled: Literal["skip", "post"] = "skip"  # "post": sent with items DISPATCHED/DELIVERED


class Profile(BaseModel):
    """One marketplace's export layout, loaded from data/profiles/<name>.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str = ""
    order_fields: Literal["every_row", "first_row"] = "every_row"
    dates: Dates = Dates()
    prices: Prices = Prices()
    defaults: dict[str, Any] = Field(default_factory=dict)
    derive: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, ColumnSpec]
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    patterns: dict[str, dict[str, Any]] = Field(default_factory=dict)
    disposition: Disposition = Disposition()
    advice: dict[str, str] = Field(default_factory=dict)  # said when a field's column is missing

    @field_validator("columns", "advice", "derive")
    @classmethod
    def _known_keys(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        known, what = _KEYED_BY[info.field_name or ""]
        _reject_unknown(value, known, what)
        return value

    @field_validator("defaults")
    @classmethod
    def _known_defaults(cls, value: dict[str, Any]) -> dict[str, Any]:
        unmapped = {f"{name}{UNMAPPED_SUFFIX}" for name in MAPPABLE_VALUES}
        _reject_unknown(value, {*FIELDS, "sla_hours", "country", *unmapped}, "default")
        for field in CLOSED_VALUES:
            target = value.get(f"{field}{UNMAPPED_SUFFIX}")
            if target is not None:
                _reject_target(f"defaults.{field}{UNMAPPED_SUFFIX}", field, target)
        return value

    @field_validator("values")
    @classmethod
    def _known_values(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        _reject_unknown(value, MAPPABLE_VALUES, "value map")
        for field, mapping in value.items():
            if WILDCARD in mapping:
                raise ValueError(
                    f'values.{field}: the catch-all key "*" is no longer accepted (it let '
                    f"unknown values pass silently); list the values, add [patterns.{field}], "
                    f"or set [defaults] {field}{UNMAPPED_SUFFIX} on purpose"
                )
        _reject_targets("values", value)
        return {
            field: {k.casefold(): v for k, v in mapping.items()} for field, mapping in value.items()
        }

    @field_validator("patterns")
    @classmethod
    def _valid_patterns(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        _reject_unknown(value, MAPPABLE_VALUES, "pattern map")
        for field, mapping in value.items():
            for pattern in mapping:
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as err:
                    raise ValueError(
                        f"patterns.{field}: {pattern!r} is not a regex: {err}"
                    ) from err
        _reject_targets("patterns", value)
        return value

    @model_validator(mode="after")
    def _required_are_reachable(self) -> Profile:
        missing = [f for f in sorted(REQUIRED) if not self.provides(f)]
        if missing:
            raise ValueError(
                f"no column, default or derivation for required field(s) {', '.join(missing)}"
            )
        return self

    def provides(self, field: str) -> bool:
        """True when the profile can fill a canonical field: a column, default or derivation."""
        return field in self.columns or self.has_fallback(field)

    def has_fallback(self, field: str) -> bool:
        """True when a default or derivation fills the field where no column does."""
        if field in self.defaults or field in self.derive:
            return True
        if field.endswith("_country") and "country" in self.defaults:
            return True
        if field.startswith("bill_") and "billing" in self.derive:
            return True
        return field == "item_status" and self.provides("order_status")

    def headers(self, field: str) -> list[str]:
        """Every export header that may hold this field (aliases included)."""
        spec = self.columns.get(field)
        if spec is None:
            return []
        if isinstance(spec, str):
            return [spec]
        if isinstance(spec, Joined):
            return list(spec.join)
        return list(spec)

    def all_headers(self) -> set[str]:
        """Every header this profile knows, for detection and header-row finding."""
        return {h for field in self.columns for h in self.headers(field)}

    def required_headers(self) -> list[list[str]]:
        """For each required field only a column can provide: the alternatives, one must exist."""
        return [headers for _, headers in self.required_columns()]

    def required_columns(self) -> list[tuple[str, list[str]]]:
        """(field, its header alternatives) for each required field only a column provides."""
        return [
            (f, self.headers(f))
            for f in sorted(REQUIRED)
            if f in self.columns and not self.has_fallback(f)
        ]

    def advice_for(self, fields: list[str]) -> str:
        """The profile's advice for missing columns of these fields ("" when it has none)."""
        return " ".join(dict.fromkeys(self.advice[f] for f in fields if f in self.advice))


# Sections keyed by field name: the names each may use, and what the message calls them.
_KEYED_BY: Final[dict[str, tuple[Any, str]]] = {
    "columns": (FIELDS, "canonical field"),
    "advice": (FIELDS, "advised field"),
    "derive": (DERIVABLE, "derived field"),
}


def _reject_unknown(keys: Any, known: Any, what: str) -> None:
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def _reject_targets(section: str, maps: dict[str, dict[str, Any]]) -> None:
    """Every target in a closed field's map (``values``, ``patterns``) is one Uniware takes."""
    for field, mapping in maps.items():
        for key, target in mapping.items() if field in CLOSED_VALUES else ():
            _reject_target(f"{section}.{field}.{key!r}", field, target)


def _reject_target(where: str, field: str, target: object) -> None:
    """A closed field mapped to a value Uniware does not take fails the profile, not each row."""
    allowed = CLOSED_VALUES[field]
    if str(target).upper() not in allowed:
        raise ValueError(
            f"{where} maps to {target!r}, which is not a value of {field}; "
            f"use one of: {', '.join(sorted(allowed))}"
        )


def parse_profile(text: str, *, source: str) -> Profile:
    """Parse and validate a profile's TOML text; errors name the source and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"profile {source}: not valid TOML: {err}") from err
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"key '{'.'.join(str(p) for p in e['loc']) or '(top level)'}': {_problem(e)}"
            for e in err.errors()
        )
        raise ProfileError(f"profile {source}: {problems}") from err


_TABLES: Final[dict[tuple[str, ...], type[BaseModel]]] = {
    (): Profile,
    ("dates",): Dates,
    ("prices",): Prices,
    ("disposition",): Disposition,
}


def _problem(error: ErrorDetails) -> str:
    """One validation error in a profile writer's words: what is wrong and what to write."""
    table = _TABLES.get(tuple(str(p) for p in error["loc"][:-1]))
    if error["type"] == "extra_forbidden" and table is not None:
        known = ", ".join(table.model_fields)
        return f"unknown key (misspelt, or in the wrong table?); the keys here are: {known}"
    return error["msg"].removeprefix("Value error, ")
