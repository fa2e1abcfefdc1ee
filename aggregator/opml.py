"""OPML 2.0, the subscription-list format every feed reader speaks: render our sources, read others'.

It renders and reads OPML documents only; adding their feeds to feeds.yaml is feedlist.py's, and
it never fetches a feed or touches the database.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from .errors import EXIT_USAGE, AggregatorError
from .models import Config
from .sanitize import xml_safe

MAX_OPML_BYTES = 5_000_000  # a subscription list of tens of thousands of feeds; anything bigger is not one
_COUNTRY_CATEGORY = re.compile(r"(?:^|[,\s])/country/([A-Za-z]{2})\b")


class OpmlError(AggregatorError):
    """An OPML file that cannot be imported; the message says why, naming the outline."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline of an OPML file, as written there (nothing checked yet)."""

    url: str
    name: str | None
    site: str | None
    language: str | None
    country: str | None


def sources_opml(config: Config) -> bytes:
    """Every enabled feed of the config, grouped by region."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = xml_safe(f"{config.title}: sources")
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for slug, label in config.regions.items():
        feeds = [f for f in config.feeds if f.region == slug and f.enabled]
        if not feeds:
            continue
        group = ET.SubElement(body, "outline", text=xml_safe(label), title=xml_safe(label), category=f"/{slug}")
        for feed in feeds:
            attrs = {
                "type": "rss",
                "text": xml_safe(feed.name),
                "title": xml_safe(feed.name),
                "xmlUrl": feed.url,
                "language": feed.language,
                "category": f"/{slug},/country/{feed.country}",
            }
            if feed.site:
                attrs["htmlUrl"] = feed.site
            ET.SubElement(group, "outline", attrs)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


_FEED_GROUPS = {"all": "All stories", "region": "Regions", "language": "Languages", "country": "Countries",
                "picks": "Editors' picks"}


def feeds_opml(config: Config, feeds: list[tuple[str, str, str, str | None]]) -> bytes:
    """The feeds we publish, as (kind, title, Atom URL, language), grouped by kind: one file a
    reader imports to subscribe to all of them (or the groups it wants)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = xml_safe(f"{config.title}: feeds")
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for kind, label in _FEED_GROUPS.items():
        members = [f for f in feeds if f[0] == kind]
        if not members:
            continue
        group = ET.SubElement(body, "outline", text=label, title=label)
        for _, title, url, language in members:
            attrs = {"type": "rss", "text": xml_safe(title), "title": xml_safe(title), "xmlUrl": url,
                     "htmlUrl": config.base_url}  # fmt: skip
            if language:
                attrs["language"] = language
            ET.SubElement(group, "outline", attrs)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


# --------------------------------------------------------------------------- reading


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feed outlines of an OPML document (1.0, 1.1 or 2.0), nested groups included, in order.

    A feed outline is any outline with an xmlUrl; one of type rss/atom without it is an error.
    Raises OpmlError for a document that is too big, not XML, has a DTD, or is not OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the file is larger than {MAX_OPML_BYTES // 1_000_000} MB; not a subscription list")
    _refuse_dtd(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    # <outlineDocument> is OPML from before 1.0, still read by Radio UserLand and by us.
    if root.tag not in ("opml", "outlineDocument") or root.find("body") is None:
        raise OpmlError("not an OPML document (no <opml> with a <body>)")
    feeds: list[OpmlFeed] = []
    for number, outline in enumerate(root.find("body").iter("outline"), start=1):  # type: ignore[union-attr]
        attrs = {key.lower(): value.strip() for key, value in outline.attrib.items() if value.strip()}
        name = attrs.get("text") or attrs.get("title")
        url = attrs.get("xmlurl")
        if url is None:
            if attrs.get("type", "").lower() in ("rss", "atom"):
                raise OpmlError(f"outline {number} ({name or 'no name'}) is a feed without an xmlUrl")
            continue
        country = attrs.get("country")
        if country is None:
            match = _COUNTRY_CATEGORY.search(attrs.get("category", ""))
            country = match.group(1) if match else None
        feeds.append(
            OpmlFeed(url=url, name=name, site=attrs.get("htmlurl"), language=attrs.get("language"),
                     country=country.upper() if country else None)
        )  # fmt: skip
    return feeds


def _refuse_dtd(data: bytes) -> None:
    """No DOCTYPE, no entity declarations: so no entity expansion (billion laughs) and no
    external entities, whatever the XML library would do with them."""

    def refuse(*_: object) -> None:
        raise OpmlError("the file has a DOCTYPE or entity declarations, which OPML never needs; refused")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
