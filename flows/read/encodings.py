"""Text encodings of exports: detected from the first bytes, decoded without ever failing.

The rule is simple and predictable:

1. A byte-order mark decides: UTF-8 (``utf-8-sig``) or UTF-16 of either byte order
   (``utf-16``, as some seller centrals export).
2. Without a mark, ASCII text with a NUL byte beside every character is UTF-16
   (``utf-16-le`` / ``utf-16-be``).
3. Otherwise the text is UTF-8, and any byte that is not part of valid UTF-8 is read as
   Windows-1252 (the five bytes cp1252 leaves undefined as Latin-1). So a pure UTF-8
   file reads exactly, a Windows-1252 file (Excel on Windows, some Amazon reports) reads
   right, and a file mixing both (rows pasted from two sources) reads right too: each
   byte sequence is decoded by the encoding it is valid in. The encoding reported is
   ``cp1252`` when the first MiB holds such bytes, else ``utf-8``.

A file is not text when NUL bytes (outside UTF-16) or control characters make up a real
share of its first MiB (``BINARY_NUL_SHARE``, ``BINARY_CONTROL_SHARE``). A few stray ones
in an otherwise text export are damage inside some cells: the reader removes them from
those cells and names the rows (``flows.read.raw_tables.strip_control_bytes``).
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

TextEncoding = Literal["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"]

FALLBACK_ERRORS = "uniload-cp1252"
UTF16_PROBE_BYTES = 4096
UTF16_NUL_SHARE = 0.3
BINARY_CONTROL_SHARE = 0.1
BINARY_NUL_SHARE = 0.05  # a real export was seen with 8 stray NULs in 50 kB: far below
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")

_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_BYTE_CHARS = tuple(
    chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in range(256)
)


def decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes that are not valid UTF-8 as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(_BYTE_CHARS[b] for b in bad), error.end


codecs.register_error(FALLBACK_ERRORS, decode_as_cp1252)


def codec_of(encoding: TextEncoding) -> str:
    """The Python codec that decodes text of ``encoding`` (with ``FALLBACK_ERRORS``)."""
    return "utf-8" if encoding == "cp1252" else encoding


def detect_encoding(sample: bytes) -> TextEncoding:
    """The encoding of a file from its first bytes (see the module docstring)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    unmarked = detect_unmarked_utf16(sample)
    if unmarked is not None:
        return unmarked
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_unmarked_utf16(sample: bytes) -> TextEncoding | None:
    """``utf-16-le``/``-be`` when mostly-ASCII text has a NUL beside every character."""
    probe = sample[: UTF16_PROBE_BYTES - UTF16_PROBE_BYTES % 2]
    if len(probe) < 2:
        return None
    pairs = len(probe) // 2
    even_nuls = probe[0::2].count(0) / pairs
    odd_nuls = probe[1::2].count(0) / pairs
    if odd_nuls > UTF16_NUL_SHARE and even_nuls == 0:
        return "utf-16-le"
    if even_nuls > UTF16_NUL_SHARE and odd_nuls == 0:
        return "utf-16-be"
    return None


def decode_sample(sample: bytes, encoding: TextEncoding) -> str:
    """The text of the first bytes of a file (a cut multi-byte character at the end dropped)."""
    decoder = codecs.getincrementaldecoder(codec_of(encoding))(errors=FALLBACK_ERRORS)
    return str(decoder.decode(sample, final=False))


def looks_binary(encoding: TextEncoding, sample: bytes, text: str) -> bool:
    """True when the bytes are not text: many NUL bytes (outside UTF-16) or control chars."""
    nuls = sample.count(b"\x00")
    if not encoding.startswith("utf-16") and nuls > BINARY_NUL_SHARE * len(sample):
        return True
    if not text:
        return False
    return len(CONTROL_CHARS.findall(text)) / len(text) > BINARY_CONTROL_SHARE
