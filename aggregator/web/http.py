"""HTTP plumbing shared by the routes: conditional responses (ETag, Last-Modified, 304), gzip for
text types, and the security headers every response carries."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib

from flask import Flask, Response, request

# Compress only what gains from it, and not tiny bodies.
COMPRESSIBLE = ("text/", "application/atom+xml", "application/json", "application/xml", "application/feed+json",
                "image/svg+xml", "application/javascript")  # fmt: skip
MIN_COMPRESS_BYTES = 512
GZIP_SUFFIX = "-gzip"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def conditional(body: bytes, media_type: str, last_modified: dt.datetime | None = None, etag: str | None = None,
                cache_seconds: int = 60) -> Response:  # fmt: skip
    """A 200 with validators, or a 304 when the request's If-None-Match (first) or
    If-Modified-Since says the client has these bytes."""
    tag = etag or etag_of(body)
    if last_modified is not None:
        last_modified = last_modified.astimezone(dt.timezone.utc).replace(microsecond=0)
    not_modified = False
    if request.if_none_match:
        # The gzipped variant carries its own tag; either means the client has this content.
        not_modified = request.if_none_match.contains(tag) or request.if_none_match.contains(tag + GZIP_SUFFIX) \
            or request.if_none_match.star_tag  # fmt: skip
    elif request.if_modified_since is not None and last_modified is not None:
        not_modified = last_modified <= request.if_modified_since
    response = Response(b"" if not_modified else body, status=304 if not_modified else 200, mimetype=None)
    if not not_modified:
        response.headers["Content-Type"] = media_type
    response.set_etag(tag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = f"public, max-age={cache_seconds}"
    return response


def _compressible(media_type: str) -> bool:
    return media_type.startswith(COMPRESSIBLE)


def _gzip_response(response: Response) -> Response:
    if (
        response.status_code != 200
        or response.direct_passthrough
        or "Content-Encoding" in response.headers
        or not _compressible(response.headers.get("Content-Type", ""))
    ):
        return response
    response.vary.add("Accept-Encoding")
    if "gzip" not in request.accept_encodings or request.method == "HEAD":
        return response
    body = response.get_data()
    if len(body) < MIN_COMPRESS_BYTES:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    tag, weak = response.get_etag()
    if tag:
        response.set_etag(tag + GZIP_SUFFIX, weak=bool(weak))
    return response


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if headers.get("Content-Type", "").startswith("text/html"):
        headers.setdefault("Content-Security-Policy", CSP)
    return response


def install(app: Flask) -> None:
    app.after_request(_security_headers)
    app.after_request(_gzip_response)
