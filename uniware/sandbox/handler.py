"""The sandbox's HTTP handler: auth, faults, contract, duplicates, facility map, inspection.

Cancellations and returns (``/uc/v1/order/cancel``, ``/uc/v1/returns``) pass the same auth and
fault gate as orders, are held to their contract (schemas/changes.py), then change the
order's item states (uniware/sandbox/items.py) or are refused with a ``failure`` message.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import time
from collections.abc import Callable, Mapping
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import parse_qs, unquote, urlsplit

from schemas.changes import check_cancel, check_return
from schemas.contract import check_order
from uniware import settings
from uniware.sandbox.store import DROPPED_STATUS, Outcome, RequestKind, RequestRecord

if TYPE_CHECKING:
    from uniware.sandbox.server import SandboxServer

SHOWN_VIOLATIONS: Final = 5
ORDERS_PATH: Final = "/_sandbox/orders"
CREATED_MESSAGE: Final = "Order created successfully"
CHANGED_MESSAGES: Final = {
    "cancel": "Successfully updated Order detail",
    "return": "Return created successfully",
}
CHANGE_PATHS: Final[dict[str, RequestKind]] = {
    settings.CANCEL_PATH: "cancel",
    settings.RETURN_PATH: "return",
}
NOT_JSON: Final = object()  # the parse result of a body that is not JSON


class SandboxHandler(BaseHTTPRequestHandler):
    """One connection to the sandbox (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: SandboxServer
    answer_due = 0.0  # monotonic time before which an order or change request gets no answer
    arrived = 0.0  # monotonic time the current request's first line was read
    answer: Callable[[], None] | None = None  # the decided answer (or drop), not yet sent

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the request log lives in the store."""

    def parse_request(self) -> bool:
        """Note when the request arrived (its first line was just read), then parse it."""
        self.arrived = time.monotonic()
        return super().parse_request()

    def handle_one_request(self) -> None:
        """Serve one request; its answer leaves only after the request log holds it.

        A client that has its answer may read the log at once (the tests do), so the
        handlers decide the answer (``_send_bytes``, ``_drop``), log, and only then is it sent.
        """
        try:
            super().handle_one_request()
        finally:
            answer, self.answer = self.answer, None
            if answer is not None:
                answer()
                with contextlib.suppress(OSError, ValueError):
                    self.wfile.flush()

    def do_POST(self) -> None:
        """Order requests and the reset endpoint."""
        body = self._read_body()
        path = urlsplit(self.path).path
        if path == settings.ORDER_PATH or path in CHANGE_PATHS:  # latency: arrival to answer
            self.answer_due = self.arrived + self.server.dice.faults.latency_ms / 1000
        if path == settings.ORDER_PATH:
            self._post_order(body, time.time())
        elif path in CHANGE_PATHS:
            self._post_change(CHANGE_PATHS[path], body, time.time())
        elif path == "/_sandbox/reset":
            self.server.store.reset()
            self._send(200, {"status": "success", "message": "sandbox reset", "data": None})
        else:
            self._send(404, {"status": "failure", "message": f"NOT_FOUND: {path}", "data": None})

    def do_GET(self) -> None:
        """Inspection endpoints under /_sandbox."""
        parts = urlsplit(self.path)
        store = self.server.store
        if parts.path == ORDERS_PATH:
            ids = store.accepted_ids()
            self._send(200, {"count": len(ids), "ids": ids})
        elif parts.path.startswith(ORDERS_PATH + "/"):
            self._get_order(unquote(parts.path[len(ORDERS_PATH) + 1 :]))
        elif parts.path == "/_sandbox/requests":
            query = parse_qs(parts.query)
            wanted, kind = query.get("id", [None])[0], query.get("kind", [None])[0]
            records = [
                {
                    "t": r.t,
                    "id": r.order_id,
                    "status": r.status,
                    "outcome": r.outcome,
                    "kind": r.kind,
                }
                for r in store.requests(wanted, kind)
            ]
            self._send(200, {"requests": records})
        elif parts.path == "/_sandbox/stats":
            self._send(200, store.stats())
        else:
            self._send(404, {"status": "failure", "message": f"NOT_FOUND: {parts.path}"})

    def _get_order(self, order_id: str) -> None:
        found = self.server.store.order(order_id)
        if found is None:
            self._send(404, {"status": "failure", "message": f"no order {order_id!r}"})
        else:
            body = {
                "id": found.id,
                "payload": found.payload,
                "requests": found.requests,
                "items": found.items,
                "returns": found.returns,
            }
            self._send(200, body)

    def _post_order(self, body: bytes, received: float) -> None:
        order_id, payload = _parse(body)
        status, outcome = self._answer_order(body, order_id, payload)
        self.server.store.log_request(RequestRecord(received, order_id, status, outcome))

    def _answer_order(
        self, body: bytes, order_id: str | None, payload: object
    ) -> tuple[int, Outcome]:
        """Decide and send (or withhold) the answer; return what was done."""
        stopped = self._gate(payload)
        if stopped is not None:
            return stopped
        violations = check_order(cast(Mapping[str, Any], payload))  # it checks the type too
        if violations:
            return self._invalid(violations)
        assert order_id is not None  # check_order requires a text id
        return self._create(order_id, payload, body)

    def _gate(self, payload: object) -> tuple[int, Outcome] | None:
        """Auth, injected faults and JSON, as for every request: what was done, or None."""
        refusal = self._refusal()
        if refusal:
            self._fail(401, f"AUTHENTICATION_FAILURE: {refusal}")
            return 401, "auth_failure"
        faulted = self._inject_fault()
        if faulted is not None:
            return faulted
        if payload is NOT_JSON:
            self._fail(400, "INVALID_FORMAT: the request body is not a valid JSON document")
            return 400, "bad_json"
        return None

    def _invalid(self, violations: list[Any]) -> tuple[int, Outcome]:
        shown = [f"{v.code}: {v.message}" for v in violations[:SHOWN_VIOLATIONS]]
        more = len(violations) - len(shown)
        self._fail(200, "; ".join(shown) + (f" (and {more} more)" if more > 0 else ""))
        return 200, "invalid"

    def _post_change(self, kind: RequestKind, body: bytes, received: float) -> None:
        payload = _json(body)
        code = payload.get("saleOrderCode") if isinstance(payload, dict) else None
        status, outcome = self._answer_change(kind, payload)
        order_id = code if isinstance(code, str) else None
        self.server.store.log_request(RequestRecord(received, order_id, status, outcome, kind))

    def _answer_change(self, kind: RequestKind, payload: Any) -> tuple[int, Outcome]:
        """Gate, contract, then the change to the order's item states (or why not)."""
        stopped = self._gate(payload)
        if stopped is not None:
            return stopped
        violations = (check_cancel if kind == "cancel" else check_return)(payload)
        if violations:
            return self._invalid(violations)
        store, order_id = self.server.store, payload["saleOrderCode"]
        if kind == "cancel":
            units = [
                (f"{i['productId']}/{i['variantId']}", i["quantity"])
                for i in payload["cancelledSkuCodes"]
            ]
            refused = store.cancel(order_id, units)
        else:
            returned = [
                (i["channelProductId"], i["quantity"]) for i in payload.get("orderItems") or []
            ]
            refused = store.add_return(order_id, payload["returnID"], payload["type"], returned)
        if refused:
            self._fail(200, refused)
            return 200, "refused"
        if self.server.dice.drop_after_commit():
            self._drop()
            return DROPPED_STATUS, "accepted_answer_dropped"
        self._send(200, {"status": "success", "message": CHANGED_MESSAGES[kind], "data": None})
        return 200, "cancelled" if kind == "cancel" else "returned"

    def _create(self, order_id: str, payload: Any, body: bytes) -> tuple[int, Outcome]:
        store = self.server.store
        if store.has_order(order_id):
            self._fail(200, f"DUPLICATE_SALE_ORDER: order {order_id} already exists")
            return 200, "duplicate"
        unknown = self.server.unknown_facility(payload)
        if unknown:
            self._fail(200, f"INVALID_FACILITY_CODE: {unknown}")
            return 200, "invalid_facility"
        if not store.accept(order_id, body.decode("utf-8"), time.time()):
            self._fail(200, f"DUPLICATE_SALE_ORDER: order {order_id} already exists")
            return 200, "duplicate"
        if self.server.dice.drop_after_commit():
            self._drop()
            return DROPPED_STATUS, "accepted_answer_dropped"
        self._send(200, {"status": "success", "message": CREATED_MESSAGE, "data": None})
        return 200, "accepted"

    def _refusal(self) -> str:
        """Why the auth headers are refused ("" when they are right); never echoes the key."""
        expected = self.server.credentials.as_headers()
        for name in expected:
            if not self.headers.get(name):
                return f"missing header {name}"
        for name, value in expected.items():
            if not hmac.compare_digest(self.headers[name].encode(), value.encode()):
                return "clientid, merchantid or securitykey not recognised"
        return ""

    def _inject_fault(self) -> tuple[int, Outcome] | None:
        dice = self.server.dice
        faults = dice.faults
        fault = dice.draw()
        if fault == "hang":
            self._drop(after=faults.hang_seconds)
            return DROPPED_STATUS, "hang"
        if fault == "drop":
            self._drop()
            return DROPPED_STATUS, "dropped"
        if fault == "throttle":
            retry = {"Retry-After": f"{faults.retry_after:g}"}
            self._fail(429, "TOO_MANY_REQUESTS: slow down and retry later", retry)
            return 429, "throttled"
        if fault == "server_error":
            return self._server_error(dice.server_error_status()), "server_error"
        return None

    def _server_error(self, status: int) -> int:
        if status == 503:
            self._fail(503, "SERVICE_UNAVAILABLE: try again later")
        else:
            self._send_bytes(status, b"Internal Server Error", "text/plain", {})
        return status

    def _await_due(self) -> None:
        """Hold the answer (or the drop) until the latency has passed since the request came."""
        left = self.answer_due - time.monotonic()
        if left > 0:
            self.server.stopping.wait(left)

    def _drop(self, after: float = 0.0) -> None:
        """Close the connection without sending a byte (``after`` seconds of silence)."""
        self.close_connection = True
        self.answer = partial(self._shut, after)

    def _shut(self, after: float) -> None:
        if after > 0:
            self.server.stopping.wait(after)
        self._await_due()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _fail(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"status": "failure", "message": message, "data": None}, headers)

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, data, settings.CONTENT_TYPE_JSON, headers or {})

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        self.answer = partial(self._write, status, data, content_type, headers)

    def _write(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self._await_due()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client is gone (killed): what was done is logged


def _json(body: bytes) -> Any:
    """The parsed body, or NOT_JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def _parse(body: bytes) -> tuple[str | None, object]:
    """(order id if any, parsed JSON or NOT_JSON)."""
    payload = _json(body)
    if payload is NOT_JSON:
        return None, NOT_JSON
    order_id = payload.get("id") if isinstance(payload, dict) else None
    return (order_id if isinstance(order_id, str) else None), payload
