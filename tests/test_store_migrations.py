"""Schema migrations: a database written by an older version is upgraded in place, keeping its data;
one written by a newer version is refused with a clear message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from lxml import etree

from aggregator.store import schema as store_module
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom


def _schema(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'schema_migrations' ORDER BY name"
        ).fetchall()
    return [(name, " ".join(sql.split()).replace(" )", ")")) for name, sql in rows]


def _columns(db: Path, table: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_a_database_from_the_first_schema_is_migrated_and_keeps_its_data(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/blogger.atom", FEED_DATA / "blogger_atom.xml", content_type="application/atom+xml")
    config = write_config(tmp_path, [feed_entry(url, "Blogger Party", region="americas", country="CL", language="es")],
                          regions={"americas": "Americas"})  # fmt: skip
    db = tmp_path / "aggregator.db"
    assert run_cli("fetch", "-c", config).code == 0
    feed = tmp_path / "public" / "feed.atom"
    # Take the database back to the first schema, as the first release left it...
    with sqlite3.connect(db) as conn:
        # (undo 0016: the search index's content view; 0006's undo below drops the index itself)
        conn.execute("DROP VIEW entries_search_source")
        conn.execute("DELETE FROM meta WHERE key = 'search_text'")
        # (undo 0015, 0014, then 0013; 0015's column goes once no trigger names it, after 0011's)
        for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'rendered_entries_after_%'").fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE rendered_entries")
        for event in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER content_version_translations_{event}")
        # (undo 0012)
        for index in ("feeds_feed_id", "feeds_site", "stories_created", "entries_first_seen", "entries_story_feed"):
            conn.execute(f"DROP INDEX {index}")
        conn.execute("CREATE INDEX entries_story ON entries(story_id)")
        # (undo 0011)
        for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'content_version_%'").fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE content_version")
        conn.execute("ALTER TABLE entries DROP COLUMN source_updated")
        conn.execute("DROP INDEX entries_search_keys")
        # (undo 0010)
        conn.execute("DROP INDEX entries_feed_first_seen")
        conn.execute("ALTER TABLE entries DROP COLUMN enclosures")
        conn.execute("ALTER TABLE entries DROP COLUMN image")
        # (undo 0009)
        conn.execute("DROP INDEX entries_full_text")
        conn.execute("DROP TABLE full_text_feeds")
        for column in ("full_text_html", "full_text_status", "full_text_fetched_at", "full_text_error",
                       "full_text_attempts"):  # fmt: skip
            conn.execute(f"ALTER TABLE entries DROP COLUMN {column}")
        # (undo 0008)
        conn.execute("DROP TABLE entry_links")
        conn.execute("DROP TABLE translations")
        # (undo 0006 and 0005)
        for trigger in ("entries_search_insert", "entries_search_update", "entries_search_delete"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE entries_search")
        conn.execute("DROP TABLE users")
        conn.execute("DROP TABLE web_secrets")
        # (undo 0004)
        conn.execute("DROP TABLE websub_pending")
        # (undo 0003)
        conn.execute("DROP TABLE picks")
        conn.execute("DROP TABLE editor_actions")
        conn.execute("DROP TABLE meta")
        conn.execute("DROP INDEX entries_feed_published")
        conn.execute("DROP INDEX stories_published_id")
        conn.execute("DROP INDEX entries_original_id")
        conn.execute("ALTER TABLE stories ADD COLUMN picked INTEGER NOT NULL DEFAULT 0")
        conn.execute("ALTER TABLE split_entries DROP COLUMN split_from")
        conn.execute("ALTER TABLE split_entries DROP COLUMN split_by")
        conn.execute("ALTER TABLE feeds DROP COLUMN last_warning")
        conn.execute("ALTER TABLE feeds DROP COLUMN pruned")
        # (undo 0002)
        conn.execute("DROP INDEX cycles_started")
        conn.execute("ALTER TABLE feeds DROP COLUMN feed_id")
        conn.execute("DELETE FROM schema_migrations WHERE name != '0001_initial'")
        conn.execute("UPDATE feeds SET last_changed = '2026-01-01T00:00:00+00:00'")  # changed long ago
    # ...which is exactly what 0001_initial alone creates.
    fresh = sqlite_utils.Database(tmp_path / "fresh.db")
    store_module._m0001_initial(fresh)
    assert _schema(db) == _schema(tmp_path / "fresh.db")
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT id, key, title, story_id FROM entries ORDER BY id").fetchall()
    assert len(before) == 3

    result = run_cli("fetch", "--all", "-c", config)  # the current version
    assert result.code == 0, result.err
    # The migration makes the next cycle read every feed once (not a 304), changing no entry.
    assert "feeds: 1 ok, 0 not modified" in result.out and "entries: 0 new, 0 updated" in result.out
    assert "feed_id" in _columns(db, "feeds")
    with sqlite3.connect(db) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
        after = conn.execute("SELECT id, key, title, story_id FROM entries ORDER BY id").fetchall()
    assert applied == [name for name, _ in store_module.MIGRATIONS]
    assert after == before  # nothing lost, duplicated or renumbered
    # 0006 indexed the stored copies and 0016 indexed them again without keeping their texts: the
    # index holds the words of each copy's text as made again from its HTML, and finds them.
    from aggregator.store.plaintext import register_functions

    with sqlite3.connect(db) as conn:
        register_functions(conn)
        conn.execute("INSERT INTO entries_search (entries_search, rank) VALUES ('integrity-check', 1)")
        indexed = conn.execute("SELECT count(*) FROM entries_search_docsize").fetchone()[0]
        found = conn.execute("SELECT count(*) FROM entries_search WHERE entries_search MATCH 'title:\"' || "
                             "(SELECT substr(title, 1, instr(title || ' ', ' ') - 1) FROM entries LIMIT 1) || '\"'").fetchone()[0]
    assert indexed == 3 and found >= 1
    validate_atom(feed)
    # Re-reading every feed once is not a change: the source feed does not look updated.
    source_updated = {u.text for u in etree.parse(str(feed)).getroot().iter(f"{ATOM_NS}entry")
                      for u in u.iterfind(f"{ATOM_NS}source/{ATOM_NS}updated")}  # fmt: skip
    assert source_updated == {"2026-01-01T00:00:00+00:00"}
    sources = etree.parse(str(feed)).getroot().findall(f"{ATOM_NS}entry/{ATOM_NS}source")
    assert [s.findtext(f"{ATOM_NS}id") for s in sources] == ["tag:blogger.com,1999:blog-4482910375566120934"] * 3


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config = write_config(tmp_path, [feed_entry(url, "WP")])
    assert run_cli("fetch", "-c", config).code == 0
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future', '2030-01-01')")
    before = (tmp_path / "public" / "feed.atom").read_bytes()

    result = run_cli("fetch", "--all", "-c", config)
    assert result.code == 1
    assert "newer version of aggregator" in result.err and "9999_from_the_future" in result.err
    assert (tmp_path / "public" / "feed.atom").read_bytes() == before
