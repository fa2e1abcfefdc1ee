"""Servers that misbehave on purpose: loops, dangerous redirects, compression bombs, endless or
dripping responses, resets and lies. The fetcher must answer each with a result, in bounded time
and memory, and never read a local file."""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.fetch import fetch_all
from aggregator.models import FetchRequest, FetchResult, FetchSettings
from feedserver import (
    FeedServer,
    RawHandler,
    brotli_bomb,
    deflate_bomb,
    drip,
    reset_connection,
    send,
    wait_for_disconnect,
    write_head,
)

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
TIMEOUT = 1.5
LIMIT = 1_000_000
SETTINGS = FetchSettings(timeout=TIMEOUT, max_bytes=LIMIT)
BOMB_SIZE = 2 << 30  # 2 GiB decompressed


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer(poll_interval=0.02) as s:
        yield s


def fetch(url: str, settings: FetchSettings = SETTINGS) -> FetchResult:
    return fetch_all([FetchRequest(url)], settings)[0]


def assert_error(result: FetchResult, reason: str) -> None:
    assert result.status == "error", result
    assert result.error == reason
    assert result.body is None


def fetch_measuring_memory(url: str) -> tuple[FetchResult, float]:
    """The result and the peak MiB Python allocated during the fetch (ru_maxrss is a lifetime
    high-water mark, so it cannot tell one test's peak from an earlier one's)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fetch(url)
        return result, tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- redirects and schemes


def test_redirect_loop(server: FeedServer) -> None:
    server.add("/a", status=302, headers={"Location": "/b"})
    server.add("/b", status=301, headers={"Location": server.url("/a")})
    server.add("/self", status=308, headers={"Location": "/self"})

    loop, self_loop = fetch_all([FetchRequest(server.url("/a")), FetchRequest(server.url("/self"))], SETTINGS)

    assert_error(loop, "redirect loop")
    assert_error(self_loop, "redirect loop")
    assert len(server.hits("/a")) == 1 and len(server.hits("/b")) == 1  # detected, not run to the max
    assert len(server.hits("/self")) == 1


# A line of a real local file: if it shows up in a result, the fetcher read the file.
LOCAL_SECRET = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else "root:x:0:0"


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "ftp://127.0.0.1/etc/passwd",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/",
        "jar:file:///etc/passwd!/",
    ],
)
def test_redirect_to_other_schemes_is_refused(server: FeedServer, target: str) -> None:
    server.add("/feed.xml", status=301, headers={"Location": target})

    result = fetch(server.url("/feed.xml"))

    assert result.status == "error"
    assert result.error is not None and result.error.startswith("redirect to a non-http(s) URL")
    assert result.body is None and result.final_url is None and result.moved_to is None
    assert LOCAL_SECRET not in repr(result)
    assert len(server.hits()) == 1


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "FILE:///etc/passwd", "/etc/passwd", "ftp://127.0.0.1/x", "data:,x", "", "http://"]
)
def test_non_http_feed_urls_are_refused_without_io(server: FeedServer, url: str) -> None:
    result = fetch(url)

    assert result.status == "error"
    assert result.error is not None
    assert "unsupported URL scheme" in result.error or "invalid URL" in result.error
    assert result.body is None and result.http_status is None
    assert LOCAL_SECRET not in repr(result)
    assert server.hits() == []


def test_protocol_relative_redirect_is_followed(server: FeedServer) -> None:
    server.add("/feed.xml", status=301, headers={"Location": f"//127.0.0.1:{server.port}/real.xml"})
    real = server.add("/real.xml", RSS)

    result = fetch(server.url("/feed.xml"))

    assert result.status == "ok" and result.body == RSS and result.moved_to == real


def test_redirect_hops_share_one_time_limit(server: FeedServer) -> None:
    # Each hop alone is well inside the limit; together they are not.
    def slow_redirect(next_path: str) -> "object":
        def handler(h: RawHandler) -> None:
            time.sleep(0.6)
            write_head(h, 302, {"Location": next_path, "Content-Length": "0"}, reason="Found")

        return handler

    server.add_handler("/h0", slow_redirect("/h1"))  # type: ignore[arg-type]
    server.add_handler("/h1", slow_redirect("/h2"))  # type: ignore[arg-type]
    server.add_handler("/h2", slow_redirect("/h3"))  # type: ignore[arg-type]
    server.add("/h3", RSS)

    result = fetch(server.url("/h0"))

    assert_error(result, f"timed out after {TIMEOUT:g} s")
    assert result.elapsed <= TIMEOUT + 1


# --------------------------------------------------------------------------- compression bombs


@pytest.fixture(scope="session")
def bombs() -> dict[str, bytes]:
    return {
        "gzip": deflate_bomb(BOMB_SIZE, "gzip"),
        "deflate": deflate_bomb(BOMB_SIZE, "zlib"),
        "deflate-raw": deflate_bomb(BOMB_SIZE, "raw"),
        "br": brotli_bomb(BOMB_SIZE),
    }


@pytest.mark.parametrize("kind", ["gzip", "deflate", "deflate-raw", "br"])
def test_compression_bomb_is_cut_off_at_max_bytes(server: FeedServer, bombs: dict[str, bytes], kind: str) -> None:
    coding = kind.split("-")[0]
    url = server.add("/bomb.xml", bombs[kind], headers={"Content-Encoding": coding})

    result, peak_mib = fetch_measuring_memory(url)

    assert_error(result, f"response larger than {LIMIT} bytes")
    assert result.http_status == 200
    assert result.elapsed < TIMEOUT
    # Decoding one network read of the bomb without bounds would take tens to hundreds of MiB.
    assert peak_mib < 16


def test_bomb_within_raw_limit_is_still_cut_off(server: FeedServer) -> None:
    # 64 MiB of zeros is ~66 KB of gzip: far under max_bytes on the wire, so only the
    # decompressed count can stop it.
    packed = deflate_bomb(64 << 20, "gzip")
    assert len(packed) < LIMIT
    url = server.add("/bomb.xml", packed, headers={"Content-Encoding": "gzip"})

    assert_error(fetch(url), f"response larger than {LIMIT} bytes")


# --------------------------------------------------------------------------- endless and slow


def endless_body(h: RawHandler) -> None:
    write_head(h, 200, {"Content-Type": "application/rss+xml"})
    chunk = b"<item>" + b"x" * 65530
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and send(h, chunk):
        pass


def test_endless_body_is_cut_off(server: FeedServer) -> None:
    result = fetch(server.add_handler("/endless.xml", endless_body))

    assert_error(result, f"response larger than {LIMIT} bytes")
    assert result.elapsed < TIMEOUT


def test_endless_chunked_body_is_cut_off(server: FeedServer) -> None:
    def chunked(h: RawHandler) -> None:
        write_head(h, 200, {"Transfer-Encoding": "chunked"})
        chunk = b"%x\r\n%s\r\n" % (4096, b"y" * 4096)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and send(h, chunk):
            pass

    assert_error(fetch(server.add_handler("/chunked.xml", chunked)), f"response larger than {LIMIT} bytes")


def test_body_dripping_one_byte_a_second_times_out(server: FeedServer) -> None:
    def drip_body(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(len(RSS))})
        drip(h, RSS, interval=1.0)

    result = fetch(server.add_handler("/drip.xml", drip_body))

    assert_error(result, f"timed out after {TIMEOUT:g} s")
    assert result.elapsed <= TIMEOUT + 1


def test_server_that_accepts_and_never_answers_times_out(server: FeedServer) -> None:
    result = fetch(server.add_handler("/silent.xml", wait_for_disconnect))

    assert_error(result, f"timed out after {TIMEOUT:g} s")
    assert result.http_status is None
    assert TIMEOUT - 0.1 <= result.elapsed <= TIMEOUT + 1


def test_dripping_headers_time_out(server: FeedServer) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"

    def drip_headers(h: RawHandler) -> None:
        drip(h, head, interval=0.1)

    result = fetch(server.add_handler("/drip-headers.xml", drip_headers))

    assert_error(result, f"timed out after {TIMEOUT:g} s")
    assert result.elapsed <= TIMEOUT + 1


def test_time_attacks_together_stay_within_the_limit(server: FeedServer) -> None:
    urls = [
        server.add_handler("/silent.xml", wait_for_disconnect),
        server.add_handler("/endless.xml", endless_body),
        server.add("/ok.xml", RSS),
    ]
    started = time.monotonic()

    results = fetch_all([FetchRequest(u) for u in urls], SETTINGS)

    assert time.monotonic() - started <= TIMEOUT + 1
    assert [r.status for r in results] == ["error", "error", "ok"]


# --------------------------------------------------------------------------- resets and lies


def test_reset_mid_body(server: FeedServer) -> None:
    def reset(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        send(h, RSS[:40])
        time.sleep(0.1)
        reset_connection(h)

    result = fetch(server.add_handler("/reset.xml", reset))

    assert_error(result, "connection reset")
    assert result.elapsed < TIMEOUT


def test_content_length_larger_than_body(server: FeedServer) -> None:
    def liar(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": "5000"})
        send(h, RSS)  # then the connection closes: 4,900-odd bytes short

    result = fetch(server.add_handler("/liar.xml", liar))

    assert_error(result, "connection closed before the response was complete")
    assert result.elapsed < TIMEOUT


def test_huge_content_length_is_refused_before_reading(server: FeedServer) -> None:
    def huge(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(10**12)})
        wait_for_disconnect(h, 5)

    result = fetch(server.add_handler("/huge.xml", huge))

    assert_error(result, f"response larger than {LIMIT} bytes (Content-Length {10**12})")
    assert result.http_status == 200
    assert result.elapsed < TIMEOUT / 2  # refused at the headers, not by the clock


def test_wrong_content_type_is_still_returned(server: FeedServer) -> None:
    url = server.add("/feed.png", RSS, content_type="image/png")

    result = fetch(url)

    assert result.status == "ok" and result.body == RSS  # parsing decides what it is
    assert result.headers["content-type"] == "image/png"


@pytest.mark.parametrize("headers", [{}, {"Content-Encoding": "gzip"}, {"Content-Encoding": "br"}])
def test_empty_body_is_ok(server: FeedServer, headers: dict[str, str]) -> None:
    result = fetch(server.add("/empty.xml", b"", headers=headers))

    assert result.status == "ok" and result.body == b""


def test_garbage_instead_of_http(server: FeedServer) -> None:
    def garbage(h: RawHandler) -> None:
        h.close_connection = True
        send(h, b"SSH-2.0-OpenSSH_9.6\r\n" + b"\x00\xff" * 100)

    result = fetch(server.add_handler("/garbage.xml", garbage))

    assert result.status == "error"
    assert result.error is not None and result.error.startswith("invalid HTTP response")


def test_control_characters_in_reason_phrase_are_cleaned(server: FeedServer) -> None:
    def odd(h: RawHandler) -> None:
        write_head(h, 500, {"Content-Length": "0"}, reason="Oops\tbad\x7f")

    result = fetch(server.add_handler("/odd.xml", odd))

    assert_error(result, "HTTP 500 Oops bad")


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.

    result = fetch(f"http://127.0.0.1:{port}/feed.xml")

    assert_error(result, "connection refused")


@pytest.mark.parametrize(
    "start, target, refused",
    [
        ("http://8.8.8.8/feed", "http://127.0.0.1/admin", True),
        ("http://8.8.8.8/feed", "http://169.254.169.254/latest/meta-data/", True),
        ("http://8.8.8.8/feed", "http://10.0.0.1/", True),
        ("http://8.8.8.8/feed", "http://[::1]/", True),
        ("http://8.8.8.8/feed", "http://1.1.1.1/feed", False),
        ("http://127.0.0.1:8000/feed", "http://127.0.0.1:8001/feed", False),  # configured private: allowed
    ],
)
def test_a_public_feed_cannot_redirect_to_a_private_address(start: str, target: str, refused: bool) -> None:
    """Literal addresses only: no name is resolved and nothing is sent."""
    import asyncio

    import httpx

    from aggregator.fetch import _FetchError, _refuse_inward_redirect

    async def check() -> bool:
        try:
            await _refuse_inward_redirect(httpx.URL(start), httpx.URL(target))
        except _FetchError as exc:
            assert "private" in str(exc)
            return True
        return False

    assert asyncio.run(check()) is refused


def test_redirects_inward_end_to_end_in_a_private_network_namespace(tmp_path: Path) -> None:
    """A real public-looking server (8.8.8.8 inside a private network namespace) redirects to
    loopback directly, and through a name whose DNS answer changes between the check and the
    connection (rebinding). Both are refused; redirects that stay public, or stay private, work."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip to build a private network namespace")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.strip()}")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 rebind.test\n")
    script = Path(__file__).with_name("netns_redirects.py")
    inner = (
        f"ip link set lo up && ip addr add 8.8.8.8/32 dev lo && mount --bind {hosts} /etc/hosts"
        f" && exec {sys.executable} {script}"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", inner], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)

    assert results["public feed"] == ["ok", None]
    assert results["public redirects within public"] == ["ok", None]
    assert results["private redirects within private"] == ["ok", None]
    status, error = results["public redirects to loopback"]
    assert status == "error" and "redirect from a public address to a private one (127.0.0.1" in error
    status, error = results["public redirects to a rebinding name"]
    assert status == "error" and "connected to 127.0.0.1" in error
    # The loopback redirect was refused before any request; the rebinding one reached the private
    # server (the name only showed its real address at connect time), but its answer was refused.
    assert results["secret requests"] == [2, None]


def test_peer_address_is_the_real_one_unless_a_proxy_is_configured(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebinding guard reads the address a response really came from. Behind a proxy that is
    the proxy's, so the guard is off (no false refusals); NO_PROXY alone names no proxy."""
    import ipaddress

    import httpx

    from aggregator.fetch import (
        _client_proxied, _FetchError, _peer_address, _proxy_configured, _refuse_private_peer, make_client,
    )
    from aggregator.models import FetchSettings

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = server.add("/feed.xml", RSS)
    with httpx.Client(trust_env=False) as client, client.stream("GET", url) as response:
        assert _peer_address(response) == ipaddress.ip_address("127.0.0.1")
    assert not _proxy_configured()
    monkeypatch.setenv("NO_PROXY", "localhost,.internal")
    assert not _proxy_configured()  # names no proxy: the peer check stays on
    direct = make_client(FetchSettings())
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.5:3128")
    assert _proxy_configured()  # the peer check is off (fetch reads no peer address then)
    # Settled per client when it is made, as httpx settles its proxies then.
    assert not _client_proxied(direct)
    assert _client_proxied(make_client(FetchSettings()))

    loopback = ipaddress.ip_address("127.0.0.1")
    with pytest.raises(_FetchError, match="connected to 127.0.0.1"):
        _refuse_private_peer(True, loopback)
    _refuse_private_peer(False, loopback)  # a feed configured on a private address
    _refuse_private_peer(True, None)  # unknown peer (a proxy): the name check before the redirect still ran
    _refuse_private_peer(True, ipaddress.ip_address("1.1.1.1"))


@pytest.mark.parametrize(
    "target, refused",
    [
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", True),  # NAT64 of 169.254.169.254
        ("http://[64:ff9b:1::7f00:1]/", True),  # local-use NAT64 prefix
        ("http://[::ffff:0:127.0.0.1]/", True),  # IPv4-translated
        ("http://[::ffff:127.0.0.1]/", True),  # IPv4-mapped
        ("http://[::ffff:10.0.0.1]/", True),
        ("http://[::127.0.0.1]/", True),  # IPv4-compatible (deprecated)
        ("http://[2002:7f00:1::]/", True),  # 6to4 of 127.0.0.1
        ("http://[2002:a9fe:a9fe::1]/", True),  # 6to4 of 169.254.169.254
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", True),  # Teredo, client 127.0.0.1
        ("http://[64:ff9b::808:808]/", False),  # NAT64 of 8.8.8.8
        ("http://[2002:808:808::1]/", False),  # 6to4 of 8.8.8.8
        ("http://[2606:4700:4700::1111]/", False),
    ],
)
def test_embedded_ipv4_forms_of_private_addresses_are_refused(target: str, refused: bool) -> None:
    import asyncio

    import httpx

    from aggregator.fetch import _FetchError, _refuse_inward_redirect

    async def check() -> bool:
        try:
            await _refuse_inward_redirect(httpx.URL("http://8.8.8.8/feed"), httpx.URL(target))
        except _FetchError as exc:
            assert "private" in str(exc)
            return True
        return False

    assert asyncio.run(check()) is refused


def test_redirect_to_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """It may resolve later, or only inside a proxy's network, to anything. A feed configured on
    a private address may still redirect to such a name (the operator's own network)."""
    import asyncio
    import socket as socket_module

    import httpx

    from aggregator.fetch import _FetchError, _refuse_inward_redirect

    real = socket_module.getaddrinfo

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host == "nowhere.test":
            raise socket_module.gaierror(socket_module.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket_module, "getaddrinfo", fake)

    async def check(start: str) -> str | None:
        try:
            await _refuse_inward_redirect(httpx.URL(start), httpx.URL("http://nowhere.test/feed"))
        except _FetchError as exc:
            return str(exc)
        return None

    assert "does not resolve (nowhere.test)" in (asyncio.run(check("http://8.8.8.8/feed")) or "")
    assert asyncio.run(check("http://127.0.0.1:8000/feed")) is None
