"""The WebSub queue: feed URLs that changed and that the hub has not yet acknowledged.

Publishing adds the changed feeds' URLs; a ping the hub accepted removes its URL; a failed one
stays, with the error and how many tries, for the next cycle. No HTTP here (websub.py pings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..times import to_db_time
from .connection import Database


def queue(db: Database, urls: Iterable[str], now: dt.datetime) -> None:
    """Add URLs to the queue; one already waiting keeps its place and its count of tries."""
    db.conn.executemany(
        "INSERT INTO websub_pending (url, queued_at) VALUES (?, ?) ON CONFLICT(url) DO NOTHING",
        [(url, to_db_time(now)) for url in urls],
    )


def pending(db: Database) -> list[str]:
    """The URLs waiting, oldest first."""
    return [r[0] for r in db.execute("SELECT url FROM websub_pending ORDER BY queued_at, url").fetchall()]


def done(db: Database, url: str) -> None:
    db.execute("DELETE FROM websub_pending WHERE url = ?", [url])


def failed(db: Database, url: str, error: str) -> None:
    db.execute("UPDATE websub_pending SET attempts = attempts + 1, last_error = ? WHERE url = ?", [error, url])
