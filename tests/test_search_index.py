"""The full-text index holds, for every stored copy, its title and the plain text of its body: what
indexing it from scratch would give, whether the copy was inserted by a cycle, edited later, or
deleted (store/search.py's triggers, with the parse workers' plain texts)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

from conftest import FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer

from aggregator.ingest import body_html
from aggregator.sanitize import plain_text
from aggregator.store.search import FTS_TABLE

FEEDS = ["wordpress_rss2.xml", "excerpt_only.xml", "blogger_atom.xml", "hindi.xml"]


def index_and_expected(db: Path) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    with sqlite3.connect(db) as conn:
        indexed = {rowid: (title, body) for rowid, title, body in conn.execute(f"SELECT rowid, title, body FROM {FTS_TABLE}")}
        rows = conn.execute("SELECT id, title, content_html, summary_html FROM entries").fetchall()
    expected = {}
    for entry_id, title, content_html, summary_html in rows:
        entry = SimpleNamespace(content_html=content_html, summary_html=summary_html)  # what body_html reads
        expected[entry_id] = (title, plain_text(body_html(entry)))  # type: ignore[arg-type]
    return indexed, expected


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
    with sqlite3.connect(db) as conn:
        found = [r for (r,) in conn.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", [f'"{word}"'])]
    assert entry_id in found

    # An edit (the feed serves another version of an entry) and a deletion keep it so.
    edited = feed_server.add("/edited.xml", FEED_DATA / "edited_entry_a.xml")
    config = write_config(tmp_path, [feed_entry(url, f"Party {n}") for n, url in enumerate([*urls, edited])])
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    feed_server.add("/edited.xml", FEED_DATA / "edited_entry_b.xml")
    result = run_cli("fetch", "--all", "-c", config)
    assert result.code == 0 and "1 updated" in result.out, result.out
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM entries WHERE id = (SELECT min(id) FROM entries)")
        assert conn.total_changes >= 1
    indexed, expected = index_and_expected(db)
    assert indexed == expected
