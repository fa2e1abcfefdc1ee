"""Reading stories by when they were first stored, for the weekly RFC 5005 archive documents.

A story's `created` time never changes and is never in the past when it is set, so the stories of
a week that has ended are a fixed set (less the ones pruned since): what makes an archive page
that is written once and never again.
"""

from __future__ import annotations

import datetime as dt

from ..times import to_db_time
from .stories import ACTIVE_FEED
from .connection import Database

_ACTIVE_STORY = (
    f"EXISTS (SELECT 1 FROM entries e JOIN feeds f ON f.url = e.feed_url WHERE e.story_id = s.id AND {ACTIVE_FEED})"
)


def first_created(db: Database) -> dt.datetime | None:
    """When the oldest story that still has an active copy was stored."""
    row = db.execute(f"SELECT min(s.created) FROM stories s WHERE {_ACTIVE_STORY}").fetchone()
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None


def created_between(db: Database, start: dt.datetime, end: dt.datetime) -> list[int]:
    """The ids of the stories (with an active copy) stored in [start, end), newest published first."""
    rows = db.execute(
        f"SELECT s.id FROM stories s WHERE s.created >= ? AND s.created < ? AND {_ACTIVE_STORY}"
        " ORDER BY s.published DESC, s.id DESC",
        [to_db_time(start), to_db_time(end)],
    ).fetchall()
    return [int(r[0]) for r in rows]
