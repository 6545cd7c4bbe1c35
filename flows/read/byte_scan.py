"""One pass over a text export's bytes: can any cell hold a stray control byte, or begin with
an apostrophe (the text mark)? When not, the reader skips looking at every cell for them.

Only for encodings where each such character is its own single byte (UTF-8, and cp1252 read
through UTF-8): a byte 0x00-0x1F or 0x7F, or 0x27, never occurs inside another character.
UTF-16 files report both as possible, and their cells are looked at as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from flows.read.encodings import TextEncoding

BLOCK_BYTES: Final = 16 << 20
LINE_BYTES: Final = (0x09, 0x0A, 0x0D)  # tab and line breaks: not stray
DELETE: Final = 0x7F
APOSTROPHE: Final = b"'"


@dataclass(frozen=True)
class ByteScan:
    """What the file's bytes may hold: stray control bytes, apostrophes."""

    control: bool = True
    apostrophe: bool = True


def scan_bytes(path: Path, encoding: TextEncoding) -> ByteScan:
    """Whether ``path`` holds a stray control byte or an apostrophe anywhere."""
    if encoding.startswith("utf-16"):
        return ByteScan()
    control = apostrophe = False
    with path.open("rb") as stream:
        while not (control and apostrophe) and (block := stream.read(BLOCK_BYTES)):
            control = control or _has_control(block)
            apostrophe = apostrophe or APOSTROPHE in block
    return ByteScan(control, apostrophe)


def _has_control(block: bytes) -> bool:
    codes = np.frombuffer(block, dtype=np.uint8)
    if (codes == DELETE).any():
        return True
    low = codes[codes < 0x20]
    return not bool(np.isin(low, LINE_BYTES).all())
