"""The database schema: named, append-only migrations, applied in order and recorded in the file.

A database records which migrations it has; opening it read-write applies the rest, and one
written by a newer version (or not by aggregator at all) is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typing import TYPE_CHECKING

from ..times import to_db_time, utcnow
from .connection import Connections, Database, StoreError

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION_TABLE = "schema_migrations"


def _m0001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            region TEXT NOT NULL,
            country TEXT NOT NULL,
            language TEXT NOT NULL,
            site TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            in_config INTEGER NOT NULL DEFAULT 1,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            http_status INTEGER,
            last_status TEXT,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_fetched TEXT,
            last_success TEXT,
            last_changed TEXT,
            moved_to TEXT,
            suggested_url TEXT,
            next_due TEXT,
            feed_title TEXT,
            feed_link TEXT,
            ttl_minutes INTEGER,
            update_seconds REAL,
            created TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            atom_id TEXT NOT NULL UNIQUE,
            published TEXT NOT NULL,
            updated TEXT NOT NULL,
            created TEXT NOT NULL,
            picked INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX stories_published ON stories(published)")
    db.execute(
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            feed_url TEXT NOT NULL REFERENCES feeds(url),
            key TEXT NOT NULL,
            key_source TEXT NOT NULL,
            original_id TEXT,
            link TEXT,
            canonical_link TEXT,
            title TEXT NOT NULL,
            content_html TEXT NOT NULL,
            summary_html TEXT NOT NULL,
            author TEXT,
            categories TEXT NOT NULL DEFAULT '[]',
            language TEXT,
            published TEXT NOT NULL,
            updated TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            change_hash TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            title_key TEXT NOT NULL,
            lead_key TEXT,
            is_excerpt INTEGER NOT NULL DEFAULT 0,
            word_count INTEGER NOT NULL DEFAULT 0,
            minhash BLOB,
            fingerprint_version INTEGER NOT NULL DEFAULT 0,
            story_id INTEGER NOT NULL REFERENCES stories(id),
            match_rule TEXT,
            match_score REAL,
            match_copy_id INTEGER,
            UNIQUE (feed_url, key)
        )"""
    )
    db.execute("CREATE INDEX entries_story ON entries(story_id)")
    db.execute("CREATE INDEX entries_canonical_link ON entries(canonical_link)")
    db.execute("CREATE INDEX entries_content_hash ON entries(content_hash)")
    db.execute("CREATE INDEX entries_published ON entries(published)")
    db.execute("CREATE INDEX entries_title_lead ON entries(title_key, lead_key)")
    db.execute(
        "CREATE TABLE entry_bands (band INTEGER NOT NULL, entry_id INTEGER NOT NULL,"
        " PRIMARY KEY (band, entry_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX entry_bands_entry ON entry_bands(entry_id)")
    db.execute(
        """
        CREATE TABLE tombstones (
            feed_url TEXT NOT NULL,
            key TEXT NOT NULL,
            canonical_link TEXT,
            pruned_at TEXT NOT NULL,
            PRIMARY KEY (feed_url, key)
        )"""
    )
    db.execute("CREATE INDEX tombstones_link ON tombstones(canonical_link)")
    db.execute(
        """
        CREATE TABLE split_entries (
            entry_id INTEGER PRIMARY KEY,
            split_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE cycles (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            finished TEXT,
            ok INTEGER, not_modified INTEGER, unchanged INTEGER, failed INTEGER, skipped INTEGER,
            new_entries INTEGER, updated_entries INTEGER, seconds REAL,
            interrupted INTEGER NOT NULL DEFAULT 0
        )"""
    )


def _m0002_source_feed_id(db: sqlite_utils.Database) -> None:
    """Keep an Atom source feed's own atom:id for atom:source; index cycles by start for pruning."""
    db.execute("ALTER TABLE feeds ADD COLUMN feed_id TEXT")
    # Forget the validators so that the next cycle reads every feed once and fills feed_id (a 304
    # or an unchanged body would skip the parse). Entries that did not change are not touched.
    db.execute("UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL")
    db.execute("CREATE INDEX cycles_started ON cycles(started)")


def _m0003_picks_and_provenance(db: sqlite_utils.Database) -> None:
    """Picks become records (who, when, for which section, a note); editors' actions are logged;
    a split copy remembers where it came from (for undo); feeds keep the parser's warning and how
    many entries retention pruned."""
    db.execute(
        """
        CREATE TABLE picks (
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            section TEXT NOT NULL DEFAULT '',
            editor TEXT NOT NULL,
            note TEXT,
            picked_at TEXT NOT NULL,
            PRIMARY KEY (story_id, section)
        )"""
    )
    db.execute("CREATE INDEX picks_section_time ON picks(section, picked_at)")
    db.execute("INSERT INTO picks (story_id, section, editor, picked_at) SELECT id, '', 'cli', updated FROM stories WHERE picked = 1")
    db.execute("ALTER TABLE stories DROP COLUMN picked")
    db.execute(
        """
        CREATE TABLE editor_actions (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            editor TEXT NOT NULL,
            action TEXT NOT NULL,
            story_id INTEGER,
            copy_id INTEGER,
            detail TEXT
        )"""
    )
    db.execute("ALTER TABLE split_entries ADD COLUMN split_from INTEGER")
    db.execute("ALTER TABLE split_entries ADD COLUMN split_by TEXT")
    db.execute("ALTER TABLE feeds ADD COLUMN last_warning TEXT")
    db.execute("ALTER TABLE feeds ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX entries_feed_published ON entries(feed_url, published)")
    db.execute("CREATE INDEX stories_published_id ON stories(published, id)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # Read-time checks that an atom:id is claimed by one feed only.
    db.execute("CREATE INDEX entries_original_id ON entries(original_id)")


def _m0004_websub_pending(db: sqlite_utils.Database) -> None:
    """The feed URLs a WebSub hub has yet to be told about (the ping failed; retried next time)."""
    db.execute(
        """
        CREATE TABLE websub_pending (
            url TEXT PRIMARY KEY,
            queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )"""
    )


def _m0005_users(db: sqlite_utils.Database) -> None:
    """Editors' accounts for the web desk and the web app's secret key (store/users.py)."""
    from .users import create_tables

    create_tables(db)


def _m0006_search(db: sqlite_utils.Database) -> None:
    """The FTS5 index of entries, filled from those stored, kept current by triggers (store/search.py)."""
    from .search import create_index

    create_index(db)


def _m0010_enclosures(db: sqlite_utils.Database) -> None:
    """Each copy's enclosures (a JSON list of {url, type, length}, NULL for none) and its picture."""
    db.execute("ALTER TABLE entries ADD COLUMN enclosures TEXT")
    db.execute("ALTER TABLE entries ADD COLUMN image TEXT")
    # Where each region's, language's and country's archive chain starts (store/archive.py), read
    # at every publish without scanning the entries' HTML: 24 ms a feed on 3,600 entries, 1 ms with it.
    db.execute("CREATE INDEX entries_feed_first_seen ON entries(feed_url, first_seen, language)")
    # Read every feed once more (as 0002 does) so stored entries gain what they carry; an entry
    # with neither keeps its change hash and is not touched.
    db.execute("UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL")


def _m0011_search_speed(db: sqlite_utils.Database) -> None:
    """A covering index from a copy to its story, feed and language (the search's join, read
    without the wide entry rows), and the content version the web app's caches are valid for."""
    from .content_version import create
    from .search import create_key_index

    create_key_index(db)
    create(db)


def _m0012_publish_speed(db: sqlite_utils.Database) -> None:
    """Indexes a publish reads through (50,821 stories, 32 feeds: every story page read 1.8 -> 0.4 s,
    the archive chains' starts 0.6 s -> under 0.1 s): a copy's feed's atom:id is checked against
    every other configured feed's id, URL and site (store/stories.py load_stories), and each
    archive chain starts at the oldest story (or copy) still stored (store/archive.py)."""
    db.execute("CREATE INDEX IF NOT EXISTS feeds_feed_id ON feeds(feed_id)")
    db.execute("CREATE INDEX IF NOT EXISTS feeds_site ON feeds(site)")
    db.execute("CREATE INDEX IF NOT EXISTS stories_created ON stories(created)")
    db.execute("CREATE INDEX IF NOT EXISTS entries_first_seen ON entries(first_seen)")
    # Which feeds (and languages) a story has copies in, without reading the wide entry rows: a
    # feed's story list walks the stories newest first and asks this of each (2x faster).
    # It starts with story_id, so it serves every lookup entries_story served.
    db.execute("CREATE INDEX IF NOT EXISTS entries_story_feed ON entries(story_id, feed_url, language)")
    db.execute("DROP INDEX IF EXISTS entries_story")


def _m0013_rendered_entries(db: sqlite_utils.Database) -> None:
    """Each story's rendered Atom entry and JSON Feed item, kept between publishes (store/rendered.py),
    and a content version that counts everything they show, so that it alone tells a publish whether
    anything changed (reading the signature from the tables took 0.26 s at 50,000 stories)."""
    from .content_version import cover_everything_shown
    from .rendered import create_table

    create_table(db)
    cover_everything_shown(db)


def _m0014_rendered_entries_follow_writes(db: sqlite_utils.Database) -> None:
    """Triggers that drop a story's kept renderings when a write changes what they show, so a
    publish takes a kept rendering as it is instead of hashing every story it shows to check it
    (store/rendered.py)."""
    from .rendered import follow_writes

    follow_writes(db)


def _m0015_copy_source_updated(db: sqlite_utils.Database) -> None:
    """Each copy's own atom:source updated: its feed's last change when the copy was written
    (NULL for copies written before: their feed's last_changed stands in), so that a feed gaining an
    item no longer makes every entry it had render again (store/rendered.py)."""
    from .content_version import cover_copy_source_times
    from .rendered import follow_copy_source_times

    db.execute("ALTER TABLE entries ADD COLUMN source_updated TEXT")
    follow_copy_source_times(db)
    cover_copy_source_times(db)


def _m0009_full_text(db: sqlite_utils.Database) -> None:
    """Article pages' main text for full_text feeds, each fetch's outcome (store/fulltext.py)."""
    from .fulltext import create_tables

    create_tables(db)


def _m0008_translations(db: sqlite_utils.Database) -> None:
    """What each copy points at, and the translation links between stories (store/translations.py)."""
    from .translations import create_tables

    create_tables(db)


def _m0016_search_without_copy(db: sqlite_utils.Database) -> None:
    """The full-text index keeps no copy of the texts it indexes (store/search.py): a third of the
    database, and a tenth of what a cold cycle writes."""
    from .search import use_external_content

    use_external_content(db)


# Applied in this order to a database that lacks them; each is independent of the ones after it.
# (0007 was set aside for recording how an entry's language was found; it is not used.)
MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _m0001_initial),
    ("0002_source_feed_id", _m0002_source_feed_id),
    ("0003_picks_and_provenance", _m0003_picks_and_provenance),
    ("0004_websub_pending", _m0004_websub_pending),
    ("0005_users", _m0005_users),  # the editors' desk (issue 12)
    ("0006_search", _m0006_search),
    ("0008_translations", _m0008_translations),  # translations linked across languages (issue 13)
    ("0009_full_text", _m0009_full_text),  # full text for excerpt-only feeds (issue 13)
    ("0010_enclosures", _m0010_enclosures),  # enclosures and the entry's picture (issue 13)
    ("0011_search_speed", _m0011_search_speed),  # the web app's caches and search speed (issue 12)
    ("0012_publish_speed", _m0012_publish_speed),  # reading a publish's stories (issue 11)
    ("0013_rendered_entries", _m0013_rendered_entries),  # rendering only changed entries (issue 11)
    ("0014_rendered_entries_follow_writes", _m0014_rendered_entries_follow_writes),  # (issue 11)
    ("0015_copy_source_updated", _m0015_copy_source_updated),  # publishing only new stories (issue 11)
    ("0016_search_without_copy", _m0016_search_without_copy),  # a smaller database, fewer writes (issue 11)
]

def _applied(db: Database, path: Path) -> set[str]:
    if SCHEMA_VERSION_TABLE not in db.table_names():
        return set()
    applied = {str(row["name"]) for row in db.query(f"SELECT name FROM {SCHEMA_VERSION_TABLE}")}
    unknown = applied - {name for name, _ in MIGRATIONS}
    if unknown:
        raise StoreError(
            f"the database {path} was written by a newer version of aggregator "
            f"(migrations {', '.join(sorted(unknown))}); upgrade aggregator"
        )
    return applied


def migrate(connections: Connections) -> None:
    """Apply every migration the database lacks, each in its own transaction."""
    db = connections.db
    path = connections.path
    applied = _applied(db, path)
    if not applied and db.table_names():
        raise StoreError(f"{path} is an SQLite database of another program, not an aggregator database")
    if all(name in applied for name, _ in MIGRATIONS):
        return
    import sqlite_utils  # only for schema work: see connection.Database

    if SCHEMA_VERSION_TABLE not in db.table_names():
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    for name, migration in MIGRATIONS:
        if name in applied:
            continue
        with connections.transaction():
            # Another process (the daemon and a HEALTHCHECK opening an old database at once)
            # may have applied it since we looked: BEGIN IMMEDIATE serialises us behind it.
            if db.execute(f"SELECT 1 FROM {SCHEMA_VERSION_TABLE} WHERE name = ?", [name]).fetchone():
                continue
            migration(sqlite_utils.Database(db.conn))
            db.execute(
                f"INSERT INTO {SCHEMA_VERSION_TABLE} (name, applied_at) VALUES (?, ?)",
                [name, to_db_time(utcnow())],
            )


def keep_search_text(connections: Connections) -> None:
    """After migrate: if the full-text index's plain texts were made by another version of the
    sanitizer (store/search.py), index every copy again, so that removing a copy's words from the
    index is handed the text it indexed."""
    from .search import reindex, search_text_current

    db = connections.db
    if search_text_current(db):
        return
    with connections.transaction():
        if not search_text_current(db):  # another process may have done it meanwhile
            import logging

            logging.getLogger("aggregator.store").warning(
                "the search index was made by another version of the sanitizer: indexing every copy again"
            )
            reindex(db)


def check_current(connections: Connections) -> None:
    """For a read-only open: the file must be an aggregator database of this version."""
    db = connections.db
    path = connections.path
    applied = _applied(db, path)
    if not applied:
        raise StoreError(f"{path} is not an aggregator database (no schema_migrations table)")
    missing = [name for name, _ in MIGRATIONS if name not in applied]
    if missing:
        raise StoreError(
            f"the database {path} was made by an older version of aggregator and needs upgrading"
            f" ({', '.join(missing)}); run `aggregator publish` or `aggregator fetch` once"
        )
