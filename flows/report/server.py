"""A read-only HTTP server for the local report store: `/` lists runs, `/runs/<id>/` one run.

Only GET and HEAD; only report files (failures.xlsx, failures*.csv, summary.md,
summary.json) of run folders directly under the store. A path that leaves the store
(`..`, encoded slashes, a symlink pointing outside) is answered 404, like any other.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final, cast
from urllib.parse import unquote, urlsplit

from flows.report.pages import REPORT_FILE, RUN_ID, index_page, run_page
from flows.settings import DEFAULT_REPORTS_HOST, DEFAULT_REPORTS_PORT

HTML: Final = "text/html; charset=utf-8"
NOT_FOUND: Final = b"<!doctype html><title>Not found</title><p>Not found.</p>"
CONTENT_TYPES: Final = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
}
DOWNLOADED: Final = (".xlsx", ".csv")  # sent as attachments; summaries open in the browser
COMMON_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # reports hold customers' personal data
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What one GET returns: a page, a file, or a redirect."""

    content_type: str = HTML
    body: bytes = b""
    file: Path | None = None
    download_as: str | None = None
    redirect: str | None = None


def inside(root: Path, *parts: str) -> Path | None:
    """The real path of root/parts when it stays inside root's real path, else None."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, *parts))
    return Path(real) if os.path.commonpath([real_root, real]) == real_root else None


def answer(root: Path, raw_path: str) -> Answer | None:
    """The answer to a GET of `raw_path` (path and query as sent), or None for 404."""
    path = urlsplit(raw_path).path
    if any(bad in path.lower() for bad in ("%2f", "%5c", "\\", "%00")):
        return None
    path = unquote(path)
    if path == "/":
        return Answer(body=index_page(root))
    parts = path.split("/")
    if len(parts) not in (3, 4) or parts[:2] != ["", "runs"] or not RUN_ID.fullmatch(parts[2]):
        return None
    folder = inside(root, parts[2])
    if folder is None or not folder.is_dir():
        return None
    if len(parts) == 3:
        return Answer(redirect=f"{parts[2]}/")  # relative: works behind a path prefix
    if parts[3] == "":
        return Answer(body=run_page(parts[2], folder))
    return _file_answer(root, parts[2], parts[3])


def _file_answer(root: Path, run_id: str, name: str) -> Answer | None:
    found = inside(root, run_id, name) if REPORT_FILE.fullmatch(name) else None
    if found is None or not found.is_file():
        return None
    suffix = Path(name).suffix  # the name asked for, even when a symlink in the store differs
    download = f"{run_id}-{name}" if suffix in DOWNLOADED else None
    return Answer(content_type=CONTENT_TYPES[suffix], file=found, download_as=download)


class ReportHandler(BaseHTTPRequestHandler):
    """Answers GET and HEAD from the store; every other method is refused."""

    server_version = "uniload-reports"
    sys_version = ""

    def do_GET(self) -> None:
        """Send the page or file, or 404."""
        self._respond(body=True)

    def do_HEAD(self) -> None:
        """Send the headers GET would send."""
        self._respond(body=False)

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _respond(self, *, body: bool) -> None:
        root = cast("ReportHTTPServer", self.server).root
        found = answer(root, self.path)
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, HTML, NOT_FOUND, body)
        elif found.redirect:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", found.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif found.file is None:
            self._send(HTTPStatus.OK, found.content_type, found.body, body)
        else:
            self._send_file(found, body)

    def _send(self, status: HTTPStatus, content_type: str, data: bytes, body: bool) -> None:
        self._head(status, content_type, len(data))
        if body:
            self.wfile.write(data)

    def _send_file(self, found: Answer, body: bool) -> None:
        assert found.file is not None
        try:
            source = open(found.file, "rb")  # noqa: SIM115 (closed below)
        except OSError:  # removed since it was found (a rerun replacing its report)
            self._send(HTTPStatus.NOT_FOUND, HTML, NOT_FOUND, body)
            return
        with source:
            self._head(HTTPStatus.OK, found.content_type, os.fstat(source.fileno()).st_size, found)
            if body:
                shutil.copyfileobj(source, self.wfile)

    def _head(self, status: HTTPStatus, kind: str, size: int, found: Answer | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        if found is not None and found.download_as:
            self.send_header("Content-Disposition", f'attachment; filename="{found.download_as}"')
        for key, value in COMMON_HEADERS.items():
            self.send_header(key, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: an operator's serve loop is not a web log."""


class ReportHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows the store's root folder."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.root = root
        super().__init__(address, ReportHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that hangs up mid-download is no error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]  # socketserver's types, as given


@dataclass
class ReportServer:
    """A report server running in a daemon thread; `url` is where a browser on this host goes."""

    httpd: ReportHTTPServer
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def start_report_server(
    root: Path, *, host: str = DEFAULT_REPORTS_HOST, port: int = DEFAULT_REPORTS_PORT
) -> ReportServer:
    """Serve `root` read-only on host:port (0: any free port) from a daemon thread."""
    httpd = ReportHTTPServer((host, port), root.absolute())
    thread = threading.Thread(
        target=httpd.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="uniload-reports",
        daemon=True,
    )
    thread.start()
    return ReportServer(httpd, thread, browser_url(host, httpd.server_address[1]))


def browser_url(host: str, port: int) -> str:
    """http://host:port, with this machine's name for a wildcard host."""
    shown = socket.gethostname() if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
