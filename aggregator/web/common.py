"""What the routes share: the app's config and store, the filters a list page takes from its URL,
and small display helpers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import abort, current_app, request
from markupsafe import Markup

from ..locales import country_name
from ..models import Config, Copy, StoryCursor, StoryQuery
from ..sanitize import clean_html, clean_text
from ..store import Store
from .auth import LoginLimiter
from .cache import ResultCache
from .config_watch import ConfigWatch
from .publisher import Publisher

T = TypeVar("T")

PAGE_SIZE = 30
MAX_PAGE_SIZE = 100


def config() -> Config:
    """The config in use (read again when its file changes: config_watch.py)."""
    watch: ConfigWatch = current_app.extensions["aggregator"]["watch"]
    return watch.config


def store() -> Store:
    value: Store = current_app.extensions["aggregator"]["store"]
    return value


def cached(key: Hashable, make: Callable[[], T]) -> T:
    """`make()`, or what it gave for this key since the store's content last changed (cache.py)."""
    cache: ResultCache = current_app.extensions["aggregator"]["cache"]
    watch: ConfigWatch = current_app.extensions["aggregator"]["watch"]
    return cache.get((store().content_version(), watch.generation), key, make)


def publisher() -> Publisher:
    value: Publisher = current_app.extensions["aggregator"]["publisher"]
    return value


def limiter() -> LoginLimiter:
    value: LoginLimiter = current_app.extensions["aggregator"]["limiter"]
    return value


@dataclass(frozen=True)
class Filters:
    """The filters of a list page, as in its URL: they combine."""

    region: str | None = None
    country: str | None = None
    language: str | None = None
    feed: str | None = None  # a feed URL (a party)
    q: str | None = None

    def params(self, **extra: Any) -> dict[str, str]:
        values = {"region": self.region, "country": self.country, "language": self.language, "feed": self.feed,
                  "q": self.q, **extra}  # fmt: skip
        return {k: str(v) for k, v in values.items() if v}

    def query_string(self, **extra: Any) -> str:
        params = self.params(**extra)
        return ("?" + urlencode(params)) if params else ""

    def without(self, name: str) -> "Filters":
        return replace(self, **{name: None})

    def story_query(self, limit: int, after: StoryCursor | None = None) -> StoryQuery:
        return StoryQuery(limit=limit, region=self.region, country=self.country, language=self.language,
                          feed_url=self.feed, search=self.q, after=after)  # fmt: skip

    @property
    def active(self) -> bool:
        return any((self.region, self.country, self.language, self.feed, self.q))

    def describe(self, cfg: Config) -> str:
        parts = []
        if self.region:
            parts.append(cfg.regions.get(self.region, self.region))
        if self.country:
            parts.append(country_name(self.country))
        if self.language:
            parts.append(display_language(self.language))
        if self.feed:
            parts.append(next((f.name for f in cfg.feeds if f.url == self.feed), self.feed))
        if self.q:
            parts.append(f"“{self.q}”")
        return ", ".join(parts)


def filters_from_request(allow_search: bool = True) -> Filters:
    """The URL's filters, each checked against the config; a value it does not know is a 400."""
    cfg = config()
    args = request.args
    region = args.get("region") or None
    if region is not None and region not in cfg.regions:
        abort(400, description=f"There is no region {region!r}.")
    country = (args.get("country") or "").upper() or None
    if country is not None and country not in {f.country for f in cfg.feeds}:
        abort(400, description=f"No party of this site is in the country {country!r}.")
    language = (args.get("language") or "").lower() or None
    if language is not None and not (language.isascii() and all(p.isalnum() for p in language.split("-"))
                                     and len(language) <= 35):  # fmt: skip
        abort(400, description="The language must be a BCP 47 tag such as en or ur.")
    feed = args.get("feed") or None
    if feed is not None and feed not in {f.url for f in cfg.feeds}:
        abort(400, description="There is no such party feed.")
    q = " ".join((args.get("q") or "").split())[:200] or None if allow_search else None
    return Filters(region, country, language, feed, q)


def cursor_from_request() -> StoryCursor | None:
    token = request.args.get("after")
    if not token:
        return None
    try:
        return StoryCursor.from_token(token)
    except (ValueError, OverflowError, OSError):
        abort(400, description="That page position (after=) is not one this site made.")


def limit_from_request(default: int = PAGE_SIZE) -> int:
    try:
        limit = int(request.args.get("limit", default))
    except ValueError:
        abort(400, description="limit must be a number.")
    return max(1, min(MAX_PAGE_SIZE, limit))


def plain_snippet(html_text: str | None, limit: int = 240) -> str:
    text = clean_text(html_text or "", max_chars=limit * 4)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def article_html(copy: Copy) -> Markup:
    """A copy's full text (its article page's main text) for the story page: sanitized when it
    was stored, and once more here, as every republished HTML is."""
    return Markup(clean_html(copy.full_text_html or "", copy.link))


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are ever put into an href."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


_LANGUAGE_NAMES = {"en": "English", "ur": "اردو (Urdu)", "hi": "हिन्दी (Hindi)", "ta": "தமிழ் (Tamil)",
                   "si": "සිංහල (Sinhala)", "ar": "العربية (Arabic)", "es": "Español", "fr": "Français",
                   "de": "Deutsch", "pt": "Português", "it": "Italiano", "nl": "Nederlands", "el": "Ελληνικά",
                   "ru": "Русский", "tr": "Türkçe", "bn": "বাংলা (Bengali)", "zh": "中文"}  # fmt: skip


def display_language(tag: str | None) -> str:
    if not tag:
        return ""
    return _LANGUAGE_NAMES.get(tag.split("-")[0].lower(), tag)
