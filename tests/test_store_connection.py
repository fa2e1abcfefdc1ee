"""The store's connections: how they checkpoint the WAL, and that a finished cycle leaves every
row in the database file itself (a backup that copies only aggregator.db misses nothing)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from conftest import FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer

from aggregator.store import Store
from aggregator.store.connection import WAL_CHECKPOINT_PAGES, WAL_KEEP_BYTES


def test_write_connections_checkpoint_in_large_steps_and_keep_the_wal_small(tmp_path: Path) -> None:
    with Store.open(tmp_path / "aggregator.db") as store:
        conn = store.db.conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (WAL_CHECKPOINT_PAGES,)
        assert conn.execute("PRAGMA journal_size_limit").fetchone() == (WAL_KEEP_BYTES,)
        assert WAL_CHECKPOINT_PAGES > 1000  # more than SQLite's default, or the setting is pointless

        # Writes beyond SQLite's default step stay in the WAL; beyond ours they are checkpointed.
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("CREATE TABLE filler (blob BLOB)")
        wal = tmp_path / "aggregator.db-wal"
        for _ in range(3 * 1000 // 10):  # about 3,000 pages, in transactions of 10 pages
            with store.transaction():
                conn.executemany("INSERT INTO filler VALUES (randomblob(?))", [(page - 100,)] * 10)
        assert wal.stat().st_size > 2500 * page
        checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert checkpointed[0] == 0 and checkpointed[1] == checkpointed[2]  # not blocked, all copied


def test_after_a_cycle_the_database_file_alone_holds_every_entry(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/f{n}.xml", FEED_DATA / "wordpress_rss2.xml") for n in range(3)]
    config = write_config(tmp_path, [feed_entry(url, f"Party {n}") for n, url in enumerate(urls)])
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0

    # Only the main file, as a careless backup would copy it (no -wal beside it).
    copy = tmp_path / "backup" / "aggregator.db"
    copy.parent.mkdir()
    shutil.copyfile(tmp_path / "aggregator.db", copy)
    wal = tmp_path / "aggregator.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(copy) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT feed_url) FROM entries").fetchone()
    with Store.open(tmp_path / "aggregator.db", readonly=True) as store:
        entries = store.db.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert stored == (entries, 3) and entries > 0
