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
                f"""SELECT id, key, canonical_link, content_hash, change_hash, published, updated, story_id
                    FROM entries WHERE feed_url = ? AND {column} IN ({marks})""",
                [feed_url, *chunk],
            ):
                rows[r["id"]] = StoredEntry(
                    id=r["id"], key=r["key"], canonical_link=r["canonical_link"], content_hash=r["content_hash"],
                    change_hash=r["change_hash"], published=dt.datetime.fromisoformat(r["published"]),
                    updated=dt.datetime.fromisoformat(r["updated"]), story_id=r["story_id"],
                )  # fmt: skip
    return list(rows.values())


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
    if plan.seen:
        db.conn.executemany(
            "UPDATE entries SET last_seen = ?, key = ? WHERE id = ?", [(now, s.key, s.entry_id) for s in plan.seen]
        )
    for update in plan.updates:
        _update_entry(db, update, plan.now)
        counts.updated += 1
    for insert in plan.inserts:
        story_id = _insert_entry(db, plan.feed.url, insert, plan.now, matcher)
        counts.new += 1
        counts.new_story_ids.append(story_id)
    return counts


def _update_entry(db: Database, u: UpdateEntry, now: dt.datetime) -> None:
    from .. import dedupe
    entry, fp = u.prepared.entry, u.prepared.fingerprint
    db.execute(
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
            json.dumps(list(entry.categories)), fp.language, to_db_time(u.updated), to_db_time(now),
            u.prepared.change_hash, fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt), fp.word_count,
            fp.minhash, dedupe.FINGERPRINT_VERSION, u.entry_id,
        ],
    )  # fmt: skip
    _index_bands(db, u.entry_id, fp)
    db.execute("UPDATE stories SET updated = max(updated, ?) WHERE id = ?", [to_db_time(u.updated), u.story_id])


def _insert_entry(
    db: Database, feed_url: str, insert: InsertEntry, now: dt.datetime, matcher: dedupe.StoryMatcher
) -> int:
    from .. import dedupe

    entry, fp = insert.prepared.entry, insert.prepared.fingerprint
    published, updated = insert.published, insert.updated
    match = matcher.match(fp, feed_url, candidates(db, fp, feed_url))
    if match is not None:
        story_id = match.story_id
        db.execute(
            "UPDATE stories SET published = min(published, ?), updated = max(updated, ?) WHERE id = ?",
            [to_db_time(published), to_db_time(updated), story_id],
        )
    else:
        atom_id = unused_atom_id(
            db, feed_url, entry.key, entry.original_id,
            fallback="urn:aggregator:entry:" + digest("\n".join([feed_url, entry.key, str(to_db_time(now))])),
        )  # fmt: skip
        cursor = db.execute(
            "INSERT INTO stories (atom_id, published, updated, created) VALUES (?, ?, ?, ?)",
            [atom_id, to_db_time(published), to_db_time(updated), to_db_time(now)],
        )
        story_id = int(cursor.lastrowid or 0)
    cursor = db.execute(
        """
        INSERT INTO entries (feed_url, key, key_source, original_id, link, canonical_link, title,
            content_html, summary_html, author, categories, language, published, updated, first_seen,
            last_seen, change_hash, content_hash, title_key, lead_key, is_excerpt, word_count, minhash,
            fingerprint_version, story_id, match_rule, match_score, match_copy_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            feed_url, entry.key, entry.key_source, entry.original_id, entry.link, fp.canonical_link,
            entry.title, entry.content_html, entry.summary_html, entry.author,
            json.dumps(list(entry.categories)), fp.language, to_db_time(published),
            to_db_time(updated), to_db_time(now), to_db_time(now), insert.prepared.change_hash,
            fp.content_hash, fp.title_key, fp.lead_key, int(fp.is_excerpt), fp.word_count, fp.minhash,
            dedupe.FINGERPRINT_VERSION, story_id,
            match.rule if match else None, match.score if match else None,
            match.copy_id if match else None,
        ],
    )  # fmt: skip
    _index_bands(db, int(cursor.lastrowid or 0), fp)
    return story_id


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


def _index_bands(db: Database, entry_id: int, fp: dedupe.Fingerprint) -> None:
    db.execute("DELETE FROM entry_bands WHERE entry_id = ?", [entry_id])
    if fp.band_keys:
        db.conn.executemany(
            "INSERT OR IGNORE INTO entry_bands (band, entry_id) VALUES (?, ?)",
            [(band, entry_id) for band in fp.band_keys],
        )


def candidates(db: Database, fp: dedupe.Fingerprint, feed_url: str) -> list[dedupe.Candidate]:
    """Stored copies that could be the same story (same link, same content, same title and
    opening, or a shared LSH band), widened to every copy of their stories so the matcher can
    refuse a story whole. Stories that already hold a copy from this feed are left out: entry
    identity has already said this entry is not that copy, so it is another article."""
    from .. import dedupe

    ids: set[int] = set()
    if fp.canonical_link:
        ids.update(r[0] for r in db.execute("SELECT id FROM entries WHERE canonical_link = ?", [fp.canonical_link]))
    ids.update(r[0] for r in db.execute("SELECT id FROM entries WHERE content_hash = ?", [fp.content_hash]))
    if fp.lead_key:
        ids.update(
            r[0]
            for r in db.execute(
                "SELECT id FROM entries WHERE title_key = ? AND lead_key = ?", [fp.title_key, fp.lead_key]
            )
        )
    if fp.band_keys:
        # The copies sharing the most bands are the most similar (a band matches with
        # probability J**rows): the best hundred are plenty, and bound the work per entry.
        placeholders = ",".join("?" * len(fp.band_keys))
        ids.update(
            r[0]
            for r in db.execute(
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
        db.query(
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
    for chunk in chunks([r["id"] for r in rows]):
        marks = ",".join("?" * len(chunk))
        for entry_id, band in db.execute(f"SELECT entry_id, band FROM entry_bands WHERE entry_id IN ({marks})", chunk):
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
