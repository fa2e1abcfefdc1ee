"""Editors' accounts for the web desk (name, section, argon2 password hash), the web app's secret
key, and reading the log of editors' actions.

Hashing and checking passwords is argon2-cffi's; this module stores and reads rows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

from ..times import from_db_time, to_db_time
from .connection import Database


@dataclass(frozen=True)
class User:
    name: str
    section: str
    password_hash: str
    created: dt.datetime


@dataclass(frozen=True)
class EditorAction:
    """One row of editor_actions: who did what to which story or copy, and when."""

    id: int
    at: dt.datetime
    editor: str
    action: str  # pick, unpick, unmerge, undo unmerge
    story_id: int | None
    copy_id: int | None
    detail: str | None


def create_tables(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0005_users."""
    db.execute(
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            section TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created TEXT NOT NULL
        )"""
    )
    db.execute("CREATE TABLE web_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE INDEX editor_actions_at ON editor_actions(at)")
    db.execute("CREATE INDEX editor_actions_story ON editor_actions(story_id)")


def _user(row: dict[str, object]) -> User:
    created = from_db_time(str(row["created"]))
    assert created is not None
    return User(str(row["name"]), str(row["section"]), str(row["password_hash"]), created)


def add_user(db: Database, name: str, section: str, password_hash: str, now: dt.datetime) -> bool:
    """False when the name is taken."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO users (name, section, password_hash, created) VALUES (?, ?, ?, ?)",
        [name, section, password_hash, to_db_time(now)],
    )
    return cursor.rowcount > 0


def set_password_hash(db: Database, name: str, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [password_hash, name])


def remove_user(db: Database, name: str) -> bool:
    return db.execute("DELETE FROM users WHERE name = ?", [name]).rowcount > 0


def get_user(db: Database, name: str) -> User | None:
    row = next(iter(db.query("SELECT * FROM users WHERE name = ?", [name])), None)
    return _user(row) if row else None


def list_users(db: Database) -> list[User]:
    return [_user(r) for r in db.query("SELECT * FROM users ORDER BY name")]


def secret(db: Database, name: str, nbytes: int = 32) -> str:
    """A named random secret, made on first use and kept (the session-signing key)."""
    db.execute("INSERT OR IGNORE INTO web_secrets (name, value) VALUES (?, ?)", [name, secrets.token_hex(nbytes)])
    return str(db.execute("SELECT value FROM web_secrets WHERE name = ?", [name]).fetchone()[0])


def editor_actions(
    db: Database, story_id: int | None = None, editor: str | None = None, limit: int = 50
) -> list[EditorAction]:
    """The newest actions first, of one story (or copy of it), one editor, or all."""
    where: list[str] = []
    params: list[object] = []
    if story_id is not None:
        where.append("(story_id = ? OR copy_id IN (SELECT id FROM entries WHERE story_id = ?))")
        params += [story_id, story_id]
    if editor is not None:
        where.append("editor = ?")
        params.append(editor)
    sql = "SELECT * FROM editor_actions" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY at DESC, id DESC LIMIT ?", [*params, limit])
    result = []
    for r in rows:
        at = from_db_time(r["at"])
        assert at is not None
        result.append(EditorAction(r["id"], at, r["editor"], r["action"], r["story_id"], r["copy_id"], r["detail"]))
    return result
