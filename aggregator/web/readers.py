"""The readers' pages: the newest stories (filtered, paged), search, one story, the feeds, the
sources; and the Atom feed of any list (/atom with the list's filters)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urljoin

from flask import Blueprint, Response, abort, render_template, request, url_for

from .. import atom
from ..models import Story
from ..outputs import output_paths
from ..status import status_records
from .common import (
    Filters, cached, config, cursor_from_request, filters_from_request, limit_from_request, store,
)  # fmt: skip
from .http import conditional, etag_of

bp = Blueprint("readers", __name__)


def _choices() -> dict[str, list[tuple[str, str]]]:
    """What the filter form offers: the config's regions, countries, languages and parties."""
    from ..locales import country_name
    from .common import display_language

    cfg = config()
    feeds = [f for f in cfg.feeds if f.enabled]
    return {
        "region": list(cfg.regions.items()),
        "country": sorted({(f.country, country_name(f.country)) for f in feeds}, key=lambda c: c[1]),
        "language": sorted({(f.language.split("-")[0].lower(), display_language(f.language)) for f in feeds},
                           key=lambda c: c[1]),  # fmt: skip
        "feed": sorted(((f.url, f.name) for f in feeds), key=lambda c: c[1].casefold()),
    }


def _atom_href(filters: Filters) -> str:
    return url_for("readers.atom_feed") + filters.query_string()


@bp.get("/")
def front() -> str:
    filters = filters_from_request()
    query = filters.story_query(limit_from_request(), cursor_from_request())
    page = cached(("list", query), lambda: store().stories(query))
    return render_template(
        "list.html", stories=page.stories, filters=filters, choices=_choices(), atom_href=_atom_href(filters),
        next_href=(url_for("readers.front") + filters.query_string(after=page.next.token())) if page.next else None,
        first_page=request.args.get("after") is None, search_page=False,
    )  # fmt: skip


@bp.get("/search")
def search() -> str:
    filters = filters_from_request()
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        abort(400, description="offset must be a number.")
    stories: tuple[Story, ...] = ()
    more = False
    if filters.q:
        query = filters.story_query(limit_from_request())
        page, more = cached(("search", query, offset), lambda: store().search_stories(query, offset))
        stories = page.stories
    limit = limit_from_request()
    return render_template(
        "list.html", stories=stories, filters=filters, choices=_choices(), atom_href=_atom_href(filters),
        next_href=(url_for("readers.search") + filters.query_string(offset=offset + limit)) if more else None,
        first_page=offset == 0, search_page=True,
    )  # fmt: skip


@bp.get("/atom")
def atom_feed() -> Response:
    """The Atom feed of exactly the list these filters make (newest first, the published feeds'
    entry format), rendered from the database."""
    filters = filters_from_request()
    cfg = config()
    self_url = request.url

    def render() -> tuple[bytes, str, dt.datetime | None]:
        describe = filters.describe(cfg)
        meta = atom.AtomFeedMeta(
            id=self_url, title=f"{cfg.title}: {describe}" if describe else cfg.title,
            subtitle="Stories from the sister parties" + (f": {describe}" if describe else ""),
            self_url=self_url, alternate_url=urljoin(request.url_root, "./" + filters.query_string()),
        )  # fmt: skip
        stories = store().stories(filters.story_query(min(cfg.max_entries, 100))).stories
        body = atom.render_atom(meta, stories, cfg)
        return body, etag_of(body), max((s.updated for s in stories), default=None)

    # A feed reader polls the same URL: the bytes are kept until the stories change (cache.py).
    body, tag, newest = cached(("atom", self_url, request.url_root, filters), render)
    return conditional(body, atom.MEDIA_TYPE, last_modified=newest, etag=tag)


@bp.get("/story/<int:story_id>")
def story(story_id: int) -> str:
    st = store()
    found = st.story(story_id)
    explanations = st.explain_story(story_id)
    if found is None and not explanations:
        abort(404, description=f"There is no story s{story_id} (it may have been pruned, or split and rejoined).")
    return render_template(
        "story.html", story=found, story_id=story_id, explanations=explanations,
        copies={c.id: c for c in found.copies} if found else {}, picks=st.story_picks(story_id),
        actions=st.editor_actions(story_id=story_id, limit=20),
    )  # fmt: skip


def published_feeds() -> list[dict[str, str]]:
    """Every Atom feed publish writes, with its public URL (base_url) and its URL here."""
    cfg = config()
    result = []
    for path in output_paths(cfg):
        if not path.endswith(".atom"):
            continue
        result.append({"path": path, "url": urljoin(cfg.base_url, path), "here": urljoin(request.url_root, path)})
    return result


def filtered_feeds() -> list[dict[str, str]]:
    """The feeds of the lists this site shows: per region, country, language and party."""
    choices = _choices()
    labels = {"region": "Region", "country": "Country", "language": "Language", "feed": "Party"}
    result = []
    for kind in ("region", "country", "language", "feed"):
        for value, label in choices[kind]:
            filters = Filters(**{kind: value})
            result.append({"kind": labels[kind], "label": label,
                           "url": urljoin(request.url_root, _atom_href(filters).lstrip("/")),
                           "list": url_for("readers.front") + filters.query_string()})  # fmt: skip
    return result


@bp.get("/feeds")
def feeds() -> str:
    return render_template("feeds.html", published=published_feeds(), filtered=filtered_feeds())


@bp.get("/sources")
def sources() -> str:
    cfg = config()
    records = status_records(cfg, store())
    return render_template("sources.html", records=records, now=dt.datetime.now(dt.timezone.utc),
                           languages={f.url: f.language for f in cfg.feeds})  # fmt: skip

