"""The entries table (one row per copy of a story, per feed) with its LSH bands and tombstones.

It looks up what ingest.py needs to plan a feed's update and applies that plan; which story a new
copy joins is asked of dedupe.StoryMatcher (pure), over the candidates read here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


from ..models import Enclosure
from ..times import to_db_time
from ..urls import is_republishable_id
from .connection import Database

if TYPE_CHECKING:  # the decider's types; at run time they are imported where rows become them
    from .. import dedupe
    from ..ingest import FeedPlan, InsertEntry, LookupKeys, StoredEntry, Tombstones, UpdateEntry

_CHUNK = 500  # bound on the ? placeholders of one statement


@dataclass
class UpdateCounts:
    new: int = 0
    updated: int = 0
    new_story_ids: list[int] = field(default_factory=list)


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def stored_entries(db: Database, feed_url: str, wanted: LookupKeys) -> list[StoredEntry]:
    """This feed's stored entries with any of the wanted keys, links or content hashes."""
    from ..ingest import StoredEntry
    rows: dict[int, StoredEntry] = {}
    for column, values in (
        ("key", wanted.keys), ("canonical_link", wanted.links), ("content_hash", wanted.content_hashes),
    ):  # fmt: skip
        for chunk in chunks(list(values)):
            marks = ",".join("?" * len(chunk))
            for r in db.query(
                f"""SELECT id, key, canonical_link, content_hash, change_hash, published, updated, story_id, last_seen
                    FROM entries WHERE feed_url = ? AND {column} IN ({marks})""",
                [feed_url, *chunk],
            ):
                rows[r["id"]] = StoredEntry(
                    id=r["id"], key=r["key"], canonical_link=r["canonical_link"], content_hash=r["content_hash"],
                    change_hash=r["change_hash"], published=dt.datetime.fromisoformat(r["published"]),
                    updated=dt.datetime.fromisoformat(r["updated"]), story_id=r["story_id"],
                    last_seen=dt.datetime.fromisoformat(r["last_seen"]),
                )  # fmt: skip
    return list(rows.values())


def stored_fingerprints(db: Database, feed_url: str) -> dict[str, dedupe.TextFingerprint]:
    """This feed's stored copies' fingerprints (of the current scheme), by change hash: what its
    parse worker need not compute again for an entry whose title, text and link are unchanged."""
    from ..dedupe import FINGERPRINT_VERSION, TextFingerprint

    return {
        str(r[0]): TextFingerprint(title_key=r[1], content_hash=r[2], lead_key=r[3], is_excerpt=bool(r[4]),
                                     word_count=int(r[5]), minhash=bytes(r[6]))  # fmt: skip
        for r in db.execute(
            """SELECT change_hash, title_key, content_hash, lead_key, is_excerpt, word_count, minhash
               FROM entries WHERE feed_url = ? AND fingerprint_version = ? AND minhash IS NOT NULL""",
            [feed_url, FINGERPRINT_VERSION],
        )
    }


def tombstones(db: Database, feed_url: str, wanted: LookupKeys) -> Tombstones:
    from ..ingest import Tombstones
    keys: set[str] = set()
    links: set[str] = set()
    for column, values, found in (("key", wanted.keys, keys), ("canonical_link", wanted.links, links)):
        for chunk in chunks(list(values)):
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in db.execute(
                    f"SELECT {column} FROM tombstones WHERE feed_url = ? AND {column} IN ({marks})", [feed_url, *chunk]
                )
            )
    return Tombstones(frozenset(keys), frozenset(links))


def apply_entries(db: Database, plan: FeedPlan, matcher: dedupe.StoryMatcher) -> UpdateCounts:
    """Write the plan's entry intents. The caller holds the write transaction."""
    counts = UpdateCounts()
    now = to_db_time(plan.now)
    # What a new or changed copy's atom:source shows as its feed's last change (the feed's state
    # as this plan writes it): later changes of the feed leave the copy as written.
    source_updated = str(to_db_time(plan.state.last_changed or plan.now))
    sighted = [(now, s.key, s.entry_id) for s in plan.seen if s.write]
    if sighted:
        db.conn.executemany("UPDATE entries SET last_seen = ?, key = ? WHERE id = ?", sighted)
    # The search index's triggers take the plain texts the parse workers made (plaintext.py).
    with db.plain_text.known(_search_texts([*plan.updates, *plan.inserts])):
        for update in plan.updates:
            _update_entry(db, update, plan.now, source_updated, matcher)
            counts.updated += 1
        if plan.inserts:
            counts.new_story_ids = _insert_entries(db, plan.feed.url, plan.inserts, plan.now, source_updated, matcher)
            counts.new = len(plan.inserts)
    return counts


def _search_texts(intents: Sequence[UpdateEntry | InsertEntry]) -> dict[str, str]:
    from ..ingest import body_html

    return {body_html(i.prepared.entry): i.prepared.search_text for i in intents if i.prepared.search_text}


def _update_entry(
    db: Database, u: UpdateEntry, now: dt.datetime, source_updated: str, matcher: dedupe.StoryMatcher
) -> None:
    from .. import dedupe
    entry, fp = u.prepared.entry, u.prepared.fingerprint
    db.execute(
        """
        UPDATE entries SET key = ?, key_source = ?, original_id = ?, link = ?, canonical_link = ?,
            title = ?, content_html = ?, summary_html = ?, author = ?, categories = ?, language = ?,
            updated = ?, last_seen = ?, change_hash = ?, content_hash = ?, title_key = ?, lead_key = ?,
            is_excerpt = ?, word_count = ?, minhash = ?, fingerprint_version = ?, enclosures = ?, image = ?,
            source_updated = ?
        WHERE id = ?
        """,
        [
            entry.key, entry.key_source, entry.original_id, entry.link, fp.canonical_link,
            entry.title, entry.content_html, entry.summary_html, entry.author,
            json.dumps(list(entry.categories)), fp.language, to_db_time(u.updated), to_db_time(now),
            u.prepared.change_hash, fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt), fp.word_count,
            fp.minhash, dedupe.FINGERPRINT_VERSION, enclosures_json(entry.enclosures), entry.image, source_updated,
            u.entry_id,
        ],
    )  # fmt: skip
    _index_bands(db, u.entry_id, fp if matcher.needs_bands(fp.published, now) else None)
    db.execute("UPDATE stories SET updated = max(updated, ?) WHERE id = ?", [to_db_time(u.updated), u.story_id])


_INSERT_ENTRY = """
    INSERT INTO entries (id, feed_url, key, key_source, original_id, link, canonical_link, title,
        content_html, summary_html, author, categories, language, published, updated, first_seen,
        last_seen, change_hash, content_hash, title_key, lead_key, is_excerpt, word_count, minhash,
        fingerprint_version, story_id, match_rule, match_score, match_copy_id, enclosures, image,
        source_updated)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def _insert_entries(
    db: Database, feed_url: str, inserts: Sequence[InsertEntry], now: dt.datetime, source_updated: str,
    matcher: dedupe.StoryMatcher,
) -> list[int]:  # fmt: skip
    """Insert one feed's new entries, each into the story the matcher finds or a new one; returns
    their story ids. The candidates of all of them are read at once: a feed's new entries never
    match each other (a story holding a copy from this feed is never a candidate), so reading
    them before writing any gives what reading them one by one would, once the stories this
    feed's entries join are left out of the later ones'."""
    from .. import dedupe

    fingerprints = [i.prepared.fingerprint for i in inserts]
    pool = _CandidatePool.read(db, fingerprints, feed_url)
    next_story = int(db.execute("SELECT coalesce(max(id), 0) FROM stories").fetchone()[0]) + 1
    next_entry = int(db.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]) + 1
    taken_ids = _taken_atom_ids(db, [c for i in inserts for c in _new_story_id_choices(feed_url, i, now)])
    joined: set[int] = set()  # stories this feed's entries joined: never candidates for its later ones
    story_rows, story_updates, entry_rows, band_rows, story_ids = [], [], [], [], []
    now_text = to_db_time(now)
    for insert, fp in zip(inserts, fingerprints):
        entry = insert.prepared.entry
        published, updated = to_db_time(insert.published), to_db_time(insert.updated)
        match = matcher.match(fp, feed_url, [c for c in pool.for_entry(fp) if c.story_id not in joined])
        if match is not None:
            story_id = match.story_id
            joined.add(story_id)
            story_updates.append((published, updated, story_id))
        else:
            story_id, next_story = next_story, next_story + 1
            choices = _new_story_id_choices(feed_url, insert, now)
            atom_id = next((c for c in choices[:-1] if c not in taken_ids), choices[-1])
            taken_ids.add(atom_id)
            story_rows.append((story_id, atom_id, published, updated, now_text))
        entry_id, next_entry = next_entry, next_entry + 1
        entry_rows.append((
            entry_id, feed_url, entry.key, entry.key_source, entry.original_id, entry.link, fp.canonical_link,
            entry.title, entry.content_html, entry.summary_html, entry.author,
            json.dumps(list(entry.categories)), fp.language, published, updated, now_text, now_text,
            insert.prepared.change_hash, fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt),
            fp.word_count, fp.minhash, dedupe.FINGERPRINT_VERSION, story_id,
            match.rule if match else None, match.score if match else None, match.copy_id if match else None,
            enclosures_json(entry.enclosures), entry.image, source_updated,
        ))  # fmt: skip
        if matcher.needs_bands(insert.published, now):
            band_rows += [(band, entry_id) for band in fp.band_keys]
        story_ids.append(story_id)
    db.conn.executemany(
        "INSERT INTO stories (id, atom_id, published, updated, created) VALUES (?, ?, ?, ?, ?)", story_rows
    )
    db.conn.executemany(
        "UPDATE stories SET published = min(published, ?), updated = max(updated, ?) WHERE id = ?", story_updates
    )
    db.conn.executemany(_INSERT_ENTRY, entry_rows)
    # In key order: the band keys are random, and sorted inserts touch each B-tree page once.
    band_rows.sort()
    db.conn.executemany("INSERT OR IGNORE INTO entry_bands (band, entry_id) VALUES (?, ?)", band_rows)
    return story_ids


def enclosures_json(enclosures: Sequence[Enclosure]) -> str | None:
    """The enclosures column: a JSON list of {url, type, length}, NULL for none."""
    if not enclosures:
        return None
    return json.dumps([{"url": e.url, "type": e.type, "length": e.length} for e in enclosures])


def enclosures_from_json(value: str | None) -> tuple[Enclosure, ...]:
    if not value:
        return ()
    return tuple(Enclosure(url=e["url"], type=e.get("type"), length=e.get("length")) for e in json.loads(value))


def _new_story_id_choices(feed_url: str, insert: InsertEntry, now: dt.datetime) -> list[str]:
    """The Atom ids a new story from this entry may take, best first; the last is always free."""
    entry = insert.prepared.entry
    fallback = "urn:aggregator:entry:" + digest("\n".join([feed_url, entry.key, str(to_db_time(now))]))
    return [*atom_id_choices(feed_url, entry.key, entry.original_id), fallback]


def _taken_atom_ids(db: Database, candidates: list[str]) -> set[str]:
    taken: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(candidates))):
        marks = ",".join("?" * len(chunk))
        taken.update(r[0] for r in db.execute(f"SELECT atom_id FROM stories WHERE atom_id IN ({marks})", chunk))
    return taken


class _CandidatePool:
    """The stored copies that may be the same story as any of a feed's new entries, read in a few
    statements: by link, by content, by title and opening, and by shared LSH bands; widened to every
    copy of their stories, less the stories that already hold a copy from this feed."""

    BEST_BY_BANDS = 100  # the copies sharing the most bands are the most similar; this many are plenty

    def __init__(self) -> None:
        self.by_link: dict[str, set[int]] = {}
        self.by_hash: dict[str, set[int]] = {}
        self.by_lead: dict[tuple[str, str], set[int]] = {}
        self.by_band: dict[int, list[int]] = {}
        self.story_of: dict[int, int] = {}  # candidate copy -> its story
        self.copies_of: dict[int, list[dedupe.Candidate]] = {}  # story -> its copies, as candidates

    @classmethod
    def read(cls, db: Database, fps: Sequence[dedupe.Fingerprint], feed_url: str) -> "_CandidatePool":
        pool = cls()
        links = list({fp.canonical_link for fp in fps if fp.canonical_link})
        hashes = list({fp.content_hash for fp in fps})
        titles = list({fp.title_key for fp in fps if fp.lead_key})
        bands = list({b for fp in fps for b in fp.band_keys})
        leads = {(fp.title_key, fp.lead_key) for fp in fps if fp.lead_key}
        for column, values, into in (("canonical_link", links, pool.by_link), ("content_hash", hashes, pool.by_hash)):
            for chunk in chunks(values):
                marks = ",".join("?" * len(chunk))
                for entry_id, value in db.execute(f"SELECT id, {column} FROM entries WHERE {column} IN ({marks})", chunk):
                    into.setdefault(value, set()).add(entry_id)
        for chunk in chunks(titles):
            marks = ",".join("?" * len(chunk))
            for entry_id, title, lead in db.execute(
                f"SELECT id, title_key, lead_key FROM entries WHERE title_key IN ({marks}) AND lead_key IS NOT NULL", chunk
            ):
                if (title, lead) in leads:
                    pool.by_lead.setdefault((title, lead), set()).add(entry_id)
        for chunk in chunks(bands):
            marks = ",".join("?" * len(chunk))
            for band, entry_id in db.execute(f"SELECT band, entry_id FROM entry_bands WHERE band IN ({marks})", chunk):
                pool.by_band.setdefault(band, []).append(entry_id)
        found = set().union(*pool.by_link.values(), *pool.by_hash.values(), *pool.by_lead.values(),
                            *pool.by_band.values())  # fmt: skip
        pool._widen(db, sorted(found), feed_url)
        return pool

    def _widen(self, db: Database, ids: list[int], feed_url: str) -> None:
        from .. import dedupe

        rows: dict[int, dict[str, Any]] = {}
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            for r in db.query(
                f"""
                SELECT id, story_id, feed_url, canonical_link, title_key, content_hash, lead_key,
                       is_excerpt, word_count, minhash, language, published
                FROM entries WHERE story_id IN (SELECT story_id FROM entries WHERE id IN ({marks}))
                """,
                chunk,
            ):
                rows[r["id"]] = r
        own_feed_stories = {r["story_id"] for r in rows.values() if r["feed_url"] == feed_url}
        kept = [r for r in rows.values() if r["story_id"] not in own_feed_stories]
        bands: dict[int, list[int]] = {}
        for chunk in chunks([r["id"] for r in kept]):
            marks = ",".join("?" * len(chunk))
            for entry_id, band in db.execute(f"SELECT entry_id, band FROM entry_bands WHERE entry_id IN ({marks})", chunk):
                bands.setdefault(entry_id, []).append(band)
        for r in sorted(kept, key=lambda r: r["id"]):
            self.story_of[r["id"]] = r["story_id"]
            self.copies_of.setdefault(r["story_id"], []).append(
                dedupe.Candidate(
                    copy_id=r["id"], story_id=r["story_id"], feed_url=r["feed_url"],
                    fingerprint=dedupe.Fingerprint(
                        canonical_link=r["canonical_link"], title_key=r["title_key"], content_hash=r["content_hash"],
                        lead_key=r["lead_key"], is_excerpt=bool(r["is_excerpt"]), word_count=r["word_count"],
                        minhash=r["minhash"] or b"", band_keys=tuple(bands.get(r["id"], ())), language=r["language"],
                        published=dt.datetime.fromisoformat(r["published"]),
                    ),
                )  # fmt: skip
            )

    def for_entry(self, fp: dedupe.Fingerprint) -> list[dedupe.Candidate]:
        """Every copy of the stories that one new entry's indexes point at."""
        ids: set[int] = set()
        if fp.canonical_link:
            ids |= self.by_link.get(fp.canonical_link, set())
        ids |= self.by_hash.get(fp.content_hash, set())
        if fp.lead_key:
            ids |= self.by_lead.get((fp.title_key, fp.lead_key), set())
        if fp.band_keys:
            shared: dict[int, int] = {}
            for band in fp.band_keys:
                for entry_id in self.by_band.get(band, ()):
                    shared[entry_id] = shared.get(entry_id, 0) + 1
            ids |= set(sorted(shared, key=lambda e: (-shared[e], e))[: self.BEST_BY_BANDS])
        stories = sorted({self.story_of[i] for i in ids if i in self.story_of})
        return [c for story in stories for c in self.copies_of[story]]


def atom_id_choices(feed_url: str, key: str, original_id: str | None) -> list[str]:
    """The Atom ids a story first stored from this copy may carry, best first: the original id when
    it is safe to republish, else a URN minted from feed and key (bare guids such as "1234" are
    unique only inside their feed)."""
    choices = []
    if is_republishable_id(original_id):
        choices.append(original_id)
    choices.append("urn:aggregator:entry:" + digest(feed_url + "\n" + key))
    return choices


def unused_atom_id(db: Database, feed_url: str, key: str, original_id: str | None, fallback: str) -> str:
    for candidate in atom_id_choices(feed_url, key, original_id):
        if not db.execute("SELECT 1 FROM stories WHERE atom_id = ?", [candidate]).fetchone():
            return candidate
    return fallback


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _index_bands(db: Database, entry_id: int, fp: dedupe.Fingerprint | None) -> None:
    db.execute("DELETE FROM entry_bands WHERE entry_id = ?", [entry_id])
    if fp is not None and fp.band_keys:
        db.conn.executemany(
            "INSERT OR IGNORE INTO entry_bands (band, entry_id) VALUES (?, ?)",
            [(band, entry_id) for band in fp.band_keys],
        )
