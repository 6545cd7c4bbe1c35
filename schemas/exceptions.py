"""Failures of the data models themselves, each naming the file and the key to fix.

Hierarchy::

    ValueError
    └── ProfileError          a profile file that cannot be used (bad TOML, unknown key, bad value)
"""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the key."""
