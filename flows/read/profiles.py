"""Load marketplace profiles from their folder and choose one for each export."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from flows.exceptions import ConfigError, ProfileNotDetected
from flows.settings import ENV_PROFILES_DIR, PROFILES_DIR
from schemas.exceptions import ProfileError
from schemas.profile import Profile, parse_profile
from transforms.detect import detect
from transforms.exceptions import NoProfileFits


def load_profiles(folder: Path | None = None) -> dict[str, Profile]:
    """Every `*.toml` profile in the folder, by name; a bad one fails with its file and key.

    The folder defaults to UNILOAD_PROFILES_DIR, else the bundled data/profiles/.
    """
    folder = folder or Path(os.environ.get(ENV_PROFILES_DIR) or PROFILES_DIR)
    profiles: dict[str, Profile] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            profile = parse_profile(path.read_text(encoding="utf-8"), source=str(path))
        except ProfileError as err:
            raise ConfigError(str(err)) from err
        if profile.name in profiles:
            raise ConfigError(f"profile {path}: key 'name': {profile.name!r} is used twice")
        profiles[profile.name] = profile
    if not profiles:
        raise ConfigError(f"no profiles found in {folder} (expected *.toml files)")
    return profiles


def known_headers(profiles: dict[str, Profile]) -> set[str]:
    """Every header any profile knows: helps the reader find the header row."""
    return {h for p in profiles.values() for h in p.all_headers()}


def choose_profile(
    headers: Sequence[str], profiles: dict[str, Profile], *, name: str | None, file: str
) -> Profile:
    """The named profile, or the one the header row fits best."""
    if name:
        if name not in profiles:
            raise ConfigError(f"unknown profile {name!r}; known: {', '.join(sorted(profiles))}")
        return profiles[name]
    try:
        return detect(headers, profiles.values())
    except NoProfileFits as err:
        raise ProfileNotDetected(
            f"{file}: {err}. Pass --profile NAME, or add a profile in data/profiles/."
        ) from err
