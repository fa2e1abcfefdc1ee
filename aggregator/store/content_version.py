"""The content version: one counter that triggers bump whenever something a reader can see changes
(a story, a copy's shown fields, a pick, a feed's name or place), and never for fetch bookkeeping
(a feed's last fetch time, a copy's last_seen), so a cache of rendered lists stays valid across
the commits of a cycle that changed nothing.

It only keeps the counter; what is cached, and where, is the caller's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

    from .connection import Database

TABLE = "content_version"
# The columns whose change a reader can see (the rest is fetch state and fingerprints).
_ENTRY_COLUMNS = ("feed_url", "key", "original_id", "link", "title", "content_html", "summary_html", "author",
                  "categories", "language", "published", "updated", "story_id", "match_rule", "match_score")  # fmt: skip
# Shown too, and counted since migration 0013: a copy's enclosures and picture, its article's full
# text, and the translation links between stories.
_ENTRY_COLUMNS_SINCE_0013 = (*_ENTRY_COLUMNS, "enclosures", "image", "full_text_html")
_FEED_COLUMNS = ("url", "name", "region", "country", "language", "site", "enabled", "in_config", "feed_id",
                 "feed_link", "last_changed")  # fmt: skip
_BUMP = f"UPDATE {TABLE} SET version = version + 1;"


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


def create(db: "Database | sqlite_utils.Database") -> None:
    """Part of migration 0011_search_speed: the counter and its triggers."""
    db.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
    db.execute(f"INSERT INTO {TABLE} (id, version) VALUES (1, 0)")
    for table in ("stories", "entries", "picks", "feeds"):
        for event in ("INSERT", "DELETE"):
            db.execute(f"CREATE TRIGGER {TABLE}_{table}_{event.lower()} AFTER {event} ON {table} BEGIN {_BUMP} END")
    db.execute(f"CREATE TRIGGER {TABLE}_stories_update AFTER UPDATE ON stories BEGIN {_BUMP} END")
    db.execute(f"CREATE TRIGGER {TABLE}_picks_update AFTER UPDATE ON picks BEGIN {_BUMP} END")
    _count_entry_columns(db, _ENTRY_COLUMNS)
    db.execute(
        f"CREATE TRIGGER {TABLE}_feeds_update AFTER UPDATE ON feeds WHEN {_changed(_FEED_COLUMNS)} BEGIN {_BUMP} END"
    )


def current(db: "Database") -> int:
    """The counter as committed (or as this connection's open transaction has it)."""
    return int(db.execute(f"SELECT version FROM {TABLE} WHERE id = 1").fetchone()[0])


def cover_everything_shown(db: "Database | sqlite_utils.Database") -> None:
    """Part of migration 0013: count the entry columns added after 0011 and the translation links,
    so that the counter alone says whether the published outputs may have changed."""
    _count_entry_columns(db, _ENTRY_COLUMNS_SINCE_0013)
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER {TABLE}_translations_{event.lower()} AFTER {event} ON translations BEGIN {_BUMP} END")


def cover_copy_source_times(db: "Database | sqlite_utils.Database") -> None:
    """Part of migration 0015_copy_source_updated: count a change of a copy's own atom:source
    updated, which it shows instead of its feed's last change."""
    _count_entry_columns(db, (*_ENTRY_COLUMNS_SINCE_0013, "source_updated"))


def _count_entry_columns(db: "Database | sqlite_utils.Database", columns: tuple[str, ...]) -> None:
    """(Re)create the trigger that bumps the counter when a copy's update changes any of these columns."""
    db.execute(f"DROP TRIGGER IF EXISTS {TABLE}_entries_update")
    db.execute(f"CREATE TRIGGER {TABLE}_entries_update AFTER UPDATE ON entries WHEN {_changed(columns)} BEGIN {_BUMP} END")
