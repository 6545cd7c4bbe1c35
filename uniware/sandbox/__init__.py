"""A local Uniware look-alike for POST /uc/v1/order, with fault injection.

The names below load their modules on first use, so ``uniware.sandbox.cli`` (which
``uniload --help`` reads for its options) does not bring in the HTTP server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uniware.sandbox.faults import Faults
    from uniware.sandbox.process import SandboxProcess
    from uniware.sandbox.server import SandboxServer, running_sandbox, serve_sandbox

__all__ = ["Faults", "SandboxProcess", "SandboxServer", "running_sandbox", "serve_sandbox"]
_HOMES = {
    "Faults": "faults",
    "SandboxProcess": "process",
    "SandboxServer": "server",
    "running_sandbox": "server",
    "serve_sandbox": "server",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module when it is first asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"uniware.sandbox.{_HOMES[name]}"), name)
