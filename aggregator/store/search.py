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

import functools
from typing import TYPE_CHECKING, Any

from .plaintext import PLAIN_TEXT_FUNCTION

if TYPE_CHECKING:
    import sqlite_utils

    from .connection import Database

FTS_TABLE = "entries_search"
# A title weighs more than the body when ranking.
BM25_WEIGHTS = (5.0, 1.0)
# A search ranks the newest RANK_WINDOW matching copies by bm25, then the next RANK_WINDOW older
# ones, and so on (stories.ranked_copies): bm25 costs about 1 µs per match ranked (31 ms for a
# two-word query matching 30,000 copies), so common words in a large archive cost one block per
# page, and news readers see the recent relevant stories first.
RANK_WINDOW = 5000
TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
_BODY = f"{PLAIN_TEXT_FUNCTION}(CASE WHEN {{row}}.content_html != '' THEN {{row}}.content_html ELSE {{row}}.summary_html END)"
_INDEX_NEW = f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (new.id, new.title, {_BODY.format(row='new')});"


def _create_write_triggers(db: "Database | sqlite_utils.Database", removal: str) -> None:
    """The triggers that keep the index current; `removal` takes an old row's words out."""
    db.execute(f"CREATE TRIGGER entries_search_insert AFTER INSERT ON entries BEGIN {_INDEX_NEW} END")
    db.execute(
        "CREATE TRIGGER entries_search_update AFTER UPDATE OF title, content_html, summary_html ON entries"
        f" BEGIN {removal} {_INDEX_NEW} END"
    )
    db.execute(f"CREATE TRIGGER entries_search_delete AFTER DELETE ON entries BEGIN {removal} END")


def create_index(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0006_search: the FTS table, filled from the stored entries, and its triggers."""
    db.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body, tokenize = \"{TOKENIZE}\")")
    db.execute(f"INSERT INTO {FTS_TABLE} (rowid, title, body) SELECT id, title, {_BODY.format(row='entries')} FROM entries")
    _create_write_triggers(db, f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id;")


# Since migration 0016 the index keeps no copy of the texts it indexes (FTS5 "external content"):
# its content is the view below, which makes each copy's body from its stored HTML when asked (a
# rebuild, an integrity check). The copy it kept was a third of the database (352 instead of 517 MB
# for 1,000 generated feeds) and 10% of a cold cycle's writes. Without a copy, removing a row's
# words from the index means handing FTS5 the very text it indexed ('delete' with the old values),
# so the plain text of an HTML value must not change while the index holds it: the meta key
# SEARCH_TEXT_META names what makes it (sanitize.plain_text's version, nh3's and Python's), and a
# store opened read-write under another one reindexes every copy first (schema.keep_search_text).
SOURCE_VIEW = "entries_search_source"
PLAIN_TEXT_VERSION = 1  # bump with any change to sanitize.plain_text's output
SEARCH_TEXT_META = "search_text"


@functools.cache  # the same for the whole process; asked at every read-write open
def search_text_version() -> str:
    """What the index's texts were made with: equal values make equal plain texts."""
    import sys

    return f"plain_text {PLAIN_TEXT_VERSION}, nh3 {_nh3_version()}, python {sys.version_info[0]}.{sys.version_info[1]}"


def _nh3_version() -> str:
    # From the name of its installed metadata, beside the package: a store that opens for a cycle
    # with nothing due loads no sanitizer (importing nh3 or importlib.metadata: 2 and 50 ms).
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("nh3")
    if spec is not None and spec.origin:
        for found in sorted(Path(spec.origin).parent.parent.glob("nh3-*.dist-info")):
            return found.name[len("nh3-"):-len(".dist-info")]
    import nh3

    return str(getattr(nh3, "__version__", "unknown"))


def _removal(row: str) -> str:
    return (f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, body)"
            f" VALUES ('delete', {row}.id, {row}.title, {_BODY.format(row=row)});")  # fmt: skip


def use_external_content(db: "Database | sqlite_utils.Database") -> None:
    """Migration 0016_search_without_copy: the index of 0006, without its copy of the texts."""
    for event in ("insert", "update", "delete"):
        db.execute(f"DROP TRIGGER IF EXISTS entries_search_{event}")
    db.execute(f"DROP TABLE {FTS_TABLE}")
    db.execute(f"CREATE VIEW {SOURCE_VIEW} AS SELECT id, title, {_BODY.format(row='entries')} AS body FROM entries")
    db.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body, content = '{SOURCE_VIEW}', content_rowid = 'id',"
        f" tokenize = \"{TOKENIZE}\")"
    )
    _create_write_triggers(db, _removal("old"))
    reindex(db)


def _record_search_text(db: "Database | sqlite_utils.Database") -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [SEARCH_TEXT_META, search_text_version()])


def search_text_current(db: "Database") -> bool:
    """Whether the index's texts were made as this process makes them (see SOURCE_VIEW)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [SEARCH_TEXT_META]).fetchone()
    return row is not None and row[0] == search_text_version()


def reindex(db: "Database | sqlite_utils.Database") -> None:
    """Index every copy again from its stored HTML, with this process's plain text. The caller
    holds the write transaction."""
    db.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")
    _record_search_text(db)


# Covers what the search reads of each matching copy, so the join skips the wide entry rows (their
# content comes before story_id, often in overflow pages): half the cost of a search's join.
KEYS_INDEX = "entries_search_keys"


def create_key_index(db: "Database | sqlite_utils.Database") -> None:
    """Part of migration 0011_search_speed."""
    db.execute(f"CREATE INDEX {KEYS_INDEX} ON entries(id, story_id, feed_url, language)")


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
