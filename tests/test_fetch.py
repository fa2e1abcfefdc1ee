"""The fetch stage against a real HTTP server on 127.0.0.1: validators, encodings, redirects,
status codes, Retry-After, concurrency limits and the User-Agent."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from aggregator import USER_AGENT
from aggregator.fetch import fetch_all, fetch_feed, iter_fetch, make_client, parse_retry_after
from aggregator.models import FetchRequest, FetchResult, FetchSettings
from feedserver import FeedServer, RawHandler, http_date

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sister party</title>
<item><title>Strike wins</title><link>https://example.org/1</link></item>
</channel></rss>"""

SETTINGS = FetchSettings(timeout=5.0, max_bytes=1_000_000)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer(poll_interval=0.02) as s:
        yield s


def fetch(url: str, settings: FetchSettings = SETTINGS, **validators: str | None) -> FetchResult:
    return fetch_all([FetchRequest(url, **validators)], settings)[0]


def server_etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


# --------------------------------------------------------------------------- plain fetch, validators


def test_ok_returns_body_validators_and_headers(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS, headers={"Cache-Control": "max-age=300", "Expires": http_date(0)})

    result = fetch(url)

    assert result.status == "ok"
    assert result.error is None
    assert result.http_status == 200
    assert result.body == RSS
    assert result.url == url and result.final_url == url and result.moved_to is None
    assert result.etag == server_etag(RSS)
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.headers["cache-control"] == "max-age=300"
    assert result.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert all(name == name.lower() for name in result.headers)
    assert 0 < result.elapsed < 5


def test_second_fetch_sends_if_none_match_and_gets_304(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS)
    first = fetch(url)

    second = fetch(url, etag=first.etag, last_modified=first.last_modified)

    seen = server.hits("/feed.xml")
    assert [hit.status for hit in seen] == [200, 304]
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == first.etag
    assert seen[1].headers["if-modified-since"] == first.last_modified
    assert second.status == "not_modified"
    assert second.http_status == 304
    assert second.body is None
    assert second.etag == first.etag  # kept: the 304 repeats it
    assert second.last_modified == first.last_modified


def test_last_modified_only_conditional_get(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS, etag=False)
    first = fetch(url)
    assert first.status == "ok" and first.etag is None
    assert first.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"

    second = fetch(url, last_modified=first.last_modified)

    last = server.hits("/feed.xml")[-1]
    assert last.status == 304
    assert last.headers["if-modified-since"] == first.last_modified
    assert "if-none-match" not in last.headers
    assert second.status == "not_modified"
    assert second.last_modified == first.last_modified


def test_304_without_validators_keeps_the_ones_we_hold(server: FeedServer) -> None:
    def bare_304(h: RawHandler) -> None:
        h.send_response(304)
        h.end_headers()

    url = server.add_handler("/feed.xml", bare_304)

    result = fetch(url, etag='W/"abc"', last_modified="Tue, 01 Apr 2025 10:00:00 GMT")

    assert result.status == "not_modified"
    assert result.etag == 'W/"abc"'
    assert result.last_modified == "Tue, 01 Apr 2025 10:00:00 GMT"


def test_304_with_new_validators_returns_them(server: FeedServer) -> None:
    def fresh_304(h: RawHandler) -> None:
        h.send_response(304)
        h.send_header("ETag", '"new"')
        h.end_headers()

    url = server.add_handler("/feed.xml", fresh_304)

    result = fetch(url, etag='"old"')

    assert result.status == "not_modified"
    assert result.etag == '"new"'


# --------------------------------------------------------------------------- content encodings


def _gzip_two_members(data: bytes) -> bytes:
    half = len(data) // 2
    return gzip.compress(data[:half]) + gzip.compress(data[half:])


def _raw_deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


ENCODINGS = {
    "gzip": ("gzip", gzip.compress),
    "x-gzip": ("x-gzip", gzip.compress),
    "gzip-two-members": ("gzip", _gzip_two_members),
    "deflate-zlib": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
    "br": ("br", brotli.compress),
    "BR-uppercase": ("BR", brotli.compress),
}


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_compressed_bodies_are_decoded(server: FeedServer, case: str) -> None:
    coding, compress = ENCODINGS[case]
    # Large enough to cross many 64 KiB decoder pieces and several network reads.
    plain = RSS + b"<!--" + bytes(range(32, 127)) * 5000 + b"-->"
    url = server.add("/feed.xml", compress(plain), headers={"Content-Encoding": coding})

    result = fetch(url)

    assert result.status == "ok", result.error
    assert result.body == plain
    assert result.headers["content-encoding"] == coding
    assert server.hits("/feed.xml")[0].headers["accept-encoding"] == "gzip, deflate, br"


def test_decoded_size_exactly_at_limit_is_accepted(server: FeedServer) -> None:
    settings = FetchSettings(timeout=5, max_bytes=300_000)
    at_limit = server.add("/at.xml", gzip.compress(bytes(300_000)), headers={"Content-Encoding": "gzip"})
    over = server.add("/over.xml", gzip.compress(bytes(300_001)), headers={"Content-Encoding": "gzip"})

    ok, too_big = fetch_all([FetchRequest(at_limit), FetchRequest(over)], settings)

    assert ok.status == "ok" and ok.body == bytes(300_000)
    assert too_big.status == "error" and too_big.error == "response larger than 300000 bytes"
    assert too_big.body is None


def test_unknown_and_stacked_encodings_are_refused(server: FeedServer) -> None:
    zstd = server.add("/zstd.xml", b"(\xb5/\xfd garbage", headers={"Content-Encoding": "zstd"})
    stacked = server.add(
        "/stacked.xml", brotli.compress(gzip.compress(RSS)), headers={"Content-Encoding": "gzip, br"}
    )

    unknown, double = fetch_all([FetchRequest(zstd), FetchRequest(stacked)], SETTINGS)

    assert unknown.status == "error" and unknown.error == "unsupported content encoding 'zstd'"
    assert double.status == "error" and double.error == "stacked content encodings 'gzip, br' are not supported"


def test_corrupt_and_truncated_gzip_are_errors(server: FeedServer) -> None:
    packed = gzip.compress(RSS * 50)
    corrupt = server.add("/corrupt.xml", packed[:20] + b"\xff" * 40 + packed[60:], headers={"Content-Encoding": "gzip"})
    truncated = server.add("/truncated.xml", packed[: len(packed) // 2], headers={"Content-Encoding": "gzip"})

    bad, short = fetch_all([FetchRequest(corrupt), FetchRequest(truncated)], SETTINGS)

    assert bad.status == "error" and bad.error is not None and bad.error.startswith("corrupt gzip body")
    assert short.status == "error" and short.error == "gzip body is truncated"


# --------------------------------------------------------------------------- redirects


def test_chain_of_permanent_redirects_records_moved_to(server: FeedServer) -> None:
    server.add("/old", status=301, headers={"Location": "/older-but-relative"})
    server.add("/older-but-relative", status=308, headers={"Location": server.url("/new.xml")})
    new = server.add("/new.xml", RSS)

    result = fetch(server.url("/old"))

    assert result.status == "ok"
    assert result.body == RSS
    assert result.url == server.url("/old")
    assert result.final_url == new
    assert result.moved_to == new
    assert [h.path for h in server.hits()] == ["/old", "/older-but-relative", "/new.xml"]


def test_any_temporary_hop_means_no_moved_to(server: FeedServer) -> None:
    server.add("/old", status=301, headers={"Location": "/temp"})
    server.add("/temp", status=302, headers={"Location": "/new.xml"})
    new = server.add("/new.xml", RSS)

    result = fetch(server.url("/old"))

    assert result.status == "ok"
    assert result.final_url == new
    assert result.moved_to is None


@pytest.mark.parametrize("code", [302, 303, 307])
def test_single_temporary_redirect_is_followed_without_moved_to(server: FeedServer, code: int) -> None:
    server.add("/feed", status=code, headers={"Location": "/real.xml"})
    real = server.add("/real.xml", RSS)

    result = fetch(server.url("/feed"))

    assert result.status == "ok" and result.final_url == real and result.moved_to is None


def test_redirects_up_to_the_maximum_are_followed_and_one_more_is_refused(server: FeedServer) -> None:
    for i in range(6):
        server.add(f"/r{i}", status=301, headers={"Location": f"/r{i + 1}"})
    server.add("/r6", RSS)
    settings = FetchSettings(timeout=5, max_bytes=1_000_000, max_redirects=5)

    too_many, five_hops = fetch_all([FetchRequest(server.url("/r0")), FetchRequest(server.url("/r1"))], settings)

    assert too_many.status == "error"
    assert too_many.error == "too many redirects (max 5)"
    assert too_many.body is None and too_many.moved_to is None
    assert five_hops.status == "ok" and five_hops.final_url == server.url("/r6")
    assert [h.path for h in server.hits() if h.path == "/r6"] == ["/r6"]  # only the 5-hop fetch got there


# --------------------------------------------------------------------------- status codes


def test_410_is_gone(server: FeedServer) -> None:
    url = server.add("/feed.xml", b"gone", status=410)

    result = fetch(url)

    assert result.status == "gone"
    assert result.http_status == 410
    assert result.error == "HTTP 410 Gone"
    assert result.body is None


@pytest.mark.parametrize(("code", "reason"), [(500, "Internal Server Error"), (404, "Not Found"), (403, "Forbidden")])
def test_http_errors(server: FeedServer, code: int, reason: str) -> None:
    url = server.add("/feed.xml", b"<html>oops</html>", status=code, content_type="text/html")

    result = fetch(url)

    assert result.status == "error"
    assert result.http_status == code
    assert result.error == f"HTTP {code} {reason}"
    assert result.body is None
    assert result.retry_after is None
    assert result.headers["content-type"] == "text/html"


def test_429_with_retry_after_seconds(server: FeedServer) -> None:
    url = server.add("/feed.xml", b"slow down", status=429, headers={"Retry-After": "120"})

    result = fetch(url)

    assert result.status == "error"
    assert result.http_status == 429
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after == 120.0


def test_503_with_retry_after_http_date(server: FeedServer) -> None:
    url = server.add("/feed.xml", b"busy", status=503, headers={"Retry-After": http_date(time.time() + 90)})

    result = fetch(url)

    assert result.status == "error"
    assert result.error == "HTTP 503 Service Unavailable"
    assert result.retry_after is not None and 80 <= result.retry_after <= 91


def test_429_with_garbage_retry_after(server: FeedServer) -> None:
    url = server.add("/feed.xml", b"x", status=429, headers={"Retry-After": "soon-ish"})

    assert fetch(url).retry_after is None


def test_parse_retry_after() -> None:
    now = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("0", now) == 0.0
    assert parse_retry_after(" 3600 ", now) == 3600.0
    assert parse_retry_after("Sun, 01 Jun 2025 12:10:00 GMT", now) == 600.0
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now) == 0.0  # past: clamped
    for garbage in (None, "", "-5", "1.5", "tomorrow", "Sun, 99 Foo 2025", "\u00b2"):
        assert parse_retry_after(garbage, now) is None


# --------------------------------------------------------------------------- User-Agent, concurrency


def test_user_agent_is_sent(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS)

    fetch(url)
    fetch_all([FetchRequest(url)], SETTINGS, user_agent="custom-agent/1.0")

    agents = [hit.headers["user-agent"] for hit in server.hits("/feed.xml")]
    assert agents == [USER_AGENT, "custom-agent/1.0"]
    assert USER_AGENT.startswith("aggregator/")


class ConcurrencyProbe:
    """A handler that holds each request for a while and records the peak parallelism."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total_active = 0
        self.total_peak = 0

    def __call__(self, h: RawHandler) -> None:
        host = h.headers["Host"].rsplit(":", 1)[0]
        with self.lock:
            self.active[host] += 1
            self.total_active += 1
            self.peak[host] = max(self.peak[host], self.active[host])
            self.total_peak = max(self.total_peak, self.total_active)
        time.sleep(self.hold)
        with self.lock:
            self.active[host] -= 1
            self.total_active -= 1
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(RSS)))
        h.end_headers()
        h.wfile.write(RSS)


@pytest.mark.parametrize(("concurrency", "expected_total"), [(10, 4), (3, 3)])
def test_per_host_and_overall_limits(server: FeedServer, concurrency: int, expected_total: int) -> None:
    probe = ConcurrencyProbe(hold=0.25)
    for i in range(6):
        server.add_handler(f"/feed{i}.xml", probe)
    # Two host names for one server: 127.0.0.1 and localhost are different hosts to the fetcher.
    urls = [
        f"http://{host}:{server.port}/feed{i}.xml" for host in ("127.0.0.1", "localhost") for i in range(6)
    ]
    settings = FetchSettings(timeout=10, concurrency=concurrency, per_host=2)

    results = fetch_all([FetchRequest(u) for u in urls], settings)

    assert [r.status for r in results] == ["ok"] * 12
    assert [r.url for r in results] == urls  # fetch_all keeps the order of the requests
    assert probe.peak == {"127.0.0.1": 2, "localhost": 2}
    assert probe.total_peak == expected_total


def test_waiting_for_a_slot_does_not_count_against_the_time_limit(server: FeedServer) -> None:
    probe = ConcurrencyProbe(hold=0.7)
    urls = [server.add_handler(f"/feed{i}.xml", probe) for i in range(3)]
    # One at a time: the third feed waits 1.4 s for its turn, longer than the 1 s limit.
    settings = FetchSettings(timeout=1.0, per_host=1)

    results = fetch_all([FetchRequest(u) for u in urls], settings)

    assert [r.status for r in results] == ["ok"] * 3
    assert probe.peak == {"127.0.0.1": 1}
    assert all(r.elapsed < 1.0 for r in results)  # elapsed is time spent fetching, not queueing


def test_iter_fetch_yields_results_as_they_complete(server: FeedServer) -> None:
    def slow(h: RawHandler) -> None:
        time.sleep(0.6)
        h.send_response(200)
        h.send_header("Content-Length", str(len(RSS)))
        h.end_headers()
        h.wfile.write(RSS)

    slow_url = server.add_handler("/slow.xml", slow)
    fast_url = server.add("/fast.xml", RSS)

    async def collect() -> list[FetchResult]:
        return [r async for r in iter_fetch([FetchRequest(slow_url), FetchRequest(fast_url)], SETTINGS)]

    results = asyncio.run(collect())

    assert [r.url for r in results] == [fast_url, slow_url]
    assert all(r.status == "ok" for r in results)


def test_iter_fetch_keeps_no_result_it_has_handed_over_and_honours_slots(server: FeedServer) -> None:
    """A cycle's memory must not grow with its feeds: once a result is handed over, iter_fetch holds
    no reference to it (nor its body), and a fetch starts only when a slot is free."""
    import gc
    import weakref

    urls = [server.add(f"/feed{n}.xml", RSS) for n in range(6)]

    async def run() -> tuple[list[bool], list[int]]:
        slots = asyncio.Semaphore(2)
        alive: list[bool] = []
        asked: list[int] = []
        previous: weakref.ref[FetchResult] | None = None
        async for result in iter_fetch([FetchRequest(u) for u in urls], SETTINGS, slots=slots):
            assert result.status == "ok"
            asked.append(sum(len(server.hits(f"/feed{n}.xml")) for n in range(6)))
            if previous is not None:
                gc.collect()
                alive.append(previous() is not None)
            previous = weakref.ref(result)
            del result
            await asyncio.sleep(0.05)  # the other fetches get their chance to run ahead, if they could
            slots.release()
        return alive, asked

    alive, asked = asyncio.run(run())
    assert alive == [False] * 5  # every earlier result was let go while the later ones came in
    # k results handed over (and k - 1 slots given back): at most k + 1 feeds asked for so far.
    assert all(n <= k + 2 for k, n in enumerate(asked)), asked


def test_fetch_feed_with_own_client(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS)

    async def run() -> FetchResult:
        async with make_client(SETTINGS, "probe/2") as client:
            assert isinstance(client, httpx.AsyncClient)
            return await fetch_feed(client, FetchRequest(url), SETTINGS)

    result = asyncio.run(run())

    assert result.status == "ok" and result.body == RSS
    assert server.hits("/feed.xml")[0].headers["user-agent"] == "probe/2"



def test_httpx_comes_without_its_command_line_and_says_so() -> None:
    """aggregator/http_client.py: httpx is the real one, its CLI stand-in names what to run instead."""
    import subprocess
    import sys

    code = (
        "import sys; from aggregator.http_client import httpx;"
        " assert httpx.AsyncClient and 'click' not in sys.modules and 'httpx._main' not in sys.modules\n"
        "try:\n    httpx.main()\nexcept RuntimeError as exc:\n    print(exc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "run the `httpx` command" in out.stdout
