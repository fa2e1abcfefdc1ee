"""Why a fetched document gave no entries, in words a person can act on.

parse.py raises ParseError when a response holds no feed; the parser's own complaint
(":4:2: mismatched tag", "text/html is not an XML media type") says what broke, not what to do.
`explain` turns it into: an HTML page that links a feed (use that URL), an HTML page that links
none, or a document that is not a feed (with the line and column where the XML broke).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# What starts an HTML page (not just any document holding a <link> element, as RSS does).
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE)
_FEED_START = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|RDF)[\s>/]")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# The XML parser's complaint, as clean_text leaves it: "<unknown>:2:3: not well-formed (invalid token)"
# loses its "<unknown>", so it reads ":2:3: ...".
_POSITION = re.compile(r"^[^:]*:(\d+):(\d+):\s*(.+)$", re.DOTALL)
_NOT_WELL_FORMED = re.compile(r"^not well-formed \((.+)\)$")


def _content_type(headers: Mapping[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return str(value).split(";")[0].strip().lower()


def looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    """An HTML page: served as one, or starting like one, and not starting like a feed."""
    head = body[:262_144]
    if _FEED_START.search(head, 0, 4096):
        return False
    return _content_type(headers) in _HTML_TYPES or bool(_HTML_START.search(head))


def explain(reason: str, body: bytes, headers: Mapping[str, str], suggested_url: str | None) -> str:
    """The message recorded against a feed whose document held no feed (see the module doc)."""
    if suggested_url:
        return f"this is an HTML page, not a feed; it links a feed at {suggested_url} (use that URL in feeds.yaml)"
    if looks_like_html(body, headers):
        return "this is an HTML page, not a feed, and it links no feed"
    if reason.startswith("not a feed"):
        return "this is " + reason
    return f"this is not a feed: {xml_problem(reason)}"


def xml_problem(reason: str) -> str:
    """The XML parser's ":2:3: not well-formed (invalid token)" as "not well-formed XML (line 2,
    column 3: invalid token)"; any other reason as it is."""
    found = _POSITION.match(reason.strip())
    if not found:
        return reason
    line, column, message = found.groups()
    well_formed = _NOT_WELL_FORMED.match(message)
    if well_formed:
        return f"not well-formed XML (line {line}, column {column}: {well_formed.group(1)})"
    return f"broken XML (line {line}, column {column}: {message})"
