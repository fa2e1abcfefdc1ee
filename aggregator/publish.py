"""Turns stored stories into the published files: Atom feeds (feedgen), the HTML page and the OPML list.

It reads the database only through Store and never fetches; every file is written atomically and
left untouched when its content did not change, so readers polling it never see half a file.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jinja2
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from . import __version__
from .models import Config, Story
from .opml import sources_opml
from .sanitize import clean_html, xml_safe
from .store import Store

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# How many stories per region the HTML page shows.
INDEX_STORIES_PER_REGION = 20


class PublishError(Exception):
    """An output file cannot be written (read-only directory, full disk...)."""


@dataclass
class PublishReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- atomic files


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` via a temp file and rename; skip when the content is the same.
    Returns True when the file was written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PublishError(f"cannot read {path}: {exc.strerror or exc}") from None
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return True


# --------------------------------------------------------------------------- Atom


class _SourceFeedExtension(BaseExtension):
    """Feed-level half of the extension; feedgen needs one even though it adds nothing."""


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


def render_atom(meta: AtomFeedMeta, stories: Sequence[Story], config: Config) -> bytes:
    fg = FeedGenerator()
    fg.register_extension("aggregator", _SourceFeedExtension, SourceEntryExtension, rss=False)
    fg.id(meta.id)
    fg.title(xml_safe(meta.title))
    if meta.subtitle:
        fg.subtitle(xml_safe(meta.subtitle))
    fg.author({"name": xml_safe(config.title), "uri": config.base_url})
    fg.link(href=meta.self_url, rel="self", type="application/atom+xml")
    fg.link(href=meta.alternate_url, rel="alternate", type="text/html")
    fg.generator("aggregator", __version__)
    # The newest change, not the clock: an unchanged feed renders to the same bytes.
    fg.updated(max((s.updated for s in stories), default=EPOCH))

    used_ids: set[str] = set()
    # feedgen prepends each new entry, so add the oldest first to get newest-first output.
    for story in reversed(stories):
        _add_entry(fg, story, config, used_ids)
    return fg.atom_str(pretty=True, encoding="UTF-8")


def _add_entry(fg: FeedGenerator, story: Story, config: Config, used_ids: set[str]) -> None:
    primary = story.primary
    entry_id = story.atom_id or f"urn:aggregator:story:{story.id}"
    if entry_id in used_ids:
        entry_id = f"urn:aggregator:story:{story.id}"
    used_ids.add(entry_id)

    fe = fg.add_entry(order="prepend")
    fe.id(entry_id)
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
    fe.aggregator.links = links

    categories: list[dict[str, str]] = []
    for region in story.regions:
        categories.append(
            {"term": region, "scheme": urljoin(config.base_url, "regions"), "label": config.regions.get(region, region)}
        )
    for country in story.countries:
        categories.append({"term": country, "scheme": urljoin(config.base_url, "countries"), "label": country})
    seen_terms: set[str] = set()
    for term in primary.categories:
        term = xml_safe(term).strip()
        if term and term.lower() not in seen_terms:
            seen_terms.add(term.lower())
            categories.append({"term": term})
    if categories:
        fe.category(categories)

    # Always content: feedgen insists on content or an alternate link it can see, and ours are
    # written by the extension.
    content = story_content_html(story) or f"<p>{html.escape(primary.title)}</p>"
    fe.content(content, type="html")

    fe.aggregator.lang = primary.language
    fe.aggregator.source = {
        "id": primary.feed_id or primary.feed_url,
        "title": xml_safe(primary.feed_name),
        "site": primary.feed_site,
        "self": primary.feed_url,
        "updated": _atom_time(primary.feed_updated or primary.updated),
    }


def story_content_html(story: Story) -> str:
    """The primary copy's sanitized content, crediting every other party that published it."""
    body = clean_html(story.primary.content_html or story.primary.summary_html, story.primary.link)
    others = [c for c in story.copies[1:] if c.feed_name != story.primary.feed_name or c.link != story.primary.link]
    if not others:
        return body
    credits = ", ".join(
        f'<a href="{html.escape(c.link, quote=True)}">{html.escape(c.feed_name)}</a>'
        if c.link
        else html.escape(c.feed_name)
        for c in others
    )
    return f"{body}\n<p>Also published by {credits}.</p>"


def _atom_time(value: dt.datetime) -> str:
    return max(value, EPOCH).astimezone(dt.timezone.utc).isoformat()


# --------------------------------------------------------------------------- HTML page

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("aggregator", "templates"),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _plain_snippet(html_text: str, limit: int = 280) -> str:
    from .sanitize import clean_text

    text = clean_text(html_text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_index(config: Config, stories_by_region: dict[str, list[Story]]) -> bytes:
    template = _templates.get_template("index.html")
    newest = max((s.updated for stories in stories_by_region.values() for s in stories), default=None)
    page = template.render(
        config=config,
        regions=[(slug, label, stories_by_region.get(slug, [])) for slug, label in config.regions.items()],
        snippet=_plain_snippet,
        newest=newest,
        version=__version__,
    )
    return page.encode("utf-8")


# --------------------------------------------------------------------------- all outputs


def output_paths(config: Config) -> dict[str, Path]:
    """Every file `publish` writes, by its URL path relative to base_url."""
    paths = {"feed.atom": config.output_dir / "feed.atom"}
    for slug in config.regions:
        paths[f"regions/{slug}.atom"] = config.output_dir / "regions" / f"{slug}.atom"
    paths["index.html"] = config.output_dir / "index.html"
    paths["sources.opml"] = config.output_dir / "sources.opml"
    return paths


def remove_stale_temp_files(config: Config) -> None:
    """Temp files a killed cycle left behind. Only call this under the cycle lock: a running
    publish's own temp files look the same."""
    for path in output_paths(config).values():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            try:
                stale.unlink()
            except OSError:
                pass


def publish(config: Config, store: Store) -> PublishReport:
    """Rebuild every output file from the database alone. The caller holds the cycle lock."""
    report = PublishReport()
    remove_stale_temp_files(config)
    files: dict[str, bytes] = {}

    all_stories = store.stories(config.max_entries)
    files["feed.atom"] = render_atom(
        AtomFeedMeta(
            id=urljoin(config.base_url, "feed.atom"),
            title=config.title,
            subtitle="News from the sister parties, all regions",
            self_url=urljoin(config.base_url, "feed.atom"),
            alternate_url=config.base_url,
        ),
        all_stories,
        config,
    )
    by_region: dict[str, list[Story]] = {}
    for slug, label in config.regions.items():
        stories = store.stories(config.max_entries, region=slug)
        by_region[slug] = stories[:INDEX_STORIES_PER_REGION]
        url = urljoin(config.base_url, f"regions/{slug}.atom")
        files[f"regions/{slug}.atom"] = render_atom(
            AtomFeedMeta(
                id=url,
                title=f"{config.title}: {label}",
                subtitle=f"News from the sister parties in {label}",
                self_url=url,
                alternate_url=urljoin(config.base_url, f"#region-{slug}"),
            ),
            stories,
            config,
        )
    files["index.html"] = render_index(config, by_region)
    files["sources.opml"] = sources_opml(config)

    paths = output_paths(config)
    for name, data in files.items():
        path = paths[name]
        (report.written if write_atomically(path, data) else report.unchanged).append(path)
    return report
