"""The SQLite database: feeds and their fetch state, entries (copies) and the stories they belong to.

All SQL lives here. It decides nothing about HTTP or XML, and asks dedupe.StoryMatcher (pure) which
story a new copy belongs to. Every feed's update is one transaction, so a kill at any moment
leaves the database as it was before or after that feed, never in between.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import sqlite_utils

from . import dedupe
from .models import (
    Copy,
    FeedConfig,
    FeedHealth,
    FetchResult,
    ParsedEntry,
    ParsedFeed,
    Story,
)
from .urls import canonical_url

SCHEMA_VERSION_TABLE = "schema_migrations"
CYCLES_KEPT_DAYS = 30
_ACTIVE_FEED = "f.in_config = 1 AND f.enabled = 1"
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):\S+$")


class StoreError(Exception):
    """The database cannot be opened or used (a message for the operator, not a bug)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def to_db_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def from_db_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


# --------------------------------------------------------------------------- migrations
# Named, append-only. A database records which ones it has; opening it applies the rest.


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


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _m0001_initial),
    ("0002_source_feed_id", _m0002_source_feed_id),
]


# --------------------------------------------------------------------------- the write side's input


@dataclass(frozen=True)
class FeedUpdate:
    """Everything one fetch of one feed produced, written in one transaction."""

    feed: FeedConfig
    fetched: FetchResult
    now: dt.datetime
    next_due: dt.datetime | None
    parsed: ParsedFeed | None = None
    parse_error: str | None = None
    suggested_url: str | None = None
    body_hash: str | None = None


@dataclass
class UpdateCounts:
    new: int = 0
    updated: int = 0
    new_story_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FeedFetchState:
    """What the cycle needs to know about a feed before fetching it."""

    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    consecutive_failures: int
    next_due: dt.datetime | None
    last_status: str | None
    enabled: bool
    recent_entry_times: tuple[dt.datetime, ...] = ()
    ttl_minutes: int | None = None  # the feed's last known RSS <ttl>, kept across 304s
    update_seconds: float | None = None  # likewise sy:updatePeriod/Frequency


@dataclass(frozen=True)
class MergeExplanation:
    copy_id: int
    feed_name: str
    link: str | None
    title: str
    published: dt.datetime
    rule: str | None  # None for the story's first copy
    score: float | None
    matched_copy_id: int | None
    split_at: dt.datetime | None = None  # when an editor split this copy out (`aggregator unmerge`)


class Store:
    """The aggregator's database. Open with Store.open(path); use as a context manager to close."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path | str) -> "Store":
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only power loss may drop the last commit.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            store = cls(db, path)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use the database {path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        return store

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                # SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR); a
                # second ROLLBACK would raise and hide the real reason.
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            # A full disk, an I/O error or a read-only file: the operator's problem, said plainly.
            raise StoreError(f"cannot write the database {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        if not self.db[SCHEMA_VERSION_TABLE].exists():
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        applied = {row["name"] for row in self.db.query(f"SELECT name FROM {SCHEMA_VERSION_TABLE}")}
        known = {name for name, _ in MIGRATIONS}
        unknown = applied - known
        if unknown:
            raise StoreError(
                f"the database {self.path} was written by a newer version of aggregator "
                f"(migrations {', '.join(sorted(unknown))}); upgrade aggregator"
            )
        for name, migration in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction():
                # Another process (the daemon and a HEALTHCHECK opening an old database at once)
                # may have applied it since we looked: BEGIN IMMEDIATE serialises us behind it.
                if self._one(f"SELECT 1 FROM {SCHEMA_VERSION_TABLE} WHERE name = ?", [name]):
                    continue
                migration(self.db)
                self.db.execute(
                    f"INSERT INTO {SCHEMA_VERSION_TABLE} (name, applied_at) VALUES (?, ?)",
                    [name, to_db_time(utcnow())],
                )

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self.db.query(f"SELECT name FROM {SCHEMA_VERSION_TABLE} ORDER BY name")]

    def integrity_check(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ feeds
    def sync_feeds(self, feeds: Sequence[FeedConfig], now: dt.datetime | None = None) -> None:
        """Mirror the config's feeds into the database (names, regions...), keeping fetch state."""
        now = now or utcnow()
        urls = [f.url for f in feeds]
        with self.transaction():
            for f in feeds:
                self.db.execute(
                    """
                    INSERT INTO feeds (url, name, region, country, language, site, enabled, in_config, created)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
                    ON CONFLICT(url) DO UPDATE SET
                        name=excluded.name, region=excluded.region, country=excluded.country,
                        language=excluded.language, site=excluded.site, enabled=excluded.enabled,
                        in_config=1
                    """,
                    [f.url, f.name, f.region, f.country, f.language, f.site, int(f.enabled), to_db_time(now)],
                )
            placeholders = ",".join("?" * len(urls)) or "''"
            self.db.execute(f"UPDATE feeds SET in_config = 0 WHERE url NOT IN ({placeholders})", urls)

    def fetch_states(self) -> dict[str, FeedFetchState]:
        states: dict[str, FeedFetchState] = {}
        for row in self.db.query("SELECT * FROM feeds WHERE in_config = 1"):
            recent = tuple(
                dt.datetime.fromisoformat(r["published"])
                for r in self.db.query(
                    "SELECT published FROM entries WHERE feed_url = ? ORDER BY published DESC LIMIT 20",
                    [row["url"]],
                )
            )
            states[row["url"]] = FeedFetchState(
                url=row["url"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                body_hash=row["body_hash"],
                consecutive_failures=row["consecutive_failures"],
                next_due=from_db_time(row["next_due"]),
                last_status=row["last_status"],
                enabled=bool(row["enabled"]),
                recent_entry_times=recent,
                ttl_minutes=row["ttl_minutes"],
                update_seconds=row["update_seconds"],
            )
        return states

    def record_update(
        self, update: FeedUpdate, matcher: "dedupe.StoryMatcher", retention_days: float
    ) -> UpdateCounts:
        """Write one fetch's outcome, and its entries if it had any, in one transaction."""
        counts = UpdateCounts()
        with self.transaction():
            self._record_fetch_state(update)
            if update.parsed is not None:
                cutoff = update.now - dt.timedelta(days=retention_days)
                counts = self._store_entries(update.feed, update.parsed, update.now, matcher, cutoff)
        return counts

    def _record_fetch_state(self, u: FeedUpdate) -> None:
        r = u.fetched
        now = to_db_time(u.now)
        failed = r.status == "error" or u.parse_error is not None
        status = "error" if u.parse_error is not None else r.status
        error = u.parse_error if u.parse_error is not None else r.error
        sets: dict[str, Any] = {
            "http_status": r.http_status,
            "last_status": status,
            "last_error": error,
            "last_fetched": now,
            "next_due": to_db_time(u.next_due),
        }
        if r.status in ("ok", "not_modified") or r.moved_to:
            sets["moved_to"] = r.moved_to  # cleared once the redirect goes away
        if u.suggested_url is not None or failed:
            sets["suggested_url"] = u.suggested_url
        if failed or r.status == "gone":
            self.db.execute(
                "UPDATE feeds SET consecutive_failures = consecutive_failures + 1 WHERE url = ?", [u.feed.url]
            )
        else:
            sets["consecutive_failures"] = 0
            sets["last_success"] = now
            sets["etag"] = r.etag
            sets["last_modified"] = r.last_modified
            if r.status == "ok" and u.body_hash is not None:
                previous = self._feed_value(u.feed.url, "body_hash")
                # No previous hash after a migration forgot it: a change only if never seen before.
                if (previous is not None and previous != u.body_hash) or (
                    previous is None and self._feed_value(u.feed.url, "last_changed") is None
                ):
                    sets["last_changed"] = now
                sets["body_hash"] = u.body_hash
        if u.parsed is not None:
            sets["feed_title"] = u.parsed.title
            sets["feed_link"] = u.parsed.site_link
            sets["feed_id"] = u.parsed.feed_id if _republishable_id(u.parsed.feed_id) else None
            sets["ttl_minutes"] = u.parsed.ttl_minutes
            sets["update_seconds"] = u.parsed.update_seconds
        assignments = ", ".join(f"{k} = ?" for k in sets)
        self.db.execute(f"UPDATE feeds SET {assignments} WHERE url = ?", [*sets.values(), u.feed.url])

    def _feed_value(self, url: str, column: str) -> Any:
        row = self.db.execute(f"SELECT {column} FROM feeds WHERE url = ?", [url]).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ entries and stories
    def _store_entries(
        self,
        feed: FeedConfig,
        parsed: ParsedFeed,
        now: dt.datetime,
        matcher: "dedupe.StoryMatcher",
        cutoff: dt.datetime,
    ) -> UpdateCounts:
        counts = UpdateCounts()
        touched: set[int] = set()  # rows already matched in this document: never match twice
        document_keys = {e.key for e in parsed.entries}
        for entry in parsed.entries:
            fp = dedupe.fingerprint(
                entry.title, entry.content_html, entry.link, _copy_language(feed, parsed, entry),
                entry.published or now,
            )  # fmt: skip
            existing = self._find_existing(feed.url, entry, fp, document_keys, touched)
            if existing is not None:
                touched.add(existing["id"])
                if self._update_entry(existing, entry, fp, now):
                    counts.updated += 1
                continue
            if self._is_tombstoned(feed.url, entry.key, fp.canonical_link):
                continue
            # A future date would pin a story to the top for ever; an old one would be pruned at once.
            published = min(entry.published or now, now)
            if published < cutoff:
                continue
            entry_id, story_id = self._insert_entry(feed, entry, fp, published, now, matcher)
            touched.add(entry_id)
            counts.new += 1
            counts.new_story_ids.append(story_id)
        return counts

    def _find_existing(
        self, feed_url: str, entry: ParsedEntry, fp: "dedupe.Fingerprint", document_keys: set[str],
        touched: set[int],
    ) -> dict[str, Any] | None:
        """The same entry seen before in this feed: by its key; else, for feeds that regenerate
        guids on every request, by link or by identical text, but only a stored entry whose own key
        has left the document (one still listed under its key is a different entry)."""
        row = self._one("SELECT * FROM entries WHERE feed_url = ? AND key = ?", [feed_url, entry.key])
        if row is not None:
            return row

        def reusable(candidate: dict[str, Any] | None) -> bool:
            return candidate is not None and candidate["id"] not in touched and candidate["key"] not in document_keys

        if fp.canonical_link:
            row = self._one(
                "SELECT * FROM entries WHERE feed_url = ? AND canonical_link = ? ORDER BY id DESC LIMIT 1",
                [feed_url, fp.canonical_link],
            )
            if reusable(row):
                return row
        if fp.word_count >= dedupe.MIN_FINGERPRINT_WORDS:
            # Title-only items ("Editorial") repeat with different articles behind them; and a
            # different link is a different article.
            row = self._one(
                "SELECT * FROM entries WHERE feed_url = ? AND content_hash = ? ORDER BY id DESC LIMIT 1",
                [feed_url, fp.content_hash],
            )
            if reusable(row) and (row is not None and (not fp.canonical_link or not row["canonical_link"]
                                                        or row["canonical_link"] == fp.canonical_link)):
                return row
        return None

    def _one(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        return next(iter(self.db.query(sql, params)), None)

    def _is_tombstoned(self, feed_url: str, key: str, canonical_link: str | None) -> bool:
        if self._one("SELECT 1 FROM tombstones WHERE feed_url = ? AND key = ?", [feed_url, key]):
            return True
        return bool(
            canonical_link
            and self._one(
                "SELECT 1 FROM tombstones WHERE feed_url = ? AND canonical_link = ?", [feed_url, canonical_link]
            )
        )

    @staticmethod
    def _change_hash(entry: ParsedEntry) -> str:
        # Only what a reader sees: dates and ids move on some feeds without the story changing.
        payload = json.dumps(
            [entry.title, entry.content_html, entry.summary_html, entry.link, entry.author, list(entry.categories)]
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _update_entry(
        self, row: dict[str, Any], entry: ParsedEntry, fp: "dedupe.Fingerprint", now: dt.datetime
    ) -> bool:
        change_hash = self._change_hash(entry)
        if change_hash == row["change_hash"]:
            # Same story; an unstable guid may have moved, so follow it.
            self.db.execute(
                "UPDATE entries SET last_seen = ?, key = ? WHERE id = ?", [to_db_time(now), entry.key, row["id"]]
            )
            return False
        updated = max(min(entry.updated or now, now), from_db_time(row["updated"]) or now)
        if updated <= (from_db_time(row["updated"]) or now):
            updated = now
        self.db.execute(
            """
            UPDATE entries SET key = ?, key_source = ?, original_id = ?, link = ?, canonical_link = ?,
                title = ?, content_html = ?, summary_html = ?, author = ?, categories = ?, language = ?,
                updated = ?, last_seen = ?, change_hash = ?, content_hash = ?, title_key = ?, lead_key = ?,
                is_excerpt = ?, word_count = ?, minhash = ?, fingerprint_version = ?
            WHERE id = ?
            """,
            [
                entry.key, entry.key_source, entry.original_id, entry.link, fp.canonical_link,
                entry.title, entry.content_html, entry.summary_html, entry.author,
                json.dumps(list(entry.categories)), fp.language, to_db_time(updated), to_db_time(now),
                change_hash, fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt), fp.word_count,
                fp.minhash, dedupe.FINGERPRINT_VERSION, row["id"],
            ],
        )  # fmt: skip
        self._index_bands(row["id"], fp)
        self.db.execute(
            "UPDATE stories SET updated = max(updated, ?) WHERE id = ?", [to_db_time(updated), row["story_id"]]
        )
        return True

    def _insert_entry(
        self,
        feed: FeedConfig,
        entry: ParsedEntry,
        fp: "dedupe.Fingerprint",
        published: dt.datetime,
        now: dt.datetime,
        matcher: "dedupe.StoryMatcher",
    ) -> tuple[int, int]:
        updated = max(min(entry.updated or published, now), published)
        match = matcher.match(fp, feed.url, self._candidates(fp, feed.url))
        if match is not None:
            story_id = match.story_id
            self.db.execute(
                "UPDATE stories SET published = min(published, ?), updated = max(updated, ?) WHERE id = ?",
                [to_db_time(published), to_db_time(updated), story_id],
            )
        else:
            story_id = self._new_story(feed.url, entry, published, updated, now)
        cursor = self.db.execute(
            """
            INSERT INTO entries (feed_url, key, key_source, original_id, link, canonical_link, title,
                content_html, summary_html, author, categories, language, published, updated, first_seen,
                last_seen, change_hash, content_hash, title_key, lead_key, is_excerpt, word_count, minhash,
                fingerprint_version, story_id, match_rule, match_score, match_copy_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                feed.url, entry.key, entry.key_source, entry.original_id, entry.link, fp.canonical_link,
                entry.title, entry.content_html, entry.summary_html, entry.author,
                json.dumps(list(entry.categories)), fp.language, to_db_time(published),
                to_db_time(updated), to_db_time(now), to_db_time(now), self._change_hash(entry),
                fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt), fp.word_count, fp.minhash,
                dedupe.FINGERPRINT_VERSION, story_id,
                match.rule if match else None, match.score if match else None,
                match.copy_id if match else None,
            ],
        )  # fmt: skip
        entry_id = int(cursor.lastrowid or 0)
        self._index_bands(entry_id, fp)
        return entry_id, story_id

    def _new_story(
        self, feed_url: str, entry: ParsedEntry, published: dt.datetime, updated: dt.datetime, now: dt.datetime
    ) -> int:
        atom_id = self._unused_atom_id(
            {"feed_url": feed_url, "key": entry.key, "original_id": entry.original_id},
            fallback="urn:aggregator:entry:" + _digest("\n".join([feed_url, entry.key, str(to_db_time(now))])),
        )
        cursor = self.db.execute(
            "INSERT INTO stories (atom_id, published, updated, created) VALUES (?, ?, ?, ?)",
            [atom_id, to_db_time(published), to_db_time(updated), to_db_time(now)],
        )
        return int(cursor.lastrowid or 0)

    def _index_bands(self, entry_id: int, fp: "dedupe.Fingerprint") -> None:
        self.db.execute("DELETE FROM entry_bands WHERE entry_id = ?", [entry_id])
        if fp.band_keys:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO entry_bands (band, entry_id) VALUES (?, ?)",
                [(band, entry_id) for band in fp.band_keys],
            )

    def _candidates(self, fp: "dedupe.Fingerprint", feed_url: str) -> list["dedupe.Candidate"]:
        """Stored copies that could be the same story (same link, same content, same title and
        opening, or a shared LSH band), widened to every copy of their stories so the matcher can
        refuse a story whole. Stories that already hold a copy from this feed are left out: entry
        identity has already said this entry is not that copy, so it is another article."""
        ids: set[int] = set()
        if fp.canonical_link:
            ids.update(
                r[0] for r in self.db.execute("SELECT id FROM entries WHERE canonical_link = ?", [fp.canonical_link])
            )
        ids.update(r[0] for r in self.db.execute("SELECT id FROM entries WHERE content_hash = ?", [fp.content_hash]))
        if fp.lead_key:
            ids.update(
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM entries WHERE title_key = ? AND lead_key = ?", [fp.title_key, fp.lead_key]
                )
            )
        if fp.band_keys:
            # The copies sharing the most bands are the most similar (a band matches with
            # probability J**rows): the best hundred are plenty, and bound the work per entry.
            placeholders = ",".join("?" * len(fp.band_keys))
            ids.update(
                r[0]
                for r in self.db.execute(
                    f"SELECT entry_id FROM entry_bands WHERE band IN ({placeholders})"
                    " GROUP BY entry_id ORDER BY count(*) DESC LIMIT 100",
                    list(fp.band_keys),
                )
            )
        if not ids:
            return []
        id_list = sorted(ids)
        placeholders = ",".join("?" * len(id_list))
        rows = list(
            self.db.query(
                f"""
                SELECT id, story_id, feed_url, canonical_link, title_key, content_hash, lead_key,
                       is_excerpt, word_count, minhash, language, published
                FROM entries WHERE story_id IN (
                    SELECT story_id FROM entries WHERE id IN ({placeholders})
                )
                """,
                id_list,
            )
        )
        own_feed_stories = {r["story_id"] for r in rows if r["feed_url"] == feed_url}
        rows = [r for r in rows if r["story_id"] not in own_feed_stories]
        bands: dict[int, list[int]] = {}
        row_ids = [r["id"] for r in rows]
        for chunk in _chunks(row_ids, 500):
            marks = ",".join("?" * len(chunk))
            for entry_id, band in self.db.execute(
                f"SELECT entry_id, band FROM entry_bands WHERE entry_id IN ({marks})", chunk
            ):
                bands.setdefault(entry_id, []).append(band)
        return [
            dedupe.Candidate(
                copy_id=r["id"],
                story_id=r["story_id"],
                feed_url=r["feed_url"],
                fingerprint=dedupe.Fingerprint(
                    canonical_link=r["canonical_link"],
                    title_key=r["title_key"],
                    content_hash=r["content_hash"],
                    lead_key=r["lead_key"],
                    is_excerpt=bool(r["is_excerpt"]),
                    word_count=r["word_count"],
                    minhash=r["minhash"] or b"",
                    band_keys=tuple(bands.get(r["id"], ())),
                    language=r["language"],
                    published=dt.datetime.fromisoformat(r["published"]),
                ),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ editors' corrections
    def unmerge(self, entry_id: int, now: dt.datetime | None = None) -> int:
        """Split a copy out of its story into a story of its own; it is never merged automatically
        again. Returns the new story's id. The Atom id goes with the copy it was made from, so
        no reader sees either article announced as new under the other's id."""
        now = now or utcnow()
        with self.transaction():
            row = self._one("SELECT * FROM entries WHERE id = ?", [entry_id])
            if row is None:
                raise KeyError(entry_id)
            old_story = int(row["story_id"])
            self.db.execute(
                "INSERT OR REPLACE INTO split_entries (entry_id, split_at) VALUES (?, ?)", [entry_id, to_db_time(now)]
            )
            remaining = self._one(
                "SELECT * FROM entries WHERE story_id = ? AND id != ? ORDER BY published, id LIMIT 1",
                [old_story, entry_id],
            )
            if remaining is None:
                return old_story
            story_atom_id = self._one("SELECT atom_id FROM stories WHERE id = ?", [old_story])["atom_id"]  # type: ignore[index]
            cursor = self.db.execute(
                "INSERT INTO stories (atom_id, published, updated, created) VALUES (?, ?, ?, ?)",
                [f"urn:aggregator:split:{entry_id}", row["published"], to_db_time(now), to_db_time(now)],
            )
            new_story = int(cursor.lastrowid or 0)
            if story_atom_id in _atom_id_choices(row["feed_url"], row["key"], row["original_id"]):
                # The story's id was this copy's: it moves with it; the rest get their first copy's.
                rest_id = self._unused_atom_id(remaining, fallback=f"urn:aggregator:split:{old_story}:{entry_id}")
                self.db.execute("UPDATE stories SET atom_id = ? WHERE id = ?", [rest_id, old_story])
                self.db.execute("UPDATE stories SET atom_id = ? WHERE id = ?", [story_atom_id, new_story])
            self.db.execute(
                "UPDATE entries SET story_id = ?, match_rule = NULL, match_score = NULL, match_copy_id = NULL"
                " WHERE id = ?",
                [new_story, entry_id],
            )
            self._refresh_story_times(old_story, now)
            return new_story

    def _unused_atom_id(self, entry: dict[str, Any], fallback: str) -> str:
        for candidate in _atom_id_choices(entry["feed_url"], entry["key"], entry["original_id"]):
            if not self._one("SELECT 1 FROM stories WHERE atom_id = ?", [candidate]):
                return candidate
        return fallback

    def _refresh_story_times(self, story_id: int, now: dt.datetime) -> None:
        self.db.execute(
            """
            UPDATE stories SET
                published = (SELECT min(published) FROM entries WHERE story_id = stories.id),
                updated = ?
            WHERE id = ?
            """,
            [to_db_time(now), story_id],
        )

    # ------------------------------------------------------------------ retention
    def prune(self, now: dt.datetime, retention_days: float, band_days: float | None = None) -> int:
        """Delete stories older than the retention period (picked ones stay); leave tombstones so
        the next fetch does not bring their copies back. Returns the number of stories pruned."""
        cutoff = to_db_time(now - dt.timedelta(days=retention_days))
        with self.transaction():
            old = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM stories WHERE published < ? AND picked = 0", [cutoff]
                ).fetchall()
            ]
            for chunk in _chunks(old, 500):
                placeholders = ",".join("?" * len(chunk))
                self.db.execute(
                    f"""
                    INSERT OR REPLACE INTO tombstones (feed_url, key, canonical_link, pruned_at)
                    SELECT feed_url, key, canonical_link, ? FROM entries WHERE story_id IN ({placeholders})
                    """,
                    [to_db_time(now), *chunk],
                )
                self.db.execute(
                    f"DELETE FROM entry_bands WHERE entry_id IN (SELECT id FROM entries WHERE story_id IN ({placeholders}))",
                    chunk,
                )
                self.db.execute(
                    f"DELETE FROM split_entries WHERE entry_id IN (SELECT id FROM entries WHERE story_id IN ({placeholders}))",
                    chunk,
                )
                self.db.execute(f"DELETE FROM entries WHERE story_id IN ({placeholders})", chunk)
                self.db.execute(f"DELETE FROM stories WHERE id IN ({placeholders})", chunk)
            if band_days is not None:
                # Text similarity only compares copies published within the dedupe window, so older
                # copies' LSH bands are dead weight (42 rows a copy); links and hashes still match.
                self.db.execute(
                    "DELETE FROM entry_bands WHERE entry_id IN (SELECT id FROM entries WHERE published < ?)",
                    [to_db_time(now - dt.timedelta(days=band_days))],
                )
            # A tombstone outlives its entry by another retention period: long enough for any feed
            # to have dropped the item, short enough that the table stays small.
            self.db.execute(
                "DELETE FROM tombstones WHERE pruned_at < ?",
                [to_db_time(now - dt.timedelta(days=retention_days))],
            )
            # The cycle log (one row a cycle: 100,000 a month at `every: 30s`) keeps what status
            # needs: the last CYCLES_KEPT_DAYS days, and always the latest finished cycle.
            self.db.execute(
                """
                DELETE FROM cycles WHERE started < ?
                AND id != (SELECT coalesce(max(id), 0) FROM cycles WHERE finished IS NOT NULL)
                """,
                [to_db_time(now - dt.timedelta(days=min(retention_days, CYCLES_KEPT_DAYS)))],
            )
        return len(old)

    def set_picked(self, story_id: int, picked: bool) -> bool:
        """Mark a story as picked by an editor (kept past retention) or not; False if there is no such story."""
        with self.transaction():
            cursor = self.db.execute("UPDATE stories SET picked = ? WHERE id = ?", [int(picked), story_id])
        return cursor.rowcount > 0

    def is_picked(self, story_id: int) -> bool:
        row = self.db.execute("SELECT picked FROM stories WHERE id = ?", [story_id]).fetchone()
        return bool(row and row[0])

    # ------------------------------------------------------------------ cycles
    def start_cycle(self, now: dt.datetime) -> int:
        cursor = self.db.execute("INSERT INTO cycles (started) VALUES (?)", [to_db_time(now)])
        return int(cursor.lastrowid or 0)

    def finish_cycle(self, cycle_id: int, now: dt.datetime, report: Any) -> None:
        self.db.execute(
            """
            UPDATE cycles SET finished = ?, ok = ?, not_modified = ?, unchanged = ?, failed = ?, skipped = ?,
                new_entries = ?, updated_entries = ?, seconds = ?, interrupted = ?
            WHERE id = ?
            """,
            [
                to_db_time(now), report.ok, report.not_modified, report.unchanged, report.failed,
                report.skipped, report.new_entries, report.updated_entries, report.seconds,
                int(report.interrupted), cycle_id,
            ],
        )  # fmt: skip

    def last_finished_cycle(self) -> dict[str, Any] | None:
        return self._one("SELECT * FROM cycles WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1", [])

    # ------------------------------------------------------------------ reading for publish
    def stories(
        self, limit: int, region: str | None = None, story_ids: Iterable[int] | None = None
    ) -> list[Story]:
        """The newest stories (by published time), optionally those with a copy in `region`.
        Only copies from feeds in the config and enabled count: removing or disabling a party takes
        its stories out of the outputs."""
        if story_ids is not None:
            ids = list(story_ids)
        else:
            region_filter = "AND f.region = ?" if region is not None else ""
            ids = [r[0] for r in self.db.execute(
                f"""
                SELECT s.id FROM stories s
                WHERE EXISTS (SELECT 1 FROM entries e JOIN feeds f ON f.url = e.feed_url
                              WHERE e.story_id = s.id AND {_ACTIVE_FEED} {region_filter})
                ORDER BY s.published DESC, s.id DESC LIMIT ?
                """,
                [*([region] if region is not None else []), limit],
            )]  # fmt: skip
        if not ids:
            return []
        placeholders = ",".join("?" * len(ids))
        story_rows = {
            r["id"]: r for r in self.db.query(f"SELECT * FROM stories WHERE id IN ({placeholders})", ids)
        }
        copies: dict[int, list[Copy]] = {i: [] for i in ids}
        for r in self.db.query(
            f"""
            SELECT e.*, f.name AS feed_name, COALESCE(f.site, f.feed_link) AS feed_site, f.region, f.country,
                   f.language AS feed_language, f.last_changed AS feed_updated,
                   -- an id two configured feeds both claim identifies neither: use their URLs
                   CASE WHEN (SELECT count(*) FROM feeds g WHERE g.feed_id = f.feed_id AND g.in_config = 1) = 1
                        THEN f.feed_id END AS feed_id
            FROM entries e JOIN feeds f ON f.url = e.feed_url
            WHERE e.story_id IN ({placeholders}) AND {_ACTIVE_FEED}
            ORDER BY e.published, e.id
            """,
            ids,
        ):
            copies[r["story_id"]].append(_copy_from_row(r))
        result = []
        for story_id in ids:
            row = story_rows.get(story_id)
            if row is None or not copies[story_id]:
                continue
            result.append(
                Story(
                    id=story_id,
                    published=dt.datetime.fromisoformat(row["published"]),
                    updated=dt.datetime.fromisoformat(row["updated"]),
                    copies=tuple(copies[story_id]),
                    atom_id=row["atom_id"],
                )
            )
        return result

    def explain_story(self, story_id: int) -> list[MergeExplanation]:
        return [
            MergeExplanation(
                copy_id=r["id"],
                feed_name=r["feed_name"],
                link=r["link"],
                title=r["title"],
                published=dt.datetime.fromisoformat(r["published"]),
                rule=r["match_rule"],
                score=r["match_score"],
                matched_copy_id=r["match_copy_id"],
                split_at=from_db_time(r["split_at"]),
            )
            for r in self.db.query(
                """
                SELECT e.*, f.name AS feed_name, s.split_at FROM entries e
                JOIN feeds f ON f.url = e.feed_url LEFT JOIN split_entries s ON s.entry_id = e.id
                WHERE e.story_id = ? ORDER BY e.published, e.id
                """,
                [story_id],
            )
        ]

    def stories_with_link(self, url: str) -> list[int]:
        """The stories holding a copy whose article URL is `url` (compared canonically)."""
        key = canonical_url(url)
        rows = self.db.query(
            "SELECT DISTINCT story_id FROM entries WHERE link = ? OR canonical_link = ? ORDER BY story_id",
            [url, key],
        )
        return [r["story_id"] for r in rows]

    def feed_health(self) -> list[FeedHealth]:
        rows = self.db.query(
            """
            SELECT f.*, (SELECT count(*) FROM entries e WHERE e.feed_url = f.url) AS entry_count
            FROM feeds f WHERE f.in_config = 1 ORDER BY f.region, f.name
            """
        )
        return [
            FeedHealth(
                url=r["url"],
                name=r["name"],
                region=r["region"],
                enabled=bool(r["enabled"]),
                last_status=r["last_status"],
                last_error=r["last_error"],
                consecutive_failures=r["consecutive_failures"],
                entries=r["entry_count"],
                last_fetched=from_db_time(r["last_fetched"]),
                moved_to=r["moved_to"],
                next_due=from_db_time(r["next_due"]),
                suggested_url=r["suggested_url"],
            )
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("feeds", "entries", "stories", "tombstones")
        }


def _copy_language(feed: FeedConfig, parsed: ParsedFeed, entry: ParsedEntry) -> str:
    """The configured language, unless the entry declares its own. A channel-wide declaration is
    not trusted: CMSs ship "en-US" as the default whatever the site writes in."""
    if entry.language and entry.language.lower() != (parsed.language or "").lower():
        return entry.language
    return feed.language


def _copy_from_row(r: dict[str, Any]) -> Copy:
    return Copy(
        id=r["id"],
        story_id=r["story_id"],
        feed_url=r["feed_url"],
        feed_name=r["feed_name"],
        feed_site=r["feed_site"],
        region=r["region"],
        country=r["country"],
        language=r["language"] or r["feed_language"],
        original_id=r["original_id"],
        key=r["key"],
        link=r["link"],
        title=r["title"],
        content_html=r["content_html"],
        summary_html=r["summary_html"],
        author=r["author"],
        categories=tuple(json.loads(r["categories"])),
        published=dt.datetime.fromisoformat(r["published"]),
        updated=dt.datetime.fromisoformat(r["updated"]),
        feed_updated=from_db_time(r["feed_updated"]),
        feed_id=r["feed_id"],
        match_rule=r["match_rule"],
        match_score=r["match_score"],
    )


# A guid republished as atom:id must not be something a reader could open: some readers fall back
# to the id when an entry has no link, so javascript:, data: or file: ids are never copied out.
_REPUBLISHABLE_ID_SCHEMES = frozenset({"http", "https", "tag", "urn"})


def _republishable_id(value: str | None) -> TypeGuard[str]:
    match = _ABSOLUTE_IRI.match(value) if value else None
    return match is not None and match.group(1).lower() in _REPUBLISHABLE_ID_SCHEMES


def _atom_id_choices(feed_url: str, key: str, original_id: str | None) -> list[str]:
    """The Atom ids a story first stored from this copy may carry, best first: the original id when
    it is safe to republish, else a URN minted from feed and key (bare guids such as "1234" are
    unique only inside their feed)."""
    choices = []
    if _republishable_id(original_id):
        choices.append(original_id)
    choices.append("urn:aggregator:entry:" + _digest(feed_url + "\n" + key))
    return choices


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
