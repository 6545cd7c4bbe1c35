"""One scrubber for every text that leaves the process: no security key, no URL password.

``register`` adds a secret (``Credentials`` register their security key when made); ``redact``
replaces every registered secret, and the user info of any URL (``https://user:pw@host``),
with ``***``. Texts leaving the process pass ``redact``: ledger messages and delivery reasons
(``uniware.delivery``), ``UniwareError`` messages, the CLI's messages, and every log record
(``register`` installs a log-record factory that scrubs message, arguments and traceback).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Final

MASK: Final = "***"
MIN_SECRET_CHARS: Final = 4  # shorter values would blank ordinary words
USER_INFO: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register(secret: str) -> None:
    """Scrub ``secret`` from every text from now on (and log records from now on)."""
    global _installed
    if len(secret) < MIN_SECRET_CHARS:
        return
    with _lock:
        _secrets.add(secret)
        if not _installed:
            _install_log_scrubber()
            _installed = True


def redact(text: str) -> str:
    """``text`` without any registered secret or URL user info."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return USER_INFO.sub(rf"\g<1>{MASK}@", text)


def _install_log_scrubber() -> None:
    """Every log record made from now on carries scrubbed text only."""
    make = logging.getLogRecordFactory()

    def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging to report
            return record
        clean = redact(message)
        if clean != message:  # untouched otherwise: some formatters read ``args`` themselves
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            if redact(trace) != trace:
                record.exc_text = redact(trace)
        return record

    logging.setLogRecordFactory(scrubbed)
