"""Run the sandbox: ``serve_sandbox`` builds it, ``running_sandbox`` serves it in a thread.

Facility codes: an item's ``facilityCode`` is the marketplace's location id (a KEY of the
seller's warehouse→facility JSON map); Uniware maps it to its own facility. So the sandbox
accepts a code only if it is a key of its map; anything else (including a Uniware facility
code, i.e. a VALUE of the map) fails with INVALID_FACILITY_CODE and the order is not
created. ``facility_map=None`` switches the check off; ``{}`` refuses every facilityCode.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from uniware import settings
from uniware.config import Credentials, demo_credentials
from uniware.sandbox.faults import FaultDice, Faults
from uniware.sandbox.handler import SandboxHandler
from uniware.sandbox.store import IN_MEMORY, SandboxStore

SHOWN_FACILITY_CODES = 10
POLL_SECONDS = 0.05  # how fast serve_forever notices shutdown()


class SandboxServer(ThreadingHTTPServer):
    """The sandbox's HTTP server; its handler threads are daemons."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(
        self,
        *,
        address: tuple[str, int],
        store: SandboxStore,
        credentials: Credentials,
        faults: Faults,
        facility_map: Mapping[str, str] | None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, SandboxHandler)
        self.store = store
        self.credentials = credentials
        self.dice = FaultDice(faults)
        self.facility_map = None if facility_map is None else dict(facility_map)
        self.stopping = threading.Event()
        self.started = threading.Event()
        self._closed = False

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow on some machines)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def base_url(self) -> str:
        """``http://host:port`` as clients should use it."""
        host, port = self.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host_text}]" if ":" in host_text else host_text
        return f"http://{shown}:{port}"

    def serve_forever(self, poll_interval: float = POLL_SECONDS) -> None:
        """Serve until ``shutdown()`` (or Ctrl-C in the foreground)."""
        self.started.set()
        super().serve_forever(poll_interval)

    def shutdown(self) -> None:
        """Stop serving, wake hanging requests, release the port and the database."""
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        if self.started.is_set():
            super().shutdown()
        self.server_close()
        self.store.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that vanish mid-answer are normal under faults: stay quiet."""

    def unknown_facility(self, payload: Mapping[str, Any]) -> str:
        """Why an item's facilityCode is not in the map ("" when all are, or no map)."""
        if self.facility_map is None:
            return ""
        for index, item in enumerate(payload["orderItems"]):
            code = item.get("facilityCode")
            if code is not None and code not in self.facility_map:
                known = ", ".join(sorted(self.facility_map)[:SHOWN_FACILITY_CODES]) or "none"
                return (
                    f"orderItems[{index}].facilityCode {code!r} is not in the seller's "
                    f"warehouse→facility map (known marketplace codes: {known})"
                )
        return ""


def serve_sandbox(
    *,
    host: str = settings.SANDBOX_HOST,
    port: int = 0,
    db_path: str | Path = IN_MEMORY,
    facility_map: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
    faults: Faults | None = None,
) -> SandboxServer:
    """A bound (not yet serving) sandbox; port 0 picks a free port (see ``.base_url``)."""
    store = SandboxStore(db_path)
    try:
        return SandboxServer(
            address=(host, port),
            store=store,
            credentials=credentials or demo_credentials(),
            faults=faults or Faults(),
            facility_map=facility_map,
        )
    except BaseException:
        store.close()
        raise


@contextmanager
def running_sandbox(**kwargs: Any) -> Iterator[SandboxServer]:
    """Serve a sandbox (arguments of ``serve_sandbox``) in a background thread."""
    server = serve_sandbox(**kwargs)
    thread = threading.Thread(target=server.serve_forever, name="uniware-sandbox", daemon=True)
    thread.start()
    server.started.wait()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
