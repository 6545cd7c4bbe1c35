"""Files and folders readable by their owner only: reports hold customers' personal data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Final

FOLDER_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (0o600, also when it existed before)."""
    with open_private(path) as out:
        out.write(data)


def open_private(path: Path) -> IO[bytes]:
    """A new file readable by its owner only (0o600), open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    out = os.fdopen(os.open(path, flags, FILE_MODE), "wb")
    os.fchmod(out.fileno(), FILE_MODE)
    return out
