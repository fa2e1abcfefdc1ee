"""A real HTTP server on 127.0.0.1 that serves feed files for the tests, and misbehaves on request.

Routes are set per test: a static body (with ETag/Last-Modified and 304 support), or a handler
function that writes whatever it likes to the raw socket (slow drips, resets, bombs, loops).
Every request is logged so tests can assert what the client really sent.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
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

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-response (a fetcher refusing a bomb) is the expected case in
        # these tests, not a server error worth a traceback on stderr.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FeedServer:
    """Start with `with FeedServer() as server:`; `server.url("/x")` is the address of route /x."""

    def __init__(self, poll_interval: float = 0.05, host: str = "127.0.0.1") -> None:
        self.host = host
        # How often serve_forever checks for shutdown: each FeedServer's exit waits up to this long.
        self.poll_interval = poll_interval
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

        self._httpd = _ThreadingServer((host, 0), RequestHandler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )

    # ------------------------------------------------------------------ setup
    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

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


# --------------------------------------------------------------------------- raw-handler helpers
# For Route.handler functions that write the response themselves. Every helper gives up when the
# client disconnects or a deadline passes, so handler threads always end and the server shuts down.

RawHandler = http.server.BaseHTTPRequestHandler


def write_head(
    handler: RawHandler, status: int = 200, headers: dict[str, str] | None = None, reason: str = "OK"
) -> None:
    """Write a status line and headers; the connection closes after this response."""
    handler.close_connection = True
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Connection: close")
    send(handler, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def send(handler: RawHandler, data: bytes) -> bool:
    """Write raw bytes; False once the client has gone away."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
        return True
    except (BrokenPipeError, ConnectionResetError, OSError):
        return False


def client_gone(handler: RawHandler, wait: float = 0.0) -> bool:
    """True when the client has closed its end (or the socket is unusable)."""
    sock: socket.socket = handler.connection
    try:
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def wait_for_disconnect(handler: RawHandler, max_seconds: float = 10.0) -> None:
    """Say nothing until the client hangs up, or max_seconds pass."""
    handler.close_connection = True
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline and not client_gone(handler, 0.05):
        pass


def drip(handler: RawHandler, data: bytes, interval: float, max_seconds: float = 10.0) -> None:
    """Write `data` one byte per `interval` seconds until done, the client leaves, or max_seconds pass."""
    handler.close_connection = True
    deadline = time.monotonic() + max_seconds
    for i in range(len(data)):
        if time.monotonic() > deadline or not send(handler, data[i : i + 1]) or client_gone(handler, interval):
            return


def reset_connection(handler: RawHandler) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0) instead of an orderly close."""
    handler.close_connection = True
    sock: socket.socket = handler.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


# --------------------------------------------------------------------------- compression bombs

_MB = 1 << 20


def deflate_bomb(size: int, container: str = "gzip") -> bytes:
    """A valid compressed stream of `size` zero bytes (a multiple of 1 MiB), built without ever
    holding more than 1 MiB of plaintext: after a full flush every 1 MiB of zeros compresses to
    the same bytes, so the body is one block repeated. container: "gzip", "zlib" or "raw"."""
    if size % _MB or size < 2 * _MB:
        raise ValueError("size must be a multiple of 1 MiB, at least 2 MiB")
    wbits = {"gzip": 31, "zlib": 15, "raw": -15}[container]
    zeros = bytes(_MB)
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH) == block
    final_empty_block = b"\x03\x00"  # BFINAL=1, fixed Huffman, just the end-of-block code
    body = [first, block * (size // _MB - 1), final_empty_block]
    if container == "gzip":
        crc = 0
        for _ in range(size // _MB):
            crc = zlib.crc32(zeros, crc)
        body.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    elif container == "zlib":
        adler = 1
        for _ in range(size // _MB):
            adler = zlib.adler32(zeros, adler)
        body.append(struct.pack(">I", adler))
    return b"".join(body)


def brotli_bomb(size: int) -> bytes:
    """A brotli stream of `size` zero bytes (a multiple of 1 MiB), compressed 1 MiB at a time."""
    import brotli  # type: ignore[import-untyped]

    zeros = bytes(_MB)
    comp = brotli.Compressor(quality=1)
    parts = [comp.process(zeros) for _ in range(size // _MB)]
    parts.append(comp.finish())
    return b"".join(parts)
