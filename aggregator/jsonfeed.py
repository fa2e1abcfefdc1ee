"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), the JSON twin of every Atom feed we publish.

It renders the stories it is given into bytes, with the same item ids and the same sanitized
content as the Atom feed beside it (atom.with_entry_ids, atom.story_content_html); it never reads the
database or writes a file.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .atom import EPOCH, has_summary, story_enclosures, story_image, story_text_html, with_entry_ids
from .locales import country_name
from .models import Config, Copy, Story
from .rendered import EntryCache, FullStories, Listed, entry_texts
from .sanitize import clean_text

VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION = "_aggregator"  # our extension object on each item: regions, countries, sources, copies


@dataclass(frozen=True)
class JsonFeedMeta:
    title: str
    feed_url: str
    home_page_url: str
    description: str | None = None
    language: str | None = None  # only for a feed of one language
    hub: str | None = None  # a WebSub hub


def render_json_feed(
    meta: JsonFeedMeta, stories: Sequence[Listed], config: Config, cache: EntryCache | None = None,
    full: FullStories | None = None,
) -> bytes:  # fmt: skip
    """The feed as UTF-8 JSON; the same stories render to the same bytes (those given by their
    heads are read whole through `full` when rendered: atom.render_atom)."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": meta.title,
        "home_page_url": meta.home_page_url,
        "feed_url": meta.feed_url,
    }
    if meta.description:
        feed["description"] = meta.description
    # JSON Feed's icon is the large square one (a timeline's avatar), its favicon the small one.
    if config.logo or config.icon:
        feed["icon"] = config.logo or config.icon
    if config.icon:
        feed["favicon"] = config.icon
    if meta.language:
        feed["language"] = meta.language
    feed["authors"] = [{"name": config.title, "url": config.base_url}]
    if meta.hub:
        feed["hubs"] = [{"type": "WebSub", "url": meta.hub}]
    if config.rights:  # JSON Feed has no rights field: our extension object carries it
        feed[EXTENSION] = {"rights": config.rights}

    def render(story: Story, item_id: str) -> str:
        return item_json(story, item_id, config)

    # The same ids as the Atom feed beside it (atom.with_entry_ids).
    texts = entry_texts(cache, "json", with_entry_ids(stories), render, full)
    # One item a line: each is serialized on its own (so a kept one is the same text as a fresh
    # one) and set into the feed's object, whose last member is "items".
    feed["items"] = []
    head = json.dumps(feed, ensure_ascii=False)
    if not head.endswith(_NO_ITEMS):
        raise AssertionError("the feed object does not end with its items")
    items = "[\n" + ",\n".join(texts) + "\n]" if texts else "[]"
    return (head[: -len(_NO_ITEMS)] + '"items": ' + items + "}\n").encode("utf-8")


_NO_ITEMS = '"items": []}'


def item_json(story: Story, item_id: str, config: Config) -> str:
    """One story's item object as JSON text, on one line."""
    return json.dumps(_item(story, item_id, config), ensure_ascii=False)


def _item(story: Story, item_id: str, config: Config) -> dict[str, Any]:
    primary = story.primary
    item: dict[str, Any] = {"id": item_id}
    link = primary.link or next((c.link for c in story.copies if c.link), None)
    if link:
        item["url"] = link
    if primary.link is None and link is not None:
        # The story's own copy has no page: its URL is another party's copy of it.
        item["external_url"] = link
    if primary.title:
        item["title"] = primary.title
    summary, content = story_text_html(story)
    item["content_html"] = content or f"<p>{html.escape(primary.title)}</p>"
    if summary and has_summary(primary):
        # The source's own excerpt beside its full text (plain text, as the spec says).
        item["summary"] = clean_text(summary, max_chars=1000)
    image = story_image(story)
    if image:
        item["image"] = image
    attachments = []
    for enclosure in story_enclosures(story):
        attachment: dict[str, Any] = {"url": enclosure.url, "mime_type": enclosure.type or "application/octet-stream"}
        if enclosure.length:
            attachment["size_in_bytes"] = enclosure.length
        attachments.append(attachment)
    if attachments:
        item["attachments"] = attachments
    item["date_published"] = _time(story.published)
    item["date_modified"] = _time(max(story.updated, story.published))
    author: dict[str, str] = {"name": primary.author or primary.feed_name}
    if not primary.author and primary.feed_site:
        author["url"] = primary.feed_site
    item["authors"] = [author]
    tags = _tags(primary)
    if tags:
        item["tags"] = tags
    if primary.language:
        item["language"] = primary.language
    item[EXTENSION] = {
        "story": story.id,
        "regions": [{"slug": r, "label": config.regions.get(r, r)} for r in story.regions],
        "countries": [{"code": c, "name": country_name(c)} for c in story.countries],
        "sources": _sources(story.copies),
        "copies": [_copy(c) for c in story.copies],
    }
    if story.translations:
        item[EXTENSION]["translations"] = [
            {"language": t.language, "url": t.url, "id": t.story_id} for t in story.translations if t.url
        ]
    return item


def _tags(primary: Copy) -> list[str]:
    seen: set[str] = set()
    tags = []
    for term in primary.categories:
        term = term.strip()
        if term and term.lower() not in seen:
            seen.add(term.lower())
            tags.append(term)
    return tags


def _sources(copies: Sequence[Copy]) -> list[dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for c in copies:
        if c.feed_url not in found:
            source = {"name": c.feed_name, "feed_url": c.feed_url}
            if c.feed_site:
                source["home_page_url"] = c.feed_site
            found[c.feed_url] = source
    return list(found.values())


def _copy(c: Copy) -> dict[str, Any]:
    copy: dict[str, Any] = {"feed": c.feed_name, "feed_url": c.feed_url}
    if c.link:
        copy["url"] = c.link
    copy["title"] = c.title
    copy["language"] = c.language
    copy["published"] = _time(c.published)
    return copy


def _time(value: dt.datetime) -> str:
    return max(value, EPOCH).astimezone(dt.timezone.utc).isoformat()
