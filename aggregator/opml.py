"""OPML 2.0, the subscription-list format every feed reader speaks: the list of our sources.

It renders and reads OPML documents only; it never fetches a feed or edits the config file.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from .models import Config
from .sanitize import xml_safe


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
