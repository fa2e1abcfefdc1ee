"""Editors' picks (a story chosen for a section, by whom, when, with a note) and the log of
editors' actions.

Picked stories are kept past retention (stories.prune checks this table).
"""

from __future__ import annotations

import datetime as dt

from ..models import Pick, Story
from ..times import to_db_time
from .stories import _pick_from_row
from .connection import Database


def set_pick(db: Database, pick: Pick) -> bool:
    """Record (or replace) a pick; False when there is no such story."""
    if not db.execute("SELECT 1 FROM stories WHERE id = ?", [pick.story_id]).fetchone():
        return False
    db.execute(
        """
        INSERT INTO picks (story_id, section, editor, note, picked_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(story_id, section) DO UPDATE SET editor = excluded.editor, note = excluded.note,
            picked_at = excluded.picked_at
        """,
        [pick.story_id, pick.section, pick.editor, pick.note, to_db_time(pick.picked_at)],
    )
    return True


def remove_pick(db: Database, story_id: int, section: str) -> bool:
    return db.execute("DELETE FROM picks WHERE story_id = ? AND section = ?", [story_id, section]).rowcount > 0


def picks(db: Database, section: str | None = None, limit: int = 100) -> list[Pick]:
    """The newest picks first, of one section or of all."""
    where, params = ("WHERE section = ?", [section]) if section is not None else ("", [])
    return [
        _pick_from_row(r)
        for r in db.query(f"SELECT * FROM picks {where} ORDER BY picked_at DESC, story_id DESC LIMIT ?", [*params, limit])
    ]


def story_picks(db: Database, story_id: int) -> list[Pick]:
    return [_pick_from_row(r) for r in db.query("SELECT * FROM picks WHERE story_id = ? ORDER BY picked_at", [story_id])]


def log_action(
    db: Database, at: dt.datetime, editor: str, action: str,
    story_id: int | None = None, copy_id: int | None = None, detail: str | None = None,
) -> None:  # fmt: skip
    db.execute(
        "INSERT INTO editor_actions (at, editor, action, story_id, copy_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [to_db_time(at), editor, action, story_id, copy_id, detail],
    )


def picked_stories(db: Database, section: str | None = None, limit: int = 100) -> list[tuple[Pick, Story]]:
    """The newest picks first (by pick time, not story time), each with its story: of one section
    or of all (a story picked for two sections appears twice). Picks of stories with no active
    copy left (their party removed from the config) are left out."""
    from .stories import load_stories

    chosen = picks(db, section, limit)
    loaded = {s.id: s for s in load_stories(db, sorted({p.story_id for p in chosen}))}
    return [(p, loaded[p.story_id]) for p in chosen if p.story_id in loaded]
