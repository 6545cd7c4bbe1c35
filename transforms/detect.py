"""Pick the marketplace profile whose columns a header row holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas.profile import Profile
from transforms.columns import find_header
from transforms.exceptions import NoProfileFits


@dataclass(frozen=True)
class Fit:
    """How well one profile fits a header row."""

    profile: Profile
    missing: list[str]  # required headers absent (first alias of each)
    missing_fields: list[str]  # their canonical fields
    found: int  # headers of the profile present
    known: int  # headers the profile knows

    @property
    def fits(self) -> bool:
        return not self.missing

    @property
    def coverage(self) -> float:
        return self.found / self.known if self.known else 0.0


def fit(headers: Sequence[str], profile: Profile) -> Fit:
    """Measure one profile against a header row."""
    absent = [(f, alts) for f, alts in profile.required_columns() if not find_header(headers, alts)]
    known = profile.all_headers()
    found = sum(1 for h in known if find_header(headers, [h]) is not None)
    return Fit(profile, [alts[0] for _, alts in absent], [f for f, _ in absent], found, len(known))


def detect(headers: Sequence[str], profiles: Iterable[Profile]) -> Profile:
    """The fitting profile covering most of its known headers; NoProfileFits when none fits."""
    fits = sorted(
        (fit(headers, p) for p in profiles),
        key=lambda f: (not f.fits, len(f.missing), -f.coverage, f.profile.name),
    )
    if not fits or not fits[0].fits:
        raise NoProfileFits(fits)
    return fits[0].profile
