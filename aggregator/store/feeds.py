"""The feeds table: the config's feeds mirrored into the database, and each one's fetch state.

It writes the state ingest.py decided; it decides nothing itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from ..models import FeedConfig, FeedHealth, FeedSchedule, FeedState
from ..times import from_db_time, to_db_time
from .connection import Database
from .entries import chunks

RECENT_ENTRY_TIMES = 20  # entries per feed whose gaps give its posting rate


def sync_feeds(db: Database, feeds: Sequence[FeedConfig], now: dt.datetime) -> None:
    """Mirror the config's feeds (names, regions...) into the database, keeping fetch state.
    Only rows that differ are written: with a thousand feeds, rewriting every row at every cycle
    cost a cycle with nothing due about 15 ms."""
    stored = {
        row[0]: tuple(row[1:])
        for row in db.execute("SELECT url, name, region, country, language, site, enabled, in_config FROM feeds")
    }
    changed = [f for f in feeds if stored.get(f.url) != (f.name, f.region, f.country, f.language, f.site, int(f.enabled), 1)]
    db.conn.executemany(
        """
        INSERT INTO feeds (url, name, region, country, language, site, enabled, in_config, created)
        VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
        ON CONFLICT(url) DO UPDATE SET
            name=excluded.name, region=excluded.region, country=excluded.country,
            language=excluded.language, site=excluded.site, enabled=excluded.enabled,
            in_config=1
        """,
        [(f.url, f.name, f.region, f.country, f.language, f.site, int(f.enabled), to_db_time(now)) for f in changed],
    )
    configured = {f.url for f in feeds}
    dropped = [url for url, row in stored.items() if row[-1] and url not in configured]
    for chunk in chunks(dropped):
        db.execute(f"UPDATE feeds SET in_config = 0 WHERE url IN ({','.join('?' * len(chunk))})", chunk)


def _state_from_row(row: dict[str, Any], recent: tuple[dt.datetime, ...]) -> FeedState:
    return FeedState(
        url=row["url"],
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        http_status=row["http_status"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        last_warning=row["last_warning"],
        consecutive_failures=row["consecutive_failures"],
        last_fetched=from_db_time(row["last_fetched"]),
        last_success=from_db_time(row["last_success"]),
        last_changed=from_db_time(row["last_changed"]),
        moved_to=row["moved_to"],
        suggested_url=row["suggested_url"],
        next_due=from_db_time(row["next_due"]),
        feed_title=row["feed_title"],
        feed_link=row["feed_link"],
        feed_id=row["feed_id"],
        ttl_minutes=row["ttl_minutes"],
        update_seconds=row["update_seconds"],
        recent_entry_times=recent,
    )


def feed_schedules(db: Database) -> dict[str, FeedSchedule]:
    """Every configured feed's last status and next due time, which is all that choosing the due
    feeds needs (three columns, not the whole row: a cycle with nothing due reads no more)."""
    return {
        url: FeedSchedule(url=url, last_status=last_status, next_due=from_db_time(next_due))
        for url, last_status, next_due in db.execute("SELECT url, last_status, next_due FROM feeds WHERE in_config = 1")
    }


def feed_states(db: Database, recent_of: Collection[str] | None = None) -> dict[str, FeedState]:
    """Every configured feed's fetch state, with the times of its newest entries: of every feed, or
    (`recent_of`) of those feeds only, the others getting none. Reading them for every feed reads
    every entry; a cycle first asks for none, to see which feeds are due, then for the due ones."""
    recent: dict[str, list[dt.datetime]] = {}
    if recent_of is None:
        selections: list[tuple[str, Sequence[str]]] = [("(SELECT url FROM feeds WHERE in_config = 1)", ())]
    else:
        selections = [(f"({','.join('?' * len(group))})", group) for group in chunks(sorted(set(recent_of)))]
    for where, group in selections:
        for url, published in db.execute(
            f"""
            SELECT feed_url, published FROM (
                SELECT feed_url, published,
                       row_number() OVER (PARTITION BY feed_url ORDER BY published DESC) AS n
                FROM entries WHERE feed_url IN {where}
            ) WHERE n <= {RECENT_ENTRY_TIMES} ORDER BY feed_url, published DESC
            """,
            group,
        ):
            recent.setdefault(url, []).append(dt.datetime.fromisoformat(published))
    return {
        row["url"]: _state_from_row(row, tuple(recent.get(row["url"], ())))
        for row in db.query("SELECT * FROM feeds WHERE in_config = 1")
    }


def write_state(db: Database, state: FeedState) -> None:
    db.execute(
        """
        UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ?, http_status = ?, last_status = ?,
            last_error = ?, last_warning = ?, consecutive_failures = ?, last_fetched = ?, last_success = ?,
            last_changed = ?, moved_to = ?, suggested_url = ?, next_due = ?, feed_title = ?, feed_link = ?,
            feed_id = ?, ttl_minutes = ?, update_seconds = ?
        WHERE url = ?
        """,
        [
            state.etag, state.last_modified, state.body_hash, state.http_status, state.last_status,
            state.last_error, state.last_warning, state.consecutive_failures, to_db_time(state.last_fetched),
            to_db_time(state.last_success), to_db_time(state.last_changed), state.moved_to, state.suggested_url,
            to_db_time(state.next_due), state.feed_title, state.feed_link, state.feed_id, state.ttl_minutes,
            state.update_seconds, state.url,
        ],
    )  # fmt: skip


def feed_health(db: Database) -> list[FeedHealth]:
    rows = db.query(
        """
        SELECT f.*, (SELECT count(*) FROM entries e WHERE e.feed_url = f.url) AS entry_count
        FROM feeds f WHERE f.in_config = 1 ORDER BY f.region, f.name
        """
    )
    return [
        FeedHealth(
            url=r["url"],
            name=r["name"],
            region=r["region"],
            enabled=bool(r["enabled"]),
            last_status=r["last_status"],
            last_error=r["last_error"],
            consecutive_failures=r["consecutive_failures"],
            entries=r["entry_count"],
            last_fetched=from_db_time(r["last_fetched"]),
            moved_to=r["moved_to"],
            next_due=from_db_time(r["next_due"]),
            suggested_url=r["suggested_url"],
            pruned=r["pruned"],
            last_warning=r["last_warning"],
        )
        for r in rows
    ]
