"""Article URLs as comparison keys: one canonical string per article, whatever tracking, scheme or AMP dress it wears.
Pure string work: no network, no DNS, never raises; the canonical form is for comparing, never for display or fetching.
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import TypeGuard
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

_HTTP_SCHEMES = frozenset({"http", "https"})

# Parameters that say who shared a link or which campaign it came from, never which article it is.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "li_fat_id",
        "mc_cid", "mc_eid", "mkt_tok", "_hsenc", "_hsmi", "hsctatracking", "_ga", "_gl", "_openstat",
        "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid", "ref_src", "ref_url",
        "cmpid", "wt_mc", "wt.mc_id", "ncid", "sr_share", "share", "ito",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hsa_")

# ?amp=1 and ?outputType=amp select the AMP rendering of the same article.
_AMP_FLAG_PARAMS = frozenset({"amp"})
_AMP_VALUE_PARAMS = frozenset({"outputtype", "output", "format"})

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")
_IPV6 = re.compile(r"[0-9a-f:.]+")
# Characters that mean the same escaped or not are decoded; everything else stays escaped (RFC 3986 6.2.2.2).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def feed_url_key(url: str) -> str:
    """The key two spellings of one feed URL share (see canonical_url), for finding a feed listed
    twice; the URL itself where it has no canonical form."""
    return canonical_url(url) or url.strip()


def is_http_url(url: object) -> bool:
    """True for an absolute http(s) URL with a host; never raises."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in _HTTP_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):\S+$")
# A guid republished as atom:id must not be something a reader could open: some readers fall back
# to the id when an entry has no link, so javascript:, data: or file: ids are never copied out.
_REPUBLISHABLE_ID_SCHEMES = frozenset({"http", "https", "tag", "urn"})


def is_republishable_id(value: str | None) -> TypeGuard[str]:
    """An absolute IRI of a harmless scheme, safe to copy out as an atom:id."""
    match = _ABSOLUTE_IRI.match(value) if value else None
    return match is not None and match.group(1).lower() in _REPUBLISHABLE_ID_SCHEMES


def canonical_url(url: object) -> str | None:
    """The comparison key of an article URL, or None if it is not an absolute http(s) URL.

    Two links to the same article give the same key: scheme (http == https), host case, `www.`/`amp.`
    prefixes, default ports, trailing slash, fragment, tracking parameters, parameter order and AMP
    variants (`/amp/` suffix, `?amp=1`, `?outputType=amp`) do not count.
    """
    if not isinstance(url, str):
        return None
    try:
        return _canonical(url)
    except (ValueError, UnicodeError):
        return None


# Memoised: a feed names the same URLs many times over (an entry's link for its fingerprint and
# again for its translation links, the same related-article and campaign links in many entries):
# 3,131 distinct among 10,796 in 60 generated feeds, and urlsplit is most of a parse worker's
# time spent on links. An exception (a garbage port) is not kept: it is raised again.
@functools.lru_cache(maxsize=8192)
def _canonical(url: str) -> str | None:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _HTTP_SCHEMES:
        return None
    host = _canonical_host(parts.hostname)
    if host is None:
        return None
    port = parts.port  # raises ValueError for garbage ports, turned into None by the caller
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    query = _canonical_query(parts.query)
    path = _canonical_path(parts.path)
    # https everywhere: sites moved from http to https, feeds still carry both for one article.
    return f"https://{netloc}{path}" + (f"?{query}" if query else "")


def _canonical_host(hostname: str | None) -> str | None:
    if not hostname:
        return None
    host = hostname.rstrip(".")
    if not host or any(ch.isspace() for ch in host):
        return None
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    if ":" in host:  # IPv6 literal; urlsplit stripped its brackets
        return f"[{host}]" if _IPV6.fullmatch(host) else None
    if not _HOSTNAME.fullmatch(host):
        return None
    for prefix in ("www.", "amp."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
    return host


def _canonical_path(path: str) -> str:
    path = _normalise_escapes(path)
    if path:
        had_slash = path.endswith("/")
        path = posixpath.normpath(path)
        if path.startswith("//"):  # normpath keeps a leading double slash (POSIX); URLs don't care
            path = "/" + path.lstrip("/")
        if had_slash and not path.endswith("/"):
            path += "/"
    # WordPress AMP plugins and many CMSes serve the AMP page at <article>/amp/.
    lowered = path.lower().rstrip("/")
    if lowered.endswith("/amp"):
        path = path[: len(lowered) - len("/amp")]
    path = path.rstrip("/")
    return path or "/"


def _normalise_escapes(text: str) -> str:
    if "%" not in text:
        return quote(text, safe=_PATH_SAFE + "%")
    # Decode then re-encode so %7E == ~ and %2f == %2F; keep an escaped "/" as it is not a separator.
    pieces = []
    for piece in re.split(r"(%2[Ff])", text):
        if piece.lower() == "%2f":
            pieces.append("%2F")
        else:
            pieces.append(quote(unquote(piece), safe=_PATH_SAFE))
    return "".join(pieces)


def _canonical_query(query: str) -> str:
    """The query without tracking or AMP-selecting parameters, sorted."""
    if not query:
        return ""
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES):
            continue
        if lowered in _AMP_FLAG_PARAMS and value.lower() in ("", "1", "true", "yes"):
            continue
        if lowered in _AMP_VALUE_PARAMS and value.lower() == "amp":
            continue
        kept.append((name, value))
    # Parameter order never selects a different article on the CMSes we read (WordPress ?p=, ?page_id=).
    kept.sort()
    return urlencode(kept, quote_via=quote, safe="-._~")


@functools.lru_cache(maxsize=4096)  # a publish asks it of every story's copies, mostly of the same few feed sites
def site_host(url: str | None) -> str | None:
    """The host a URL belongs to for ownership, lower case and without "www."; None if none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def host_belongs_to(url: str | None, *owners: str | None) -> bool:
    """True when `url` is on the host (or a subdomain) of any of the `owners` URLs."""
    host = site_host(url)
    if host is None:
        return False
    for owner in owners:
        owner_host = site_host(owner)
        if owner_host and (host == owner_host or host.endswith("." + owner_host)):
            return True
    return False
