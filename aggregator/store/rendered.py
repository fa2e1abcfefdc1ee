"""Rendered entries kept between publishes: each story's Atom entry and JSON Feed item as text,
with the digest of what it was rendered from (aggregator/rendered.py makes and checks them).

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
    The caller holds the write transaction."""
    db.conn.executemany(
        f"INSERT OR REPLACE INTO {TABLE} (story_id, format, digest, body) VALUES (?, ?, ?, ?)", rows
    )
    if keep is not None:
        db.execute(
            f"DELETE FROM {TABLE} WHERE story_id NOT IN (SELECT value FROM json_each(?))", [json.dumps(sorted(keep))]
        )
