"""The full-text index holds, for every stored copy, its title and the plain text of its body: what
indexing it from scratch would give, whether the copy was inserted by a cycle, edited later, or
deleted (store/search.py's triggers, with the parse workers' plain texts). It keeps no copy of
those texts (FTS5 external content, migration 0016): FTS5's own integrity check compares the
index with the texts made again from the stored HTML."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer

from aggregator.ingest import body_html
from aggregator.sanitize import plain_text
from aggregator.store import Store
from aggregator.store.plaintext import register_functions
from aggregator.store.search import FTS_TABLE, SEARCH_TEXT_META

FEEDS = ["wordpress_rss2.xml", "excerpt_only.xml", "blogger_atom.xml", "hindi.xml"]


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    register_functions(conn)  # the index's content view makes each body with it
    return conn


def index_and_expected(db: Path) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """The index's content (as FTS5 reads it back) and what each stored copy should give; raises
    when the index itself does not hold exactly the words of that content (FTS5's integrity check,
    which with rank 1 tokenizes the content again and compares)."""
    with _connect(db) as conn:
        conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
        indexed = {rowid: (title, body) for rowid, title, body in conn.execute(f"SELECT rowid, title, body FROM {FTS_TABLE}")}
        rows = conn.execute("SELECT id, title, content_html, summary_html FROM entries").fetchall()
    expected = {}
    for entry_id, title, content_html, summary_html in rows:
        entry = SimpleNamespace(content_html=content_html, summary_html=summary_html)  # what body_html reads
        expected[entry_id] = (title, plain_text(body_html(entry)))  # type: ignore[arg-type]
    return indexed, expected


def _spoil(conn: sqlite3.Connection, entry_id: int) -> None:
    """Take words out of the index that it never held for this copy: what a removal handed the
    wrong text does (a sanitizer that changed since the copy was indexed)."""
    title = conn.execute("SELECT title FROM entries WHERE id = ?", [entry_id]).fetchone()[0]
    conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                 [entry_id, title, "words this copy never had"])  # fmt: skip


def test_every_copy_a_cycle_stores_is_indexed_as_a_rebuild_would_index_it(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/{name}", FEED_DATA / name) for name in FEEDS]
    config = write_config(tmp_path, [feed_entry(url, f"Party {n}") for n, url in enumerate(urls)])
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    db = tmp_path / "aggregator.db"
    indexed, expected = index_and_expected(db)
    assert len(expected) > 10 and all(body for _, body in expected.values())
    assert indexed == expected

    # The words of a body are found (not only stored), through the MATCH the web app's search uses.
    entry_id, (_, body) = next(iter(expected.items()))
    word = max(body.split(), key=len).strip(".,;:!?\"'()")
    with _connect(db) as conn:
        found = [r for (r,) in conn.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", [f'"{word}"'])]
    assert entry_id in found

    # An edit (the feed serves another version of an entry) and a deletion keep it so.
    edited = feed_server.add("/edited.xml", FEED_DATA / "edited_entry_a.xml")
    config = write_config(tmp_path, [feed_entry(url, f"Party {n}") for n, url in enumerate([*urls, edited])])
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    feed_server.add("/edited.xml", FEED_DATA / "edited_entry_b.xml")
    result = run_cli("fetch", "--all", "-c", config)
    assert result.code == 0 and "1 updated" in result.out, result.out
    with _connect(db) as conn:  # the removal makes the copy's text again, with the store's function
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM entries WHERE id = (SELECT min(id) FROM entries)")
        assert conn.total_changes >= 1
    indexed, expected = index_and_expected(db)
    assert indexed == expected


def _one_feed_stored(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A cycle's database with one WordPress feed's copies in it."""
    url = feed_server.add("/wordpress.xml", FEED_DATA / "wordpress_rss2.xml")
    assert run_cli("fetch", "--all", "-q", "-c", write_config(tmp_path, [feed_entry(url, "Party")])).code == 0
    return tmp_path / "aggregator.db"


def test_the_index_keeps_no_copy_of_the_texts_and_its_check_finds_a_wrong_removal(tmp_path: Path, feed_server: FeedServer) -> None:
    db = _one_feed_stored(tmp_path, feed_server)
    with _connect(db) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert FTS_TABLE in tables and f"{FTS_TABLE}_content" not in tables
        entry_id = conn.execute("SELECT min(id) FROM entries").fetchone()[0]
        _spoil(conn, entry_id)
    # The check above is not a formality: it refuses an index that lost track of its texts.
    with pytest.raises(sqlite3.DatabaseError):
        index_and_expected(db)


def test_an_index_made_by_another_sanitizer_is_made_again_when_the_store_opens(tmp_path: Path, feed_server: FeedServer) -> None:
    db = _one_feed_stored(tmp_path, feed_server)
    with _connect(db) as conn:
        _spoil(conn, conn.execute("SELECT min(id) FROM entries").fetchone()[0])
        conn.execute("UPDATE meta SET value = 'plain_text 0, nh3 0.0.1, python 3.0' WHERE key = ?", [SEARCH_TEXT_META])
    with Store.open(db) as store:  # read-write: reindexes, and records what it indexed with
        version = store.meta(SEARCH_TEXT_META)
    assert version is not None and version.startswith("plain_text ") and "nh3 0.0.1" not in version
    indexed, expected = index_and_expected(db)
    assert indexed == expected
    # A store opened again under the same sanitizer leaves the index alone.
    with _connect(db) as conn:
        _spoil(conn, conn.execute("SELECT max(id) FROM entries").fetchone()[0])
    with Store.open(db):
        pass
    with pytest.raises(sqlite3.DatabaseError):
        index_and_expected(db)
