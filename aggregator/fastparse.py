"""A fast path for well-formed RSS 2.0, RSS 1.0 and Atom 1.0: lxml builds the tree, this walks it.

It produces the same result mapping feedparser.parse() would (a dict with "feed", "entries",
"version", "bozo"), restricted to the keys parse.py reads, so the post-processing in parse.py
(identity keys, nh3 sanitizing, dates, languages, limits) runs unchanged on either path.

To get the same values, it applies the same per-element steps feedparser's strict parser does,
through feedparser's own functions where it has them: encoding conversion (convert_to_utf8),
xml:base resolution (_urljoin, make_safe_absolute_uri), "does this RSS title look like HTML",
relative-URI resolution and sanitizing inside HTML (resolve_relative_uris, _sanitize_html),
date parsing (_parse_date) and its UTF-8/windows-1252 repairs. Those two HTML passes (sgmllib,
most of feedparser's time) are skipped for HTML in a subset where they change nothing that nh3
keeps, except attribute order and plain relative URLs, which _simple_html reproduces.

Whatever it is not sure to read exactly as feedparser does, it declines (parse() returns None)
and feedparser reads the document: any DOCTYPE or entity declaration, XML that is not well-formed
(or only "recoverably" so), encoding trouble, RSS 0.9x, Atom 0.3, an element inside an entry that
feedparser handles specially but this does not (itunes:*, a bare media:title, source, xhtml
content, ...), an unknown namespace element that could reach one of feedparser's handlers, child elements
inside a text element, repeated titles/descriptions/contents/ids in one entry, and no entries.
Declining is always safe; accepting must be exact (tests/test_fastparse_parity.py checks).

Must not raise: any unexpected exception is a decline.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

__all__ = ["Decline", "parse"]


class Decline(Exception):
    """This document is not one the fast path reads exactly like feedparser; use feedparser."""


# feedparser internals (stable across 6.0.x; the parity test catches a change).
try:
    from feedparser.datetimes import _parse_date
    from feedparser.encodings import convert_to_utf8
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
    import feedparser.api as _feedparser_api

    _AVAILABLE = True
except Exception:  # pragma: no cover - a feedparser without these: never take the fast path
    _AVAILABLE = False

_ATOM_NS = "http://www.w3.org/2005/Atom"
_RSS10_NS = "http://purl.org/rss/1.0/"
_RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

if _AVAILABLE:
    # Namespace URI (lower-cased, as feedparser matches it) -> feedparser's standard prefix.
    _STD_PREFIX: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
    _HANDLERS: frozenset[str] = frozenset(
        n.split("_", 2)[2].lower()
        for n in dir(_feedparser_api.StrictFeedParser)
        if n.startswith(("_start_", "_end_"))
    )
    _CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
    _CAN_CONTAIN_RELATIVE_URIS = frozenset(_FeedParserMixin.can_contain_relative_uris)
    _CAN_CONTAIN_DANGEROUS_MARKUP = frozenset(_FeedParserMixin.can_contain_dangerous_markup)
    _HTML_TYPES = frozenset(_FeedParserMixin.html_types)
    _looks_like_html = _FeedParserMixin.looks_like_html
    _STD_PREFIX_NAMES = frozenset(p.lower() for p in _STD_PREFIX.values() if p)

# Keys parse.py reads from an entry or the feed; a generic (handler-less) element of that name
# would be stored under it by feedparser, so such an element is declined rather than modelled.
_RESERVED = frozenset(
    {
        "title", "title_detail", "link", "links", "id", "author", "author_detail", "authors",
        "summary", "summary_detail", "content", "tags", "published_parsed", "created_parsed",
        "updated_parsed", "language", "source", "guidislink", "ttl", "sy_updateperiod",
        "sy_updatefrequency", "href", "url", "subtitle", "subtitle_detail",
    }
)  # fmt: skip

_SENSITIVE_ATTRIBUTES = frozenset(
    {"rel", "type", "href", "url", "uri", "ispermalink", "term", "scheme", "domain", "label", "mode", "src", "version",
     "lastmod", "lang", "base", "about"}
)  # fmt: skip

# Elements whose HTML parse.py only ever passes through clean_html (titles go through clean_text).
_SHORTCUT_ELEMENTS = frozenset({"content", "description", "summary"})

_DOCTYPE_OR_ENTITY = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_WIDE_DOCTYPE = re.compile(rb"<\x00!\x00D\x00|\x00<\x00!\x00D", re.IGNORECASE)
_PREFIX_DECLARATION = re.compile(rb"""xmlns:([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_LINK_ENTITY_FIX = re.compile("&([A-Za-z0-9_]+);")
_C1_CONTROL = re.compile("[\x80-\x9f]")  # the keys of feedparser's _cp1252 table

# Entry elements, by feedparser's name for them, and what they are.
_TITLE = frozenset({"title", "dc_title"})
_DESCRIPTION = frozenset({"description", "dc_description"})
_SUMMARY = frozenset({"summary"})
_CONTENT_HTML = frozenset({"content_encoded", "fullitem"})
_AUTHOR = frozenset({"author", "dc_creator", "dc_author"})
_CATEGORY = frozenset({"category", "dc_subject"})
_PUBLISHED = frozenset({"published", "pubdate", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "dc_date", "dcterms_modified", "lastbuilddate"})
_CREATED = frozenset({"created", "dcterms_created"})
_AUTHOR_CHILDREN = frozenset({"name", "email", "uri", "url", "homepage"})
# Elements whose feedparser handler touches nothing parse.py reads but what is modelled here (the
# enclosure and media lists), when they have no children.
_HARMLESS_LEAVES = frozenset({"enclosure", "media_content", "media_thumbnail", "cloud", "generator"})
# Feed-level subtrees feedparser stores in their own dicts (image, textinput, authors...).
_FEED_SKIP = frozenset(
    {
        "image", "textinput", "items", "author", "managingeditor", "webmaster", "dc_creator",
        "dc_author", "dc_publisher", "contributor", "category", "dc_subject", "description",
        "dc_description", "subtitle", "tagline", "rights", "copyright", "dc_rights", "generator",
        "cloud", "published", "pubdate", "updated", "modified", "dc_date", "lastbuilddate",
        "dcterms_modified", "dcterms_issued", "dcterms_created", "created", "issued", "icon", "logo",
    }
)  # fmt: skip


_PERSON = frozenset({"name", "email", "uri", "url", "homepage"})
# Children allowed in a skipped feed-level subtree (None: anything handler-free).
_SKIP_CHILDREN: dict[str, frozenset[str] | None] = {
    "image": frozenset({"title", "link", "url", "width", "height", "description"}),
    "textinput": frozenset({"title", "link", "name", "description"}),
    "author": _PERSON, "managingeditor": _PERSON, "webmaster": frozenset(), "dc_creator": _PERSON,
    "dc_author": _PERSON, "dc_publisher": frozenset(), "contributor": _PERSON,
    "items": None,
}  # fmt: skip
for _name in _FEED_SKIP:
    _SKIP_CHILDREN.setdefault(_name, frozenset())
# Entry-level elements stored where parse.py never looks; leaves (contributor: a person).
_ENTRY_IGNORED: dict[str, frozenset[str]] = {
    "rights": frozenset(), "copyright": frozenset(), "dc_rights": frozenset(), "contributor": _PERSON,
    "dc_contributor": frozenset(),
}  # fmt: skip


# --------------------------------------------------------------------------- HTML feedparser would not change
#
# feedparser runs every HTML value through its relative-URI resolver and its sanitizer (both
# sgmllib-based, most of its time); parse.py then runs nh3 on the result. For HTML in the subset
# below, those two passes change nothing nh3 would not normalise or remove anyway, so skipping them
# gives the same clean_html() output (tests/test_fastparse_parity.py checks this on snippets and on
# every accepted corpus file). Anything outside the subset still goes through feedparser's passes:
# - only tags feedparser keeps as they are and nh3 does not drop with their content;
# - void tags (br, img, hr, wbr) never closed, "/>" only on them;
# - every attribute quoted, with a value, at most once per tag, no "<", ">" or stray "&" in it;
# - every URL attribute an absolute http(s) URL that urljoin leaves as it is (no relative URLs:
#   feedparser and nh3 resolve those with different URL libraries);
# - text with "&" only in well-known entities or printable character references; no comments,
#   CDATA or declarations.
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc", "usemap", "background", "action", "codebase", "poster", "data"})
if _AVAILABLE:
    from feedparser.sanitizer import _HTMLSanitizer
    from .sanitize import _DROP_WITH_CONTENT, ALLOWED_ATTRIBUTES, ALLOWED_TAGS

    _SIMPLE_TAGS = frozenset(
        (set(ALLOWED_TAGS) | {"font", "center", "article", "section", "header", "footer", "aside", "nav", "address",
                              "big", "tt", "strike", "dfn", "kbd", "samp", "var", "wbr"})  # fmt: skip
        & set(_HTMLSanitizer.acceptable_elements)
    ) - set(_DROP_WITH_CONTENT) - set(_HTMLSanitizer.unacceptable_elements_with_end_tag) - {"svg", "math"}
    _SIMPLE_ATTRIBUTES = frozenset(_HTMLSanitizer.acceptable_attributes) | {"class", "id", "style"}
    # Attributes nh3 may keep on some tag (its generic "lang" and "title", the per-tag allow-list,
    # "rel" it rewrites, and every URL attribute): only these must come out of feedparser's passes
    # as they went in. Any other plainly named attribute (WordPress's decoding, loading, srcset,
    # sizes, aria-*, data-*) is removed by nh3 whatever feedparser did with it.
    _NH3_MAY_KEEP = frozenset().union(*ALLOWED_ATTRIBUTES.values()) | {"lang", "title", "rel"} | _URL_ATTRIBUTES
_VOID_TAGS = frozenset({"br", "hr", "img", "wbr"})
_ENTITY_NAMES = frozenset(html.entities.entitydefs)
_HTML_MARKUP = re.compile(
    r"""<(?P<end>/)?(?P<tag>[A-Za-z][A-Za-z0-9]{0,15})(?P<attrs>(?:\s+[A-Za-z][A-Za-z0-9_:.-]{0,40}\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*)\s*(?P<close>/)?>"""
    r"""|&(?P<ref>[A-Za-z][A-Za-z0-9]{1,31}|\#[0-9]{1,7}|\#[xX][0-9A-Fa-f]{1,6});"""
    r"""|(?P<bad>[<&])"""
)
_HTML_ATTRIBUTE = re.compile(r"""\s+([A-Za-z][A-Za-z0-9_:.-]{0,40})\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')""")
_ATTRIBUTE_REF = re.compile(r"&(?:amp|quot|#39|#039);")
_SIMPLE_URL = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]{1,5})?"
    r"(?:/[A-Za-z0-9._~!$'()*+,=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$'()*+,=:@%/?-]+(?:&amp;[A-Za-z0-9._~!$'()*+,=:@%/?-]+)*)?"
    r"(?:\#[A-Za-z0-9._~!$'()*+,=:@%/?-]+)?"
)


_RELATIVE_URL = re.compile(
    r"[A-Za-z0-9._~!$'()*+,=@%/-]+"
    r"(?:\?[A-Za-z0-9._~!$'()*+,=:@%/?-]+)?"
    r"(?:\#[A-Za-z0-9._~!$'()*+,=:@%/?-]+)?"
)
if _AVAILABLE:
    from feedparser.urls import RelativeURIResolver

    _RESOLVED_ATTRIBUTES = frozenset(RelativeURIResolver.relative_uris)


def _simple_ref(body: str) -> bool:
    if body[0] != "#":
        return body in _ENTITY_NAMES
    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    return not (code < 0xA0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF or code in (0xFFFE, 0xFFFF))


def _simple_tag(match: re.Match[str], base: str) -> tuple[bool, str | None, bool]:
    """(inside the subset, the tag rewritten or None if unchanged, whether that depends on `base`)."""
    tag = match.group("tag").lower()
    if tag not in _SIMPLE_TAGS:
        return False, None, False
    if match.group("end"):
        return not (tag in _VOID_TAGS or match.group("attrs") or match.group("close")), None, False
    if match.group("close") and tag not in _VOID_TAGS:
        return False, None, False
    names: list[str] = []
    segments: list[tuple[str, str]] = []
    resolved = False
    for attribute in _HTML_ATTRIBUTE.finditer(match.group("attrs")):
        name = attribute.group(1).lower()
        value = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
        if name in names or name.startswith("on"):
            return False, None, False
        if name not in _SIMPLE_ATTRIBUTES and (name in _NH3_MAY_KEEP or ":" in name):
            return False, None, False
        names.append(name)
        segments.append((name, attribute.group(0).strip()))
        if "&" in value and "&" in _ATTRIBUTE_REF.sub("", value):
            return False, None, False
        if name in _URL_ATTRIBUTES and not _SIMPLE_URL.fullmatch(value):
            if (tag, name) not in _RESOLVED_ATTRIBUTES or not _RELATIVE_URL.fullmatch(value):
                return False, None, False
            value = make_safe_absolute_uri(base, value)
            if not _SIMPLE_URL.fullmatch(value):
                return False, None, False
            segments[-1] = (name, f'{name}="{value}"')
            resolved = True
    if not resolved and names == sorted(names):
        return True, None, False
    rebuilt = "".join(" " + segment for _, segment in sorted(segments))
    return True, f"<{match.group('tag')}{rebuilt}{' /' if match.group('close') else ''}>", resolved


# _HTML_MARKUP's matches as plain strings: findall, with no groups to capture, hands them over in
# one call, and most of them are tags seen before (in _TOKEN_CACHE), which need no match object.
_HTML_TOKEN = re.compile(re.sub(r"\(\?P<[a-z]+>", "(?:", _HTML_MARKUP.pattern))
_TOKEN_CACHE: dict[str, tuple[bool, str | None]] = {}


def _token_verdict(token: str, base: str) -> tuple[tuple[bool, str | None], bool]:
    """((inside the subset, the token rewritten or None), whether that holds whatever the base)."""
    match = _HTML_MARKUP.match(token)  # the same match as in the whole text: it ends where the token does
    assert match is not None
    if match.group("bad") is not None:
        return (False, None), True
    ref = match.group("ref")
    if ref is not None:
        return (_simple_ref(ref), None), True
    ok, rewritten, depends_on_base = _simple_tag(match, base)
    return (ok, rewritten), not depends_on_base


def _simple_html(text: str, base: str) -> str | None:
    """`text` as feedparser's resolver and sanitizer would leave it for nh3, or None if unsure.

    Within the subset, the one change of theirs nh3 does not undo is attribute order: feedparser
    sorts each tag's attributes by name, nh3 keeps the order it is given. So tags whose attributes
    are not in order are rewritten with the same attributes sorted. And a plain relative URL is
    resolved here, with feedparser's own function, where feedparser's resolver would resolve it.
    Text between tags and references needs no look: it holds no "<" or "&".
    """
    pieces: list[str] = []
    kept = 0  # text[kept:] still to copy into pieces, once a tag needed rewriting
    for token in _HTML_TOKEN.findall(text):
        verdict = _TOKEN_CACHE.get(token)
        if verdict is None:
            verdict, cacheable = _token_verdict(token, base)
            if cacheable:
                if len(_TOKEN_CACHE) > 4096:
                    _TOKEN_CACHE.clear()
                _TOKEN_CACHE[token] = verdict
        ok, rewritten = verdict
        if not ok:
            return None
        if rewritten is not None:
            # Where this token is: every "<" and "&" starts a token, and equal tokens are rewritten
            # alike, so its first occurrence after the last rewritten one is this one.
            start = text.find(token, kept)
            pieces.append(text[kept:start])
            pieces.append(rewritten)
            kept = start + len(token)
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Walker:
    def __init__(self, version: str, base: str, lang: str | None, doc_prefixes: frozenset[str], unknown_prefixes: dict[str, set[str]]):
        self.version = version
        self.doc_prefixes = doc_prefixes  # declared anywhere for a known namespace
        self.unknown_prefixes = unknown_prefixes  # unknown namespace URI -> prefixes declared for it
        self.base_cache: dict[tuple[str, str], str] = {}
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.root_base = base
        self.root_lang = lang
        if lang:
            self.feed["language"] = lang.replace("_", "-")

    # ------------------------------------------------------------------ per-element state

    def name(self, el: Any) -> str:
        """feedparser's name for an element: standard prefix + "_" + lower-cased local name."""
        tag = el.tag
        if not isinstance(tag, str):
            raise Decline("a non-element node")
        ns, local = _split(tag)
        local = local.lower()
        if not ns:
            return local
        low = ns.lower()
        if "backend.userland.com/rss" in low:
            raise Decline("userland namespace")
        prefix = _STD_PREFIX.get(low)
        if prefix is not None:
            return f"{prefix.lower()}_{local}" if prefix else local
        # An unknown namespace: expat reports no qname, so feedparser names the element after the
        # first prefix declared for its URI, or not at all. Either name must stay handler-free.
        given = (el.prefix or "").lower()
        prefixes = self.unknown_prefixes.get(ns, set()) | ({given} if given else set())
        if prefixes & self.doc_prefixes:
            raise Decline(f"unknown namespace behind a known prefix {sorted(prefixes & self.doc_prefixes)}")
        for candidate in [f"{p}_{local}" for p in prefixes] or [local]:
            if candidate in _HANDLERS or candidate in _RESERVED:
                raise Decline(f"element {candidate!r} in an unknown namespace")
        return f"{given}_{local}" if given else f"_{local}"

    @staticmethod
    def attrs(el: Any) -> dict[str, str]:
        """The attribute dict feedparser's handlers see (keys lower-cased, rel/type values too)."""
        out: dict[str, str] = {}
        plain: list[tuple[str, str]] = []
        late: list[tuple[str, str]] = []
        for key, value in el.attrib.items():
            if key[0] == "{":
                ns, local = _split(key)
                prefix = _STD_PREFIX.get(ns.lower(), "")
                if not prefix and local.lower() in _SENSITIVE_ATTRIBUTES:
                    raise Decline(f"attribute {local!r} in an unknown namespace")
                out[(f"{prefix}:{local}" if prefix else local).lower()] = value
                # expat reports no prefixes, so feedparser also files it under its bare local name
                late.append((local.lower(), value))
            else:
                plain.append((key.lower(), value))
        for name, value in plain:
            out[name] = value
        for name, value in late:
            if name in out and name not in ("lang", "base", "about", "resource"):
                raise Decline(f"attribute {name!r} twice, with and without a namespace")
            out[name] = value
        for name in ("rel", "type"):
            if name in out:
                out[name] = out[name].lower()
        return out

    def base_of(self, attrs: Mapping[str, str], parent_base: str) -> str:
        given = attrs.get("xml:base", attrs.get("base")) or parent_base
        cache_key = (parent_base, given)
        cached = self.base_cache.get(cache_key)
        if cached is not None:
            return cached
        if parent_base:
            result = make_safe_absolute_uri(parent_base, given) or parent_base
        else:
            result = _urljoin(parent_base, given)
        self.base_cache[cache_key] = result
        return result

    @staticmethod
    def lang_of(attrs: Mapping[str, str], parent_lang: str | None) -> str | None:
        lang = attrs.get("xml:lang", attrs.get("lang"))
        if lang == "":
            return None
        return parent_lang if lang is None else lang

    def scope(self, el: Any, base: str, lang: str | None) -> tuple[dict[str, str], str, str | None]:
        if not len(el.attrib):
            # make_safe_absolute_uri(base, base) may still normalise: feedparser calls it always.
            return {}, self.base_of({}, base), lang
        attrs = self.attrs(el)
        return attrs, self.base_of(attrs, base), self.lang_of(attrs, lang)

    # ------------------------------------------------------------------ values

    @staticmethod
    def leaf_text(el: Any) -> str:
        if len(el):
            raise Decline("child elements inside a text element")
        return el.text or ""

    def value(self, name: str, raw: str, base: str, ctype: str | None = None, guidislink: bool = True) -> tuple[str, str | None]:
        """The steps of feedparser's pop() for one element's text, in its order."""
        out = raw.strip()
        if name in _CAN_BE_RELATIVE_URI and out and (name != "id" or guidislink):
            out = _urljoin(base or "", out)
        if ctype is not None:
            if not self.version.startswith("atom") and ctype == "text/plain" and _looks_like_html(out):
                ctype = "text/html"
            htmlish = ctype in _HTML_TYPES
        else:
            htmlish = True
        if htmlish and name in _SHORTCUT_ELEMENTS and ctype == "text/html":
            simple = _simple_html(out, base)
            if simple is not None:
                out, htmlish = simple, False  # as feedparser's two passes would leave it for nh3
        if htmlish and name in _CAN_CONTAIN_RELATIVE_URIS:
            out = resolve_relative_uris(out, base, "utf-8", ctype or "text/html")
        if htmlish and name in _CAN_CONTAIN_DANGEROUS_MARKUP:
            out = _sanitize_html(out, "utf-8", ctype or "text/html")
        if isinstance(out, bytes):  # pragma: no cover - feedparser returns str on Python 3
            out = out.decode("utf-8", "ignore")
        try:
            out = out.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        # str.translate looks up every character (a tenth of the fast path's time); _cp1252 only
        # maps C1 controls, so a value without one is already what translate would return.
        if _C1_CONTROL.search(out) is None:
            return out, ctype
        return out.translate(_cp1252), ctype

    def content(self, el: Any, name: str, attrs: Mapping[str, str], base: str, lang: str | None, default_type: str, atom: bool) -> dict[str, Any]:
        allowed = {"xml:lang", "xml:base", "lang", "base"} | ({"type"} if atom else set())
        if set(attrs) - allowed:
            raise Decline(f"unexpected attributes on {name}")
        ctype = _FeedParserMixin.map_content_type(attrs.get("type", default_type))
        if ctype not in ("text/plain", "text/html"):
            raise Decline(f"content type {ctype!r}")
        if lang:
            lang = lang.replace("_", "-")
        text, ctype = self.value(name, self.leaf_text(el), base, ctype)
        return {"type": ctype, "language": lang, "base": base, "value": text}

    # ------------------------------------------------------------------ links, ids, authors, tags

    def link(self, el: Any, context: dict[str, Any], attrs: dict[str, str], base: str, in_entry: bool) -> None:
        attrs = dict(attrs)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        if "href" in attrs:
            attrs["href"] = _urljoin(base or "", attrs["href"])
        links = context.setdefault("links", [])
        links.append(attrs)
        if "href" in attrs:
            if attrs.get("rel") == "alternate" and _FeedParserMixin.map_content_type(attrs.get("type")) in _HTML_TYPES:
                context["link"] = attrs["href"]
            if len(el):
                raise Decline("children inside a link")
            return
        out, _ = self.value("link", self.leaf_text(el), base)
        if in_entry:
            out = _LINK_ENTITY_FIX.sub(r"&\g<1>", out.replace("&amp;", "&"))
            context["link"] = out
            if out:
                links[-1]["href"] = out
        else:
            out = _LINK_ENTITY_FIX.sub(r"&\g<1>", out)
            context["link"] = out
            links[-1]["href"] = out

    def ident(self, el: Any, context: dict[str, Any], attrs: Mapping[str, str], base: str) -> None:
        guidislink = attrs.get("ispermalink", "true") == "true"
        out, _ = self.value("id", self.leaf_text(el), base, guidislink=guidislink)
        context["id"] = out
        context.setdefault("guidislink", guidislink and "link" not in context)
        if guidislink:
            context.setdefault("link", out)

    def author(self, el: Any, entry: dict[str, Any], base: str, lang: str | None) -> None:
        detail: dict[str, str] = {}
        pieces = [el.text or ""]
        for child in el:
            pieces.append(child.tail or "")
            child_name = self.name(child)
            child_attrs, child_base, _ = self.scope(child, base, lang)
            if child_name not in _AUTHOR_CHILDREN:
                # An extension element (Blogger's gd:image): feedparser files it away, but with
                # attributes it pushes nothing, so its text would join the author's own.
                self.generic(child, child_name)
                if child_attrs and len(child):
                    raise Decline(f"{child_name} with children inside an author")
                if child_attrs:
                    pieces.append(child.text or "")
                continue
            text = self.leaf_text(child)
            if child_name in ("name", "email"):
                detail[child_name] = text.strip()
            else:
                detail["href"], _ = self.value("href", text, child_base)
        out, _ = self.value("author", "".join(pieces), base)
        entry["author"] = out
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                entry["author"] = f"{name} ({email})"
            elif name:
                entry["author"] = name
            elif email:
                entry["author"] = email

    def media_content(self, el: Any, entry: Mapping[str, Any], base: str, lang: str | None) -> None:
        """<media:content> with a <media:title> (WordPress.com's author gravatar) or <media:thumbnail>.

        feedparser reads media:title as a title one level deeper than the entry's own, so once the
        entry has a non-empty title it is ignored; before that it would be the entry's title, which
        this does not model."""
        for child in el:
            child_name = self.name(child)
            child_attrs, _, _ = self.scope(child, base, lang)
            self.leaf_text(child)
            if child_name == "media_title":
                if not entry.get("title"):
                    raise Decline("media:title before the entry's own title")
            elif child_name == "media_thumbnail":
                self.media_thumbnail(child, entry, child_attrs)
            else:
                raise Decline(f"{child_name} inside media:content")

    @staticmethod
    def media_thumbnail(el: Any, entry: Any, attrs: Mapping[str, str]) -> None:
        """feedparser lists each media:thumbnail's attributes; its text would stand in for a missing
        url attribute (resolved as a URL), which this does not model."""
        if "url" not in attrs and (el.text or "").strip():
            raise Decline("media:thumbnail with its URL as text")
        entry.setdefault("media_thumbnail", []).append(dict(attrs))

    def category(self, el: Any, entry: dict[str, Any], attrs: Mapping[str, str], base: str) -> None:
        tags: list[dict[str, Any]] = entry.setdefault("tags", [])

        def add(term: str | None, scheme: str | None, label: str | None) -> None:
            if not term and not scheme and not label:
                return
            tag = {"term": term, "scheme": scheme, "label": label}
            if tag not in tags:
                tags.append(tag)

        add(attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value, _ = self.value("category", self.leaf_text(el), base)
        if not value:
            return
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            add(value, None, None)

    # ------------------------------------------------------------------ entries and the feed

    def generic(self, el: Any, name: str) -> None:
        """An element feedparser has no handler for: stored under its own name, read by nobody."""
        if name in _HANDLERS or name in _RESERVED:
            raise Decline(f"unhandled element {name!r}")
        for child in el:
            self.generic(child, self.name(child))

    def entry(self, el: Any, base: str, lang: str | None) -> None:
        attrs, base, lang = self.scope(el, base, lang)
        if "lastmod" in attrs or "href" in attrs:
            raise Decline("CDF attributes on an item")
        entry: dict[str, Any] = {}
        about = attrs.get("rdf:about")
        if about:
            entry["id"] = about
        atom = self.version == "atom10"
        seen: set[str] = set()
        for child in el:
            name = self.name(child)
            c_attrs, c_base, c_lang = self.scope(child, base, lang)
            group = None
            if name in _TITLE:
                group = "title"
                entry["title_detail"] = self.content(child, "title", c_attrs, c_base, c_lang, "text/plain", atom)
                entry["title"] = entry["title_detail"]["value"]
            elif name in _DESCRIPTION or name in _SUMMARY:
                group = "summary"
                is_summary = name in _SUMMARY
                detail = self.content(child, "summary" if is_summary else "description", c_attrs, c_base, c_lang,
                                      "text/plain" if is_summary else "text/html", atom)  # fmt: skip
                entry["summary_detail"] = detail
                entry["summary"] = detail["value"]
            elif name in _CONTENT_HTML or (name == "content" and atom):
                group = "content"
                detail = self.content(child, "content", c_attrs, c_base, c_lang, "text/plain" if name == "content" else "text/html", atom)
                entry.setdefault("content", []).append(detail)
                entry.setdefault("summary", detail["value"])
            elif name == "link":
                self.link(child, entry, c_attrs, c_base, in_entry=True)
            elif name in ("guid", "id"):
                group = "id"
                self.ident(child, entry, c_attrs, c_base)
            elif name in _AUTHOR:
                self.author(child, entry, c_base, c_lang)
            elif name in _CATEGORY:
                self.category(child, entry, c_attrs, c_base)
            elif name in _PUBLISHED:
                entry["published_parsed"] = _parse_date(self.value("published", self.leaf_text(child), c_base)[0])
            elif name in _UPDATED:
                entry["updated_parsed"] = _parse_date(self.value("updated", self.leaf_text(child), c_base)[0])
            elif name in _CREATED:
                entry["created_parsed"] = _parse_date(self.value("created", self.leaf_text(child), c_base)[0])
            elif name == "media_content" and len(child):
                entry.setdefault("media_content", []).append(dict(c_attrs))
                self.media_content(child, entry, c_base, c_lang)
            elif name in _HARMLESS_LEAVES:
                if len(child):
                    raise Decline(f"children inside {name}")
                if name == "media_content":
                    entry.setdefault("media_content", []).append(dict(c_attrs))
                elif name == "media_thumbnail":
                    self.media_thumbnail(child, entry, c_attrs)
                elif name == "enclosure":
                    link = dict(c_attrs)
                    href = link.pop("url", None) or link.pop("uri", None) or link.get("href")
                    if href:
                        link["href"] = href
                    link["rel"] = "enclosure"
                    entry.setdefault("links", []).append(link)
            elif name in _ENTRY_IGNORED:
                self.skip_children(child, _ENTRY_IGNORED[name])
            else:
                self.generic(child, name)
            if group is not None:
                if group in seen:
                    raise Decline(f"two {group} elements in one entry")
                seen.add(group)
        self.entries.append(entry)

    def channel(self, el: Any, base: str, lang: str | None, entry_parent: bool) -> None:
        """Feed-level children of an RSS <channel> or Atom <feed> (and entries, where they sit)."""
        feed = self.feed
        titles = 0
        for child in el:
            name = self.name(child)
            if entry_parent and name in ("item", "entry"):
                self.entry(child, base, lang)
                continue
            c_attrs, c_base, c_lang = self.scope(child, base, lang)
            if name in _TITLE:
                titles += 1
                if titles > 1:
                    raise Decline("two feed titles")
                feed["title_detail"] = self.content(child, "title", c_attrs, c_base, c_lang, "text/plain", self.version == "atom10")
                feed["title"] = feed["title_detail"]["value"]
            elif name == "link":
                self.link(child, feed, c_attrs, c_base, in_entry=False)
            elif name in ("guid", "id"):
                self.ident(child, feed, c_attrs, c_base)
            elif name in ("language", "dc_language"):
                if c_attrs:
                    raise Decline("attributes on language")
                feed["language"] = self.value("language", self.leaf_text(child), c_base)[0]
            elif name in ("ttl", "sy_updateperiod", "sy_updatefrequency"):
                if c_attrs:
                    feed[name] = c_attrs
                    self.leaf_text(child)
                else:
                    feed[name] = self.value(name, self.leaf_text(child), c_base)[0]
            elif name in _FEED_SKIP:
                self.skip(child, name)
            elif name in ("item", "entry", "channel", "feed", "rss", "source"):
                raise Decline(f"{name} where it does not belong")
            else:
                self.generic(child, name)

    def skip_children(self, el: Any, allowed: frozenset[str]) -> None:
        if not allowed:
            self.leaf_text(el)
            return
        for child in el:
            child_name = self.name(child)
            if child_name in allowed:
                self.leaf_text(child)
            elif allowed is _PERSON:
                self.generic(child, child_name)
            else:
                raise Decline(f"{child_name} where only {sorted(allowed)} belong")

    def skip(self, el: Any, name: str) -> None:
        """A feed-level subtree feedparser keeps in its own dict; only its shape is checked."""
        allowed = _SKIP_CHILDREN.get(name)
        for child in el:
            child_name = self.name(child)
            if allowed is None:
                self.generic(child, child_name)  # e.g. <items><rdf:Seq><rdf:li .../>
            elif child_name not in allowed:
                if name not in ("author", "contributor", "managingeditor", "dc_creator", "dc_author"):
                    raise Decline(f"{child_name} inside {name}")
                self.generic(child, child_name)  # Blogger's gd:image
            else:
                self.leaf_text(child)


def _version(root: Any) -> str:
    """feedparser's version for the root element, or Decline."""
    ns, local = _split(root.tag)
    declared = [uri.lower() for prefix, uri in root.nsmap.items()]
    if not ns and local == "rss":
        version = root.get("version", "")
        if not version.startswith("2."):
            raise Decline(f"RSS version {version!r}")
        return "rss20"
    if ns == _ATOM_NS and local == "feed":
        if _RSS10_NS in declared or root.nsmap.get(None, "").lower() == _RSS090_NS:
            raise Decline("Atom with RSS namespaces")
        return "atom10"
    if ns == _RDF_NS and local == "RDF":
        if _ATOM_NS.lower() in declared or root.nsmap.get(None, "").lower() == _RSS090_NS or _RSS10_NS not in declared:
            raise Decline("RDF that is not plain RSS 1.0")
        return "rss10"
    raise Decline(f"root element {local!r} in namespace {ns or 'none'!r}")


def _parse(prepared: bytes, headers: Mapping[str, str], original: bytes) -> dict[str, Any]:
    head = prepared[:4]
    if not prepared.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00", b"<\x00", b"\x00<")):
        raise Decline("not markup")  # cheaply, before converting and parsing megabytes of junk
    if _DOCTYPE_OR_ENTITY.search(original) or _WIDE_DOCTYPE.search(original[:65536]):
        raise Decline("a DOCTYPE")
    encoding_result: dict[str, Any] = {}
    data = convert_to_utf8(dict(headers), prepared, encoding_result)
    if encoding_result.get("bozo") or not encoding_result.get("encoding"):
        raise Decline("encoding trouble")
    if _DOCTYPE_OR_ENTITY.search(data):
        raise Decline("a DOCTYPE")
    if b"http://www.w3.org/1999/xlink" in data:
        raise Decline("xlink declarations (feedparser copies them onto elements)")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False,
        remove_comments=True, remove_pis=True, strip_cdata=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Decline(f"not well-formed: {exc}") from None
    if root is None or len(parser.error_log):
        raise Decline("parser warnings")
    version = _version(root)
    # feedparser maps each prefix the document declares for a known namespace to its standard one,
    # document-wide; a document prefix that is another namespace's standard prefix, or that an
    # unknown namespace reuses elsewhere, would send elements to other handlers.
    doc_prefixes: set[str] = set()
    unknown_prefixes: dict[str, set[str]] = {}
    for match in _PREFIX_DECLARATION.finditer(data):
        prefix = match.group(1).decode("ascii").lower()
        uri_bytes = match.group(2) if match.group(2) is not None else match.group(3)
        uri = uri_bytes.decode("utf-8", "replace")
        standard = _STD_PREFIX.get(uri.lower())
        if standard is None:
            unknown_prefixes.setdefault(uri, set()).add(prefix)
            continue
        if prefix != standard.lower() and prefix in _STD_PREFIX_NAMES:
            raise Decline(f"prefix {prefix!r} declared for another namespace")
        doc_prefixes.add(prefix)
    base = headers.get("content-location", "")
    base = make_safe_absolute_uri(base) or base
    walker = _Walker(version, base, headers.get("content-language") or None, frozenset(doc_prefixes), unknown_prefixes)
    attrs, root_base, root_lang = walker.scope(root, walker.root_base, walker.root_lang)
    if root_lang and version != "rss10":  # feedparser compares the lower-cased "rdf:rdf" to "rdf:RDF"
        walker.feed["language"] = root_lang.replace("_", "-")
    if version == "rss20":
        children = list(root)
        if len(children) != 1 or walker.name(children[0]) != "channel":
            raise Decline("an <rss> without exactly one <channel>")
        channel = children[0]
        c_attrs, c_base, c_lang = walker.scope(channel, root_base, root_lang)
        if "lastmod" in c_attrs or "href" in c_attrs:
            raise Decline("CDF attributes on the channel")
        walker.channel(channel, c_base, c_lang, entry_parent=True)
    elif version == "atom10":
        walker.channel(root, root_base, root_lang, entry_parent=True)
    else:
        for child in root:
            name = walker.name(child)
            if name == "item":
                walker.entry(child, root_base, root_lang)
            elif name == "channel":
                c_attrs, c_base, c_lang = walker.scope(child, root_base, root_lang)
                if "lastmod" in c_attrs or "href" in c_attrs:
                    raise Decline("CDF attributes on the channel")
                walker.channel(child, c_base, c_lang, entry_parent=False)
            elif name in ("image", "textinput"):
                walker.skip(child, name)
            else:
                walker.generic(child, name)
    if not walker.entries:
        raise Decline("no entries")
    return {"bozo": False, "version": version, "feed": walker.feed, "entries": walker.entries, "encoding": "utf-8"}


def parse(prepared: bytes, headers: Mapping[str, str], original: bytes) -> dict[str, Any] | None:
    """feedparser.parse()'s result for `prepared` (bytes as parse.py hands them to feedparser, with
    the same lower-cased headers), or None when feedparser must read it. `original` is the body as
    fetched, checked for a DOCTYPE (prepare_bytes removes it from `prepared`)."""
    if not _AVAILABLE:
        return None
    try:
        return _parse(prepared, headers, original)
    except Decline:
        return None
    except Exception:  # a surprise is a decline too: feedparser remains the parser of record
        return None


def decline_reason(prepared: bytes, headers: Mapping[str, str], original: bytes) -> str | None:
    """Why the fast path declines this document (None if it accepts): for tests and reports."""
    if not _AVAILABLE:
        return "feedparser internals unavailable"
    try:
        _parse(prepared, headers, original)
    except Decline as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
