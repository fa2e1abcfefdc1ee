"""OPML 2.0, the subscription-list format every feed reader speaks: export our sources, import others'.

It renders and reads OPML, and appends imported feeds to the config (comments and layout kept,
validated before it is replaced); it never fetches a feed and never touches the database.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import xml.parsers.expat
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from .config import _LANGUAGE_TAG, COUNTRY_CODES, ConfigError, load_config
from .models import Config
from .sanitize import xml_safe
from .urls import feed_url_key

MAX_OPML_BYTES = 5_000_000  # a subscription list of tens of thousands of feeds; anything bigger is not one
_COUNTRY_CATEGORY = re.compile(r"(?:^|[,\s])/country/([A-Za-z]{2})\b")


class OpmlError(Exception):
    """An OPML file that cannot be imported; the message says why, naming the outline."""


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


# --------------------------------------------------------------------------- importing into the config


def import_opml(
    config_path: Path,
    opml_path: Path,
    region: str,
    country: str | None = None,
    language: str | None = None,
) -> int:
    """Append the OPML file's feeds to the config's `feeds:` list; returns how many were added.

    Feeds whose URL the config already has are skipped. The outline's text (or title) is the
    name, htmlUrl the site; its language if it is a valid tag, else `language`; its country
    (our own export's /country/XX category) else `country`. The file keeps its comments and
    layout, and is replaced only once the result passes validation: on any problem it is left
    untouched and OpmlError or ConfigError says why."""
    config = load_config(config_path)  # a config that is already broken is fixed first, by hand
    if region not in config.regions:
        raise OpmlError(f"--region {region!r} is not one of the config's regions: {', '.join(config.regions)}")
    if country is not None and country.upper() not in COUNTRY_CODES:
        raise OpmlError(f"--country {country!r} is not an ISO 3166-1 alpha-2 code such as GB")
    if language is not None and not _LANGUAGE_TAG.match(language):
        raise OpmlError(f"--language {language!r} is not a BCP 47 language tag such as en or en-GB")
    try:
        data = opml_path.read_bytes() if opml_path.stat().st_size <= MAX_OPML_BYTES else b"x" * (MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OpmlError(f"cannot read {opml_path}: {exc.strerror or exc}") from None

    known = {feed_url_key(f.url) for f in config.feeds}
    new_feeds: list[CommentedMap] = []
    for feed in read_opml(data):
        key = feed_url_key(feed.url)
        if key in known:
            continue
        known.add(key)
        new_feeds.append(_feed_item(feed, region, country, language))
    if not new_feeds:
        return 0
    _append_feeds(config_path, new_feeds)
    return len(new_feeds)


def _feed_item(feed: OpmlFeed, region: str, country: str | None, language: str | None) -> CommentedMap:
    label = f"the outline for {feed.url}" + (f" ({feed.name})" if feed.name else "")
    if not feed.name:
        raise OpmlError(f"{label} has neither text nor title: nothing to name the feed by")
    feed_country = feed.country or country
    if feed_country is None:
        raise OpmlError(f"{label} gives no country; give --country")
    # An outline's language="unknown" (or any non-tag) is as good as none: --language fills in.
    feed_language = feed.language if feed.language and _LANGUAGE_TAG.match(feed.language) else language
    if feed_language is None:
        had = f" (its language {feed.language!r} is not a language tag)" if feed.language else ""
        raise OpmlError(f"{label} gives no language{had}; give --language")
    item = CommentedMap()
    item["url"] = feed.url
    item["name"] = feed.name
    if feed.site:
        item["site"] = feed.site
    item["region"] = region
    item["country"] = feed_country.upper()
    item["language"] = feed_language
    return item


def _append_feeds(config_path: Path, new_feeds: list[CommentedMap]) -> None:
    text = config_path.read_text(encoding="utf-8")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the operator's long lines
    try:
        _, sequence_indent, offset = load_yaml_guess_indent(text)
        data = yaml.load(text)
    except YAMLError as exc:
        raise OpmlError(f"cannot edit {config_path}: {exc}") from None
    # Guessed from the file's block lists: `  - url:` is sequence 4, offset 2 (mappings inside at 2).
    sequence_indent = sequence_indent or 2
    offset = offset or 0
    yaml.indent(mapping=max(2, sequence_indent - offset), sequence=sequence_indent, offset=offset)
    feeds = data.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        feeds = CommentedSeq()
        data["feeds"] = feeds
    feeds.fa.set_block_style()  # `feeds: []` becomes a block list
    old_last = feeds[-1] if len(feeds) else None
    feeds.extend(new_feeds)
    _move_trailing_comment(old_last, new_feeds[-1])
    out = io.StringIO()
    yaml.dump(data, out)
    _replace_validated(config_path, out.getvalue())


def _move_trailing_comment(old_last: object, new_last: CommentedMap) -> None:
    """Comment lines after the list's last feed (a commented-out feed, a note about the next
    section) belong at the end of the list: ruamel keeps them on the old last item, which would put
    the new feeds below them. They move to the new last item; an inline comment stays put."""
    if not isinstance(old_last, CommentedMap) or not old_last or not new_last:
        return
    tokens = old_last.ca.items.get(list(old_last.keys())[-1])
    token = tokens[2] if tokens and len(tokens) > 2 else None
    value = getattr(token, "value", None)
    if not isinstance(value, str) or "\n" not in value:
        return
    end_of_line = value.index("\n") + 1
    trailing = value[end_of_line:]
    if not trailing.strip():
        return
    token.value = value[:end_of_line]  # type: ignore[union-attr]
    new_last.ca.items[list(new_last.keys())[-1]] = [None, None, CommentToken("\n" + trailing, CommentMark(0), None), None]


def _replace_validated(config_path: Path, text: str) -> None:
    """Write beside the config, validate that copy as the config, then rename it over the config."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{config_path.name}.", suffix=".import", dir=config_path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            load_config(tmp)
        except ConfigError as exc:
            raise ConfigError(config_path, exc.problems) from None
        os.chmod(tmp, config_path.stat().st_mode & 0o7777)
        os.replace(tmp, config_path)
    finally:
        tmp.unlink(missing_ok=True)
