"""SQLite connections for the store: one per thread (a web server reads while a cycle writes, in WAL
mode), opened read-write or read-only, and the write transaction.

It knows nothing of the tables; schema.py creates them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from typing import Any

from ..errors import AggregatorError
from . import plaintext


# About 40 MiB of 4 KiB pages: the most a write connection lets the WAL grow before it checkpoints.
WAL_CHECKPOINT_PAGES = 10_000
WAL_KEEP_BYTES = 8 * 1024 * 1024
# A write connection's page cache (SQLite's default is 2 MiB).
WRITE_CACHE_KIB = 16 * 1024


class StoreError(AggregatorError):
    """The database cannot be opened or used (a message for the operator, not a bug)."""

    operational = True


class Database:
    """One sqlite3 connection with the three calls the store needs: rows as dicts (`query`),
    plain `execute`, and the connection itself (`conn`, for executemany).

    sqlite-utils (with numpy, which it imports) costs a cycle with nothing to do more than the
    whole rest of it; it is loaded only to run migrations (schema.py)."""

    def __init__(self, conn: sqlite3.Connection, plain_text: plaintext.PlainTextFunction | None = None) -> None:
        self.conn = conn
        # The connection's aggregator_plain_text, to hand it the parse workers' texts.
        self.plain_text = plain_text or plaintext.PlainTextFunction()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        for row in cursor:
            yield dict(zip(names, row))

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


class Connections:
    """A connection per thread to one database file, each configured the same way."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connect(self) -> tuple[sqlite3.Connection, plaintext.PlainTextFunction]:
        try:
            if self.readonly:
                conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode survives a killed process; only power loss may drop the last commit.
                conn.execute("PRAGMA synchronous=NORMAL")
                # A checkpoint (WAL pages copied into the database file, two fsyncs) every
                # WAL_CHECKPOINT_PAGES pages written, not every 1,000 (SQLite's default): a cycle's
                # transactions rewrite the same index pages over and over, and each checkpoint
                # copies them again. Cold cycles of 200 feeds took 8.29 s instead of 8.93 (median of
                # 5). The WAL file is cut back to WAL_KEEP_BYTES after a checkpoint.
                conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
                conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
                # Room for a group of feeds' dirty pages (groupwrite.py): with SQLite's 2 MB they
                # spill into the WAL before the commit, and are written there more than once.
                conn.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            # Statement journals and sorts in memory, not in files under /var/tmp: a cold cycle of
            # 200 feeds wrote 688 MB to 200 such files (one per feed's transaction), more than to
            # the WAL (543 MB). They live only while a statement or transaction runs.
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA foreign_keys=ON")
            plain_text = plaintext.register_functions(conn)  # the full-text index's triggers call it
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use the database {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc.strerror or exc}") from None
        with self._lock:
            self._all.append(conn)
        return conn, plain_text

    @property
    def db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = Database(*self._connect())
            self._local.db = db
            self._local.depth = 0
        return db

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction (BEGIN IMMEDIATE) on this thread's connection; nested calls join
        the outer one."""
        db = self.db
        if self._local.depth:
            self._local.depth += 1
            try:
                yield db
            finally:
                self._local.depth -= 1
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield db
            except BaseException:
                # SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR); a
                # second ROLLBACK would raise and hide the real reason.
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
            finally:
                self._local.depth = 0
        except sqlite3.OperationalError as exc:
            # A full disk, an I/O error or a read-only file: the operator's problem, said plainly.
            raise StoreError(f"cannot write the database {self.path}: {exc}") from exc
