"""Failures of a whole run, each with a message a seller can act on.

Hierarchy::

    UniloadError                  exit code 1, message printed without a traceback
    ├── ConfigError               bad option, environment variable, profile or facility map
    ├── UnreadableExport          an input file cannot be read as an export
    ├── ProfileNotDetected        no profile fits a file's header row
    ├── RunStopped                posting stopped early (Uniware unreachable, keys refused)
    ├── StreamStopped             the same, in a run block by block
    ├── ReportNotWritten          the report failed after preflight (disk full, folder gone)
    └── RunFailed                 a flow run that ended Failed (its state message says why)

Per-row problems are never exceptions: they are ``transforms.errors.RowError`` data.
Uniware-side run failures live in ``uniware.exceptions`` and also map to exit code 1.
"""

from __future__ import annotations


class UniloadError(Exception):
    """A failure of the whole run; ``str(err)`` is shown to the seller as is."""


class ConfigError(UniloadError):
    """A configuration problem: bad option, environment, profile or facility map."""


class UnreadableExport(UniloadError):
    """An input file that cannot be read as an export (names the file and the fix)."""


class ProfileNotDetected(UniloadError):
    """No marketplace profile fits a file's header row."""


class RunStopped(UniloadError):
    """Posting stopped early (Uniware unreachable or refusing the credentials)."""


class StreamStopped(UniloadError):
    """Posting stopped early in a run block by block (Uniware unreachable, keys refused)."""


class ReportNotWritten(UniloadError):
    """The report could not be written after the preflight passed (disk full, folder gone)."""


class RunFailed(UniloadError):
    """A flow run that ended Failed; its state message says why."""
