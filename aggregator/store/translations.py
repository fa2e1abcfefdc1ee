"""Translation links between stories, as stored: the pointers each copy makes (entry_links), the
links found from them or made by editors, and an editor's unlink, which automatic linking respects.

All SQL of translations lives here; which pointers count is aggregator.translations' decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import translations as rules
from ..models import Translation
from ..times import to_db_time
from .connection import Database
from .entries import chunks

if TYPE_CHECKING:
    import sqlite_utils

    from ..ingest import InsertEntry


def create_tables(db: "sqlite_utils.Database") -> None:
    db.execute(
        """
        CREATE TABLE entry_links (
            entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
            url TEXT NOT NULL,  -- canonical (urls.canonical_url)
            kind TEXT NOT NULL,  -- alternate (hreflang) | link (in its text) | source (named as the original)
            PRIMARY KEY (entry_id, url)
        )"""
    )
    db.execute("CREATE INDEX entry_links_url ON entry_links(url)")
    db.execute(
        """
        CREATE TABLE translations (
            story_a INTEGER NOT NULL,  -- the smaller story id
            story_b INTEGER NOT NULL,
            rule TEXT NOT NULL,  -- hreflang | links to | same original | editor
            evidence TEXT NOT NULL,  -- the URL or the editor's note that made the link
            linked_by TEXT,  -- the editor, for a link made by hand
            linked_at TEXT NOT NULL,
            unlinked_by TEXT,  -- set: an editor said these are not translations; never re-linked
            unlinked_at TEXT,
            PRIMARY KEY (story_a, story_b)
        )"""
    )
    db.execute("CREATE INDEX translations_b ON translations(story_b)")


def record_and_link(db: Database, first_new_id: int, inserts: Sequence["InsertEntry"], now: dt.datetime) -> int:
    """After a feed's new entries are stored (ids from `first_new_id`, in the order of `inserts`):
    store what each points at and link the stories that are translations by the rules. Reads only
    rows that share a URL with the new entries. Returns the number of links made."""
    if not inserts:
        return 0
    rows = db.execute(
        "SELECT id, story_id, canonical_link, language FROM entries WHERE id >= ? ORDER BY id", [first_new_id]
    ).fetchall()
    made = 0
    for insert, (entry_id, story_id, own_link, language) in zip(inserts, rows):
        refs = insert.prepared.references
        if refs is None or own_link != insert.prepared.fingerprint.canonical_link:
            refs = rules.references(insert.prepared.entry, own_link)
        db.conn.executemany(
            "INSERT OR IGNORE INTO entry_links (entry_id, url, kind) VALUES (?, ?, ?)",
            [(entry_id, r.url, r.kind) for r in refs],
        )
        for other_story, other_language, rule, evidence in _pointed(db, entry_id, own_link, refs):
            if other_story != story_id and rules.different_languages(language, other_language):
                made += _link(db, story_id, other_story, rule, evidence, now)
    return made


def _pointed(
    db: Database, entry_id: int, own_link: str | None, refs: Sequence[rules.Reference]
) -> list[tuple[int, str, str, str]]:
    """(story, language, rule, evidence) of the copies this entry points at, that point at it, or
    that name the same original."""
    found: list[tuple[int, str, str, str]] = []
    for chunk in chunks([r.url for r in refs]):
        marks = ",".join("?" * len(chunk))
        kinds = {r.url: r.kind for r in refs}
        for story, language, url in db.execute(
            f"SELECT story_id, language, canonical_link FROM entries WHERE canonical_link IN ({marks}) AND id != ?",
            [*chunk, entry_id],
        ).fetchall():
            found.append((story, language, rules.rule_for([kinds[url]]), url))
        sources = [r.url for r in refs if r.kind == "source" and r.url in chunk]
        if sources:
            source_marks = ",".join("?" * len(sources))
            for story, language, url in db.execute(
                f"""SELECT e.story_id, e.language, l.url FROM entry_links l JOIN entries e ON e.id = l.entry_id
                    WHERE l.url IN ({source_marks}) AND l.kind = 'source' AND l.entry_id != ?""",
                [*sources, entry_id],
            ).fetchall():
                found.append((story, language, rules.RULE_SOURCE, url))
    if own_link:
        for story, language, kind in db.execute(
            """SELECT e.story_id, e.language, l.kind FROM entry_links l JOIN entries e ON e.id = l.entry_id
               WHERE l.url = ? AND l.entry_id != ?""",
            [own_link, entry_id],
        ).fetchall():
            found.append((story, language, rules.rule_for([kind]), own_link))
    return found


def _link(db: Database, a: int, b: int, rule: str, evidence: str, now: dt.datetime) -> int:
    story_a, story_b = rules.pair(a, b)
    cursor = db.execute(
        "INSERT OR IGNORE INTO translations (story_a, story_b, rule, evidence, linked_at) VALUES (?, ?, ?, ?, ?)",
        [story_a, story_b, rule, evidence, to_db_time(now)],
    )
    return int(cursor.rowcount or 0)


def link_by_editor(db: Database, a: int, b: int, editor: str, now: dt.datetime, note: str | None = None) -> None:
    """An editor's link: made, or an earlier unlink undone."""
    story_a, story_b = rules.pair(a, b)
    db.execute(
        """INSERT INTO translations (story_a, story_b, rule, evidence, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (story_a, story_b) DO UPDATE SET rule = excluded.rule, evidence = excluded.evidence,
               linked_by = excluded.linked_by, linked_at = excluded.linked_at, unlinked_by = NULL, unlinked_at = NULL""",
        [story_a, story_b, rules.RULE_EDITOR, note or f"linked by {editor}", editor, to_db_time(now)],
    )


def unlink_by_editor(db: Database, a: int, b: int, editor: str, now: dt.datetime) -> bool:
    """An editor's unlink: kept as a row, so the rules never link the pair again. False when the
    two were not linked (the refusal is still recorded)."""
    story_a, story_b = rules.pair(a, b)
    was = db.execute(
        "SELECT 1 FROM translations WHERE story_a = ? AND story_b = ? AND unlinked_at IS NULL", [story_a, story_b]
    ).fetchone()
    db.execute(
        """INSERT INTO translations (story_a, story_b, rule, evidence, linked_at, unlinked_by, unlinked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (story_a, story_b) DO UPDATE SET unlinked_by = excluded.unlinked_by,
               unlinked_at = excluded.unlinked_at""",
        [story_a, story_b, rules.RULE_EDITOR, f"unlinked by {editor}", to_db_time(now), editor, to_db_time(now)],
    )
    return was is not None


def translations_of(db: Database, ids: Sequence[int], active_feed: str) -> dict[int, list[Translation]]:
    """Each story's live translation links, with the other story's language and primary link (its
    earliest active copy), ordered by language."""
    out: dict[int, list[Translation]] = {i: [] for i in ids}
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        rows: list[Any] = db.execute(
            f"""
            WITH l AS (
                SELECT story_a AS story, story_b AS other, rule, evidence FROM translations
                    WHERE story_a IN ({marks}) AND unlinked_at IS NULL
                UNION ALL
                SELECT story_b, story_a, rule, evidence FROM translations
                    WHERE story_b IN ({marks}) AND unlinked_at IS NULL
            )
            SELECT l.story, l.other, l.rule, l.evidence,
                   (SELECT e.language FROM entries e JOIN feeds f ON f.url = e.feed_url
                    WHERE e.story_id = l.other AND {active_feed} ORDER BY e.published, e.id LIMIT 1) AS language,
                   (SELECT e.link FROM entries e JOIN feeds f ON f.url = e.feed_url
                    WHERE e.story_id = l.other AND {active_feed} ORDER BY e.published, e.id LIMIT 1) AS link
            FROM l
            """,
            [*chunk, *chunk],
        ).fetchall()
        for story, other, rule, evidence, language, link in rows:
            if language is not None:  # the other story has no active copy left
                out[story].append(Translation(other, language, link, rule, evidence))
    for links in out.values():
        links.sort(key=lambda t: (t.language, t.story_id))
    return out
