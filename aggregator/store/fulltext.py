"""The article pages of full_text feeds: which entries still want theirs, and what each fetch gave
(the sanitized main text, or why not), kept on the entry's row.

It decides nothing about HTTP or extraction; aggregator/fulltext.py does, and hands the outcome here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..models import FullTextHealth, FullTextJob
from ..times import to_db_time
from .connection import Database

if TYPE_CHECKING:
    import sqlite_utils


def create_tables(db: sqlite_utils.Database) -> None:
    """Migration 0009_full_text: four columns on entries and the feeds' opt-in times."""
    for column, kind in (
        ("full_text_html", "TEXT"),  # sanitized, bounded HTML; NULL until a fetch succeeded
        ("full_text_status", "TEXT"),  # NULL: not tried; "ok"; "failed" (the excerpt is published)
        ("full_text_fetched_at", "TEXT"),
        ("full_text_error", "TEXT"),
        ("full_text_attempts", "INTEGER NOT NULL DEFAULT 0"),
    ):
        db.execute(f"ALTER TABLE entries ADD COLUMN {column} {kind}")
    # Since when each feed has had full_text on: only entries first stored after that are fetched,
    # so switching it on does not fetch a feed's whole back catalogue.
    db.execute("CREATE TABLE full_text_feeds (feed_url TEXT PRIMARY KEY, since TEXT NOT NULL)")
    db.execute("CREATE INDEX entries_full_text ON entries (feed_url, full_text_status)")


def sync_feeds(db: Database, feed_urls: Sequence[str], now: dt.datetime) -> None:
    """The feeds with full_text on now: new ones start at `now`, those switched off are forgotten."""
    urls = list(dict.fromkeys(feed_urls))
    db.conn.executemany(
        "INSERT OR IGNORE INTO full_text_feeds (feed_url, since) VALUES (?, ?)", [(u, to_db_time(now)) for u in urls]
    )
    marks = ",".join("?" * len(urls))
    db.execute(f"DELETE FROM full_text_feeds WHERE feed_url NOT IN ({marks})" if urls else "DELETE FROM full_text_feeds", urls)


def jobs(db: Database, now: dt.datetime, max_attempts: int, retry_after: float, limit: int) -> list[FullTextJob]:
    """The entries whose page to fetch now, untried ones first, newest first: entries of full_text
    feeds stored since the feed opted in, never tried, or failed fewer than `max_attempts` times
    and not within the last `retry_after` seconds."""
    if limit <= 0:
        return []
    retry_before = to_db_time(now - dt.timedelta(seconds=retry_after))
    rows = db.execute(
        """
        SELECT e.id, e.feed_url, e.link, e.full_text_attempts
        FROM entries e JOIN full_text_feeds t ON t.feed_url = e.feed_url
        WHERE e.link IS NOT NULL AND e.first_seen >= t.since
          AND (e.full_text_status IS NULL
               OR (e.full_text_status = 'failed' AND e.full_text_attempts < ? AND e.full_text_fetched_at <= ?))
        ORDER BY e.full_text_status IS NOT NULL, e.first_seen DESC, e.id DESC
        LIMIT ?
        """,
        [max_attempts, retry_before, limit],
    ).fetchall()
    return [FullTextJob(entry_id=r[0], feed_url=r[1], link=r[2], attempts=r[3]) for r in rows]


def record_ok(db: Database, entry_id: int, html: str, now: dt.datetime) -> None:
    """The article's text, extracted. When it is new or changed, the story counts as updated at
    `now` (its published content changed: from the excerpt to the article), so feed readers see it."""
    db.execute(
        """UPDATE stories SET updated = max(updated, ?) WHERE id = (
               SELECT story_id FROM entries WHERE id = ? AND full_text_html IS NOT ?)""",
        [to_db_time(now), entry_id, html],
    )
    db.execute(
        """UPDATE entries SET full_text_html = ?, full_text_status = 'ok', full_text_fetched_at = ?,
               full_text_error = NULL, full_text_attempts = full_text_attempts + 1 WHERE id = ?""",
        [html, to_db_time(now), entry_id],
    )


def record_failure(db: Database, entry_id: int, error: str, now: dt.datetime) -> None:
    """A failed fetch or extraction; a full text fetched earlier (a retry of a changed page) stays."""
    db.execute(
        """UPDATE entries SET full_text_status = CASE WHEN full_text_html IS NULL THEN 'failed' ELSE 'ok' END,
               full_text_fetched_at = ?, full_text_error = ?, full_text_attempts = full_text_attempts + 1
           WHERE id = ?""",
        [to_db_time(now), error, entry_id],
    )


def health(db: Database) -> dict[str, FullTextHealth]:
    """Per feed with any page tried: how many gave a full text, how many fell back, the latest error."""
    found: dict[str, FullTextHealth] = {}
    for feed_url, ok, failed in db.execute(
        """SELECT feed_url, sum(full_text_status = 'ok'), sum(full_text_status = 'failed')
           FROM entries WHERE full_text_status IS NOT NULL GROUP BY feed_url"""
    ):
        last = db.execute(
            """SELECT full_text_error FROM entries WHERE feed_url = ? AND full_text_status = 'failed'
               ORDER BY full_text_fetched_at DESC, id DESC LIMIT 1""",
            [feed_url],
        ).fetchone()
        found[feed_url] = FullTextHealth(ok=int(ok or 0), failed=int(failed or 0), last_error=last[0] if last else None)
    return found


