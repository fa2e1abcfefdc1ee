"""A real HTTP server on 127.0.0.1 that serves feed files for the tests, and misbehaves on request.

Routes are set per test: a static body (with ETag/Last-Modified and 304 support), or a handler
function that writes whatever it likes to the raw socket (slow drips, resets, bombs, loops).
Every request is logged so tests can assert what the client really sent.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

Handler = Callable[["http.server.BaseHTTPRequestHandler"], None]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # send an ETag and answer If-None-Match with 304
    last_modified: str | None = "Wed, 01 Jan 2025 00:00:00 GMT"
    handler: Handler | None = None  # takes over the whole response


@dataclass
class RequestRecord:
    path: str
    headers: dict[str, str]
    status: int
    at: float


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class FeedServer:
    """Start with `with FeedServer() as server:`; `server.url("/x")` is the address of route /x."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        server = self

        class RequestHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = self.path
                route = server.routes.get(path) or server.routes.get(path.split("?")[0])
                headers = {k.lower(): v for k, v in self.headers.items()}
                if route is None:
                    server._record(path, headers, 404)
                    self._send(404, b"not found", "text/plain")
                    return
                if route.handler is not None:
                    server._record(path, headers, route.status)
                    route.handler(self)
                    return
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"' if route.etag else None
                not_modified = route.status == 200 and (
                    (etag is not None and headers.get("if-none-match") == etag)
                    or (
                        etag is None
                        and route.last_modified is not None
                        and headers.get("if-modified-since") == route.last_modified
                    )
                )
                status = 304 if not_modified else route.status
                server._record(path, headers, status)
                extra = dict(route.headers)
                if etag:
                    extra["ETag"] = etag
                if route.last_modified:
                    extra["Last-Modified"] = route.last_modified
                self._send(status, b"" if status == 304 else route.body, route.content_type, extra)

            def _send(
                self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                if status != 304:
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD" and status != 304:
                    self.wfile.write(body)

        self._httpd = _ThreadingServer(("127.0.0.1", 0), RequestHandler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------------ setup
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | str | Path = b"", **kwargs: object) -> str:
        if isinstance(body, Path):
            body = body.read_bytes()
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def add_handler(self, path: str, handler: Handler) -> str:
        self.routes[path] = Route(handler=handler)
        return self.url(path)

    # ------------------------------------------------------------------ inspection
    def _record(self, path: str, headers: dict[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(RequestRecord(path, headers, status, time.monotonic()))

    def hits(self, path: str | None = None, status: int | None = None) -> list[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (status is None or r.status == status)
            ]

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def http_date(ts: float | None = None) -> str:
    return email.utils.formatdate(ts if ts is not None else time.time(), usegmt=True)
