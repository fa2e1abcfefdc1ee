"""An entry's enclosures (podcast episodes, the paper's PDF) and its picture, read from feedparser's
result mapping (which fastparse.py also produces), so both parse paths give the same ones.

It only reads what it is given and checks the URLs (http(s) only, bounded in count); no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .models import Enclosure
from .sanitize import safe_url

MAX_ENCLOSURES = 8  # per entry: a feed listing hundreds of files in one item is not a podcast
MAX_LENGTH = 2**53  # bytes; a larger stated length is nonsense and left out
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_FIRST_IMG = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]+)\"", re.IGNORECASE)
# WordPress.com puts the author's avatar in a media:content of every entry: not the story's picture.
_AVATAR_HOSTS = ("gravatar.com",)


def _media_type(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if _MEDIA_TYPE.match(value) else None


def _length(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_LENGTH else None


def _is_image(attrs: Mapping[str, Any]) -> bool:
    medium = str(attrs.get("medium") or "").strip().lower()
    return medium == "image" or (not medium and (_media_type(attrs.get("type")) or "").startswith("image/"))


def _is_avatar(url: str) -> bool:
    host = url.split("/", 3)[2].split(":")[0].lower()
    return any(host == h or host.endswith("." + h) for h in _AVATAR_HOSTS)


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def entry_enclosures(entry: Mapping[str, Any], base: str) -> tuple[Enclosure, ...]:
    """RSS <enclosure> and Atom link rel="enclosure" (feedparser files both under links), then
    media:content that is not an image; one per URL, at most MAX_ENCLOSURES."""
    found: dict[str, Enclosure] = {}
    candidates: list[tuple[Any, Any, Any]] = []
    for link in _mappings(entry.get("links")):
        if link.get("rel") == "enclosure":
            candidates.append((link.get("href"), link.get("type"), link.get("length")))
    for media in _mappings(entry.get("media_content")):
        if not _is_image(media):
            candidates.append((media.get("url"), media.get("type"), media.get("filesize")))
    for href, kind, length in candidates:
        url = safe_url(href if isinstance(href, str) else None, base)
        if url is None or url in found:
            continue
        found[url] = Enclosure(url=url, type=_media_type(kind), length=_length(length))
        if len(found) >= MAX_ENCLOSURES:
            break
    return tuple(found.values())


def entry_image(entry: Mapping[str, Any], base: str, content_html: str) -> str | None:
    """The entry's picture: its media:thumbnail, else a media:content image (not an author's
    avatar), else the first <img> of its sanitized content."""
    for media in _mappings(entry.get("media_thumbnail")):
        url = safe_url(media.get("url") if isinstance(media.get("url"), str) else None, base)
        if url:
            return url
    for media in _mappings(entry.get("media_content")):
        if _is_image(media):
            url = safe_url(media.get("url") if isinstance(media.get("url"), str) else None, base)
            if url and not _is_avatar(url):
                return url
    match = _FIRST_IMG.search(content_html)
    if match:
        return safe_url(match.group(1).replace("&amp;", "&"), base)
    return None
