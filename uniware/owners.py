"""Who holds a claim: ``host:pid``, and whether that process is known to be gone."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


def _space() -> str:
    """Where a pid means one process: host name, boot id and pid namespace."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:  # no /proc: a pid cannot be checked, leases only run out
        return f"{socket.gethostname()}/unknown/{secrets.token_hex(8)}"
    return f"{socket.gethostname()}/{boot}/{namespace}"


OWNER_SPACE = _space()


def this_owner() -> str:
    """This process as a claim owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_gone(owner: str | None, space: str | None) -> bool:
    """True when ``owner`` ran where this process runs and its pid is no longer alive."""
    if owner is None or space != OWNER_SPACE or ":" not in owner:
        return False
    pid = owner.rsplit(":", 1)[1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False
