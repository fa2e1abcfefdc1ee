"""The registry of published outputs: every file `publish` writes, where it goes, its media type,
and how it is rendered from the stored stories. A new output is one new entry in OUTPUTS.

Rendering only reads the store (story queries); writing the files is publish.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import jinja2

from . import __version__, atom
from .models import Config, Story, StoryQuery
from .sanitize import clean_text
from .opml import sources_opml
from .store import Store

# How many stories per region the HTML page shows.
INDEX_STORIES_PER_REGION = 20
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


def _combined_feed(config: Config, store: Store) -> list[OutputFile]:
    url = urljoin(config.base_url, "feed.atom")
    meta = atom.AtomFeedMeta(
        id=url, title=config.title, subtitle="News from the sister parties, all regions",
        self_url=url, alternate_url=config.base_url,
    )  # fmt: skip
    return [
        OutputFile("feed.atom", atom.MEDIA_TYPE,
                   lambda: atom.render_atom(meta, _stories(store, StoryQuery(limit=config.max_entries)), config))
    ]  # fmt: skip


def _region_feeds(config: Config, store: Store) -> list[OutputFile]:
    files = []
    for slug, label in config.regions.items():
        url = urljoin(config.base_url, f"regions/{slug}.atom")
        meta = atom.AtomFeedMeta(
            id=url, title=f"{config.title}: {label}", subtitle=f"News from the sister parties in {label}",
            self_url=url, alternate_url=urljoin(config.base_url, f"#region-{slug}"),
        )  # fmt: skip
        query = StoryQuery(limit=config.max_entries, region=slug)

        def render(meta: atom.AtomFeedMeta = meta, query: StoryQuery = query) -> bytes:
            return atom.render_atom(meta, _stories(store, query), config)

        files.append(OutputFile(f"regions/{slug}.atom", atom.MEDIA_TYPE, render))
    return files


# --------------------------------------------------------------------------- HTML page


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("aggregator", "templates"),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _plain_snippet(html_text: str, limit: int = 280) -> str:
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


def _index_page(config: Config, store: Store) -> list[OutputFile]:
    def render() -> bytes:
        by_region = {
            slug: _stories(store, StoryQuery(limit=INDEX_STORIES_PER_REGION, region=slug)) for slug in config.regions
        }
        return render_index(config, by_region)

    return [OutputFile("index.html", HTML_MEDIA_TYPE, render)]


# --------------------------------------------------------------------------- OPML


def _sources(config: Config, store: Store) -> list[OutputFile]:
    return [OutputFile("sources.opml", OPML_MEDIA_TYPE, lambda: sources_opml(config))]


OUTPUTS: list[Output] = [
    Output("combined feed", atom.MEDIA_TYPE, _combined_feed),
    Output("region feeds", atom.MEDIA_TYPE, _region_feeds),
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


# --------------------------------------------------------------------------- editors' picks (issue 12)
# A separate block, appended: picks.atom and picks/<section>.atom, newest pick first (picks_atom.py).


def _picks_feed(config: Config, store: Store) -> list[OutputFile]:
    from .picks_atom import render_picks

    return [OutputFile("picks.atom", atom.MEDIA_TYPE, lambda: render_picks(config, store, None))]


def _section_picks_feeds(config: Config, store: Store) -> list[OutputFile]:
    from .picks_atom import render_picks

    def render(section: str) -> Callable[[], bytes]:
        return lambda: render_picks(config, store, section)

    return [OutputFile(f"picks/{slug}.atom", atom.MEDIA_TYPE, render(slug)) for slug in config.sections]


OUTPUTS += [
    Output("editors' picks feed", atom.MEDIA_TYPE, _picks_feed),
    Output("section picks feeds", atom.MEDIA_TYPE, _section_picks_feeds),
]
