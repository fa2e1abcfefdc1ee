"""The HTTP stage: download feed URLs politely and defensively, returning bytes, headers and validators.

It never parses feeds and never touches the database, and it never raises for anything a server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import http
import ipaddress
import logging
import re
import time
import urllib.request
import weakref
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

import brotli

from aggregator import USER_AGENT
from aggregator.http_client import httpx
from aggregator.models import FetchRequest, FetchResult, FetchSettings
from aggregator.sanitize import CONTROL_CHARS

__all__ = [
    "PAGE_ACCEPT", "ConcurrencyLimits", "fetch_all", "fetch_feed", "iter_fetch", "make_client", "parse_retry_after",
]

_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
# For article pages (full_text feeds) and robots.txt, fetched with the same fetch_feed.
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"
# Only what we can decode ourselves with bounded output; httpx would otherwise offer zstd too.
_ACCEPT_ENCODING = "gzip, deflate, br"
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_CODES = frozenset({301, 308})
# Decompressed data is produced in pieces of at most about this size, so a few KB of brotli that
# expands to gigabytes costs max_bytes + one piece of memory, never more.
_PIECE = 64 * 1024
_MAX_ERROR_CHARS = 200
_LOCATION = "aggregator.location"
_log = logging.getLogger(__name__)  # where _hide_location keeps a response's Location header


class _FetchError(Exception):
    """A reason to give up on one feed; always turned into a FetchResult, never seen by callers."""


# --------------------------------------------------------------------------- concurrency


class ConcurrencyLimits:
    """Slots shared by concurrent fetches: `concurrency` requests overall, `per_host` per host name."""

    def __init__(self, settings: FetchSettings) -> None:
        self._overall = asyncio.Semaphore(max(1, settings.concurrency))
        self._per_host = max(1, settings.per_host)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        host_slots = self._hosts.setdefault(host.lower(), asyncio.Semaphore(self._per_host))
        # Host first, then overall: a request queued behind a busy host must not sit on an overall
        # slot, or one slow host with many feeds would starve every other host. Each redirect hop
        # releases both before taking new ones, so the fixed order cannot deadlock.
        async with host_slots:
            async with self._overall:
                yield


# --------------------------------------------------------------------------- decoding


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (one or more members) or HTTP "deflate" (zlib-wrapped as the RFC says, or raw as some servers send)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._obj: zlib._Decompress | None = None
        self._pending = b""  # the first bytes, held back until the header can be sniffed
        self._started = False
        self._ended = False

    def _wbits(self, head: bytes) -> int:
        if self._name == "gzip":
            return 32 + zlib.MAX_WBITS  # gzip, or a zlib stream mislabelled as gzip
        cmf, flg = head[0], head[1]
        if cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0:
            return zlib.MAX_WBITS
        return -zlib.MAX_WBITS

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self._ended:
            if self._obj is None:
                self._pending += data
                if len(self._pending) < 2:
                    return
                data, self._pending = self._pending, b""
                if self._started and data[:2] != b"\x1f\x8b":
                    # Bytes after the end of the stream that are not another gzip member:
                    # padding some servers append. The document itself is complete.
                    self._ended = True
                    return
                self._obj = zlib.decompressobj(self._wbits(data))
                self._started = True
            obj = self._obj
            try:
                out = obj.decompress(data, _PIECE)
            except zlib.error as exc:
                raise _FetchError(f"corrupt {self._name} body ({exc})") from None
            if out:
                yield out
            if obj.eof:
                data = obj.unused_data
                self._obj = None
                if self._name != "gzip":
                    self._ended = True
            elif obj.unconsumed_tail:
                data = obj.unconsumed_tail
            elif len(out) == _PIECE:
                # The output filled the piece exactly: zlib may hold more output for no new input.
                data = b""
                while len(out) == _PIECE:
                    try:
                        out = obj.decompress(b"", _PIECE)
                    except zlib.error as exc:
                        raise _FetchError(f"corrupt {self._name} body ({exc})") from None
                    if out:
                        yield out
                if obj.eof:
                    self._obj = None
                    self._ended = self._name != "gzip"
            else:
                data = b""

    def finish(self) -> Iterator[bytes]:
        if self._obj is not None or (self._pending and not self._started):
            raise _FetchError(f"{self._name} body is truncated")
        return iter(())


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data or self._obj.is_finished():
            return
        self._fed = True
        try:
            out: bytes = self._obj.process(data, output_buffer_limit=_PIECE)
            if out:
                yield out
            # The decoder holds back whatever exceeded the piece size; drain it with empty input
            # (can_accept_more_data() alone turns True before the held output is drained).
            while out and not self._obj.is_finished():
                out = self._obj.process(b"", output_buffer_limit=_PIECE)
                if out:
                    yield out
        except brotli.error as exc:
            raise _FetchError(f"corrupt br body ({exc})") from None

    def finish(self) -> Iterator[bytes]:
        if self._fed and not self._obj.is_finished():
            raise _FetchError("br body is truncated")
        return iter(())


def _decoder_for(content_encoding: str | None) -> _Decoder:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise _FetchError(f"stacked content encodings {_clean(', '.join(codings))!r} are not supported")
    coding = codings[0] if codings else None
    if coding is None:
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib("gzip")
    if coding == "deflate":
        return _Zlib("deflate")
    if coding == "br":
        return _Brotli()
    raise _FetchError(f"unsupported content encoding {_clean(coding)!r}")


# --------------------------------------------------------------------------- helpers


def _clean(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    """Server-chosen text (reason phrases, exception messages) made safe to show in one log line."""
    text = CONTROL_CHARS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A validator we can send back: visible ASCII and spaces only (httpx encodes header values as
# ASCII, so one "café" would make every later request of the feed fail before it is sent), bounded.
_VALIDATOR = re.compile(r"[\x20-\x7e]{1,1024}")


def _validator(value: str | None) -> str | None:
    """`value` if it can be sent back as If-None-Match / If-Modified-Since, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _VALIDATOR.fullmatch(value) else None


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait, from a Retry-After value (delta-seconds or HTTP-date); None for garbage."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,12}", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)  # HTTP-dates are always GMT
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _reason(response: httpx.Response) -> str:
    reason = _clean(response.reason_phrase, 60)
    if not reason:
        with contextlib.suppress(ValueError):
            reason = http.HTTPStatus(response.status_code).phrase
    return f"HTTP {response.status_code} {reason}".rstrip()


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _FetchError(f"invalid URL ({_clean(str(exc), 80)})") from None
    if parsed.scheme not in ("http", "https"):
        scheme = _clean(parsed.scheme, 20) or "none"
        raise _FetchError(f"unsupported URL scheme {scheme!r}: only http and https are fetched")
    if not parsed.host:
        raise _FetchError("invalid URL (no host)")
    return parsed


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(exc: Exception, settings: FetchSettings) -> str:
    """A short reason a person can act on, for an exception httpx or the network raised."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {settings.timeout:g} s"
    chain = list(_causes(exc))
    messages = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ConnectionResetError) for e in chain) or "connection reset" in messages:
        return "connection reset"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in messages:
        return "connection refused"
    if "name or service not known" in messages or "nodename nor servname" in messages:
        return "could not resolve host name"
    if "certificate" in messages or "ssl" in messages:
        return f"TLS error ({_clean(str(exc), 120)})"
    if "location header" in messages:  # a client without _hide_location met a bad redirect
        return "redirect to an invalid URL"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL ({_clean(str(exc), 120)})"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "peer closed connection" in messages or "incomplete" in messages:
            return "connection closed before the response was complete"
        return f"invalid HTTP response ({_clean(str(exc), 120)})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({_clean(str(exc), 120)})" if str(exc) else "could not connect"
    if isinstance(exc, httpx.HTTPError):
        detail = _clean(str(exc), 120)
        return f"network error ({type(exc).__name__}{': ' + detail if detail else ''})"
    return f"unexpected error ({type(exc).__name__}: {_clean(str(exc), 120)})"


# --------------------------------------------------------------------------- fetching


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use, never a public host


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and a gateway may deliver to: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64
    (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo (server and client)."""
    found: list[ipaddress.IPv4Address] = []
    number = int(address)
    low = ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if number >> 32 in (0xFFFF0000, 0) and number > 1:
        found.append(low)
    if address in _NAT64_WELL_KNOWN:
        found.append(low)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_public_address(address: _Address) -> bool:
    """True for an address on the public internet, by every IPv4 address it embeds too:
    64:ff9b::a9fe:a9fe reaches the metadata service 169.254.169.254 through a NAT64 gateway,
    though Python calls the IPv6 address itself global."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        return all(embedded.is_global for embedded in _embedded_ipv4(address))
    return True


async def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return []  # the request itself will fail and say why
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return found


async def _refuse_inward_redirect(current: httpx.URL, target: httpx.URL, current_public: bool | None = None) -> None:
    """A feed on a public address may not redirect us to a private, loopback or link-local one
    (a cloud metadata service, the admin page of a router). Feeds an operator configured on a
    private address may redirect within it. `current_public` is what the connection to the current
    host showed; None resolves its name instead."""
    if current.host == target.host:
        return
    if current_public is None:
        here = await _addresses(current.host)
        current_public = bool(here) and all(is_public_address(a) for a in here)
    if not current_public:
        return
    there = await _addresses(target.host)
    if not there:
        # A name that does not resolve now may resolve later, or only inside a proxy's network.
        raise _FetchError(f"redirect from a public address to a host name that does not resolve ({_clean(target.host, 80)})")
    inward = [a for a in there if not is_public_address(a)]
    if inward:
        raise _FetchError(f"redirect from a public address to a private one ({target.host} is {inward[0]})")


def _proxy_configured() -> bool:
    """Whether the environment names a proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY...; NO_PROXY alone
    names none). httpx may then carry any request through it, and how its NO_PROXY matching differs
    from urllib's is not worth guessing: the peer-address check is simply off."""
    return any(scheme != "no" for scheme in urllib.request.getproxies_environment())


# httpx reads the proxy variables when a client is made, so whether a client's requests may go
# through a proxy is settled then: make_client notes it here once, instead of every request reading
# the whole environment again (a few per cent of a cycle in which every feed answers 304).
_PROXIED: weakref.WeakKeyDictionary[httpx.AsyncClient, bool] = weakref.WeakKeyDictionary()


def _client_proxied(client: httpx.AsyncClient) -> bool:
    proxied = _PROXIED.get(client)
    return _proxy_configured() if proxied is None else proxied  # a client made elsewhere: ask each time


def _peer_address(response: httpx.Response) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address this response really came from, if known (behind a proxy: the proxy's)."""
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
        return ipaddress.ip_address(str(address[0]).split("%")[0]) if address else None
    except (ValueError, TypeError, IndexError, AttributeError):
        return None


def _refuse_private_peer(public_seen: bool, peer: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> None:
    """Once a fetch has been on a public address, no later hop may connect to a private one: this
    catches a name that resolved to a public address when the redirect was checked and to a private
    one when we connected (DNS rebinding)."""
    if public_seen and peer is not None and not is_public_address(peer):
        raise _FetchError(f"redirect from a public address to a private one (connected to {peer})")


class _Fetch:
    """One feed's fetch: redirect hops, each inside a concurrency slot, under one deadline."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        request: FetchRequest,
        settings: FetchSettings,
        limits: ConcurrencyLimits,
        deadline: asyncio.Timeout,
    ) -> None:
        self.client = client
        self.request = request
        self.settings = settings
        self.limits = limits
        self.deadline = deadline
        self.queued = 0.0  # seconds spent waiting for a slot, which the time limit does not count
        # What the latest response told us, so a failure after the headers still reports it.
        self.context: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        when = self.deadline.when()
        remaining = self.settings.timeout if when is None else when - loop.time()
        # Waiting in the queue is not the server's fault: with hundreds of feeds and 16 slots,
        # counting it would time out feeds that never got to send a byte.
        self.deadline.reschedule(None)
        queued_at = loop.time()
        async with self.limits.slot(host):
            self.queued += loop.time() - queued_at
            self.deadline.reschedule(loop.time() + remaining)
            yield

    def _headers(self) -> dict[str, str]:
        headers = {"Accept-Encoding": _ACCEPT_ENCODING}
        # A stored validator that is not a valid header value (saved by an older version) is
        # dropped, not sent: the feed is fetched in full and the bad value is replaced.
        etag, last_modified = _validator(self.request.etag), _validator(self.request.last_modified)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def result(self, **fields: Any) -> FetchResult:
        defaults: dict[str, Any] = {
            "url": self.request.url,
            "etag": _validator(self.request.etag),
            "last_modified": _validator(self.request.last_modified),
        }
        return FetchResult(**{**defaults, **fields})

    async def run(self) -> FetchResult:
        url = _parse_url(self.request.url)
        visited = {str(url)}
        hops = 0
        all_permanent = True
        public_seen = False  # has any connection of this fetch reached a public address?
        # Behind a proxy the peer is the proxy, which says nothing about the feed's host.
        proxied = _client_proxied(self.client)
        while True:
            async with self._slot(url.host):
                async with self.client.stream("GET", url, headers=self._headers()) as response:
                    peer = None if proxied else _peer_address(response)
                    _refuse_private_peer(public_seen, peer)
                    here_public = is_public_address(peer) if peer is not None else None
                    public_seen = public_seen or bool(here_public)
                    location = response.extensions.get(_LOCATION) or response.headers.get("location")
                    self.context = {"http_status": response.status_code, "headers": _headers_of(response)}
                    if response.status_code in _REDIRECT_CODES and location:
                        # Leaving the block closes the response unread: a redirect body is never wanted.
                        target = self._redirect_target(url, location)
                        await _refuse_inward_redirect(url, target, here_public)
                        hops += 1
                        all_permanent = all_permanent and response.status_code in _PERMANENT_CODES
                        if str(target) in visited:
                            raise _FetchError("redirect loop")
                        if hops > self.settings.max_redirects:
                            raise _FetchError(f"too many redirects (max {self.settings.max_redirects})")
                        visited.add(str(target))
                        url = target
                        continue
                    moved_to = str(url) if hops and all_permanent else None
                    return await self._final(response, str(url), moved_to)

    def _redirect_target(self, current: httpx.URL, location: str) -> httpx.URL:
        try:
            target = current.join(location.strip())
        except (httpx.InvalidURL, TypeError, ValueError):
            raise _FetchError(f"redirect to an invalid URL ({_clean(location, 80)})") from None
        if target.scheme not in ("http", "https"):
            raise _FetchError(f"redirect to a non-http(s) URL ({_clean(str(target), 80)})")
        if not target.host:
            raise _FetchError(f"redirect to an invalid URL ({_clean(location, 80)})")
        return target

    async def _final(self, response: httpx.Response, final_url: str, moved_to: str | None) -> FetchResult:
        status = response.status_code
        headers = _headers_of(response)
        common: dict[str, Any] = {
            "http_status": status,
            "final_url": final_url,
            "moved_to": moved_to,
            "headers": headers,
        }
        self.context = common
        if status == 304:
            return self.result(
                status="not_modified",
                etag=_validator(headers.get("etag")) or _validator(self.request.etag),
                last_modified=_validator(headers.get("last-modified")) or _validator(self.request.last_modified),
                **common,
            )
        if 200 <= status < 300:
            body = await self._read_body(response)
            return self.result(
                status="ok",
                body=body,
                etag=_validator(headers.get("etag")),
                last_modified=_validator(headers.get("last-modified")),
                **common,
            )
        if status == 410:
            return self.result(status="gone", error=_reason(response), **common)
        retry_after = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
        return self.result(status="error", error=_reason(response), retry_after=retry_after, **common)

    async def _read_body(self, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        too_large = f"response larger than {limit} bytes"
        decoder = _decoder_for(response.headers.get("content-encoding"))
        declared = response.headers.get("content-length", "").strip()
        if isinstance(decoder, _Identity) and re.fullmatch(r"[0-9]+", declared) and int(declared) > limit:
            raise _FetchError(f"{too_large} (Content-Length {declared})")
        pieces: list[bytes] = []
        size = raw_size = 0

        def take(produced: Iterable[bytes]) -> None:
            nonlocal size
            for piece in produced:
                size += len(piece)
                if size > limit:
                    raise _FetchError(too_large)
                pieces.append(piece)

        async for chunk in response.aiter_raw():
            raw_size += len(chunk)
            # Compressed input larger than the limit cannot honestly decode to less; refusing it
            # also bounds streams that decode to nothing (brotli metadata, endless padding).
            if raw_size > limit:
                raise _FetchError(too_large)
            take(decoder.feed(chunk))
        take(decoder.finish())
        return b"".join(pieces)


def _headers_of(response: httpx.Response) -> dict[str, str]:
    headers = dict(response.headers.items())  # httpx lower-cases names and joins repeats with ", "
    location = response.extensions.get(_LOCATION)
    if location is not None:
        headers["location"] = location
    return headers


async def _hide_location(response: httpx.Response) -> None:
    # Even with follow_redirects=False httpx parses Location to offer `next_request`, and raises on
    # values such as "data:..." or "javascript:..." before we see the response. We judge redirect
    # targets ourselves, so httpx never gets to see the header.
    location = response.headers.get("location")
    if location is not None:
        del response.headers["location"]
        response.extensions[_LOCATION] = location


async def fetch_feed(
    client: httpx.AsyncClient,
    request: FetchRequest,
    settings: FetchSettings,
    *,
    limits: ConcurrencyLimits | None = None,
) -> FetchResult:
    """Fetch one feed; every failure is a FetchResult with status "error", never an exception.

    Pass the same `limits` to concurrent calls so they share the overall and per-host slots
    (iter_fetch and fetch_all do); without it this call is limited only by itself.
    """
    started = time.monotonic()
    fetch: _Fetch | None = None
    try:
        async with asyncio.timeout(settings.timeout) as deadline:
            fetch = _Fetch(client, request, settings, limits or ConcurrencyLimits(settings), deadline)
            result = await fetch.run()
    except TimeoutError:
        result = _error(request, f"timed out after {settings.timeout:g} s", fetch)
    except _FetchError as exc:
        result = _error(request, str(exc), fetch)
    except Exception as exc:  # anything a server can provoke must end as a result, not a crash
        if not isinstance(exc, httpx.HTTPError):
            # Not a network failure we know how to name: possibly our bug, so keep the traceback.
            _log.warning("unexpected error fetching %s", request.url, exc_info=True)
        result = _error(request, _describe(exc, settings), fetch)
    queued = fetch.queued if fetch is not None else 0.0
    return replace(result, elapsed=max(0.0, time.monotonic() - started - queued))


def _error(request: FetchRequest, reason: str, fetch: _Fetch | None) -> FetchResult:
    context = fetch.context if fetch is not None else {}
    return FetchResult(
        url=request.url,
        status="error",
        error=reason,
        etag=_validator(request.etag),
        last_modified=_validator(request.last_modified),
        **context,
    )


def make_client(settings: FetchSettings, user_agent: str = USER_AGENT, accept: str = _ACCEPT) -> httpx.AsyncClient:
    """An httpx client set up for fetch_feed: honest User-Agent, no automatic redirects. `accept`
    is the Accept header (feed types unless told: PAGE_ACCEPT for web pages)."""
    proxied = _proxy_configured()
    # Without a proxy, requests go out through aiohttp (http_transport.py: the same requests and
    # responses, a fifth of the CPU); through a proxy, httpx's own transport, which reads it from
    # the environment.
    transport = None if proxied else _aiohttp_transport(settings)
    client = httpx.AsyncClient(
        transport=transport,
        headers={"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": _ACCEPT_ENCODING},
        follow_redirects=False,
        event_hooks={"response": [_hide_location]},
        # Per-operation limits are a backstop; fetch_feed's own deadline bounds the whole fetch.
        timeout=httpx.Timeout(settings.timeout),
        limits=httpx.Limits(
            max_connections=max(1, settings.concurrency),
            max_keepalive_connections=max(1, settings.concurrency),
        ),
    )
    _PROXIED[client] = proxied
    return client


def _aiohttp_transport(settings: FetchSettings) -> httpx.AsyncBaseTransport:
    from .http_transport import AiohttpTransport

    return AiohttpTransport(max_connections=settings.concurrency)


async def iter_fetch(
    requests: Sequence[FetchRequest], settings: FetchSettings, user_agent: str = USER_AGENT,
    slots: asyncio.Semaphore | None = None,
) -> AsyncGenerator[FetchResult, None]:
    """Fetch every request concurrently within the settings' limits, yielding results as they complete.

    `slots`: each fetch takes one before it starts (its time limit starts then too), and the caller
    gives it back when it is done with that result: at most that many bodies are held at once,
    however many feeds there are and however slowly the caller stores them. (Results pass through
    a queue, so a finished fetch's task does not keep its body alive after it has been handed over.)"""
    limits = ConcurrencyLimits(settings)
    done: asyncio.Queue[FetchResult | BaseException] = asyncio.Queue()

    async def fetch_in_slot(client: httpx.AsyncClient, request: FetchRequest) -> None:
        if slots is not None:
            await slots.acquire()
        try:
            result = await fetch_feed(client, request, settings, limits=limits)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the caller, as awaiting the fetch would have
            done.put_nowait(exc)
        else:
            done.put_nowait(result)

    async with make_client(settings, user_agent) as client:
        running: set[asyncio.Future[None]] = set()
        for request in requests:
            task = asyncio.ensure_future(fetch_in_slot(client, request))
            running.add(task)
            task.add_done_callback(running.discard)
        try:
            for _ in requests:
                item = await done.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                del item  # the caller holds the only reference now
        finally:
            for unfinished in list(running):
                unfinished.cancel()
            await asyncio.gather(*running, return_exceptions=True)


def fetch_all(
    requests: Iterable[FetchRequest], settings: FetchSettings, user_agent: str = USER_AGENT
) -> list[FetchResult]:
    """Synchronous fetch of many feeds; results in the same order as `requests`."""
    requests = list(requests)

    async def run() -> list[FetchResult]:
        limits = ConcurrencyLimits(settings)
        async with make_client(settings, user_agent) as client:
            return list(
                await asyncio.gather(*(fetch_feed(client, r, settings, limits=limits) for r in requests))
            )

    return asyncio.run(run())
