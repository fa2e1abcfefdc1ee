"""Reading stories (with their copies and picks) through a StoryQuery, explaining merges, the
editors' corrections (split a copy out, undo it), and retention.

The read side that the publisher, the CLI and the web app share; no rendering here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from ..errors import UsageError
from ..models import Copy, MergeExplanation, Pick, Story, StoryCursor, StoryHead, StoryPage, StoryQuery
from ..times import from_db_time, to_db_time
from ..urls import canonical_url, host_belongs_to
from . import fulltext
from .entries import atom_id_choices, chunks, enclosures_from_json, unused_atom_id
from .connection import Database
from .search import BM25_WEIGHTS, FTS_TABLE, KEYS_INDEX, RANK_WINDOW, fts_query, match_condition

ACTIVE_FEED = "f.in_config = 1 AND f.enabled = 1"
CYCLES_KEPT_DAYS = 30
RULE_REJOINED = "rejoined"  # an editor undid a split


def _copy_conditions(query: StoryQuery) -> tuple[list[str], list[Any]]:
    where, params = [ACTIVE_FEED], []
    if query.region is not None:
        where.append("f.region = ?")
        params.append(query.region)
    if query.country is not None:
        where.append("f.country = ?")
        params.append(query.country.upper())
    if query.language is not None:
        where.append("(lower(coalesce(e.language, f.language)) = ? OR lower(coalesce(e.language, f.language)) LIKE ?)")
        params += [query.language.lower(), query.language.lower() + "-%"]
    if query.feed_url is not None:
        where.append("e.feed_url = ?")
        params.append(query.feed_url)
    if query.search is not None and query.search.strip():
        # Whole words through the full-text index (store/search.py), every word required.
        condition, search_params = match_condition(query.search)
        where.append(condition)
        params += search_params
    return where, params


def query_stories(db: Database, query: StoryQuery, loaded: dict[int, Story] | None = None) -> StoryPage:
    """One page of the stories the query selects, newest first, and where the next page starts.
    `loaded`: see load_stories."""
    if query.max_per_feed is None:
        return _query_page(db, query, loaded)

    def page(q: StoryQuery) -> tuple[Sequence[Story], StoryCursor | None]:
        found = _query_page(db, q, loaded)
        return found.stories, found.next

    return StoryPage(tuple(_sharing_slots(query, query.max_per_feed, page)), None)


def query_story_heads(
    db: Database, query: StoryQuery, loaded: dict[int, StoryHead] | None = None
) -> list[StoryHead]:
    """The heads of the stories query_stories(query) gives, in its order (one page). `loaded`:
    see load_heads."""

    def page(q: StoryQuery) -> tuple[Sequence[StoryHead], StoryCursor | None]:
        rows, cursor = _page_rows(db, q)
        return load_heads(db, [r[0] for r in rows], loaded), cursor

    if query.max_per_feed is None:
        return list(page(query)[0])
    return _sharing_slots(query, query.max_per_feed, page)


# How far past the list's length a capped query looks for other feeds' stories.
_CAP_SCAN_FACTOR = 10


class _Listed(Protocol):  # a Story or a StoryHead
    @property
    def id(self) -> int: ...
    @property
    def published(self) -> dt.datetime: ...
    @property
    def owner_feed(self) -> str: ...


_L = TypeVar("_L", bound=_Listed)


def _sharing_slots(
    query: StoryQuery, cap: int, page: Callable[[StoryQuery], tuple[Sequence[_L], StoryCursor | None]]
) -> list[_L]:
    """The newest stories with no feed showing more than `cap` of them while other feeds' stories
    wait; slots nobody else fills go back to the capped feeds, newest first. `page` reads one page
    of stories or of their heads: both are chosen alike."""
    accepted: list[_L] = []
    overflow: list[_L] = []
    shown: dict[str, int] = {}
    batch = replace(query, max_per_feed=None, limit=max(query.limit, 50))
    scanned = 0
    while len(accepted) < query.limit and scanned < query.limit * _CAP_SCAN_FACTOR:
        items, cursor = page(batch)
        for story in items:
            owner = story.owner_feed
            if shown.get(owner, 0) < cap:
                shown[owner] = shown.get(owner, 0) + 1
                accepted.append(story)
                if len(accepted) == query.limit:
                    break
            else:
                overflow.append(story)
        scanned += len(items)
        if cursor is None:
            break
        batch = replace(batch, after=cursor)
    chosen = accepted + overflow[: query.limit - len(accepted)]
    chosen.sort(key=lambda s: (s.published, s.id), reverse=True)
    return chosen


def _read_once(ids: list[int], loaded: dict[int, _L], read: Callable[[list[int]], list[_L]]) -> list[_L]:
    """These stories (or heads), in this order: those in `loaded` as they are, the others through
    `read` (each once) and added to it; those `read` leaves out (gone) are left out here too."""
    for item in read([i for i in dict.fromkeys(ids) if i not in loaded]):
        loaded[item.id] = item
    return [loaded[i] for i in ids if i in loaded]


def _query_page(db: Database, query: StoryQuery, loaded: dict[int, Story] | None = None) -> StoryPage:
    rows, cursor = _page_rows(db, query)
    return StoryPage(tuple(load_stories(db, [r[0] for r in rows], loaded)), cursor)


def _page_rows(db: Database, query: StoryQuery) -> tuple[list[Any], StoryCursor | None]:
    """The (id, published) rows of one page of the stories `query` selects (max_per_feed aside),
    and where the next page starts."""
    head, source = "", "stories s"
    if query.search is not None and query.search.strip():
        # The full-text index drives the query: the copies matching the words (few, among 50,000
        # stories), then their stories; not every story probing the index.
        match = fts_query(query.search)
        if match is None:
            return [], None
        copy_where, copy_params = _copy_conditions(dataclasses.replace(query, search=None))
        head = f"WITH m AS MATERIALIZED (SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?) "
        source = (
            f"stories s JOIN (SELECT DISTINCT e.story_id AS id FROM m JOIN entries e INDEXED BY {KEYS_INDEX} ON e.id = m.id"
            f" JOIN feeds f ON f.url = e.feed_url WHERE {' AND '.join(copy_where)}) hit ON hit.id = s.id"
        )
        params = [match, *copy_params]
        where = ["1"]
    else:
        copy_where, params = _copy_conditions(query)
        copies = f"entries e JOIN feeds f ON f.url = e.feed_url WHERE {' AND '.join(copy_where)}"
        if query.country is not None or query.feed_url is not None:
            # The copies of a few feeds: their stories are collected first, instead of every story
            # being probed in turn for one (a page of a country's stories took 2.5-4 ms that way,
            # 0.2-1 ms this way). A language's copies cannot be found by feed (collecting them
            # read every copy, 4 ms a page), so its stories are probed.
            where = [f"s.id IN (SELECT e.story_id FROM {copies})"]
        else:
            where = [f"EXISTS (SELECT 1 FROM {copies} AND e.story_id = s.id)"]
    if query.picked is not None:
        section = " AND p.section = ?" if query.section is not None else ""
        where.append(f"{'' if query.picked else 'NOT '}EXISTS (SELECT 1 FROM picks p WHERE p.story_id = s.id{section})")
        if query.section is not None:
            params.append(query.section)
    if query.since is not None:
        where.append("s.published >= ?")
        params.append(to_db_time(query.since))
    if query.until is not None:
        where.append("s.published < ?")
        params.append(to_db_time(query.until))
    if query.after is not None:
        where.append("(s.published < ? OR (s.published = ? AND s.id < ?))")
        after = to_db_time(query.after.published)
        params += [after, after, query.after.story_id]
    if query.story_ids is not None:
        ids = list(query.story_ids) or [0]
        where.append(f"s.id IN ({','.join('?' * len(ids))})")
        params += ids
    rows = db.execute(
        f"{head}SELECT s.id, s.published FROM {source} WHERE {' AND '.join(where)}"
        " ORDER BY s.published DESC, s.id DESC LIMIT ?",
        [*params, query.limit + 1],
    ).fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    last = rows[-1] if rows else None
    return rows, StoryCursor(dt.datetime.fromisoformat(last[1]), last[0]) if more and last else None


def load_stories(db: Database, ids: list[int], loaded: dict[int, Story] | None = None) -> list[Story]:
    """These stories in this order, each with its active copies (earliest first) and picks.

    `loaded`: the stories one reader (a publish) has read already, by id: those are given back
    as they are and the others read and added. A publish's 30 subscription feeds overlap (a story
    is in the combined feed, its region's, its language's and its country's), so about half of
    what they show is read once instead of again."""
    if loaded is not None:
        return _read_once(ids, loaded, lambda unread: load_stories(db, unread))
    if not ids:
        return []
    story_rows: dict[int, dict[str, Any]] = {}
    copies: dict[int, list[Copy]] = {i: [] for i in ids}
    picks: dict[int, list[Pick]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        story_rows.update(
            (r["id"], r)
            for r in db.query(f"SELECT {_STORY_COLUMNS} FROM stories s WHERE s.id IN ({marks})", chunk)
        )
        for r in db.query(
            f"""
            SELECT e.*, f.name AS feed_name, COALESCE(f.site, f.feed_link) AS feed_site, f.region, f.country,
                   f.language AS feed_language, f.last_changed AS feed_last_changed,
                   -- an id two configured feeds both claim identifies neither, and one that names
                   -- another configured feed (its URL or site) is that feed's: use the URLs
                   CASE WHEN (SELECT count(*) FROM feeds g WHERE g.feed_id = f.feed_id AND g.in_config = 1) = 1
                         AND NOT EXISTS (SELECT 1 FROM feeds h WHERE h.in_config = 1 AND h.url != f.url
                                         AND (h.url = f.feed_id OR h.site = f.feed_id))
                        THEN f.feed_id END AS feed_id
            FROM entries e JOIN feeds f ON f.url = e.feed_url
            WHERE e.story_id IN ({marks}) AND {ACTIVE_FEED}
            ORDER BY e.published, e.id
            """,
            chunk,
        ):
            copies[r["story_id"]].append(_copy_from_row(r))
        for r in db.query(f"SELECT * FROM picks WHERE story_id IN ({marks}) ORDER BY picked_at, section", chunk):
            picks[r["story_id"]].append(_pick_from_row(r))
    from .translations import translations_of

    linked = translations_of(db, ids, ACTIVE_FEED)
    result = []
    for story_id, row in _shown(ids, story_rows, copies):
        result.append(
            Story(
                id=story_id,
                published=dt.datetime.fromisoformat(row["published"]),
                updated=dt.datetime.fromisoformat(row["updated"]),
                copies=tuple(owners_first(copies[story_id])),
                atom_id=_shown_atom_id(row),
                picks=tuple(picks[story_id]),
                translations=tuple(linked[story_id]),
            )
        )
    return result


# The story columns both a Story and a StoryHead are made of.
_STORY_COLUMNS = """s.id, s.published, s.updated, s.atom_id,
    -- an atom:id that entries of two feeds carry is contested: it names neither
    (SELECT count(DISTINCT x.feed_url) FROM entries x WHERE x.original_id = s.atom_id) > 1 AS contested"""


def _shown(ids: list[int], rows: dict[int, Any], copies: dict[int, list[Any]]) -> Iterator[tuple[int, Any]]:
    """(id, story row) of each of these stories, in order, that is stored and has an active copy."""
    for story_id in ids:
        row = rows.get(story_id)
        if row is not None and copies[story_id]:
            yield story_id, row


def _shown_atom_id(row: Any) -> str:
    return f"urn:aggregator:story:{row['id']}" if row["contested"] else str(row["atom_id"])


@dataclasses.dataclass(frozen=True)
class _CopyPlace:
    """What owners_first reads of a copy, for a story head."""

    id: int
    feed_url: str
    feed_site: str | None
    link: str | None
    published: dt.datetime


def load_heads(db: Database, ids: list[int], loaded: dict[int, StoryHead] | None = None) -> list[StoryHead]:
    """The heads of these stories, in this order: what load_stories would give of each (those
    without an active copy are left out, the owner is the same primary copy's feed), without
    reading the copies' texts, feeds' ids, picks or translations.

    `loaded`: the heads one reader (a publish) has read already, by id, as for load_stories: the
    pages of a publish's subscription feeds overlap (the combined feed, the region's, the
    language's, the country's), so most heads are given back instead of read again."""
    if loaded is not None:
        return _read_once(ids, loaded, lambda unread: load_heads(db, unread))
    rows: dict[int, Any] = {}
    places: dict[int, list[_CopyPlace]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        rows.update((r["id"], r) for r in db.query(f"SELECT {_STORY_COLUMNS} FROM stories s WHERE s.id IN ({marks})", chunk))
        for story_id, copy_id, feed_url, feed_site, link, published in db.execute(
            f"""
            SELECT e.story_id, e.id, e.feed_url, COALESCE(f.site, f.feed_link), e.link, e.published
            FROM entries e JOIN feeds f ON f.url = e.feed_url
            WHERE e.story_id IN ({marks}) AND {ACTIVE_FEED}
            ORDER BY e.published, e.id
            """,
            chunk,
        ):
            places[story_id].append(_CopyPlace(copy_id, feed_url, feed_site, link, dt.datetime.fromisoformat(published)))
    heads = []
    for story_id, row in _shown(ids, rows, places):
        heads.append(
            StoryHead(
                id=story_id, published=dt.datetime.fromisoformat(row["published"]),
                updated=dt.datetime.fromisoformat(row["updated"]), atom_id=_shown_atom_id(row),
                owner_feed=owners_first(places[story_id])[0].feed_url,
            )
        )  # fmt: skip
    return heads


class _Placed(Protocol):  # a Copy or a _CopyPlace
    @property
    def id(self) -> int: ...
    @property
    def feed_url(self) -> str: ...
    @property
    def feed_site(self) -> str | None: ...
    @property
    def link(self) -> str | None: ...
    @property
    def published(self) -> dt.datetime: ...


_P = TypeVar("_P", bound=_Placed)


def owns_link(copy: _Placed) -> bool:
    return host_belongs_to(copy.link, copy.feed_site, copy.feed_url)


def owners_first(copies: list[_P]) -> list[_P]:
    """The copies in the order shown: earliest first, except that a copy linking to an article on
    another copy's own site never comes before that copy. A party that republishes (or forges,
    with an earlier date) another party's article cannot take over its title, text and byline."""
    if len(copies) < 2:
        return copies
    owner_sites = [c for c in copies if owns_link(c)]
    if not owner_sites:
        return copies

    def borrowed(c: _P) -> bool:
        return not owns_link(c) and any(
            o is not c and host_belongs_to(c.link, o.feed_site, o.feed_url) for o in owner_sites
        )

    return sorted(copies, key=lambda c: (borrowed(c), c.published, c.id))


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
        # (a copy written before migration 0015 has none: its feed's last change stands in)
        source_updated=from_db_time(r["source_updated"] or r["feed_last_changed"]),
        feed_id=r["feed_id"],
        match_rule=r["match_rule"],
        match_score=r["match_score"],
        enclosures=enclosures_from_json(r["enclosures"]),
        image=r["image"],
        full_text_html=r.get("full_text_html"),
    )


def _pick_from_row(r: dict[str, Any]) -> Pick:
    return Pick(
        story_id=r["story_id"], section=r["section"], editor=r["editor"],
        picked_at=dt.datetime.fromisoformat(r["picked_at"]), note=r["note"],
    )  # fmt: skip


def explain_story(db: Database, story_id: int) -> list[MergeExplanation]:
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
            split_from=r["split_from"],
        )
        for r in db.query(
            """
            SELECT e.*, f.name AS feed_name, s.split_at, s.split_from FROM entries e
            JOIN feeds f ON f.url = e.feed_url LEFT JOIN split_entries s ON s.entry_id = e.id
            WHERE e.story_id = ? ORDER BY e.published, e.id
            """,
            [story_id],
        )
    ]


def active_languages(db: Database) -> list[str]:
    """The distinct language tags of the active copies (from feeds in the config and enabled), as
    stored, sorted: the languages the per-language feeds are made for."""
    rows = db.execute(
        "SELECT DISTINCT coalesce(e.language, f.language) FROM entries e JOIN feeds f ON f.url = e.feed_url"
        f" WHERE {ACTIVE_FEED} ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows if r[0]]


def active_countries(db: Database) -> list[str]:
    """The distinct countries of the feeds of active copies, sorted (the per-country feeds)."""
    rows = db.execute(
        f"SELECT DISTINCT f.country FROM feeds f WHERE {ACTIVE_FEED}"
        " AND EXISTS (SELECT 1 FROM entries e WHERE e.feed_url = f.url) ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows if r[0]]


def stories_with_link(db: Database, url: str) -> list[int]:
    """The stories holding a copy whose article URL is `url` (compared canonically)."""
    key = canonical_url(url)
    rows = db.query(
        "SELECT DISTINCT story_id FROM entries WHERE link = ? OR canonical_link = ? ORDER BY story_id", [url, key]
    )
    return [r["story_id"] for r in rows]


def story_of_copy(db: Database, copy_id: int) -> int | None:
    row = db.execute("SELECT story_id FROM entries WHERE id = ?", [copy_id]).fetchone()
    return int(row[0]) if row else None


# --------------------------------------------------------------------------- editors' corrections


def unmerge(db: Database, entry_id: int, now: dt.datetime, editor: str) -> int:
    """Split a copy out of its story into a story of its own; it is never merged automatically
    again. Returns the new story's id. The Atom id goes with the copy it was made from, so no
    reader sees either article announced as new under the other's id. The caller holds the
    write transaction. Raises KeyError for no such copy, UsageError for a story's only copy."""
    row = next(iter(db.query("SELECT * FROM entries WHERE id = ?", [entry_id])), None)
    if row is None:
        raise KeyError(entry_id)
    old_story = int(row["story_id"])
    remaining = next(
        iter(db.query("SELECT * FROM entries WHERE story_id = ? AND id != ? ORDER BY published, id LIMIT 1",
                      [old_story, entry_id])),
        None,
    )  # fmt: skip
    if remaining is None:
        raise UsageError(f"copy c{entry_id} is the only copy of story s{old_story}: there is nothing to split it from")
    db.execute(
        "INSERT OR REPLACE INTO split_entries (entry_id, split_at, split_from, split_by) VALUES (?, ?, ?, ?)",
        [entry_id, to_db_time(now), old_story, editor],
    )
    story_atom_id = db.execute("SELECT atom_id FROM stories WHERE id = ?", [old_story]).fetchone()[0]
    cursor = db.execute(
        "INSERT INTO stories (atom_id, published, updated, created) VALUES (?, ?, ?, ?)",
        [f"urn:aggregator:split:{entry_id}", row["published"], to_db_time(now), to_db_time(now)],
    )
    new_story = int(cursor.lastrowid or 0)
    if story_atom_id in atom_id_choices(row["feed_url"], row["key"], row["original_id"]):
        # The story's id was this copy's: it moves with it; the rest get their first copy's.
        rest_id = unused_atom_id(
            db, remaining["feed_url"], remaining["key"], remaining["original_id"],
            fallback=f"urn:aggregator:split:{old_story}:{entry_id}",
        )  # fmt: skip
        db.execute("UPDATE stories SET atom_id = ? WHERE id = ?", [rest_id, old_story])
        db.execute("UPDATE stories SET atom_id = ? WHERE id = ?", [story_atom_id, new_story])
    db.execute(
        "UPDATE entries SET story_id = ?, match_rule = NULL, match_score = NULL, match_copy_id = NULL WHERE id = ?",
        [new_story, entry_id],
    )
    _refresh_story_times(db, old_story, now)
    return new_story


def undo_unmerge(db: Database, entry_id: int, now: dt.datetime) -> int:
    """Put a split-out copy back into the story it was split from; returns that story's id.
    Raises KeyError for no such copy, UsageError when it was never split or its story is gone."""
    row = db.execute("SELECT story_id, feed_url, key, original_id FROM entries WHERE id = ?", [entry_id]).fetchone()
    if row is None:
        raise KeyError(entry_id)
    split_story, feed_url, key, original_id = row
    split = db.execute("SELECT split_from FROM split_entries WHERE entry_id = ?", [entry_id]).fetchone()
    if split is None or split[0] is None:
        raise UsageError(f"copy c{entry_id} was never split out of a story: there is nothing to undo")
    target = int(split[0])
    target_row = db.execute("SELECT atom_id FROM stories WHERE id = ?", [target]).fetchone()
    if target_row is None:
        raise UsageError(f"story s{target}, which copy c{entry_id} was split from, no longer exists (pruned)")
    db.execute("DELETE FROM split_entries WHERE entry_id = ?", [entry_id])
    db.execute(
        "UPDATE entries SET story_id = ?, match_rule = ?, match_score = NULL, match_copy_id = NULL WHERE id = ?",
        [target, RULE_REJOINED, entry_id],
    )
    if not db.execute("SELECT 1 FROM entries WHERE story_id = ?", [split_story]).fetchone():
        split_atom = db.execute("SELECT atom_id FROM stories WHERE id = ?", [split_story]).fetchone()[0]
        db.execute("UPDATE OR IGNORE picks SET story_id = ? WHERE story_id = ?", [target, split_story])
        db.execute("DELETE FROM stories WHERE id = ?", [split_story])
        if split_atom in atom_id_choices(feed_url, key, original_id):
            # The id had moved with the copy when it was split: it comes back with it.
            db.execute("UPDATE stories SET atom_id = ? WHERE id = ?", [split_atom, target])
    _refresh_story_times(db, target, now)
    return target


def _refresh_story_times(db: Database, story_id: int, now: dt.datetime) -> None:
    db.execute(
        """
        UPDATE stories SET
            published = (SELECT min(published) FROM entries WHERE story_id = stories.id),
            updated = ?
        WHERE id = ?
        """,
        [to_db_time(now), story_id],
    )


# --------------------------------------------------------------------------- retention


def prune(
    db: Database, now: dt.datetime, retention_days: float, keep_per_feed: int = 0,
    band_days: float | None = None,
) -> int:  # fmt: skip
    """Delete stories older than the retention period, except picked ones and those holding one of
    the newest `keep_per_feed` entries of a feed; leave tombstones so the next fetch does not bring
    their copies back. Returns the number of stories pruned. The caller holds the transaction."""
    cutoff = to_db_time(now - dt.timedelta(days=retention_days))
    # The stories past the retention period first (through the index on published: usually few
    # or none, as every cycle prunes); only then which of their feeds' newest entries keep them.
    old = [
        int(r[0])
        for r in db.execute(
            "SELECT s.id FROM stories s WHERE s.published < ? AND NOT EXISTS (SELECT 1 FROM picks p WHERE p.story_id = s.id)",
            [cutoff],
        ).fetchall()
    ]
    if old and keep_per_feed > 0:
        kept = _stories_of_newest_entries(db, old, keep_per_feed)
        old = [story_id for story_id in old if story_id not in kept]
    for chunk in chunks(old):
        placeholders = ",".join("?" * len(chunk))
        db.execute(
            f"""
            INSERT OR REPLACE INTO tombstones (feed_url, key, canonical_link, pruned_at)
            SELECT feed_url, key, canonical_link, ? FROM entries WHERE story_id IN ({placeholders})
            """,
            [to_db_time(now), *chunk],
        )
        db.execute(
            f"""
            UPDATE feeds SET pruned = pruned + (
                SELECT count(*) FROM entries e WHERE e.feed_url = feeds.url AND e.story_id IN ({placeholders}))
            WHERE url IN (SELECT feed_url FROM entries WHERE story_id IN ({placeholders}))
            """,
            [*chunk, *chunk],
        )
        in_stories = f"(SELECT id FROM entries WHERE story_id IN ({placeholders}))"
        db.execute(f"DELETE FROM entry_bands WHERE entry_id IN {in_stories}", chunk)
        db.execute(f"DELETE FROM split_entries WHERE entry_id IN {in_stories}", chunk)
        db.execute(f"DELETE FROM entry_links WHERE entry_id IN {in_stories}", chunk)
        # A pruned story's id may be given again: its translation links (and unlinks) go with it.
        db.execute(
            f"DELETE FROM translations WHERE story_a IN ({placeholders}) OR story_b IN ({placeholders})", [*chunk, *chunk]
        )
        db.execute(f"DELETE FROM entries WHERE story_id IN ({placeholders})", chunk)
        db.execute(f"DELETE FROM stories WHERE id IN ({placeholders})", chunk)
    if band_days is not None:
        _prune_bands(db, now - dt.timedelta(days=band_days))
    # A tombstone outlives its entry by another retention period: long enough for any feed to
    # have dropped the item, short enough that the table stays small.
    db.execute("DELETE FROM tombstones WHERE pruned_at < ?", [cutoff])
    # The cycle log (one row a cycle: 100,000 a month at `every: 30s`) keeps what status needs: the
    # last CYCLES_KEPT_DAYS days, and always the latest finished cycle.
    db.execute(
        """
        DELETE FROM cycles WHERE started < ?
        AND id != (SELECT coalesce(max(id), 0) FROM cycles WHERE finished IS NOT NULL)
        """,
        [to_db_time(now - dt.timedelta(days=min(retention_days, CYCLES_KEPT_DAYS)))],
    )
    return len(old)


# How far the band cutoff moves before the bands are pruned again. The prune reads every entry
# published before the cutoff (20-30 ms with 40,000 stored), so a cycle every few minutes would
# pay that each time for the few copies that aged out since the last one.
BAND_PRUNE_EVERY = dt.timedelta(hours=1)
_BANDS_PRUNED_BEFORE = "bands_pruned_before"


def _prune_bands(db: Database, cutoff: dt.datetime) -> None:
    """Delete the LSH bands of copies published before `cutoff`, unless that was done up to an
    hour's worth of cutoff ago. Text similarity only compares copies published within the dedupe
    window of each other, so older copies' bands (42 rows a copy) are dead weight; links and
    hashes still match them. Bands that outlive the cutoff by up to an hour are harmless: a
    candidate they find is refused by the window, as before they were pruned."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [_BANDS_PRUNED_BEFORE]).fetchone()
    last = from_db_time(row[0]) if row else None
    if last is not None and last <= cutoff < last + BAND_PRUNE_EVERY:
        return
    db.execute("DELETE FROM entry_bands WHERE entry_id IN (SELECT id FROM entries WHERE published < ?)", [to_db_time(cutoff)])
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_BANDS_PRUNED_BEFORE, to_db_time(cutoff)])


def _stories_of_newest_entries(db: Database, story_ids: list[int], keep_per_feed: int) -> set[int]:
    """Of these stories, those holding one of the newest `keep_per_feed` entries of a feed (only
    the feeds these stories have copies in are read, each through its (feed_url, published) index)."""
    feeds: set[str] = set()
    for chunk in chunks(story_ids):
        marks = ",".join("?" * len(chunk))
        feeds.update(r[0] for r in db.execute(f"SELECT DISTINCT feed_url FROM entries WHERE story_id IN ({marks})", chunk))
    kept: set[int] = set()
    for feed_url in feeds:
        kept.update(
            int(r[0])
            for r in db.execute(
                "SELECT story_id FROM entries WHERE feed_url = ? ORDER BY published DESC, id DESC LIMIT ?",
                [feed_url, keep_per_feed],
            )
        )
    return kept


def content_signature(db: Database) -> str:
    """What the published outputs are made of, as one string: the content version, which every
    change a reader can see moves (stories, copies, their full texts, picks, translation links,
    the feeds' names, places and ids; store/content_version.py). Equal signatures of one database
    mean equal outputs for the same config."""
    from .content_version import current

    return f"content-version:{current(db)}"


def ranked_copies(db: Database, match: str, window: int = RANK_WINDOW) -> Generator[int, None, None]:
    """The ids of the copies matching `match`, best first within blocks of `window` copies, newest
    block first: the newest `window` matches ranked by bm25 (the title weighing more), then the
    next `window` older ones, and so on (copy ids grow with arrival). Fewer matches than `window`
    are one block: plain bm25 order. Ranking costs about 1 µs per ranked match, so a word in most
    of a large archive costs one block's ranking per page, not the whole archive's."""
    upper: int | None = None
    while True:
        below, params = ("", [match]) if upper is None else (" AND rowid < ?", [match, upper])
        bound = db.execute(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?{below} ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            [*params, window - 1],
        ).fetchone()
        block = "" if bound is None else " AND rowid >= ?"
        ranked = db.execute(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?{below}{block}"
            f" ORDER BY bm25({FTS_TABLE}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}), rowid DESC",
            params if bound is None else [*params, bound[0]],
        )
        try:
            while rows := ranked.fetchmany(256):
                for row in rows:
                    yield int(row[0])
        finally:
            ranked.close()
        if bound is None:
            return
        upper = int(bound[0])


def ranked_stories(db: Database, query: StoryQuery, offset: int = 0,
                   window: int = RANK_WINDOW) -> tuple[StoryPage, bool]:  # fmt: skip
    """The stories matching query.search, best first (ranked_copies: bm25 within blocks of the
    newest `window` matching copies), with the query's other filters; one page of query.limit
    from `offset`. Returns the page (its `next` is always None: ranked results page by offset)
    and whether more follow.

    The matching copies come best first; they are checked against the filters in growing
    batches only until the page (and one more story) is full, so a word in half the copies costs
    the ranking of a block, not a join of every match. A story's first copy in that order is its
    best."""
    match = fts_query(query.search)
    if match is None:
        return StoryPage((), None), False
    where, params = _copy_conditions(dataclasses.replace(query, search=None))
    if query.picked is not None:
        section = " AND p.section = ?" if query.section is not None else ""
        where.append(f"{'' if query.picked else 'NOT '}EXISTS (SELECT 1 FROM picks p WHERE p.story_id = e.story_id{section})")
        if query.section is not None:
            params.append(query.section)
    wanted = max(0, offset) + query.limit + 1
    ranked = ranked_copies(db, match, window)
    order: list[int] = []
    seen: set[int] = set()
    batch_size = 2 * wanted
    try:
        while len(order) < wanted:
            batch = list(itertools.islice(ranked, batch_size))
            if not batch:
                break
            story_of: dict[int, int] = {}
            for chunk in chunks(batch):
                story_of.update(db.execute(
                    f"SELECT e.id, e.story_id FROM entries e INDEXED BY {KEYS_INDEX} JOIN feeds f ON f.url = e.feed_url"
                    f" WHERE e.id IN ({','.join('?' * len(chunk))}) AND {' AND '.join(where)}",
                    [*chunk, *params],
                ).fetchall())  # fmt: skip
            for copy_id in batch:
                story_id = story_of.get(copy_id)
                if story_id is not None and story_id not in seen:
                    seen.add(story_id)
                    order.append(story_id)
            batch_size *= 4
    finally:
        ranked.close()
    start = max(0, offset)
    more = len(order) > start + query.limit
    ids = order[start : start + query.limit]
    return StoryPage(tuple(load_stories(db, ids)), None), more
