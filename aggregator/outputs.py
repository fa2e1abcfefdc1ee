"""The registry of published outputs: every file `publish` writes, where it goes, its media type,
and how it is rendered from the stored stories. A new output is one new entry in OUTPUTS.

Rendering only reads the store (story queries); writing the files is publish.py's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from . import __version__
from .models import Config, Story, StoryQuery
from .opml import sources_opml
from .sanitize import clean_text
from .store import Store

if TYPE_CHECKING:
    import jinja2

# How many stories per region the HTML page shows.
INDEX_STORIES_PER_REGION = 20
ATOM_MEDIA_TYPE = "application/atom+xml"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True)
class OutputFile:
    """One file of an output: its path under output_dir (also its URL path under base_url)."""

    path: str
    media_type: str
    render: Callable[[], bytes]


@dataclass(frozen=True)
class Output:
    """A kind of published file; `files` lists the files it has for a config (one per region...)."""

    name: str
    media_type: str
    files: Callable[[Config, Store], list[OutputFile]]


# --------------------------------------------------------------------------- Atom feeds


def _stories(store: Store, query: StoryQuery) -> list[Story]:
    return list(store.stories(query).stories)


def _published_list(config: Config, limit: int | None = None, region: str | None = None) -> StoryQuery:
    """A published list: the newest stories, no feed taking more than its share of the slots."""
    return StoryQuery(limit=limit or config.max_entries, region=region, max_per_feed=config.max_stories_per_feed)


def _atom_file(config: Config, store: Store, path: str, query: StoryQuery, title: str, subtitle: str,
               alternate_url: str) -> OutputFile:  # fmt: skip
    def render() -> bytes:
        from . import atom  # feedgen is loaded only when a feed is rendered

        url = urljoin(config.base_url, path)
        meta = atom.AtomFeedMeta(id=url, title=title, subtitle=subtitle, self_url=url, alternate_url=alternate_url)
        return atom.render_atom(meta, _stories(store, query), config)

    return OutputFile(path, ATOM_MEDIA_TYPE, render)


def _combined_feed(config: Config, store: Store) -> list[OutputFile]:
    return [
        _atom_file(config, store, "feed.atom", _published_list(config), config.title,
                   "News from the sister parties, all regions", config.base_url)
    ]  # fmt: skip


def _region_feeds(config: Config, store: Store) -> list[OutputFile]:
    return [
        _atom_file(config, store, f"regions/{slug}.atom", _published_list(config, region=slug),
                   f"{config.title}: {label}", f"News from the sister parties in {label}",
                   urljoin(config.base_url, f"#region-{slug}"))
        for slug, label in config.regions.items()
    ]  # fmt: skip


# --------------------------------------------------------------------------- HTML page


@functools.cache
def _templates() -> "jinja2.Environment":
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


# Block elements: a heading must not run into its paragraph ("...Workers Party Another round...").
_BLOCK_TAG = re.compile(
    r"</?(?:h[1-6]|p|li|ul|ol|div|br|hr|blockquote|pre|table|tr|td|th|dd|dt|figure|figcaption|section|article)"
    r"(?:[\s/][^>]*)?>",
    re.IGNORECASE,
)


def _plain_snippet(html_text: str, limit: int = 280) -> str:
    """The start of an entry's text as one line: its blocks (headings, paragraphs, list items)
    joined by " · ", or by a space after a block that ends a sentence."""
    text = ""
    for block in _BLOCK_TAG.split(html_text):
        part = clean_text(block)
        if not part:
            continue
        text += ("" if not text else " " if text[-1] in ".!?:;…" else " · ") + part
        if len(text) > limit:
            break
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_index(config: Config, stories_by_region: dict[str, list[Story]]) -> bytes:
    template = _templates().get_template("index.html")
    newest = max((s.updated for stories in stories_by_region.values() for s in stories), default=None)
    page = template.render(
        config=config,
        regions=[(slug, label, stories_by_region.get(slug, [])) for slug, label in config.regions.items()],
        snippet=_plain_snippet,
        newest=newest,
        version=__version__,
    )
    return page.encode("utf-8")


def _index_page(config: Config, store: Store) -> list[OutputFile]:
    def render() -> bytes:
        by_region = {
            slug: _stories(store, _published_list(config, INDEX_STORIES_PER_REGION, region=slug))
            for slug in config.regions
        }
        return render_index(config, by_region)

    return [OutputFile("index.html", HTML_MEDIA_TYPE, render)]


# --------------------------------------------------------------------------- OPML


def _sources(config: Config, store: Store) -> list[OutputFile]:
    return [OutputFile("sources.opml", OPML_MEDIA_TYPE, lambda: sources_opml(config))]


OUTPUTS: list[Output] = [
    Output("combined feed", ATOM_MEDIA_TYPE, _combined_feed),
    Output("region feeds", ATOM_MEDIA_TYPE, _region_feeds),
    Output("HTML page", HTML_MEDIA_TYPE, _index_page),
    Output("sources OPML", OPML_MEDIA_TYPE, _sources),
]


def output_files(config: Config, store: Store) -> list[OutputFile]:
    """Every file of every registered output, for this config."""
    return [f for output in OUTPUTS for f in output.files(config, store)]


def output_paths(config: Config) -> list[str]:
    """The paths (under output_dir) of every file publish writes; needs no database."""
    return [f.path for f in output_files(config, _NO_STORE)]


class _NoStore:
    """Stands in for the store when only the paths are wanted: rendering would fail loudly."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("output_paths renders nothing")


_NO_STORE: Store = _NoStore()  # type: ignore[assignment]
