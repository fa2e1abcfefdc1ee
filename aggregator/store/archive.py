"""Reading stories by when they were first stored, for the weekly RFC 5005 archive documents.

A story's `created` time never changes and is never in the past when it is set, so the stories of
a week that has ended are a fixed set (less the ones pruned since): what makes an archive page
that is written once and never again. A region's, language's or country's feed takes a story in
the week its first copy of that region (language, country) was stored (the copy's `first_seen`,
as fixed as `created`): a story another region's party reposts weeks later joins that region's
archive in the week of the repost, once.
"""

from __future__ import annotations

import datetime as dt

from ..models import StoryQuery
from ..times import to_db_time
from .stories import ACTIVE_FEED, _copy_conditions
from .connection import Database

_ACTIVE_STORY = (
    f"EXISTS (SELECT 1 FROM entries e JOIN feeds f ON f.url = e.feed_url WHERE e.story_id = s.id AND {ACTIVE_FEED})"
)


def _is_filtered(query: StoryQuery | None) -> bool:
    return query is not None and (query.region, query.country, query.language) != (None, None, None)


def _feed_filter(query: StoryQuery) -> StoryQuery:
    """Only what says which feed a story is in: a feed's archive ignores its list's length, caps
    and pages."""
    return StoryQuery(region=query.region, country=query.country, language=query.language)


def first_created(db: Database, query: StoryQuery | None = None) -> dt.datetime | None:
    """When the oldest story that still has an active copy was stored (with a query: when the
    first active copy it selects was stored)."""
    if query is not None and _is_filtered(query):
        where, params = _copy_conditions(_feed_filter(query))
        # The oldest first (index entries_first_seen) until one matches: min() would read every copy.
        row = db.execute(
            f"SELECT e.first_seen FROM entries e JOIN feeds f ON f.url = e.feed_url WHERE {' AND '.join(where)}"
            " ORDER BY e.first_seen LIMIT 1",
            params,
        ).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row and row[0] else None
    row = db.execute(f"SELECT min(s.created) FROM stories s WHERE {_ACTIVE_STORY}").fetchone()
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None


def created_between(db: Database, start: dt.datetime, end: dt.datetime, query: StoryQuery | None = None) -> list[int]:
    """The ids of the stories (with an active copy) stored in [start, end), newest published first;
    with a query, those whose first active copy it selects was stored then."""
    if query is not None and _is_filtered(query):
        where, params = _copy_conditions(_feed_filter(query))
        rows = db.execute(
            f"""SELECT s.id FROM stories s JOIN (
                    SELECT e.story_id, min(e.first_seen) AS joined FROM entries e JOIN feeds f ON f.url = e.feed_url
                    WHERE {' AND '.join(where)} GROUP BY e.story_id
                ) j ON j.story_id = s.id
                WHERE j.joined >= ? AND j.joined < ? ORDER BY s.published DESC, s.id DESC""",
            [*params, to_db_time(start), to_db_time(end)],
        ).fetchall()
        return [int(r[0]) for r in rows]
    rows = db.execute(
        f"SELECT s.id FROM stories s WHERE s.created >= ? AND s.created < ? AND {_ACTIVE_STORY}"
        " ORDER BY s.published DESC, s.id DESC",
        [to_db_time(start), to_db_time(end)],
    ).fetchall()
    return [int(r[0]) for r in rows]
