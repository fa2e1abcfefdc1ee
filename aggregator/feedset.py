"""The set of subscription feeds we publish: all stories, one per region, one per language and one
per country that occurs among the stored stories. Each is one `FeedDoc` (its paths, title and
StoryQuery), published as Atom and as JSON Feed, listed on the HTML page and in feeds.opml.

It decides which feeds exist and what they are called; rendering is atom.py's and jsonfeed.py's,
registering the files is outputs.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from .locales import country_name, is_country_code, is_language_tag, language_label, language_name
from .models import Config, StoryQuery
from .store import Store

FeedKind = Literal["all", "region", "language", "country"]


@dataclass(frozen=True)
class FeedDoc:
    """One subscription feed; `stem` is its path under output_dir without the extension."""

    kind: FeedKind
    stem: str  # "feed", "regions/europe", "languages/ur", "countries/PK"
    title: str
    subtitle: str
    alternate_path: str  # where on the HTML page (relative to base_url) its stories are
    query: StoryQuery
    language: str | None = None  # the feed's one language, for a language feed

    @property
    def atom_path(self) -> str:
        return f"{self.stem}.atom"

    @property
    def json_path(self) -> str:
        return f"{self.stem}.json"


def combined_feed(config: Config) -> FeedDoc:
    return FeedDoc(
        "all", "feed", config.title, config.subtitle or "News from the sister parties, all regions", "",
        StoryQuery(limit=config.max_entries, max_per_feed=config.max_stories_per_feed),
    )  # fmt: skip


def region_feeds(config: Config) -> list[FeedDoc]:
    return [
        FeedDoc(
            "region", f"regions/{slug}", f"{config.title}: {label}", f"News from the sister parties in {label}",
            f"#region-{slug}", StoryQuery(limit=config.max_entries, max_per_feed=config.max_stories_per_feed, region=slug),
        )  # fmt: skip
        for slug, label in config.regions.items()
    ]


def language_feeds(config: Config, store: Store) -> list[FeedDoc]:
    """One feed per language tag that occurs among the active copies (en and en-GB both, when
    both occur: the en feed holds the en-GB stories too, as StoryQuery(language="en") does)."""
    tags = dict.fromkeys(_standard_tag(t) for t in store.active_languages() if is_language_tag(t))
    return [
        FeedDoc(
            "language", f"languages/{tag}", f"{config.title}: {language_label(tag)}",
            f"News from the sister parties in {language_name(tag)}", "#feeds",
            StoryQuery(limit=config.max_entries, max_per_feed=config.max_stories_per_feed, language=tag), language=tag,
        )  # fmt: skip
        for tag in sorted(tags)
    ]


def country_feeds(config: Config, store: Store) -> list[FeedDoc]:
    codes = sorted({c.upper() for c in store.active_countries() if is_country_code(c.upper())})
    return [
        FeedDoc(
            "country", f"countries/{code}", f"{config.title}: {country_name(code)}",
            f"News from the sister parties in {country_name(code)}", "#feeds",
            StoryQuery(limit=config.max_entries, max_per_feed=config.max_stories_per_feed, country=code),
        )  # fmt: skip
        for code in codes
    ]


def all_feeds(config: Config, store: Store) -> list[FeedDoc]:
    return [combined_feed(config), *region_feeds(config), *language_feeds(config, store), *country_feeds(config, store)]


def feed_url(config: Config, path: str) -> str:
    return urljoin(config.base_url, path)


def _standard_tag(tag: str) -> str:
    """en-gb -> en-GB, zh-hant -> zh-Hant: the letter case BCP 47 recommends, nothing else changed
    (the tag must still match the stored ones; tags are case-insensitive, our paths are not)."""
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for i, part in enumerate(rest):
        if len(part) == 1:  # an extension or private-use singleton: the rest stays lower case
            parts += [p.lower() for p in rest[i:]]
            break
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())
        elif len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        else:
            parts.append(part.lower())
    return "-".join(parts)
