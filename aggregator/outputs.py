"""The registry of published outputs: every file `publish` writes, where it goes, its media type,
and how it is rendered from the stored stories. A new output is one new entry in OUTPUTS.

Rendering only reads the store (story queries); writing the files is publish.py's.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urljoin

from . import __version__, archive, feedset
from .feedset import FeedDoc
from .locales import language_autonym
from .models import Config, Story, StoryHead, StoryPage, StoryQuery
from .opml import feeds_opml, sources_opml
from .rendered import EntryCache
from .sanitize import clean_text
from .store import Store
from .times import utcnow

if TYPE_CHECKING:  # feedgen and Jinja2 are loaded only when something is rendered
    import jinja2


# How many stories per region the HTML page shows.
INDEX_STORIES_PER_REGION = 20
ATOM_MEDIA_TYPE = "application/atom+xml"
JSON_FEED_MEDIA_TYPE = "application/feed+json"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True)
class OutputFile:
    """One file of an output: its path under output_dir (also its URL path under base_url)."""

    path: str
    media_type: str
    render: Callable[[], bytes]
    write_once: bool = False  # once the file exists it is never rendered or written again (archives)


@dataclass(frozen=True)
class Output:
    """A kind of published file; `files` lists the files it has for a config (one per region...)."""

    name: str
    media_type: str
    files: Callable[[Config, Store], list[OutputFile]]
    fixed: bool = True  # its paths follow from the config alone (False: from the stored stories too)


# --------------------------------------------------------------------------- feeds (Atom and JSON Feed)


def _stories(store: Store, query: StoryQuery) -> list[Story]:
    return list(store.stories(query).stories)


def _listed(store: Store, query: StoryQuery) -> list[Story] | list[StoryHead]:
    """A subscription feed's stories: in a publish their heads (the entries kept from the last
    publish need no more; the renderers read the rest whole through store.load_stories)."""
    return store.story_heads(query) if isinstance(store, _PagesReadOnce) else _stories(store, query)


def _entry_cache(store: Store) -> EntryCache | None:
    """The renderings kept between publishes, when the store is one publish's (output_files)."""
    return store.entry_cache if isinstance(store, _PagesReadOnce) else None


def _atom_file(
    config: Config, store: Store, doc: FeedDoc,
    links: Callable[[], tuple[tuple[str, str], ...]] = lambda: (),
) -> OutputFile:  # fmt: skip
    """`links` gives the feed's extra links when it is rendered (they may depend on the store)."""

    def render() -> bytes:
        from . import atom

        url = urljoin(config.base_url, doc.atom_path)
        meta = atom.AtomFeedMeta(
            id=url, title=doc.title, subtitle=doc.subtitle, self_url=url,
            alternate_url=urljoin(config.base_url, doc.alternate_path), hub=config.websub.hub, links=links(),
        )  # fmt: skip
        return atom.render_atom(meta, _listed(store, doc.query), config, _entry_cache(store), store.load_stories)

    return OutputFile(doc.atom_path, ATOM_MEDIA_TYPE, render)


def _json_file(config: Config, store: Store, doc: FeedDoc) -> OutputFile:
    def render() -> bytes:
        from . import jsonfeed

        meta = jsonfeed.JsonFeedMeta(
            title=doc.title, feed_url=urljoin(config.base_url, doc.json_path),
            home_page_url=urljoin(config.base_url, doc.alternate_path), description=doc.subtitle,
            language=doc.language, hub=config.websub.hub,
        )  # fmt: skip
        return jsonfeed.render_json_feed(meta, _listed(store, doc.query), config, _entry_cache(store), store.load_stories)

    return OutputFile(doc.json_path, JSON_FEED_MEDIA_TYPE, render)


def _prev_archive(config: Config, store: Store, doc: FeedDoc) -> Callable[[], tuple[tuple[str, str], ...]]:
    def links() -> tuple[tuple[str, str], ...]:
        weeks = _archive_weeks(store, doc)
        # RFC 5005: the subscription document points at the newest archive.
        return (("prev-archive", urljoin(config.base_url, weeks[0].path)),) if weeks else ()

    return links


def _combined_feed(config: Config, store: Store) -> list[OutputFile]:
    doc = feedset.combined_feed(config)
    return [_atom_file(config, store, doc, _prev_archive(config, store, doc))]


# --------------------------------------------------------------------------- archives (RFC 5005)


def _archive_query(doc: FeedDoc) -> StoryQuery | None:
    """What selects a feed's archived stories: None for the combined feed (every story)."""
    return None if doc.kind == "all" else doc.query


def _archive_weeks(store: Store, doc: FeedDoc) -> list[archive.ArchiveWeek]:
    query = _archive_query(doc)
    first = store.first_story_created() if query is None else store.first_story_created(query)
    return archive.closed_weeks(first, utcnow(), archive.archive_folder(doc.stem))


def _feed_archives(config: Config, store: Store, doc: FeedDoc) -> list[OutputFile]:
    """One write-once archive document per week that has ended, of one subscription feed's stories."""
    files = []
    current = urljoin(config.base_url, doc.atom_path)
    query = _archive_query(doc)
    for week in _archive_weeks(store, doc):
        url = urljoin(config.base_url, week.path)
        links = [("current", current)]
        if week.prev_path:
            links.append(("prev-archive", urljoin(config.base_url, week.prev_path)))
        if week.next_path:
            links.append(("next-archive", urljoin(config.base_url, week.next_path)))

        def render(url: str = url, links: list[tuple[str, str]] = links, week: archive.ArchiveWeek = week) -> bytes:
            from . import atom

            meta = atom.AtomFeedMeta(
                id=url, title=f"{doc.title}: archive {week.label}",
                subtitle=f"Every story that reached this feed in the week {week.label} (RFC 5005 archive)",
                self_url=url, alternate_url=config.base_url, links=tuple(links), archive=True,
            )  # fmt: skip
            stories = (
                store.stories_created_between(week.start, week.end) if query is None
                else store.stories_created_between(week.start, week.end, query)
            )  # fmt: skip
            return atom.render_atom(meta, stories, config, _entry_cache(store))

        files.append(OutputFile(week.path, ATOM_MEDIA_TYPE, render, write_once=True))
    return files


def _archives(config: Config, store: Store) -> list[OutputFile]:
    """The archives of every subscription feed: feed.atom's, each region's, language's and country's."""
    return [f for doc in feedset.all_feeds(config, store) for f in _feed_archives(config, store, doc)]


def _region_feeds(config: Config, store: Store) -> list[OutputFile]:
    return [_atom_file(config, store, doc, _prev_archive(config, store, doc)) for doc in feedset.region_feeds(config)]


def _language_feeds(config: Config, store: Store) -> list[OutputFile]:
    return [
        _atom_file(config, store, doc, _prev_archive(config, store, doc)) for doc in feedset.language_feeds(config, store)
    ]


def _country_feeds(config: Config, store: Store) -> list[OutputFile]:
    return [
        _atom_file(config, store, doc, _prev_archive(config, store, doc)) for doc in feedset.country_feeds(config, store)
    ]


def _combined_json(config: Config, store: Store) -> list[OutputFile]:
    return [_json_file(config, store, feedset.combined_feed(config))]


def _region_json(config: Config, store: Store) -> list[OutputFile]:
    return [_json_file(config, store, doc) for doc in feedset.region_feeds(config)]


def _language_json(config: Config, store: Store) -> list[OutputFile]:
    return [_json_file(config, store, doc) for doc in feedset.language_feeds(config, store)]


def _country_json(config: Config, store: Store) -> list[OutputFile]:
    return [_json_file(config, store, doc) for doc in feedset.country_feeds(config, store)]


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


def render_index(
    config: Config, stories_by_region: dict[str, list[Story]], feeds: Sequence[FeedDoc] = ()
) -> bytes:
    template = _templates().get_template("index.html")
    newest = max((s.updated for stories in stories_by_region.values() for s in stories), default=None)
    page = template.render(
        config=config,
        regions=[(slug, label, stories_by_region.get(slug, [])) for slug, label in config.regions.items()],
        snippet=_plain_snippet,
        language_autonym=language_autonym,
        newest=newest,
        version=__version__,
        feeds=feeds,
    )
    return page.encode("utf-8")


def _index_page(config: Config, store: Store) -> list[OutputFile]:
    def render() -> bytes:
        by_region = {
            slug: _stories(store, StoryQuery(limit=INDEX_STORIES_PER_REGION, region=slug,
                                             max_per_feed=config.max_stories_per_feed))
            for slug in config.regions
        }
        return render_index(config, by_region, feedset.all_feeds(config, store))

    return [OutputFile("index.html", HTML_MEDIA_TYPE, render)]


# --------------------------------------------------------------------------- OPML


def _sources(config: Config, store: Store) -> list[OutputFile]:
    return [OutputFile("sources.opml", OPML_MEDIA_TYPE, lambda: sources_opml(config))]


def _feeds_opml(config: Config, store: Store) -> list[OutputFile]:
    """Every feed we publish (Atom), so a reader can subscribe to all of them at once."""

    def render() -> bytes:
        from .picks_atom import picks_path, picks_titles

        docs = feedset.all_feeds(config, store)
        feeds: list[tuple[str, str, str, str | None]] = [
            (d.kind, d.title, urljoin(config.base_url, d.atom_path), d.language) for d in docs
        ]
        # The editors' picks feeds too (all sections, then each), as the web app's feeds page lists them.
        for section in (None, *config.sections):
            feeds.append(("picks", picks_titles(config, section)[0], urljoin(config.base_url, picks_path(section)), None))
        return feeds_opml(config, feeds)

    return [OutputFile("feeds.opml", OPML_MEDIA_TYPE, render)]


# --------------------------------------------------------------------------- editors' picks


def _render_picks(config: Config, store: Store, section: str | None) -> Callable[[], bytes]:
    def render() -> bytes:
        from .picks_atom import render_picks

        return render_picks(config, store, section)

    return render


def _picks_feed(config: Config, store: Store) -> list[OutputFile]:
    """picks.atom: every section's picks, newest pick first (picks_atom.py)."""
    return [OutputFile("picks.atom", ATOM_MEDIA_TYPE, _render_picks(config, store, None))]


def _section_picks_feeds(config: Config, store: Store) -> list[OutputFile]:
    """picks/<section>.atom: what one party site's editors picked, for that site to import."""
    return [
        OutputFile(f"picks/{slug}.atom", ATOM_MEDIA_TYPE, _render_picks(config, store, slug)) for slug in config.sections
    ]


OUTPUTS: list[Output] = [
    Output("combined feed", ATOM_MEDIA_TYPE, _combined_feed),
    Output("region feeds", ATOM_MEDIA_TYPE, _region_feeds),
    Output("language feeds", ATOM_MEDIA_TYPE, _language_feeds, fixed=False),
    Output("country feeds", ATOM_MEDIA_TYPE, _country_feeds, fixed=False),
    Output("combined JSON feed", JSON_FEED_MEDIA_TYPE, _combined_json),
    Output("region JSON feeds", JSON_FEED_MEDIA_TYPE, _region_json),
    Output("language JSON feeds", JSON_FEED_MEDIA_TYPE, _language_json, fixed=False),
    Output("country JSON feeds", JSON_FEED_MEDIA_TYPE, _country_json, fixed=False),
    Output("feed archives", ATOM_MEDIA_TYPE, _archives, fixed=False),
    Output("HTML page", HTML_MEDIA_TYPE, _index_page),
    Output("sources OPML", OPML_MEDIA_TYPE, _sources),
    Output("feeds OPML", OPML_MEDIA_TYPE, _feeds_opml),
    Output("editors' picks feed", ATOM_MEDIA_TYPE, _picks_feed),
    Output("section picks feeds", ATOM_MEDIA_TYPE, _section_picks_feeds),
]


_MEDIA_TYPES_BY_SUFFIX = {
    ".atom": ATOM_MEDIA_TYPE, ".json": JSON_FEED_MEDIA_TYPE, ".html": HTML_MEDIA_TYPE, ".opml": OPML_MEDIA_TYPE,
}


_JSON_FEED_FOLDERS = ("regions", "languages", "countries")


def media_type_of(path: str) -> str | None:
    """The media type of a published file, from its kind of output; None for a file publish does
    not write. (Every output's files are named by their format.)"""
    suffix = path[path.rfind("."):] if "." in path.rsplit("/", 1)[-1] else ""
    if suffix == ".json" and not (path == "feed.json" or path.split("/")[0] in _JSON_FEED_FOLDERS):
        return None  # some other JSON file an operator put there
    media_type = _MEDIA_TYPES_BY_SUFFIX.get(suffix)
    return media_type if media_type in {o.media_type for o in OUTPUTS} else None


# What a pick or an unpick changes: only these are rendered again at once (the cycle does the rest).
PICK_OUTPUTS = frozenset({"editors' picks feed", "section picks feeds"})


def pick_paths(section: str) -> frozenset[str]:
    """The files a pick or an unpick for this section changes: picks.atom and its section's feed."""
    return frozenset({"picks.atom", f"picks/{section}.atom"})


_T = TypeVar("_T")


class _PagesReadOnce:
    """The store, with each story page (or page of heads) read once however many files render it
    (a feed's Atom and JSON twins ask the same query), each story (and each story head) read once
    however many pages show it or render its entry, each
    archive chain's start once (the feed's link to its newest archive and the archives themselves
    ask it), and the languages and countries once (the feeds, the page and the OPML list them)."""

    def __init__(self, store: Store, entry_cache: EntryCache | None = None) -> None:
        self._store = store
        self.entry_cache = entry_cache
        self._read: dict[tuple[str, StoryQuery | None], Any] = {}
        self._loaded: dict[int, Story] = {}  # every story read so far, shared by all the pages
        self._heads: dict[int, StoryHead] = {}  # likewise every story head

    def _once(self, key: tuple[str, StoryQuery | None], read: Callable[[], _T]) -> _T:
        if key not in self._read:
            self._read[key] = read()
        return cast(_T, self._read[key])

    def stories(self, query: StoryQuery) -> StoryPage:
        return self._once(("stories", query), lambda: self._store.stories(query, self._loaded))

    def story_heads(self, query: StoryQuery) -> list[StoryHead]:
        return self._once(("heads", query), lambda: self._store.story_heads(query, self._heads))

    def load_stories(self, ids: Sequence[int], loaded: dict[int, Story] | None = None) -> list[Story]:
        return self._store.load_stories(ids, self._loaded if loaded is None else loaded)

    def active_languages(self) -> list[str]:
        return self._once(("languages", None), self._store.active_languages)

    def active_countries(self) -> list[str]:
        return self._once(("countries", None), self._store.active_countries)

    def first_story_created(self, query: StoryQuery | None = None) -> dt.datetime | None:
        return self._once(("first created", query), lambda: self._store.first_story_created(query))

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def output_files(
    config: Config, store: Store, only: frozenset[str] | None = None, entry_cache: EntryCache | None = None
) -> list[OutputFile]:
    """Every file of every registered output (or of the outputs named in `only`), for this config.
    Their renderings share story pages, so render them together (one publish) and then let go.
    With an entry cache, the feeds render only the entries whose stories changed (rendered.py)."""
    reader = cast(Store, _PagesReadOnce(store, entry_cache))
    return [f for output in OUTPUTS if only is None or output.name in only for f in output.files(config, reader)]


def output_paths(config: Config) -> list[str]:
    """The paths (under output_dir) of the files publish always writes, whatever is stored (so not
    the per-language and per-country feeds); needs no database."""
    return [f.path for output in OUTPUTS if output.fixed for f in output.files(config, _NO_STORE)]


class _NoStore:
    """Stands in for the store when only the paths are wanted: rendering would fail loudly."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("output_paths renders nothing")


_NO_STORE: Store = _NoStore()  # type: ignore[assignment]
