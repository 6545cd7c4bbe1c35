"""The steps of one run as plain functions; flows/upload.py wraps each in a Prefect task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from flows.exceptions import ConfigError, UnreadableExport
from flows.profiles import choose_profile, known_headers
from flows.readers import RawExport, read_export
from flows.settings import EXPORT_SUFFIXES
from schemas.profile import Profile
from transforms.columns import ColumnMap, MissingColumns
from transforms.errors import RowError
from transforms.lines import to_lines
from transforms.orders import check_orders, fail_whole_orders, mark_failed
from transforms.payloads import Built, build_payloads


@dataclass
class Validated:
    """Canonical lines of every input, with everything found wrong so far."""

    exports: list[RawExport]
    profiles: dict[str, str]  # export name -> profile name
    lines: pd.DataFrame
    labels: dict[str, ColumnMap]
    errors: list[RowError] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)


def expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files as given, and the exports inside folders given (sorted, hidden files skipped)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in EXPORT_SUFFIXES
            )
            files += inside
        else:
            files.append(path)
    if not files:
        raise ConfigError(f"no export files found in {', '.join(paths) or 'the arguments'}")
    return files


def read_exports(
    paths: Sequence[str], profiles: Mapping[str, Profile], *, sheet: str | None
) -> list[RawExport]:
    """Read every input; one unreadable file fails the run before anything is posted."""
    hint = known_headers(dict(profiles))
    exports = [read_export(path, sheet=sheet, header_hint=hint) for path in expand_paths(paths)]
    names = Counter(e.name for e in exports)
    twice = [n for n, count in names.items() if count > 1]
    if twice:
        raise ConfigError(f"the same file name is given twice: {', '.join(twice)}")
    return exports


def validate_exports(
    exports: Sequence[RawExport],
    profiles: Mapping[str, Profile],
    *,
    profile_name: str | None,
    now: datetime | None = None,
) -> Validated:
    """Each export through its profile into canonical lines; bad cells become row errors."""
    now = now or datetime.now(UTC)
    frames, labels, chosen, errors, warnings = [], {}, {}, [], Counter[str]()
    for export in exports:
        headers = list(export.table.columns)
        profile = choose_profile(headers, dict(profiles), name=profile_name, file=export.name)
        try:
            result = to_lines(export.table, profile, file=export.name, now=now)
        except MissingColumns as err:
            raise UnreadableExport(
                f"{export.name}: {err}. Is this a {profile.name} export? Check the header row "
                "or choose another --profile."
            ) from err
        labels[export.name] = result.columns
        frames.append(result.frame)
        chosen[export.name] = profile.name
        errors += result.errors
        warnings.update(result.warnings)
    lines = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Validated(list(exports), chosen, lines, labels, errors, warnings)


def group_and_build(
    validated: Validated, *, facility_map: Mapping[str, str] | None, target_zone: str
) -> Built:
    """Cross-row checks, facility mapping, whole-order failure, then contract-checked payloads."""
    lines = validated.lines
    group_errors = check_orders(lines, labels=validated.labels, facility_map=facility_map)
    mark_failed(lines, group_errors)
    group_errors += fail_whole_orders(lines, "group")
    built = build_payloads(lines, target_zone=target_zone, send_facility=facility_map is not None)
    mark_failed(lines, built.errors)
    validated.errors += group_errors + built.errors
    return built
