"""The steps of one run as plain functions; flows/upload.py wraps each in a Prefect task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from flows.exceptions import ConfigError, ProfileNotDetected, UnreadableExport
from flows.read.exports import RawExport, read_export
from flows.read.files import SUPPORTED_SUFFIXES
from flows.read.profiles import choose_profile, known_headers
from flows.read.raw_tables import listed_rows
from schemas.profile import Profile
from transforms.columns import ColumnMap
from transforms.errors import ErrorTable, concat
from transforms.exceptions import MissingColumns
from transforms.lines import Lines, to_lines
from transforms.orders import check_orders, fail_whole_orders, mark_failed
from transforms.payloads import Built, build_payloads
from transforms.stages import stage


@dataclass(frozen=True)
class Unread:
    """An input file left out of a run: its name and why (the run goes on without it)."""

    name: str
    error: str


@dataclass(frozen=True)
class Validated:
    """Canonical lines of every input, with everything found wrong so far.

    A step never changes one: it returns a new Validated (`dataclasses.replace`).
    """

    exports: list[RawExport]
    profiles: dict[str, str]  # export name -> profile name
    lines: pd.DataFrame
    labels: dict[str, ColumnMap]
    errors: ErrorTable = field(default_factory=ErrorTable)
    warnings: Counter[str] = field(default_factory=Counter)
    unread: list[Unread] = field(default_factory=list)  # files that could not be used


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
                and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            files += inside
        else:
            files.append(path)
    if not files:
        raise ConfigError(f"no export files found in {', '.join(paths) or 'the arguments'}")
    return files


@dataclass(frozen=True)
class Read:
    """The inputs read, and those left out (only when the run is not strict)."""

    exports: list[RawExport]
    unread: list[Unread]


def read_exports(
    paths: Sequence[str], profiles: Mapping[str, Profile], *, sheet: str | None, strict: bool = True
) -> Read:
    """Read every input. An unreadable file fails the run when `strict`; otherwise it is
    left out (listed in `unread`) and the other files go on; when none is readable, it fails."""
    hint = known_headers(dict(profiles))
    exports, unread = [], []
    for path in expand_paths(paths):
        try:
            with stage("read"):
                exports.append(read_export(path, sheet=sheet, header_hint=hint))
        except UnreadableExport as err:
            if strict:
                raise
            unread.append(Unread(path.name, str(err)))
    if unread and not exports:
        raise UnreadableExport("\n".join(u.error for u in unread))
    names = Counter(e.name for e in exports)
    twice = [n for n, count in names.items() if count > 1]
    if twice:
        raise ConfigError(f"the same file name is given twice: {', '.join(twice)}")
    return Read(exports, unread)


def validate_exports(
    exports: Sequence[RawExport],
    profiles: Mapping[str, Profile],
    *,
    profile_name: str | None,
    now: datetime | None = None,
    unread: Sequence[Unread] | None = None,
) -> Validated:
    """Each export through its profile into canonical lines; bad cells become row errors.

    A file no profile fits, or missing required columns, fails the run; given the files
    already left out (`unread`, maybe none), it is left out too and the other files go on
    (not when none is left). `Validated.unread` lists them all.
    """
    now = now or datetime.now(UTC)
    left_out = None if unread is None else list(unread)
    frames, labels, chosen, warnings = [], {}, {}, Counter[str]()
    errors: list[ErrorTable] = []
    used = []
    for export in exports:
        try:
            profile, result = _export_lines(export, profiles, profile_name, now)
        except (UnreadableExport, ProfileNotDetected) as err:
            if left_out is None or (len(exports) == 1 and not left_out):
                raise
            left_out.append(Unread(export.name, str(err)))
            continue
        used.append(export)
        if export.cleaned_rows:
            rows = listed_rows(list(export.cleaned_rows))
            note = f"{export.name}: stray control bytes (NUL...) removed from cells, rows {rows}"
            warnings[note] += len(export.cleaned_rows)
        labels[export.name] = result.columns
        frames.append(result.frame)
        chosen[export.name] = profile.name
        errors.append(result.errors)
        warnings.update(result.warnings)
    if left_out and not used:
        raise UnreadableExport("\n".join(u.error for u in left_out))
    lines = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Validated(used, chosen, lines, labels, concat(errors), warnings, left_out or [])


def _export_lines(
    export: RawExport, profiles: Mapping[str, Profile], profile_name: str | None, now: datetime
) -> tuple[Profile, Lines]:
    """One export's profile and canonical lines; a whole-file problem raises."""
    headers = list(export.table.columns)
    profile = choose_profile(headers, dict(profiles), name=profile_name, file=export.name)
    try:
        return profile, to_lines(export.table, profile, file=export.name, now=now)
    except MissingColumns as err:
        raise UnreadableExport(
            f"{export.name}: {err}. Is this a {profile.name} export? Check the header row "
            "or choose another --profile."
        ) from err


@dataclass(frozen=True)
class Grouped:
    """The lines grouped into orders: the next value after `Validated`.

    `validated` is a new Validated whose lines carry the failed marks of grouping and
    building and whose errors are every error so far; `built` holds the payloads.
    """

    validated: Validated
    built: Built


def group_and_build(
    validated: Validated, *, facility_map: Mapping[str, str] | None, target_zone: str
) -> Grouped:
    """Cross-row checks, facility mapping, whole-order failure, then contract-checked payloads.

    `validated` is not changed: the marked lines and all errors are in the returned value.
    """
    with stage("group"):
        group_errors = check_orders(
            validated.lines, labels=validated.labels, facility_map=facility_map
        )
        lines = mark_failed(validated.lines, group_errors)
        siblings = fail_whole_orders(lines, "group")
        lines = mark_failed(lines, siblings)
    with stage("screen"):
        send_facility = facility_map is not None
        built = build_payloads(lines, target_zone=target_zone, send_facility=send_facility)
        lines = mark_failed(lines, built.errors)
    found = [*group_errors, *siblings, *built.errors]
    return Grouped(replace(validated, lines=lines, errors=validated.errors + found), built)
