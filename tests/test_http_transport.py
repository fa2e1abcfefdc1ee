"""aggregator/http_transport.py: fetch.py's requests go out through aiohttp, and what comes back
is what httpx's own transport gave (headers in order with repeats, reason phrase, raw bodies,
httpx's exceptions); through a proxy, httpx's own transport still carries them."""

from __future__ import annotations

import gzip
import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.fetch import fetch_all
from aggregator.models import FetchRequest, FetchResult, FetchSettings
from feedserver import FeedServer, RawHandler, send, write_head

SETTINGS = FetchSettings(timeout=5, max_bytes=1_000_000, concurrency=4)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def fetch(url: str, **request: str) -> FetchResult:
    return fetch_all([FetchRequest(url, **request)], SETTINGS)[0]


def test_repeated_headers_and_the_reason_phrase_come_through(server: FeedServer) -> None:
    def handle(h: RawHandler) -> None:
        h.close_connection = True
        send(h, b"HTTP/1.1 200 Fine Thanks\r\nContent-Type: application/rss+xml\r\nLink: <https://a.example/>; rel=hub\r\n"
                b"Link: <https://b.example/feed>; rel=self\r\nETag: \"v1\"\r\nContent-Length: " + str(len(RSS)).encode()
                + b"\r\nConnection: close\r\n\r\n" + RSS)  # fmt: skip

    result = fetch(server.add_handler("/links.xml", handle))
    assert result.status == "ok" and result.body == RSS and result.etag == '"v1"'
    # Joined with ", " as httpx joins repeats, so the hub and self links are both there (WebSub).
    assert result.headers["link"] == "<https://a.example/>; rel=hub, <https://b.example/feed>; rel=self"

    def refuse(h: RawHandler) -> None:
        write_head(h, 503, {"Content-Length": "0", "Retry-After": "120"}, reason="Come Back Later")

    result = fetch(server.add_handler("/busy.xml", refuse))
    assert result.status == "error" and result.error == "HTTP 503 Come Back Later" and result.retry_after == 120


def test_a_compressed_body_arrives_raw_and_is_decoded_by_fetch(server: FeedServer) -> None:
    """aiohttp never decompresses (fetch.py does, within max_bytes), and what the request asked
    for is fetch's own Accept-Encoding, not aiohttp's."""
    url = server.add("/gz.xml", gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    result = fetch(url)
    assert result.status == "ok" and result.body == RSS
    sent = server.hits("/gz.xml")[0].headers
    assert sent["accept-encoding"] == "gzip, deflate, br"
    assert "aiohttp" not in sent["user-agent"].lower() and sent["accept"].startswith("application/atom+xml")


def test_long_header_lines_are_read_and_endless_ones_refused(server: FeedServer) -> None:
    policy = "default-src 'self'; " + "script-src https://cdn.example; " * 600  # about 20 KB, as some sites send

    def long_line(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Security-Policy": policy, "Content-Length": str(len(RSS))})
        send(h, RSS)

    assert fetch(server.add_handler("/csp.xml", long_line)).body == RSS

    def endless(h: RawHandler) -> None:
        write_head(h, 200, {"X-Padding": "a" * 200_000, "Content-Length": str(len(RSS))})
        send(h, RSS)

    result = fetch(server.add_handler("/endless.xml", endless))
    assert result.status == "error" and result.error.startswith("invalid HTTP response"), result.error


def test_a_connection_dropped_mid_body_is_named(server: FeedServer) -> None:
    def drop(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Length": "5000"})
        send(h, RSS)

    result = fetch(server.add_handler("/short.xml", drop))
    assert result.status == "error" and result.error == "connection closed before the response was complete"


def test_many_fetches_share_a_few_connections(server: FeedServer) -> None:
    """Keep-alive through the pool: 40 feeds on one server cost at most `concurrency` connections."""
    peers: list[object] = []

    def keep_alive(h: RawHandler) -> None:
        peers.append(h.client_address)  # (host, port): one port per connection
        send(h, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: "
                + str(len(RSS)).encode() + b"\r\n\r\n" + RSS)  # fmt: skip

    urls = [server.add_handler(f"/k{n}.xml", keep_alive) for n in range(40)]
    results = fetch_all([FetchRequest(u) for u in urls], SETTINGS)
    assert all(r.status == "ok" and r.body == RSS for r in results)
    assert len(peers) == 40 and len(set(peers)) <= SETTINGS.concurrency


def test_through_a_configured_proxy_httpx_carries_the_request(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp would ignore HTTP_PROXY: a client made while a proxy is configured keeps httpx's own
    transport, which sends the request to the proxy (here the test server, asked for an absolute URL)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    server.add("http://feeds.invalid/feed.xml", RSS)
    result = fetch("http://feeds.invalid/feed.xml")
    assert result.status == "ok" and result.body == RSS
    assert [h.path for h in server.hits()] == ["http://feeds.invalid/feed.xml"]


def _tls_server(directory: Path, certificate: Path, key: Path) -> tuple[http.server.HTTPServer, threading.Thread]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_https_checks_the_certificate_against_the_bundled_authorities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS through the aiohttp transport: a certificate no authority in the bundle (certifi's, as
    httpx uses) signed is refused with a reason; one that a trusted authority signed for this name
    is fetched."""
    from aggregator import http_transport

    key, certificate = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(certificate), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)  # fmt: skip
    server, thread = _tls_server(tmp_path, certificate, key)
    try:
        url = f"https://localhost:{server.server_address[1]}/feed.xml"
        result = fetch(url)
        assert result.status == "error" and result.error.startswith("TLS error") and "certificate" in result.error
        # The same server, its certificate now trusted (standing in for an authority's): fetched,
        # so the name checked is the URL's (localhost, in the certificate).
        monkeypatch.setattr(http_transport.certifi, "where", lambda: str(certificate))
        result = fetch(url)
        assert result.status == "ok" and result.body == RSS, result.error
    finally:
        server.shutdown()
        thread.join(5)
