"""An httpx transport that sends each request with aiohttp.

fetch.py speaks httpx (its URLs, responses, exceptions, streaming); this module only replaces the
layer that talks to the network. httpx's own async transport (httpcore on anyio) costs about
3.5 ms of CPU per request: for 200 feeds that all answer 304 it took 0.6-0.9 s, twice what a
threaded synchronous client needs for the same requests, and it was most of a cycle in which no
feed changed. aiohttp's connection pool and C HTTP parser do the same 200 requests in 0.1 s.

What the transport keeps of httpx's contract:
- the request goes out as httpx built it: the URL already encoded (sent as is), every header,
  nothing added (no User-Agent, Accept or Accept-Encoding of aiohttp's own);
- the response is httpx's: status, reason phrase, the raw headers in order (repeats kept), and the
  body as raw bytes (never decompressed here: fetch.py decodes with its own size limits);
- failures are httpx's exceptions (ConnectError, ReadError, RemoteProtocolError, timeouts...),
  chained to aiohttp's, so fetch._describe names them as before;
- `response.extensions["network_stream"].get_extra_info("server_addr")` is the address the
  response really came from (fetch._peer_address, the DNS-rebinding guard).

Only make_client's clients use it, and only when no proxy is configured: httpx reads proxies from
the environment and aiohttp would not, so a proxied client keeps httpx's own transport.
"""

from __future__ import annotations

import contextvars
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import certifi
from yarl import URL

from .http_client import httpx

# Header lines this long are refused (aiohttp's default, 8 KB, turns away real servers that send
# long Content-Security-Policy or Link headers; h11, httpx's parser, allows 100 KB in all).
MAX_HEADER_LINE = 64 * 1024


# The address of the connection a request got, set by _Connector.connect in the request's own
# task: a short response is read whole and its connection back in the pool before
# session.request() returns, so the response itself can no longer tell.
_PEERNAME: contextvars.ContextVar[list[Any]] = contextvars.ContextVar("aggregator_peername")


class _Connector(aiohttp.TCPConnector):
    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        connection = await super().connect(*args, **kwargs)
        transport = connection.transport
        found = _PEERNAME.get(None)
        if found is not None:
            found.append(transport.get_extra_info("peername") if transport is not None else None)
        return connection


class _Peer:
    """Stands in for httpcore's network stream: the one piece of it fetch.py reads."""

    def __init__(self, peername: Any) -> None:
        self._peername = peername

    def get_extra_info(self, name: str) -> Any:
        return self._peername if name == "server_addr" else None


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _as_httpx(exc) from exc

    async def aclose(self) -> None:
        # A body not read to its end leaves the connection in an unknown state: close it rather
        # than give it back to the pool.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


def _as_httpx(exc: aiohttp.ClientError) -> httpx.HTTPError:
    """The httpx exception for an aiohttp one (the caller chains the original)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):  # the certificate's own reason, not the host:port preamble
        return httpx.ConnectError(str(exc.certificate_error))
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return httpx.ConnectError(f"SSL: {exc.os_error}")
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unresolvable, TLS (and its own os_error)
        return httpx.ConnectError(f"{message} ({exc.os_error})" if str(exc.os_error) not in message else message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(f"peer closed connection: incomplete message ({message})")
    if isinstance(exc, aiohttp.ClientResponseError):  # the parser refused what the server sent
        return httpx.RemoteProtocolError(exc.message or message)
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    return httpx.NetworkError(message)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one aiohttp session, opened at the first request."""

    def __init__(self, max_connections: int) -> None:
        self._max_connections = max(1, max_connections)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # The same certificate store as httpx's own transport.
        tls = ssl.create_default_context(cafile=certifi.where())
        return aiohttp.ClientSession(
            connector=_Connector(limit=self._max_connections, limit_per_host=0, ssl=tls),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            trust_env=False,
            requote_redirect_url=False,
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        peernames: list[Any] = []
        token = _PEERNAME.set(peernames)
        try:
            response = await self._session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                data=request.content or None,
            )
        except aiohttp.ClientError as exc:
            raise _as_httpx(exc) from exc
        finally:
            _PEERNAME.reset(token)
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response),
            extensions={
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                "http_version": b"HTTP/1.1",
                "network_stream": _Peer(peernames[-1] if peernames else None),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
