"""Full-text search over entries: an SQLite FTS5 index of each copy's title and the plain text of
its content, kept current by triggers on `entries` (so ingest and the cycle need not know it
exists), and the ranked (bm25) story search the web app's /search uses.

The tokenizer is unicode61 with remove_diacritics 2 (é finds e, and e finds é) and, beyond the
default, the combining-mark categories (M*) as word characters: without them the vowel signs and
viramas of Devanagari, Tamil and Sinhala split every word into fragments, so a fragment such as
"हड" would match "हड़ताल".

User input never reaches MATCH as syntax: every word becomes a quoted FTS string token, so quotes,
`*`, `-`, `:`, `^`, parentheses and the words AND/OR/NOT/NEAR are only text.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

from ..models import StoryPage, StoryQuery
from ..sanitize import clean_text
from .connection import Database

FTS_TABLE = "entries_search"
TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
PLAIN_TEXT_FUNCTION = "aggregator_plain_text"
# A title weighs more than the body when ranking.
BM25_WEIGHTS = (5.0, 1.0)
_MAX_PLAIN_CHARS = 200_000


def _plain_text(html_text: str | None) -> str:
    return clean_text(html_text, max_chars=_MAX_PLAIN_CHARS) if html_text else ""


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL function the triggers call: every connection the store opens registers it."""
    conn.create_function(PLAIN_TEXT_FUNCTION, 1, _plain_text, deterministic=True)


_BODY = f"{PLAIN_TEXT_FUNCTION}(CASE WHEN {{row}}.content_html != '' THEN {{row}}.content_html ELSE {{row}}.summary_html END)"


def create_index(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0006_search: the FTS table, filled from the stored entries, and its triggers."""
    db.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body, tokenize = \"{TOKENIZE}\")")
    db.execute(f"INSERT INTO {FTS_TABLE} (rowid, title, body) SELECT id, title, {_BODY.format(row='entries')} FROM entries")
    db.execute(
        f"""CREATE TRIGGER entries_search_insert AFTER INSERT ON entries BEGIN
            INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (new.id, new.title, {_BODY.format(row='new')});
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER entries_search_update AFTER UPDATE OF title, content_html, summary_html ON entries BEGIN
            DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
            INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (new.id, new.title, {_BODY.format(row='new')});
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER entries_search_delete AFTER DELETE ON entries BEGIN
            DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
        END"""
    )


def fts_query(text: str | None) -> str | None:
    """The user's words as an FTS5 query in which every word must occur; None when there is no
    word to look for. Each word is one quoted string (a `"` doubled), never an operator."""
    words = [w for w in (text or "").split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def match_condition(text: str | None) -> tuple[str, list[Any]]:
    """A condition on a copy `e` that it matches the words (for StoryQuery.search)."""
    query = fts_query(text)
    if query is None:
        # Nothing searchable (only punctuation): nothing matches, as with a word no copy has.
        return "0", []
    return f"e.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)", [query]


def ranked_stories(db: Database, query: StoryQuery, offset: int = 0) -> tuple[StoryPage, bool]:
    """The stories matching query.search, best first (bm25 of their best copy, the title weighing
    more), with the query's other filters; one page of query.limit from `offset`. Returns the
    page (its `next` is always None: ranked results page by offset) and whether more follow."""
    from .stories import _copy_conditions, load_stories

    match = fts_query(query.search)
    if match is None:
        return StoryPage((), None), False
    where, params = _copy_conditions(dataclasses.replace(query, search=None))
    if query.picked is not None:
        section = " AND p.section = ?" if query.section is not None else ""
        where.append(f"{'' if query.picked else 'NOT '}EXISTS (SELECT 1 FROM picks p WHERE p.story_id = e.story_id{section})")
        if query.section is not None:
            params.append(query.section)
    rows = db.execute(
        f"""
        WITH r AS MATERIALIZED (  -- bm25 only works in a query of the FTS table itself, unflattened
            SELECT rowid AS id, bm25({FTS_TABLE}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) AS rank
            FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?
        )
        SELECT e.story_id, min(r.rank) AS best FROM r JOIN entries e ON e.id = r.id JOIN feeds f ON f.url = e.feed_url
        WHERE {' AND '.join(where)}
        GROUP BY e.story_id ORDER BY best, e.story_id DESC LIMIT ? OFFSET ?
        """,
        [match, *params, query.limit + 1, max(0, offset)],
    ).fetchall()
    more = len(rows) > query.limit
    ids = [int(r[0]) for r in rows[: query.limit]]
    return StoryPage(tuple(load_stories(db, ids)), None), more
