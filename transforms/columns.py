"""Find a profile's columns in an export's header row and lift them into canonical text columns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from schemas.lines import FIELDS, REQUIRED
from schemas.profile import Joined, Profile
from transforms.exceptions import MissingColumns
from transforms.normalize import INVISIBLE

REPORT_COLUMN_PREFIX = "error_"


@dataclass(frozen=True)
class ColumnMap:
    """Which export header feeds each canonical field (joined fields list all their parts)."""

    sources: dict[str, list[str]]

    def label(self, field: str) -> str:
        """The name a seller sees for a field: its export header, else the canonical name."""
        headers = self.sources.get(field)
        return " + ".join(headers) if headers else field


def header_key(header: str) -> str:
    """A header as compared: NFKC, invisible characters dropped, spaces collapsed, case folded."""
    text = INVISIBLE.sub("", unicodedata.normalize("NFKC", header))
    return re.sub(r"\s+", " ", text.strip()).casefold()


_key = header_key


def find_header(headers: Sequence[str], aliases: Sequence[str]) -> str | None:
    """The first alias present in `headers`: exact match first, then ignoring case and spacing."""
    present = set(headers)
    for alias in aliases:
        if alias in present:
            return alias
    folded = {_key(h): h for h in headers}
    for alias in aliases:
        if _key(alias) in folded:
            return folded[_key(alias)]
    return None


def resolve_columns(headers: Sequence[str], profile: Profile) -> ColumnMap:
    """Map every canonical field of the profile to the export's headers; raise on missing ones."""
    usable = [h for h in headers if not h.startswith(REPORT_COLUMN_PREFIX)]
    sources: dict[str, list[str]] = {}
    missing: list[tuple[str, list[str]]] = []
    for field, spec in profile.columns.items():
        parts = spec.join if isinstance(spec, Joined) else [profile.headers(field)]
        found = [find_header(usable, p if isinstance(p, list) else [p]) for p in parts]
        if all(found):
            sources[field] = [f for f in found if f]
        elif field in REQUIRED and not profile.has_fallback(field):
            missing.append((field, profile.headers(field)))
    if missing:
        raise MissingColumns(missing, profile.advice_for([f for f, _ in missing]))
    return ColumnMap(sources)


def lift_text(raw: pd.DataFrame, profile: Profile, columns: ColumnMap) -> pd.DataFrame:
    """A frame with one text column per canonical field ("" where the export has none)."""
    out = pd.DataFrame(index=raw.index)
    blank = pd.Series("", index=raw.index)  # made once: each field the export lacks shares it
    for field in FIELDS:
        headers = columns.sources.get(field)
        if not headers:
            out[field] = blank
            continue
        spec = profile.columns[field]
        if isinstance(spec, Joined) and len(headers) > 1:
            parts = [raw[h].astype("str").str.strip() for h in headers]
            joined = parts[0]
            for part in parts[1:]:
                joined = joined + spec.sep + part
            out[field] = joined.str.strip()
        else:
            out[field] = raw[headers[0]].astype("str")
    return out
