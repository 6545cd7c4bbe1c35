"""A local Uniware look-alike for POST /uc/v1/order, with fault injection."""

from uniware.sandbox.faults import Faults
from uniware.sandbox.process import SandboxProcess
from uniware.sandbox.server import SandboxServer, running_sandbox, serve_sandbox

__all__ = ["Faults", "SandboxProcess", "SandboxServer", "running_sandbox", "serve_sandbox"]
