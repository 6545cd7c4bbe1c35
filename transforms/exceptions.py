"""Whole-file failures found while reshaping; each message names the problem and the fix.

Hierarchy::

    ValueError
    ├── MissingColumns        an export lacks columns its profile requires
    └── NoProfileFits         no profile has all its required columns in a header row
    AssertionError
    └── SchemaMismatch        parsed lines lack the schema's column types (a bug, not a bad cell)

Per-row problems are never exceptions: they are ``transforms.errors.RowError`` data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transforms.detect import Fit


class MissingColumns(ValueError):
    """An export lacks columns its profile requires (a whole-file problem, not a row's)."""

    def __init__(self, missing: list[tuple[str, list[str]]], advice: str = "") -> None:
        self.missing = missing
        parts = [f"{field} (one of: {', '.join(repr(h) for h in hs)})" for field, hs in missing]
        said = f". {advice}" if advice else ""
        super().__init__("missing required column(s): " + "; ".join(parts) + said)


class NoProfileFits(ValueError):
    """No profile has all its required columns in the header row; names the closest ones."""

    def __init__(self, fits: Sequence[Fit]) -> None:
        self.fits = list(fits)
        closest = "; ".join(
            f"{f.profile.name} (missing {', '.join(repr(m) for m in f.missing)})" for f in fits[:3]
        )
        advice = fits[0].profile.advice_for(fits[0].missing_fields) if fits else ""
        said = f". {advice}" if advice else ""
        super().__init__(f"no profile fits this header row; closest: {closest or 'none'}{said}")


class SchemaMismatch(AssertionError):
    """The parsed lines do not have the schema's column types: a bug in parsing, not a bad cell."""
