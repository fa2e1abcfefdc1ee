"""The Atom entry and feed format (RFC 4287) every published feed shares, rendered with feedgen.

It renders stories it is given into bytes; it never reads the database or writes a file.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from . import __version__
from .locales import country_name
from .models import Config, Copy, Enclosure, Story
from .rendered import EntryCache, FullStories, Listed, entry_texts
from .sanitize import clean_html, xml_safe

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 feed history
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MEDIA_TYPE = "application/atom+xml"
MAX_STORY_ENCLOSURES = 8  # one story's, over all its copies (each copy has at most as many)
_L = TypeVar("_L", bound=Listed)



class _SourceFeedExtension(BaseExtension):
    """Feed-level half of the extension: marks an archive document (RFC 5005 <fh:archive/>)."""

    def __init__(self) -> None:
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS} if self.archive else {}

    def extend_atom(self, feed: Any) -> Any:
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed


class SourceEntryExtension(BaseEntryExtension):
    """Writes what feedgen cannot: a full atom:source (id, title, alternate and self links,
    updated) and the entry's xml:lang."""

    def __init__(self) -> None:
        self.source: dict[str, str | None] | None = None
        self.lang: str | None = None
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        if self.lang:
            entry.attrib[XML_LANG] = self.lang
        # feedgen 1.0 drops rel/type/title of entry links (it rebinds its loop variable), which
        # would turn every "related" link into a second "alternate": so links are written here.
        for link in self.links:
            etree.SubElement(entry, "link", **link)
        if self.source:
            source = etree.SubElement(entry, "source")
            for tag in ("id", "title"):
                if self.source.get(tag):
                    etree.SubElement(source, tag).text = self.source[tag]
            if self.source.get("site"):
                etree.SubElement(source, "link", rel="alternate", type="text/html", href=self.source["site"])
            if self.source.get("self"):
                etree.SubElement(source, "link", rel="self", href=self.source["self"])
            if self.source.get("updated"):
                etree.SubElement(source, "updated").text = self.source["updated"]
        return entry


@dataclass(frozen=True)
class AtomFeedMeta:
    id: str
    title: str
    self_url: str
    alternate_url: str
    subtitle: str | None = None
    hub: str | None = None  # a WebSub hub: written as <link rel="hub">
    links: tuple[tuple[str, str], ...] = ()  # more (rel, href) Atom links: RFC 5005's prev-archive, current...
    archive: bool = False  # an RFC 5005 archive document (<fh:archive/>)


def render_atom(
    meta: AtomFeedMeta, stories: Sequence[Listed], config: Config, cache: EntryCache | None = None,
    full: FullStories | None = None,
) -> bytes:  # fmt: skip
    """The feed document, newest story first. Each entry is serialized on its own (so that one
    kept by the cache, rendered.py, is the same text as a fresh one) and set into the feed's head.
    Stories given by their heads are read whole through `full` when their entries are rendered."""
    fg = FeedGenerator()
    fg.register_extension("aggregator", _SourceFeedExtension, SourceEntryExtension, rss=False)
    fg.id(meta.id)
    fg.title(xml_safe(meta.title))
    if meta.subtitle:
        fg.subtitle(xml_safe(meta.subtitle))
    fg.author({"name": xml_safe(config.title), "uri": config.base_url})
    fg.link(href=meta.self_url, rel="self", type="application/atom+xml")
    fg.link(href=meta.alternate_url, rel="alternate", type="text/html")
    if meta.hub:
        fg.link(href=meta.hub, rel="hub")
    for rel, href in meta.links:
        fg.link(href=href, rel=rel, type=MEDIA_TYPE)
    fg.aggregator.archive = meta.archive
    if config.icon:
        fg.icon(config.icon)
    if config.logo:
        fg.logo(config.logo)
    if config.rights:
        fg.rights(xml_safe(config.rights))
    fg.generator("aggregator", __version__, config.generator_uri or config.base_url)
    # The newest change, not the clock: an unchanged feed renders to the same bytes.
    fg.updated(max((s.updated for s in stories), default=EPOCH))
    head = fg.atom_str(pretty=True, encoding="UTF-8")
    if not head.endswith(_FEED_END):
        raise AssertionError("feedgen's feed document does not end in </feed>")

    def render(story: Story, atom_id: str) -> str:
        return entry_xml(story, atom_id, config)

    texts = entry_texts(cache, "atom", with_entry_ids(stories), render, full)
    return head[: -len(_FEED_END)] + "".join(texts).encode("utf-8") + _FEED_END


_FEED_END = b"</feed>\n"


def entry_xml(story: Story, atom_id: str, config: Config) -> str:
    """One story's <entry> element as text, indented as inside the feed, ending in a newline."""
    fe = FeedEntry()
    fe.register_extension("aggregator", SourceEntryExtension, atom=True, rss=False)
    _fill_entry(fe, story, atom_id, config)
    # Pretty-printed inside a stand-in for the feed element (feedgen's elements carry no namespace
    # of their own), which indents the entry's lines without touching any text, then cut out.
    holder = etree.Element("feed")
    holder.append(fe.atom_entry())
    text: str = etree.tostring(holder, pretty_print=True, encoding="unicode")
    if not (text.startswith(_HOLDER_START) and text.endswith(_HOLDER_END)):
        raise AssertionError("an entry did not serialize inside its holder")
    return text[len(_HOLDER_START) : -len(_HOLDER_END)]


_HOLDER_START, _HOLDER_END = "<feed>\n", "</feed>\n"


def with_entry_ids(stories: Sequence[_L]) -> list[tuple[_L, str]]:
    """The stories (newest first) with the ids they have in one feed, Atom or JSON alike: given
    oldest first, so the older story keeps a shared id (entry_id)."""
    used_ids: set[str] = set()
    ids = [entry_id(story, used_ids) for story in reversed(stories)][::-1]
    return list(zip(stories, ids))


def entry_id(story: Listed, used_ids: set[str]) -> str:
    """The id a story has in a published feed (Atom entry id, JSON Feed item id): the one fixed
    when it was stored, unless another story of the same feed already took it. Adds it to used_ids;
    pass the stories oldest first so the older story keeps a shared id, whatever the format."""
    found = story.atom_id or f"urn:aggregator:story:{story.id}"
    if found in used_ids:
        found = f"urn:aggregator:story:{story.id}"
    used_ids.add(found)
    return found


def _fill_entry(fe: FeedEntry, story: Story, atom_id: str, config: Config) -> None:
    primary = story.primary
    fe.id(atom_id)
    fe.title(xml_safe(primary.title) or "(untitled)")
    fe.author({"name": xml_safe(primary.author or primary.feed_name)})
    fe.published(max(story.published, EPOCH))
    fe.updated(max(story.updated, story.published, EPOCH))
    links = []
    if primary.link:
        links.append({"rel": "alternate", "type": "text/html", "href": primary.link})
    seen_links = {primary.link}
    for other in story.copies[1:]:
        if other.link and other.link not in seen_links:
            seen_links.add(other.link)
            links.append({"rel": "related", "type": "text/html", "href": other.link, "title": xml_safe(other.feed_name)})
    for enclosure in story_enclosures(story):
        link = {"rel": "enclosure", "href": enclosure.url}
        if enclosure.type:
            link["type"] = enclosure.type
        if enclosure.length:
            link["length"] = str(enclosure.length)
        links.append(link)
    links += translation_links(story)
    fe.aggregator.links = links

    categories: list[dict[str, str]] = []
    for region in story.regions:
        categories.append(
            {"term": region, "scheme": urljoin(config.base_url, "regions"), "label": config.regions.get(region, region)}
        )
    for country in story.countries:
        categories.append(
            {"term": country, "scheme": urljoin(config.base_url, "countries"), "label": country_name(country)}
        )
    seen_terms: set[str] = set()
    for term in primary.categories:
        term = xml_safe(term).strip()
        if term and term.lower() not in seen_terms:
            seen_terms.add(term.lower())
            categories.append({"term": term})
    if categories:
        fe.category(categories)

    # The source's excerpt as the summary, whenever it had one; the content always (readers and
    # the hardening tests rely on it): the full text when the source had it, else the excerpt.
    summary, content = story_text_html(story)
    if summary:
        fe.summary(summary, type="html")
    fe.content(content or f"<p>{html.escape(primary.title)}</p>", type="html")

    fe.aggregator.lang = primary.language
    fe.aggregator.source = {
        "id": primary.feed_id or primary.feed_url,
        "title": xml_safe(primary.feed_name),
        "site": primary.feed_site,
        "self": primary.feed_url,
        "updated": _atom_time(primary.source_updated or primary.updated),
    }


def story_text_html(story: Story) -> tuple[str | None, str]:
    """(summary, content) as published, sanitized. The content: the article page's main text when
    a full_text feed's copy has it, else the source's full content, else its excerpt, crediting
    every other party that published the story. The summary: the source's excerpt whenever it had
    one (for a copy with its article's full text, the feed's own text); None otherwise.
    (parse.py gives an entry with no full content its excerpt as content_html too: equal texts
    mean an excerpt only.)"""
    primary = story.primary
    excerpt = primary.summary_html or (primary.content_html if primary.full_text_html else "")
    summary = _clean_html(excerpt, primary.link) if excerpt else None
    if primary.full_text_html:
        body = _clean_html(primary.full_text_html, primary.link)
    elif has_full_content(primary):
        body = _clean_html(primary.content_html, primary.link)
    else:
        body = summary or ""
    return summary, body + _credits(story)


# One publish renders a story into several outputs (the combined feed, its region's, language's
# and country's, each as Atom and JSON, the page): its stored HTML would be sanitized again for
# each, the same input to the same output. A whole publish of 200 feeds' stories asks for 12,000
# texts, 3,364 of them different: 4,096 remembered texts (about 4 KB each) save the other 8,636,
# and publish.py lets go of them when it ends (forget_sanitized).
@functools.lru_cache(maxsize=4096)
def _clean_html(html_text: str, base_url: str | None) -> str:
    return clean_html(html_text, base_url)


def forget_sanitized() -> None:
    """Drop the remembered sanitized texts (after a publish: they would only hold memory)."""
    _clean_html.cache_clear()


def has_summary(copy: Copy) -> bool:
    """Whether the published summary differs from the content's source (full text, or full content)."""
    return bool(copy.full_text_html or (copy.summary_html and has_full_content(copy)))


def has_full_content(copy: Copy) -> bool:
    """Whether the source gave full content (not only the excerpt parse.py copies into content_html)."""
    return bool(copy.content_html) and copy.content_html != copy.summary_html


def story_enclosures(story: Story) -> tuple[Enclosure, ...]:
    """The primary copy's enclosures, then those only other copies carry (one per URL, bounded)."""
    found: dict[str, Enclosure] = {}
    for copy in story.copies:
        for enclosure in copy.enclosures:
            found.setdefault(enclosure.url, enclosure)
    return tuple(found.values())[:MAX_STORY_ENCLOSURES]


def story_image(story: Story) -> str | None:
    return next((c.image for c in story.copies if c.image), None)
def translation_links(story: Story) -> list[dict[str, str]]:
    """`link rel="alternate" hreflang` to the story in each other language (one per language: Atom
    allows one alternate per type and hreflang)."""
    out: dict[str, dict[str, str]] = {}
    for t in story.translations:
        if t.url and t.language not in out and t.language != story.primary.language:
            out[t.language] = {"rel": "alternate", "type": "text/html", "hreflang": t.language, "href": t.url}
    return list(out.values())


def story_content_html(story: Story) -> str:
    """The content as published (story_text_html), for the pages that show one story's text."""
    return story_text_html(story)[1]


def _credits(story: Story) -> str:
    others = [c for c in story.copies[1:] if c.feed_name != story.primary.feed_name or c.link != story.primary.link]
    if not others:
        return ""
    credits = ", ".join(
        f'<a href="{html.escape(c.link, quote=True)}">{html.escape(c.feed_name)}</a>'
        if c.link
        else html.escape(c.feed_name)
        for c in others
    )
    return f"\n<p>Also published by {credits}.</p>"


def _atom_time(value: dt.datetime) -> str:
    return max(value, EPOCH).astimezone(dt.timezone.utc).isoformat()
