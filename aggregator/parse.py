"""Turn the bytes of one fetched feed into a ParsedFeed of sanitized entries with stable identities.
Must not do I/O (no network, no files, no database) and must raise nothing but ParseError, whatever the bytes.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import email.utils
import hashlib
import html
import io
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import feedparser
import feedparser.api

from . import fastparse
from .enclosures import entry_enclosures, entry_image
from .locales import is_language_tag
from .models import FetchSettings, KeySource, ParsedEntry, ParsedFeed, ParseError
from .parse_errors import explain
from .sanitize import (
    MAX_HTML_CHARS,
    clean_html,
    clean_text,
    safe_url,
    strip_feed_boilerplate,
    xml_safe,
)

__all__ = ["parse_feed", "prepare_bytes", "repair_encoding", "defuse_doctype", "cap_entries", "bound_cdata", "MAX_ENTRIES"]

MAX_ENTRIES = FetchSettings.max_entries_per_feed  # newest entries kept of one document
# One entry's HTML, before it reaches a sanitizer: more is cut off. A long article is ~100 KB.
MAX_ENTRY_HTML_CHARS = FetchSettings.max_entry_html
# Open elements nested deeper than this make HTML5 tree building quadratic (20,000 nested <div>
# take nh3 6.5 s, 50,000 take 47 s); real articles nest a few dozen deep.
MAX_HTML_DEPTH = 1_000
# A tag longer than this is an attack (400,000 attributes), not markup.
MAX_TAG_CHARS = 16_384
MAX_DECOMPRESSED_BYTES = FetchSettings.max_bytes  # the same bound as a response body
MAX_ID_CHARS = 1_024
MAX_AUTHOR_CHARS = 300
MAX_CATEGORY_CHARS = 100
MAX_CATEGORIES = 50

_UTF8_BOM = codecs.BOM_UTF8
_GZIP_MAGIC = b"\x1f\x8b"

# --------------------------------------------------------------------------- byte preparation

# Where an XML feed document can start. A PHP notice printed before it ("Deprecated: ..." as text,
# or "<br />\n<b>Deprecated</b>: ..." as HTML) makes strict XML parsers give up on the whole feed.
_DOCUMENT_START = re.compile(rb"<\?xml[\s?]|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>]")
# A prefix that is legitimate XML prolog (comments, processing instructions, a DOCTYPE): kept,
# because cutting into it (say, a comment that mentions "<feed>") would break a good document.
_PROLOG_START = re.compile(rb"\s*(?:<!--|<\?|<!DOCTYPE)", re.IGNORECASE)
_PREFIX_SCAN_LIMIT = 65_536


def _wide_codec(body: bytes) -> tuple[str, bytes] | None:
    """(codec, BOM) for UTF-16/UTF-32 documents, which byte-level scanning for "<" would misread."""
    for bom, codec in (
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
    ):
        if body.startswith(bom):
            return codec, bom
    head = body[:4]
    if head == b"\x00\x00\x00<":
        return "utf-32-be", b""
    if head == b"<\x00\x00\x00":
        return "utf-32-le", b""
    if head[:2] == b"\x00<":
        return "utf-16-be", b""
    if head[:2] == b"<\x00":
        return "utf-16-le", b""
    return None


def _gunzip(body: bytes) -> bytes:
    # Fetch normally undoes Content-Encoding; this catches servers that send a .gz as the body.
    # Bounded, because a few KB of gzip can expand to gigabytes.
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(body, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail:
            raise ParseError("the feed is compressed and expands to more than 10 MB")
        return out
    except zlib.error:
        return body


def _strip_leading_junk(body: bytes) -> bytes:
    bom = b""
    if body.startswith(_UTF8_BOM):
        bom, body = _UTF8_BOM, body[len(_UTF8_BOM) :]
    match = _DOCUMENT_START.search(body, 0, _PREFIX_SCAN_LIMIT)
    if match is None:
        return bom + body.lstrip()
    prefix = body[: match.start()]
    if prefix.strip() and _PROLOG_START.match(prefix):
        return bom + body.lstrip()
    # A BOM from an included PHP file often sits after the notices, right before "<?xml": it still
    # tells the truth about the encoding, so it moves to the front instead of being lost.
    if prefix.rstrip(b" \t\r\n").endswith(_UTF8_BOM):
        bom = _UTF8_BOM
    return bom + body[match.start() :]


_DOCTYPE = re.compile("<!DOCTYPE", re.IGNORECASE)
# Runs of "nothing special" in a DOCTYPE, outside and inside its [internal subset]. Each
# alternative starts with a different character and the star may end anywhere, so a match never
# backtracks: one pass in C, however hostile the input.
_DOCTYPE_OUTSIDE = re.compile(r"(?:[^\"'\[>]+|\"[^\"]*\"|'[^']*')*")
_DOCTYPE_INSIDE = re.compile(r"(?:[^\"'\]<]+|\"[^\"]*\"|'[^']*'|<!--.*?-->|<+(?!!--))*", re.DOTALL)


def _doctype_end(text: str, start: int) -> int:
    """Index just past the DOCTYPE opening at `start`, or len(text) if it never closes.

    Quoted strings and comments may contain ">" or "]", so a naive <!DOCTYPE[^>]*> would cut an
    internal subset in half and leave entity declarations behind.
    """
    end = len(text)
    pos = _DOCTYPE_OUTSIDE.match(text, start + len("<!DOCTYPE")).end()  # type: ignore[union-attr]
    if pos >= end or text[pos] in "\"'":  # unterminated: everything after it is the DOCTYPE's
        return end
    if text[pos] == ">":
        return pos + 1
    pos = _DOCTYPE_INSIDE.match(text, pos + 1).end()  # type: ignore[union-attr]  # after "["
    if pos >= end or text[pos] != "]":
        return end
    # Only whitespace is legal between "]" and ">"; whatever is there goes with the DOCTYPE.
    close = text.find(">", pos + 1)
    return end if close < 0 else close + 1


# What matters before the root element: processing instructions, comments, DOCTYPEs, a bare
# entity declaration, and the root element's start tag. Any other "<" (junk) is skipped over.
_FEED_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF)[\s/>]")
_PROLOG_TOKEN = re.compile(r"<(?:\?|!--|!DOCTYPE|!ENTITY|[A-Za-z_:\u00c0-\U0010ffff])", re.IGNORECASE)


def defuse_doctype(text: str) -> str:
    """Remove every DOCTYPE before the root element, with its internal subset and external DTD
    reference, wherever it sits: after the XML declaration, after junk lines, after 64 KB of PHP
    notices. Raises ParseError if an entity declaration is left outside any DOCTYPE.

    Feeds never need a DTD, and a DTD is the only way into entity expansion (billion laughs,
    quadratic blowup) and external entities (file://, http:// fetched by the parser). References
    to entities it declared are left undefined, so they stay unexpanded text. Only what comes
    before the first element is searched: a DOCTYPE is legal nowhere else (expat stops at one),
    while "<!DOCTYPE" inside an entry's CDATA is article text that must survive.
    """
    pieces: list[str] = []
    pos = kept_from = 0
    # Elements before the feed's root are junk (a PHP notice's "<br />"); expat stops at them, but
    # a DTD after them is removed all the same, should some parser be more forgiving.
    feed_root = _FEED_ROOT.search(text)
    root_at = feed_root.start() if feed_root else 0
    while True:
        token = _PROLOG_TOKEN.search(text, pos)
        if token is None:
            break
        at, kind = token.start(), token.group()[1:].upper()
        if kind == "?":
            close = text.find("?>", at + 2)
            pos = len(text) if close < 0 else close + 2
        elif kind == "!--":
            close = text.find("-->", at + 4)
            pos = len(text) if close < 0 else close + 3
        elif kind == "!DOCTYPE":
            pieces.append(text[kept_from:at])
            pos = kept_from = _doctype_end(text, at)
        elif kind == "!ENTITY":
            raise ParseError("the feed declares XML entities outside a DOCTYPE; such documents are refused")
        elif at < root_at:
            pos = at + 1
        else:
            break  # the root element
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


# Where an entry starts, in any namespace prefix; and what can hide one (CDATA, comments). The
# second pattern is the first read backwards, for finding the last entries without walking all.
_ENTRY_TOKEN = re.compile(r"<!\[CDATA\[|<!--|<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_ENTRY_TOKEN_REVERSED = re.compile(r">\]\]|>--|[\s/>](?:meti|yrtne)(?::[\w.-]*[A-Za-z_])?<")


def _entry_starts(text: str, count: int, reverse: bool) -> list[int]:
    """Where the first (or, with `reverse`, the last) `count` entries start, skipping CDATA and
    comments; fewer if the document has fewer, or if an unclosed section hides the rest."""
    found: list[int] = []
    view = text[::-1] if reverse else text
    token, ends = (_ENTRY_TOKEN_REVERSED, {">]]": "[ATADC[!<", ">--": "--!<"}) if reverse else (
        _ENTRY_TOKEN, {"<![CDATA[": "]]>", "<!--": "-->"})  # fmt: skip
    pos = 0
    while len(found) < count:
        match = token.search(view, pos)
        if match is None:
            break
        closing = ends.get(match.group())
        if closing is not None:
            close = view.find(closing, match.end())
            if close < 0:
                break
            pos = close + len(closing)
            continue
        found.append(len(text) - match.end() if reverse else match.start())
        pos = match.end()
    return found


def cap_entries(text: str, limit: int) -> str:
    """The document with only `limit` entries (<item>/<entry>) at its newest end, cut out of the
    text before any parser sees it: feedparser spends about 40 s on a million empty <item/>.
    Which end is newest comes from the dates of the first and the last entry; when either has
    no readable date, the first `limit` and the last `limit` are kept, and the entry cap after
    parsing keeps the newest `limit` of those. Costs O(limit) steps, plus C-speed counting and
    one reversed copy of the text.
    """
    if limit <= 0:
        return text
    # A cheap upper bound, at C speed; most feeds stop here.
    rough = text.count("<item") + text.count("<entry") + text.count(":item") + text.count(":entry")
    if rough <= 2 * limit:
        return text
    head = _entry_starts(text, limit + 1, reverse=False)
    tail = _entry_starts(text, limit, reverse=True)
    if len(head) <= limit or len(tail) < limit or head[limit] >= tail[-1]:
        return text  # at most 2 x limit entries after all
    # Entries are siblings, so the text from one entry's start to another's is whole elements.
    first, last = _entry_date(text[head[0] : head[1]]), _entry_date(text[tail[0] : tail[0] + 100_000])
    if first is not None and last is not None:
        if first >= last:  # newest first: the first `limit`, and the last entry (for the document's end)
            return text[: head[limit]] + text[tail[0] :]
        return text[: head[0]] + text[tail[-1] :]  # oldest first: the last `limit`
    return text[: head[limit]] + text[tail[-1] :]


_ENTRY_DATE = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:pubDate|published|updated|date)>\s*([^<]{1,100}?)\s*<")


def _entry_date(entry: str) -> dt.datetime | None:
    """The first date in one entry's text (RSS pubDate, Atom published/updated, dc:date), if it
    reads as a date with a time zone: to tell which end of a huge feed is the newest."""
    match = _ENTRY_DATE.search(entry)
    if match is None:
        return None
    value = match.group(1)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo is not None else None


_CDATA_OPEN, _CDATA_CLOSE = "<![CDATA[", "]]>"


def bound_cdata(text: str, max_chars: int = MAX_ENTRY_HTML_CHARS) -> str:
    """The document with every CDATA section made harmless to feedparser's HTML passes (written in
    Python, they spend about 25 us per tag): cut to `max_chars`, and reduced to its text if its
    markup is pathological (see _bounded_html). Only documents larger than `max_chars` can hold
    a section that long, so smaller ones are returned at once."""
    if len(text) <= max_chars:
        return text
    pieces: list[str] = []
    pos = kept_from = 0
    while True:
        start = text.find(_CDATA_OPEN, pos)
        if start < 0:
            break
        start += len(_CDATA_OPEN)
        end = text.find(_CDATA_CLOSE, start)
        if end < 0:
            break
        pos = end + len(_CDATA_CLOSE)
        if end - start <= MAX_HTML_DEPTH:
            continue  # too short to nest deeply or to hold a long tag
        content = text[start:end]
        bounded = _bounded_html(content, max_chars, unescape=False)
        if bounded is not content:
            pieces += [text[kept_from:start], bounded]
            kept_from = end
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


# "<?xm" in EBCDIC (feedparser reads such documents as cp037 or what they declare).
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"
_EBCDIC_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def _ebcdic_codec(body: bytes) -> str:
    # Letters, digits, "=", quotes and "?" are the same in every EBCDIC code page.
    match = _EBCDIC_ENCODING.search(body[:200].decode("cp037", errors="replace"))
    codec = _codec_name(match.group(1)) if match else None
    if codec is None or codec.startswith(("utf", "ascii", "latin", "iso8859")) or "\x3c".encode(codec, errors="ignore") == b"<":
        return "cp037"
    return codec


def prepare_bytes(body: bytes, max_entries: int = MAX_ENTRIES, max_entry_html: int = MAX_ENTRY_HTML_CHARS) -> bytes:
    """Bytes that feedparser can read safely: no junk before the document, no DTD of any kind, and
    at most 2 x `max_entries` entries (see cap_entries)."""
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip(body)
    wide = _wide_codec(body)
    if wide is not None:
        # UTF-16/32: byte-level scanning for "<" would misread them. Decoding with "replace" would
        # hide a broken encoding from feedparser, so the original bytes go through unchanged
        # unless there is something to remove.
        codec, bom = wide
        text = body[len(bom) :].decode(codec, errors="replace")
    elif body.startswith(_EBCDIC_XML):
        codec, bom = _ebcdic_codec(body), b""
        text = body.decode(codec, errors="replace")
    else:
        # latin-1 maps bytes 1:1 to code points, so this edits ASCII markup in any ASCII-compatible
        # encoding (UTF-8, cp1252, Shift_JIS...) without decoding or damaging anything else.
        body = _strip_leading_junk(body)
        codec, bom = "latin-1", b""
        text = body.decode("latin-1")
    edited = bound_cdata(cap_entries(defuse_doctype(text), max_entries), max_entry_html)
    return body if edited is text else bom + edited.encode(codec, errors="replace")


_feedparser_replace_doctype = feedparser.api.replace_doctype


def _replace_doctype_after_decoding(data: bytes) -> Any:
    """feedparser's own DOCTYPE step, which sees the document after feedparser decoded it to
    UTF-8, whatever its encoding was: the last place a DTD can be removed before expat reads it."""
    text = data.decode("latin-1")
    defused = defuse_doctype(text)
    return _feedparser_replace_doctype(data if defused is text else defused.encode("latin-1"))


# The one choke point every encoding passes through (UTF-7, EBCDIC code pages, a charset only
# the HTTP header names). Set once per process; parse_feed is the only user of feedparser here.
feedparser.api.replace_doctype = _replace_doctype_after_decoding


# --------------------------------------------------------------------------- encodings

# Multi-byte legacy encodings: UTF-8 sniffing says nothing about them; leave them to feedparser.
_MULTIBYTE_PREFIXES = ("shift_jis", "euc", "gb", "big5", "iso2022", "cp932", "cp949", "cp950", "hz", "johab", "utf-16", "utf-32")
_XML_DECLARATION = re.compile(rb"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z0-9._:-]{1,40})\2""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_HIGH_BYTES = bytes(range(0x80, 0x100))
# surrogateescape turns each byte that is not UTF-8 into U+DC80..U+DCFF; this reads it as
# windows-1252 instead (U+FFFD for the five bytes windows-1252 leaves undefined).
_STRAY_BYTE_AS_CP1252 = {0xDC00 + b: bytes([b]).decode("cp1252", errors="replace") for b in range(0x80, 0x100)}


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def repair_encoding(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """Bytes and headers that decode to the right text where the declared charset is wrong.

    feedparser trusts the declared charset and, when the bytes break it, reads the whole document
    as windows-1252: every UTF-8 character becomes mojibake. Where the bytes themselves say what
    they are, the document is handed on as UTF-8, declared as such:
    - valid UTF-8 with non-ASCII characters, declared as a single-byte encoding (latin-1,
      windows-1252, windows-1251, ...) in the header or the XML declaration: it is UTF-8; text in
      those encodings is practically never valid UTF-8;
    - not valid UTF-8, but with more well-formed UTF-8 sequences than stray bytes: a UTF-8
      document with pasted windows-1252 bits. Its UTF-8 is kept and only the stray bytes are read
      as windows-1252. (A windows-1252 or latin-1 document has far more stray bytes than the few
      byte pairs that happen to look like UTF-8, so it is left alone.)
    Everything else (pure ASCII, consistent legacy encodings, any multi-byte legacy encoding named
    in the header or the declaration, UTF-16/32) is returned as it came, for feedparser to decode.
    """
    out = dict(headers)
    if body.isascii() or _wide_codec(body) is not None:
        return body, out
    content_type = out.get("content-type", "")
    header_match = _HEADER_CHARSET.search(content_type)
    decl_match = _XML_DECLARATION.match(body)
    labels = [m for m in (header_match.group(1) if header_match else None,
                          decl_match.group(3).decode("ascii") if decl_match else None) if m]  # fmt: skip
    codecs_named = [_codec_name(label) for label in labels]
    if None in codecs_named or any(c.startswith(_MULTIBYTE_PREFIXES) for c in codecs_named if c):
        return body, out  # an unknown charset (feedparser reports it), or one sniffing cannot judge
    try:
        text = body.decode("utf-8")
        if all(c == "utf-8" for c in codecs_named):
            return body, out  # right as it is
    except UnicodeDecodeError:
        # Counted at C speed: each well-formed multi-byte sequence decodes to one character, each
        # ASCII byte to one, each stray byte (or broken sequence) to one U+FFFD.
        replaced = body.decode("utf-8", errors="replace")
        replacements = replaced.count("\ufffd")
        ascii_bytes = len(body.translate(None, _HIGH_BYTES))
        sequences = len(replaced) - ascii_bytes - replacements  # other than U+FFFD itself
        stray = replacements - body.count("\ufffd".encode())  # a real U+FFFD in the text is not stray
        if sequences <= stray:
            return body, out  # a legacy document (declared or not): feedparser's decoding is right
        text = body.decode("utf-8", errors="surrogateescape").translate(_STRAY_BYTE_AS_CP1252)
    repaired = text.encode("utf-8")
    if decl_match:
        repaired = _XML_DECLARATION.sub(lambda m: m.group(1) + m.group(2) + b"utf-8" + m.group(2), repaired, count=1)
    media_type = content_type.split(";")[0].strip() or "application/xml"
    out["content-type"] = f"{media_type}; charset=utf-8"
    return repaired, out


# --------------------------------------------------------------------------- HTML page discovery

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")
_LOOKS_LIKE_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|link|meta)[\s>/]", re.IGNORECASE)


def _discover_feed_url(body: bytes, url: str) -> str | None:
    """The first <link rel="alternate" type="...rss/atom..."> of an HTML page, made absolute."""
    if not _LOOKS_LIKE_HTML.search(body, 0, 262_144):
        return None
    try:
        import lxml.html

        doc = lxml.html.document_fromstring(body[:2_000_000])
    except Exception:  # lxml refuses empty or bizarre documents; then there is nothing to suggest
        return None
    base = url
    for element in doc.iter("base"):
        base = safe_url(element.get("href"), url) or url
        break
    for element in doc.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            found = safe_url(element.get("href"), base)
            if found:
                return found
    return None


# --------------------------------------------------------------------------- entry fields


def _to_utc(value: Any) -> dt.datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None for anything Python can't represent."""
    if value is None:
        return None
    try:
        fields = tuple(value)[:6]
        year, month, day, hour, minute, second = (int(f) for f in fields)
        # struct_time allows leap seconds (60, 61); datetime does not.
        return dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        # Out-of-range fields (month 13, day 32) that feedparser let through: let timegm normalise.
        seconds = calendar.timegm(tuple(value)[:9])
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    except (TypeError, ValueError, OverflowError):
        return None


def _language(*candidates: Any) -> str | None:
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        tag = candidate.strip().replace("_", "-")
        if is_language_tag(tag):
            return tag
    return None


def _without_partial_utf8(text: str) -> str:
    """Bytes seen as latin-1, without a UTF-8 sequence cut short at the end."""
    end, continuation = len(text), 0
    while end > 0 and continuation < 3 and "\x80" <= text[end - 1] <= "\xbf":
        end, continuation = end - 1, continuation + 1
    if end > 0 and text[end - 1] >= "\xc0":
        lead = ord(text[end - 1])
        if continuation < (1 if lead < 0xE0 else 2 if lead < 0xF0 else 3):
            return text[: end - 1]
    return text


_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)")
_ANY_TAG = re.compile(r"<[^<>]*>?")
_LONG_TAG = re.compile("<[^<>]{%d}" % MAX_TAG_CHARS)
# Void elements never nest; these are closed by their next sibling, so they do not nest either.
_NOT_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
     "p", "li", "dt", "dd", "tr", "td", "th", "option"}
)  # fmt: skip


def _too_deep(value: str, limit: int = MAX_HTML_DEPTH) -> bool:
    """Whether the HTML nests more than `limit` elements deep (counted loosely: a stray closing
    tag closes one level). One pass; only run when there are enough tags for it to matter."""
    if value.count("<") <= limit:
        return False
    depth = 0
    for match in _HTML_TAG.finditer(value):
        if match.group(1):
            depth = max(0, depth - 1)
        elif match.group(2).lower() not in _NOT_NESTING:
            depth += 1
            if depth > limit:
                return True
    return False


def _bounded_html(value: str, max_chars: int, unescape: bool = True) -> str:
    """`value` cut to `max_chars`, or as plain text in a <p> when its markup is pathological
    (nesting too deep, a tag too long): what makes sanitizers take time quadratic in its size.
    Without `unescape`, entities stay as they are (for bytes viewed as latin-1)."""
    if len(value) > max_chars:
        value = value[:max_chars]
        if value.rfind("<") > value.rfind(">"):
            value = value[: value.rfind("<")]
        if not unescape:  # bytes seen as latin-1: never leave half a UTF-8 sequence at the cut
            value = _without_partial_utf8(value)
    if _LONG_TAG.search(value) or _too_deep(value):
        text = " ".join(_ANY_TAG.sub(" ", value).split())
        return f"<p>{html.escape(html.unescape(text), quote=False) if unescape else text.replace('>', '&gt;')}</p>"
    return value


def _detail_html(detail: Mapping[str, Any] | None, fallback_base: str, max_chars: int = MAX_ENTRY_HTML_CHARS) -> str:
    """Sanitized HTML from one of feedparser's text constructs, whatever its declared type."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if not isinstance(value, str) or not value:
        return ""
    value = _bounded_html(value, max_chars)
    kind = (detail.get("type") or "text/html").lower()
    if kind == "text/plain":
        # Plain text has no markup to keep; escape it so "a < b" survives, and keep its paragraphs.
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]
        value = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    base = safe_url(detail.get("base")) or fallback_base
    return clean_html(strip_feed_boilerplate(value), base_url=base)


def _pick_content(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    contents = [c for c in entry.get("content") or () if isinstance(c, Mapping) and c.get("value")]
    if not contents:
        return None
    for content in contents:
        if (content.get("type") or "").lower() in ("text/html", "application/xhtml+xml"):
            return content
    return contents[0]


def _entry_link(entry: Mapping[str, Any], base: str, language: str | None = None) -> str | None:
    alternates = [
        link for link in entry.get("links") or ()
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate" and link.get("href")
    ]  # fmt: skip
    if any(link.get("hreflang") for link in alternates):
        # Other-language versions (hreflang) are not the article: feedparser keeps the last alternate.
        own = [link for link in alternates if not link.get("hreflang")]
        own += [link for link in alternates if language and str(link.get("hreflang")).lower() == language.lower()]
        for link in own:
            found = safe_url(link.get("href"), base)
            if found:
                return found
    found = safe_url(entry.get("link"), base)
    if found:
        return found
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            found = safe_url(link.get("href"), base)
            if found:
                return found
    return None


def _alternates(entry: Mapping[str, Any], base: str, own_link: str | None) -> tuple[tuple[str, str], ...]:
    """The entry's other-language versions: `link rel="alternate" hreflang` as (language, URL)."""
    found: dict[str, str] = {}
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate" and link.get("hreflang"):
            href = safe_url(link.get("href"), base)
            language = clean_text(str(link.get("hreflang")), max_chars=35)
            if href and language and href not in found and href != own_link:
                found[href] = language
    return tuple((language, href) for href, language in list(found.items())[:20])


def _categories(entry: Mapping[str, Any]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in entry.get("tags") or ():
        if not isinstance(tag, Mapping):
            continue
        term = clean_text(tag.get("term") or tag.get("label") or "", max_chars=MAX_CATEGORY_CHARS)
        # One spelling per category: feeds repeat a term in several schemes or cases.
        if term and term.casefold() not in seen:
            seen[term.casefold()] = term
        if len(seen) >= MAX_CATEGORIES:
            break
    return tuple(seen.values())


def _text_snippet(html_text: str, max_chars: int = 80) -> str:
    return clean_text(html_text, max_chars=max_chars)


def _content_hash(title: str, content_html: str) -> str:
    normalised = " ".join(f"{title}\n{clean_text(content_html, max_chars=MAX_HTML_CHARS)}".casefold().split())
    return "sha256:" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _identity(entry: Mapping[str, Any], link: str | None, title: str, content_html: str) -> tuple[str, KeySource, str | None]:
    raw_id = entry.get("id")
    original_id = xml_safe(raw_id).strip() if isinstance(raw_id, str) else None
    if original_id:
        if len(original_id) > MAX_ID_CHARS:
            # Still keyed by the id, but an unbounded key would bloat every index over it.
            return "sha256:" + hashlib.sha256(original_id.encode("utf-8")).hexdigest(), "id", original_id
        return original_id, "id", original_id
    if link:
        return link, "link", None
    return _content_hash(title, content_html), "hash", None


def _build_entry(entry: Mapping[str, Any], base: str, feed_language: str | None,
                 max_html: int = MAX_ENTRY_HTML_CHARS) -> ParsedEntry:  # fmt: skip
    content_detail = _pick_content(entry)
    details = [content_detail, entry.get("title_detail"), entry.get("summary_detail")]
    language = _language(*(d.get("language") for d in details if isinstance(d, Mapping)), feed_language)
    link = _entry_link(entry, base, language)
    summary_html = _detail_html(entry.get("summary_detail"), base, max_html)
    content_html = _detail_html(content_detail, base, max_html) if content_detail else summary_html
    title = clean_text(entry.get("title"))
    if not title:
        title = _text_snippet(content_html or summary_html) or "(untitled)"
    key, key_source, original_id = _identity(entry, link, title, content_html)
    author = clean_text(entry.get("author"), max_chars=MAX_AUTHOR_CHARS) or None
    # dict.get, not entry.get: FeedParserDict would answer "updated_parsed" with the published
    # date (a deprecated fallback), making every entry look edited at publication.
    updated_raw = dict.get(entry, "updated_parsed") if isinstance(entry, dict) else None
    return ParsedEntry(
        key=key,
        key_source=key_source,
        original_id=original_id,
        link=link,
        title=title,
        content_html=content_html,
        summary_html=summary_html,
        author=author,
        categories=_categories(entry),
        # RSS 1.0's dc:date and Atom entries with only <updated> give feedparser no published
        # date; their one date is still the best publication time we have.
        published=_to_utc(entry.get("published_parsed") or entry.get("created_parsed") or updated_raw),
        updated=_to_utc(updated_raw),
        language=language,
        enclosures=entry_enclosures(entry, base),
        image=entry_image(entry, base, content_html or summary_html),
        alternates=_alternates(entry, base, link),
    )


def _newest_first_cap(entries: list[ParsedEntry], limit: int) -> list[ParsedEntry]:
    if len(entries) <= limit:
        return entries
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    ranked = sorted(range(len(entries)), key=lambda i: entries[i].published or entries[i].updated or floor, reverse=True)
    keep = set(ranked[:limit])
    return [e for i, e in enumerate(entries) if i in keep]


# --------------------------------------------------------------------------- feed-level fields

_PERIOD_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}


def _int_in_range(value: Any, low: int, high: int) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _update_seconds(feed: Mapping[str, Any]) -> float | None:
    period = feed.get("sy_updateperiod")
    frequency = feed.get("sy_updatefrequency")
    if period is None and frequency is None:
        return None
    # The syndication module's defaults: daily, once.
    seconds = _PERIOD_SECONDS.get(str(period or "daily").strip().lower())
    if seconds is None:
        return None
    times = _int_in_range(frequency, 1, 1_000_000) if frequency is not None else 1
    return seconds / times if times else None


def _reason(exception: BaseException | None) -> str:
    if exception is None:
        return "not a feed: no RSS or Atom document found"
    text = clean_text(str(exception), max_chars=500) or type(exception).__name__
    return text


def _is_broken_xml(exception: BaseException | None) -> bool:
    # feedparser flags merely suspicious documents too (wrong media type, charset override);
    # only a document the XML parser choked on is "broken" in the sense of ParseError.
    return exception is not None and not isinstance(
        exception, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    )


def _feedparser_headers(headers: Mapping[str, str], url: str) -> dict[str, str]:
    out = {str(k).lower(): str(v) for k, v in headers.items()}
    out["content-location"] = url
    # Fetch has already undone the transfer coding; feedparser must not try again.
    out.pop("content-encoding", None)
    out.pop("content-length", None)
    # Without a Content-Type, feedparser falls back to ISO-8859-1 and garbles every UTF-8 feed;
    # application/xml makes it honour the BOM / XML declaration / UTF-8 default instead.
    if not out.get("content-type", "").strip():
        out["content-type"] = "application/xml"
    return out


def _entries(raw: Iterable[Any], base: str, feed_language: str | None, max_entries: int = MAX_ENTRIES,
             max_html: int = MAX_ENTRY_HTML_CHARS) -> list[ParsedEntry]:  # fmt: skip
    built: list[ParsedEntry] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, Mapping):
            continue
        parsed = _build_entry(entry, base, feed_language, max_html)
        # Only the first copy of a key counts: later ones are usually a CMS listing the same post twice.
        if parsed.key in seen:
            continue
        seen.add(parsed.key)
        built.append(parsed)
    return _newest_first_cap(built, max_entries)


def _feed_id(result: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    """An Atom feed's atom:id, for atom:source when its entries are republished."""
    if not str(result.get("version") or "").startswith("atom"):
        return None
    value = clean_text(feed.get("id"))
    return value if value and len(value) <= MAX_ID_CHARS else None


def _parse(body: bytes, headers: Mapping[str, str], url: str, max_entries: int, max_html: int) -> ParsedFeed:
    if not body or not body.strip():
        raise ParseError("the response was empty")
    prepared = prepare_bytes(body, max_entries, max_html)
    if not prepared.strip():
        raise ParseError("the response held no feed document")
    prepared, feedparser_headers = repair_encoding(prepared, _feedparser_headers(headers, url))
    # The lxml fast path returns the same result mapping for documents it reads exactly as
    # feedparser does, and None for everything else (see aggregator/fastparse.py).
    result = fastparse.parse(prepared, feedparser_headers, body)
    if result is None:
        result = feedparser.parse(
            io.BytesIO(prepared),
            response_headers=feedparser_headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    exception: BaseException | None = result.get("bozo_exception") if result.get("bozo") else None
    feed: Mapping[str, Any] = result.get("feed") or {}
    base = safe_url(url) or url
    site_link = safe_url(feed.get("link"), base)
    header_language = next((v for k, v in headers.items() if k.lower() == "content-language"), None)
    feed_language = _language(feed.get("language"), (feed.get("title_detail") or {}).get("language"), header_language)
    entries = _entries(result.get("entries") or (), base, feed_language, max_entries, max_html)

    if not entries:
        if not result.get("version") or _is_broken_xml(exception):
            suggested = _discover_feed_url(body, base)
            raise ParseError(explain(_reason(exception), body, headers, suggested), suggested)
    return ParsedFeed(
        entries=tuple(entries),
        title=clean_text(feed.get("title")) or None,
        site_link=site_link,
        feed_id=_feed_id(result, feed),
        language=feed_language,
        ttl_minutes=_int_in_range(feed.get("ttl"), 1, 366 * 24 * 60),
        update_seconds=_update_seconds(feed),
        warning=_reason(exception) if exception is not None else None,
    )


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    max_entries: int = MAX_ENTRIES,
    max_entry_html: int = MAX_ENTRY_HTML_CHARS,
) -> ParsedFeed:
    """Parse one fetched feed document; ParseError (with a suggested feed URL for HTML pages) if it has no entries.

    At most `max_entries` entries are kept (the newest), each with at most `max_entry_html`
    characters of HTML. The time this takes is bounded by the caller (cycle.FeedParserPool)."""
    try:
        return _parse(body, headers, url, max_entries, max_entry_html)
    except ParseError:
        raise
    except Exception as exc:  # the contract is "ParseError or a feed"; a parser bug must not stop the cycle
        raise ParseError(f"could not read the feed ({type(exc).__name__}: {clean_text(str(exc), max_chars=300)})") from exc
