"""The SQLite database behind one facade, Store: feeds and their fetch state, entries (copies) and
the stories they belong to, picks, and the cycle log.

All SQL lives in this package, one module per table family; Store only opens connections (one per
thread) and hands each call to its module. It applies what ingest.py decided and decides nothing
about HTTP or XML. Every feed's update is one transaction, so a kill at any moment leaves the
database as it was before or after that feed, never in between.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING

from ..models import (
    CycleRecord,
    CycleReport,
    FeedConfig,
    FeedHealth,
    FeedSchedule,
    FeedState,
    FullTextHealth,
    FullTextJob,
    MergeExplanation,
    Pick,
    Story,
    StoryHead,
    StoryPage,
    StoryQuery,
)
from ..times import utcnow
from . import (
    archive, content_version, cycles, entries, feeds, fulltext, picks, rendered, schema, stories, translations, users,
    websub,
)  # fmt: skip
from .connection import Connections, Database, StoreError
from .entries import UpdateCounts
from .users import EditorAction, User

if TYPE_CHECKING:  # imported by what writes feeds; a command that only reads never loads them
    from .. import dedupe
    from ..ingest import FeedPlan, LookupKeys, StoredEntry, Tombstones

__all__ = ["EditorAction", "Store", "StoreError", "UpdateCounts", "User"]


class Store:
    """The aggregator's database. Open with Store.open(path); use as a context manager to close.

    Safe to share between threads: each thread gets its own connection."""

    def __init__(self, connections: Connections):
        self._connections = connections
        self.path = connections.path

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path | str, readonly: bool = False) -> "Store":
        """Open (read-write: creating and migrating it) or, for commands that only read, open an
        existing database read-only, refusing a file that is not an aggregator database."""
        path = Path(path)
        if readonly and not path.exists():
            raise StoreError(f"there is no database at {path} yet: run `aggregator fetch` first")
        connections = Connections(path, readonly=readonly)
        try:
            if readonly:
                schema.check_current(connections)
            else:
                schema.migrate(connections)
                schema.keep_search_text(connections)
        except sqlite3.DatabaseError as exc:
            connections.close()
            raise StoreError(f"cannot use the database {path}: {exc}") from None
        except BaseException:
            connections.close()
            raise
        return cls(connections)

    @property
    def db(self) -> Database:
        """This thread's connection (for tests and one-off maintenance; the methods below are the API)."""
        return self._connections.db

    def close(self) -> None:
        self._connections.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; the store's own writes inside it join it."""
        with self._connections.transaction():
            yield

    def integrity_check(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("feeds", "entries", "stories", "tombstones", "picks")
        }

    # ------------------------------------------------------------------ feeds
    def sync_feeds(self, feed_list: Sequence[FeedConfig], now: dt.datetime | None = None) -> None:
        """Mirror the config's feeds into the database (names, regions...), keeping fetch state."""
        with self._connections.transaction() as db:
            feeds.sync_feeds(db, feed_list, now or utcnow())

    def feed_schedules(self) -> dict[str, FeedSchedule]:
        """Every configured feed's last status and next due time (cycle.select_due)."""
        return feeds.feed_schedules(self.db)

    def feed_states(self, recent_of: Collection[str] | None = None) -> dict[str, FeedState]:
        """Every configured feed's state; the times of the newest entries of all (None) or of `recent_of`."""
        return feeds.feed_states(self.db, recent_of)

    def feed_health(self) -> list[FeedHealth]:
        return feeds.feed_health(self.db)

    # ------------------------------------------------------------------ one feed's update
    def stored_entries(self, feed_url: str, wanted: LookupKeys) -> list[StoredEntry]:
        return entries.stored_entries(self.db, feed_url, wanted)

    def stored_fingerprints(self, feed_url: str) -> dict[str, dedupe.TextFingerprint]:
        """{change hash: fingerprint} of this feed's stored copies (for its parse worker)."""
        return entries.stored_fingerprints(self.db, feed_url)

    def tombstones(self, feed_url: str, wanted: LookupKeys) -> Tombstones:
        return entries.tombstones(self.db, feed_url, wanted)

    def apply(self, plan: FeedPlan, matcher: dedupe.StoryMatcher) -> UpdateCounts:
        """Write one feed's planned update (its fetch state and entries) in one transaction."""
        with self._connections.transaction() as db:
            feeds.write_state(db, plan.state)
            first_new = int(db.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]) + 1
            counts = entries.apply_entries(db, plan, matcher)
            # Cheap and O(new entries): only rows sharing a URL with them are read.
            translations.record_and_link(db, first_new, plan.inserts, plan.now)
            return counts

    # ------------------------------------------------------------------ full text (full_text feeds)
    def sync_full_text_feeds(self, feed_urls: Sequence[str], now: dt.datetime) -> None:
        """The feeds with full_text on; a feed switched on now fetches pages of entries from now on."""
        with self._connections.transaction() as db:
            fulltext.sync_feeds(db, feed_urls, now)

    def full_text_jobs(self, now: dt.datetime, max_attempts: int, retry_after: float, limit: int) -> list[FullTextJob]:
        return fulltext.jobs(self.db, now, max_attempts, retry_after, limit)

    def record_full_text(self, entry_id: int, html: str, now: dt.datetime) -> None:
        with self._connections.transaction() as db:
            fulltext.record_ok(db, entry_id, html, now)

    def record_full_text_failure(self, entry_id: int, error: str, now: dt.datetime) -> None:
        with self._connections.transaction() as db:
            fulltext.record_failure(db, entry_id, error, now)

    def full_text_health(self) -> dict[str, FullTextHealth]:
        return fulltext.health(self.db)

    # ------------------------------------------------------------------ reading stories
    def stories(self, query: StoryQuery, loaded: dict[int, Story] | None = None) -> StoryPage:
        """One page of the stories `query` selects. `loaded`, kept by a reader across its queries
        (a publish): stories read before are given back from it, those read now added to it."""
        return stories.query_stories(self.db, query, loaded)

    def story_heads(self, query: StoryQuery, loaded: dict[int, StoryHead] | None = None) -> list[StoryHead]:
        """The heads of the stories stories(query) gives, in its order, without their copies' texts.
        `loaded`: heads read before, as for stories()."""
        return stories.query_story_heads(self.db, query, loaded)

    def load_stories(self, ids: Sequence[int], loaded: dict[int, Story] | None = None) -> list[Story]:
        """These stories, in this order (those gone are left out); `loaded` as for stories()."""
        return stories.load_stories(self.db, list(ids), loaded)

    def story(self, story_id: int) -> Story | None:
        found = stories.load_stories(self.db, [story_id])
        return found[0] if found else None

    def explain_story(self, story_id: int) -> list[MergeExplanation]:
        return stories.explain_story(self.db, story_id)

    def active_languages(self) -> list[str]:
        """The distinct language tags of active copies, as stored (per-language feeds)."""
        return stories.active_languages(self.db)

    def active_countries(self) -> list[str]:
        """The distinct country codes of active copies (per-country feeds)."""
        return stories.active_countries(self.db)

    def first_story_created(self, query: StoryQuery | None = None) -> dt.datetime | None:
        """When the oldest active story was stored (where the feed archives begin); with a query
        (a region's, language's or country's feed), its oldest story's copy of that feed."""
        return archive.first_created(self.db, query)

    def stories_created_between(
        self, start: dt.datetime, end: dt.datetime, query: StoryQuery | None = None
    ) -> list[Story]:
        """The active stories first stored in [start, end) (with a query: that entered its feed
        then), newest first (an archive page)."""
        return stories.load_stories(self.db, archive.created_between(self.db, start, end, query))

    def stories_with_link(self, url: str) -> list[int]:
        return stories.stories_with_link(self.db, url)

    def story_of_copy(self, copy_id: int) -> int | None:
        return stories.story_of_copy(self.db, copy_id)

    # ------------------------------------------------------------------ editors
    def unmerge(self, copy_id: int, now: dt.datetime | None = None, editor: str = "cli") -> int:
        """Split a copy out of its story; returns the new story's id (see stories.unmerge)."""
        now = now or utcnow()
        with self._connections.transaction() as db:
            story_id = stories.unmerge(db, copy_id, now, editor)
            picks.log_action(db, now, editor, "unmerge", story_id, copy_id)
            return story_id

    def undo_unmerge(self, copy_id: int, now: dt.datetime | None = None, editor: str = "cli") -> int:
        now = now or utcnow()
        with self._connections.transaction() as db:
            story_id = stories.undo_unmerge(db, copy_id, now)
            picks.log_action(db, now, editor, "undo unmerge", story_id, copy_id)
            return story_id

    def pick(self, pick: Pick) -> bool:
        """Record an editor's pick; False if there is no such story."""
        with self._connections.transaction() as db:
            done = picks.set_pick(db, pick)
            if done:
                picks.log_action(db, pick.picked_at, pick.editor, "pick", pick.story_id, detail=pick.note)
            return done

    def unpick(self, story_id: int, section: str = "", editor: str = "cli", now: dt.datetime | None = None) -> bool:
        with self._connections.transaction() as db:
            done = picks.remove_pick(db, story_id, section)
            if done:
                picks.log_action(db, now or utcnow(), editor, "unpick", story_id, detail=section or None)
            return done

    def picks(self, section: str | None = None, limit: int = 100) -> list[Pick]:
        return picks.picks(self.db, section, limit)

    def story_picks(self, story_id: int) -> list[Pick]:
        return picks.story_picks(self.db, story_id)

    def content_signature(self) -> str:
        return stories.content_signature(self.db)

    # ------------------------------------------------------------------ rendered entries (a cache)
    def rendered_entries(self, format: str, story_ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """{story id: (digest, text)}: the entries in this format kept from earlier publishes."""
        return rendered.load(self.db, format, story_ids)

    def save_rendered_entries(
        self, rows: Sequence[tuple[int, str, str, str]], keep: Collection[int] | None = None, as_of: int | None = None
    ) -> None:
        """Keep (story id, format, digest, text) renderings; with `keep` (after a whole publish),
        forget those of every other story. `as_of`: the content version (content_version()) before
        the stories they were rendered from were read; if anything shown was written since, the
        rows may be stale and are not kept (the triggers that would drop them have fired already)."""
        with self._connections.transaction() as db:
            if as_of is not None and content_version.current(db) != as_of:
                rows = []
            rendered.save(db, rows, keep)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._connections.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    # ------------------------------------------------------------------ WebSub queue
    def queue_websub(self, urls: Sequence[str], now: dt.datetime | None = None) -> None:
        """Feed URLs the hub must be told changed (kept until it acknowledges them)."""
        with self._connections.transaction() as db:
            websub.queue(db, urls, now or utcnow())

    def websub_pending(self) -> list[str]:
        return websub.pending(self.db)

    def websub_done(self, url: str) -> None:
        with self._connections.transaction() as db:
            websub.done(db, url)

    def websub_failed(self, url: str, error: str) -> None:
        with self._connections.transaction() as db:
            websub.failed(db, url, error)

    # ------------------------------------------------------------------ retention and cycles
    def prune(
        self, now: dt.datetime, retention_days: float, keep_per_feed: int = 0, band_days: float | None = None
    ) -> int:
        with self._connections.transaction() as db:
            return stories.prune(db, now, retention_days, keep_per_feed, band_days)

    def start_cycle(self, now: dt.datetime) -> int:
        return cycles.start_cycle(self.db, now)

    def finish_cycle(self, cycle_id: int, now: dt.datetime, report: CycleReport) -> None:
        cycles.finish_cycle(self.db, cycle_id, now, report)

    def last_finished_cycle(self) -> CycleRecord | None:
        return cycles.last_finished_cycle(self.db)

    # ------------------------------------------------------------------ translations (issue 13)
    def link_translations(self, a: int, b: int, editor: str, now: dt.datetime | None = None) -> None:
        """An editor links two stories as translations (logged in editor_actions)."""
        now = now or utcnow()
        with self._connections.transaction() as db:
            translations.link_by_editor(db, a, b, editor, now)
            picks.log_action(db, now, editor, "translation link", a, detail=f"story {b}")

    def unlink_translations(self, a: int, b: int, editor: str, now: dt.datetime | None = None) -> bool:
        """An editor says two stories are not translations: automatic linking never links them
        again. False when they were not linked."""
        now = now or utcnow()
        with self._connections.transaction() as db:
            was = translations.unlink_by_editor(db, a, b, editor, now)
            picks.log_action(db, now, editor, "translation unlink", a, detail=f"story {b}")
            return was

    # ------------------------------------------------------------------ the web app (issue 12)
    def search_stories(self, query: StoryQuery, offset: int = 0) -> tuple[StoryPage, bool]:
        """Stories matching query.search, best (bm25) first; and whether more follow `offset`."""
        return stories.ranked_stories(self.db, query, offset)

    def content_version(self) -> int:
        """A number that changes whenever something a reader sees changes (store/content_version.py)."""
        return content_version.current(self.db)

    def picked_stories(self, section: str | None = None, limit: int = 100) -> list[tuple[Pick, Story]]:
        """The newest picks first (by pick time), each with its story."""
        return picks.picked_stories(self.db, section, limit)

    def editor_actions(
        self, story_id: int | None = None, editor: str | None = None, limit: int = 50
    ) -> list[EditorAction]:
        return users.editor_actions(self.db, story_id, editor, limit)

    def add_user(self, name: str, section: str, password_hash: str, now: dt.datetime | None = None) -> bool:
        with self._connections.transaction() as db:
            return users.add_user(db, name, section, password_hash, now or utcnow())

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self._connections.transaction() as db:
            users.set_password_hash(db, name, password_hash)

    def remove_user(self, name: str) -> bool:
        with self._connections.transaction() as db:
            return users.remove_user(db, name)

    def user(self, name: str) -> User | None:
        return users.get_user(self.db, name)

    def users(self) -> list[User]:
        return users.list_users(self.db)

    def secret(self, name: str) -> str:
        """A random secret made on first use and kept in the database (the session key)."""
        with self._connections.transaction() as db:
            return users.secret(db, name)
