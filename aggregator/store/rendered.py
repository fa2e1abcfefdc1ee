"""Rendered entries kept between publishes: each story's Atom entry and JSON Feed item as text,
with a digest of the context it was rendered in (aggregator/rendered.py makes and checks it).

A kept rendering is current by being there: since migration 0014, triggers drop a story's rows
whenever a write changes anything they show (the story, its copies, their feeds, its translation
links and the stories those point at), so a publish needs no
digest of every story it shows to know which renderings still hold. Since 0015 a copy's atom:source
updated is its own (the feed's last change when the copy was written), so a feed that gains an item
keeps the renderings of the copies it had: a publish renders the new stories only.

Only a cache: losing a row costs one rendering, and a whole publish drops the rows of stories it no
longer shows, so the table holds about one row per format for each story in the published feeds.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from .entries import chunks

if TYPE_CHECKING:
    import sqlite_utils

    from .connection import Database

TABLE = "rendered_entries"


def create_table(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0013_rendered_entries."""
    db.execute(
        f"""CREATE TABLE {TABLE} (
            story_id INTEGER NOT NULL,
            format TEXT NOT NULL,
            digest TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (story_id, format)
        )"""
    )


# What the triggers of migration 0014 watch, as of that migration (a later change of what is shown
# needs a migration of its own, as content_version.py's columns had in 0013).
# The entry columns a rendering shows, of its own copies or of a translation's copy.
_ENTRY_COLUMNS = ("feed_url", "key", "original_id", "link", "title", "content_html", "summary_html", "author",
                  "categories", "language", "published", "updated", "story_id", "match_rule", "match_score",
                  "enclosures", "image", "full_text_html")  # fmt: skip
# A feed's columns its own copies show (its name, place, link and last change)...
_FEED_OWN_COLUMNS = ("name", "region", "country", "language", "feed_link", "last_changed")
# ...and those other feeds' copies depend on too: which feeds are active, and whose atom:id or site
# a copy's feed id names (store/stories.py load_stories): a change drops every rendering.
_FEED_SHARED_COLUMNS = ("url", "site", "enabled", "in_config", "feed_id")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


def _drop_for_copy(row: str) -> str:
    """The statements that drop what a written entry row (`new` or `old`) makes stale."""
    return (
        f"DELETE FROM {TABLE} WHERE story_id = {row}.story_id;"
        # (A story whose atom:id this copy carries may become contested, or no longer: that changes
        # the id it has in a feed, which each rendering's digest covers.)
        # a story linked to this copy's story as a translation shows that story's language and link
        f" DELETE FROM {TABLE} WHERE story_id IN (SELECT story_a FROM translations WHERE story_b = {row}.story_id);"
        f" DELETE FROM {TABLE} WHERE story_id IN (SELECT story_b FROM translations WHERE story_a = {row}.story_id);"
    )


def _entry_update(columns: tuple[str, ...]) -> str:
    """The trigger that drops the renderings a copy's update of any of these columns makes stale."""
    return f"AFTER UPDATE ON entries WHEN {_changed(columns)} BEGIN {_drop_for_copy('old')} {_drop_for_copy('new')} END"


def _feed_update_own(columns: tuple[str, ...]) -> str:
    """The trigger that drops the renderings of a feed's copies when any of these feed columns changes."""
    return (
        f"AFTER UPDATE ON feeds WHEN {_changed(columns)} BEGIN DELETE FROM {TABLE}"
        f" WHERE story_id IN (SELECT story_id FROM entries WHERE feed_url = old.url); END"
    )


def _create_triggers(db: "Database | sqlite_utils.Database", triggers: dict[str, str]) -> None:
    for name, body in triggers.items():
        db.execute(f"DROP TRIGGER IF EXISTS {TABLE}_after_{name}")
        db.execute(f"CREATE TRIGGER {TABLE}_after_{name} {body}")


def follow_writes(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0014_rendered_entries_follow_writes: the triggers that drop stale renderings, and
    the rows kept before them (checked by a digest of each story, which a publish no longer makes)."""
    db.execute(f"DELETE FROM {TABLE}")
    triggers = {
        "entry_insert": f"AFTER INSERT ON entries BEGIN {_drop_for_copy('new')} END",
        "entry_delete": f"AFTER DELETE ON entries BEGIN {_drop_for_copy('old')} END",
        "entry_update": _entry_update(_ENTRY_COLUMNS),
        "story_update": f"AFTER UPDATE ON stories BEGIN DELETE FROM {TABLE} WHERE story_id IN (old.id, new.id); END",
        "story_delete": f"AFTER DELETE ON stories BEGIN DELETE FROM {TABLE} WHERE story_id = old.id; END",
        "translation_insert": f"AFTER INSERT ON translations"
                              f" BEGIN DELETE FROM {TABLE} WHERE story_id IN (new.story_a, new.story_b); END",
        "translation_update": f"AFTER UPDATE ON translations BEGIN DELETE FROM {TABLE}"
                              f" WHERE story_id IN (old.story_a, old.story_b, new.story_a, new.story_b); END",
        "translation_delete": f"AFTER DELETE ON translations"
                              f" BEGIN DELETE FROM {TABLE} WHERE story_id IN (old.story_a, old.story_b); END",
        "feed_update_own": _feed_update_own(_FEED_OWN_COLUMNS),
        "feed_update_shared": f"AFTER UPDATE ON feeds WHEN {_changed(_FEED_SHARED_COLUMNS)}"
                              f" BEGIN DELETE FROM {TABLE}; END",
        "feed_insert": f"AFTER INSERT ON feeds BEGIN DELETE FROM {TABLE}; END",
        "feed_delete": f"AFTER DELETE ON feeds BEGIN DELETE FROM {TABLE}; END",
    }  # fmt: skip
    _create_triggers(db, triggers)


# Since migration 0015 a copy shows its own source_updated (its feed's last change as of the copy's
# last write), so a feed's later change (a new item, say) keeps the renderings of its other copies;
# only copies written before 0015 (source_updated NULL) still show the feed's last_changed.
_ENTRY_COLUMNS_SINCE_0015 = (*_ENTRY_COLUMNS, "source_updated")
_FEED_OWN_COLUMNS_SINCE_0015 = tuple(c for c in _FEED_OWN_COLUMNS if c != "last_changed")


def follow_copy_source_times(db: "Database | sqlite_utils.Database") -> None:
    """Part of migration 0015_copy_source_updated: the triggers on entries and feeds, for copies
    that carry their own atom:source updated."""
    _create_triggers(db, {
        "entry_update": _entry_update(_ENTRY_COLUMNS_SINCE_0015),
        "feed_update_own": _feed_update_own(_FEED_OWN_COLUMNS_SINCE_0015),
        "feed_update_last_changed": f"AFTER UPDATE ON feeds WHEN old.last_changed IS NOT new.last_changed"
                                    f" BEGIN DELETE FROM {TABLE} WHERE story_id IN (SELECT story_id FROM entries"
                                    f" WHERE feed_url = old.url AND source_updated IS NULL); END",
    })  # fmt: skip


def load(db: "Database", format: str, story_ids: Collection[int]) -> dict[int, tuple[str, str]]:
    """{story id: (digest, body)} of the stored renderings in this format of these stories."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in chunks(list(story_ids)):
        rows = db.execute(
            f"SELECT story_id, digest, body FROM {TABLE} WHERE format = ? AND story_id IN ({','.join('?' * len(chunk))})",
            [format, *chunk],
        )
        found.update((int(r[0]), (str(r[1]), str(r[2]))) for r in rows)
    return found


def save(db: "Database", rows: Sequence[tuple[int, str, str, str]], keep: Collection[int] | None) -> None:
    """Store (story id, format, digest, body) rows; with `keep`, forget every other story's rows.
    The caller holds the write transaction, and the rows were rendered from what is stored now."""
    db.conn.executemany(
        f"INSERT OR REPLACE INTO {TABLE} (story_id, format, digest, body) VALUES (?, ?, ?, ?)", rows
    )
    if keep is not None:
        db.execute(
            f"DELETE FROM {TABLE} WHERE story_id NOT IN (SELECT value FROM json_each(?))", [json.dumps(sorted(keep))]
        )
