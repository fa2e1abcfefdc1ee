"""A small read-only JSON API: /api/stories (the list pages' filters, q, after), /api/stories/<id>,
/api/feeds, /api/picks. Times are ISO 8601 UTC; a story's number is `id` (s12 in the CLI)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for

from ..models import Copy, Story
from ..status import status_records
from .common import config, cursor_from_request, filters_from_request, limit_from_request, plain_snippet, store
from .readers import filtered_feeds, published_feeds

bp = Blueprint("api", __name__, url_prefix="/api")


def _time(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _copy(c: Copy) -> dict[str, Any]:
    return {"id": c.id, "feed": c.feed_name, "feed_url": c.feed_url, "link": c.link, "title": c.title,
            "language": c.language, "region": c.region, "country": c.country, "published": _time(c.published),
            "match_rule": c.match_rule}  # fmt: skip


def story_json(s: Story) -> dict[str, Any]:
    p = s.primary
    return {
        "id": s.id, "url": url_for("readers.story", story_id=s.id, _external=True), "atom_id": s.atom_id,
        "title": p.title, "link": p.link, "language": p.language, "excerpt": plain_snippet(p.content_html or p.summary_html),
        "published": _time(s.published), "updated": _time(s.updated),
        "regions": list(s.regions), "countries": list(s.countries),
        "parties": list(dict.fromkeys(c.feed_name for c in s.copies)),
        "picks": [{"section": k.section, "editor": k.editor, "picked_at": _time(k.picked_at), "note": k.note}
                  for k in s.picks],
        "copies": [_copy(c) for c in s.copies],
        "translations": [{"id": t.story_id, "language": t.language, "link": t.url, "rule": t.rule,
                          "url": url_for("readers.story", story_id=t.story_id, _external=True)}
                         for t in s.translations],
    }  # fmt: skip


@bp.get("/stories")
def stories() -> Response:
    filters = filters_from_request()
    page = store().stories(filters.story_query(limit_from_request(), cursor_from_request()))
    nxt = page.next.token() if page.next else None
    return jsonify({
        "stories": [story_json(s) for s in page.stories],
        "next": nxt,
        "next_url": (url_for("api.stories", _external=True) + filters.query_string(after=nxt)) if nxt else None,
    })  # fmt: skip


@bp.get("/stories/<int:story_id>")
def story(story_id: int) -> Response:
    st = store()
    found = st.story(story_id)
    if found is None:
        abort(404, description=f"There is no story s{story_id}.")
    data = story_json(found)
    data["explanations"] = [
        {**{k: _time(v) if k in ("published", "split_at") else v for k, v in dataclasses.asdict(e).items()}}
        for e in st.explain_story(story_id)
    ]
    return jsonify(data)


@bp.get("/feeds")
def feeds() -> Response:
    records = status_records(config(), store())
    return jsonify({
        "published": published_feeds(),
        "filtered": filtered_feeds(),
        "sources": [{k: _time(v) if k in ("last_fetched", "next_due") else v for k, v in r.items()} for r in records],
    })  # fmt: skip


@bp.get("/picks")
def picks() -> Response:
    section = request.args.get("section") or None
    if section is not None and section not in config().sections:
        abort(400, description=f"There is no section {section!r}.")
    result = [
        {"section": p.section, "editor": p.editor, "picked_at": _time(p.picked_at), "note": p.note,
         "story": story_json(s)}
        for p, s in store().picked_stories(section, limit=limit_from_request(100))
    ]  # fmt: skip
    return jsonify({"picks": result})
