"""The rules of one feed update, as pure functions: from what a fetch brought and what is stored,
decide what to write (a plan of intents) without doing any of it.

No I/O and no clock: the caller passes `now` and the stored rows; store.py applies the plan. Work
that costs CPU per entry (fingerprints, change hashes) happens in `prepare_feed`, which runs in the
parse workers, before any database transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import dedupe, langdetect, polling, translations
from .models import (
    Config,
    FeedConfig,
    FeedState,
    FeedStatus,
    FetchResult,
    ParsedEntry,
    ParsedFeed,
)
from .parse_errors import xml_problem
from .sanitize import plain_text
from .urls import is_republishable_id

UNTITLED = "(untitled)"
_PLANNED_ID_BASE = 1 << 62  # ids of entries this plan inserts, above every stored id  # what parse.py calls an entry with no title and no text to name it by


# --------------------------------------------------------------------------- before the transaction


@dataclass(frozen=True)
class PreparedEntry:
    """A parsed entry with what identity and dedupe need, computed once, outside the database."""

    entry: ParsedEntry
    language: str  # the copy's language: choose_language's
    fingerprint: dedupe.Fingerprint
    change_hash: str  # over what a reader sees: a different hash is an edit
    search_text: str = ""  # the plain text of its body (body_html), for the search index
    # What it points at (translations.references), made in the parse workers; None: not made yet.
    references: tuple[translations.Reference, ...] | None = None


def body_html(entry: ParsedEntry) -> str:
    """The HTML the search index reads an entry's words from: its content, else its summary (as
    store/search.py's triggers choose)."""
    return entry.content_html if entry.content_html != "" else entry.summary_html


@dataclass(frozen=True)
class PreparedFeed:
    parsed: ParsedFeed
    entries: tuple[PreparedEntry, ...]


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def needs_parse(state: FeedState | None, result: FetchResult, digest: str | None) -> bool:
    """A 200 whose bytes are the ones last parsed successfully need no parse (servers without
    validators send the same body every time)."""
    if result.status != "ok" or result.body is None:
        return False
    return not (
        state is not None and digest is not None and state.body_hash == digest
        and state.last_status in ("ok", "not_modified")
    )  # fmt: skip


def copy_language(feed_language: str, parsed: ParsedFeed, entry: ParsedEntry) -> str:
    """The configured language, unless the entry declares its own. A channel-wide declaration is
    not trusted: CMSs ship "en-US" as the default whatever the site writes in."""
    if entry.language and entry.language.lower() != (parsed.language or "").lower():
        return entry.language
    return feed_language


def choose_language(languages: Sequence[str], parsed: ParsedFeed, entry: ParsedEntry) -> langdetect.LanguageChoice:
    """The copy's language: the entry's own declaration (an xml:lang that differs from the
    channel's: a CMS that tags each post) wins; else, for a feed with several plausible languages,
    the one its title and text are written in; else the feed's default (languages[0])."""
    declared = copy_language(languages[0], parsed, entry)
    if declared != languages[0] or len(languages) < 2:
        return langdetect.LanguageChoice(declared, "declared" if declared != languages[0] else "configured")
    text = f"{html.unescape(entry.title)} {dedupe.text_of(entry.content_html or entry.summary_html)}"
    return langdetect.detect(text, languages)


def change_hash(entry: ParsedEntry) -> str:
    # Only what a reader sees: dates and ids move on some feeds without the story changing.
    seen: list[object] = [entry.title, entry.content_html, entry.summary_html, entry.link, entry.author,
                          list(entry.categories)]  # fmt: skip
    if entry.enclosures or entry.image:  # only then, so the hash of an entry with neither stays as it was
        seen.append([[e.url, e.type, e.length] for e in entry.enclosures])
        seen.append(entry.image)
    payload = json.dumps(seen)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def prepare_feed(
    parsed: ParsedFeed, languages: str | Sequence[str], now: dt.datetime,
    known: Mapping[str, dedupe.TextFingerprint] | None = None,
) -> PreparedFeed:  # fmt: skip
    """`languages`: the feed's configured language, or all it may be in (its default first).
    `known`: the feed's stored fingerprints by change hash (Store.stored_fingerprints): an entry a
    stored copy had unchanged costs no fingerprint, search text or references (it is stored
    already; should it still be written, the store makes the last two itself)."""
    plausible = (languages,) if isinstance(languages, str) else tuple(languages)
    entries = []
    for entry in parsed.entries:
        language = choose_language(plausible, parsed, entry).language
        changes = change_hash(entry)
        stored = known.get(changes) if known else None
        if stored is not None:
            fp = dedupe.fingerprint_from_text(stored, entry.link, language, entry.published or now)
            entries.append(PreparedEntry(entry, language, fp, changes))
            continue
        fp = dedupe.fingerprint(entry.title, entry.content_html, entry.link, language, entry.published or now)
        entries.append(PreparedEntry(entry, language, fp, changes, plain_text(body_html(entry)),
                                     translations.references(entry, fp.canonical_link)))  # fmt: skip
    return PreparedFeed(parsed, tuple(entries))


# What parse_and_prepare imports, for the parse pool's fork server to import once (parsepool.py):
# the parser (parse.py imports feedparser and lxml), the sanitizer nh3 and the fingerprints' numpy
# (dedupe.py imports it lazily: 0.07 s, which each worker paid on its first feed).
PARSE_WORKER_MODULES = ("aggregator.ingest", "aggregator.parse", "nh3", "numpy")


def parse_and_prepare(
    body: bytes, headers: Mapping[str, str], url: str, languages: str | Sequence[str], now: dt.datetime,
    known: Mapping[str, dedupe.TextFingerprint] | None = None, **limits: int,
) -> PreparedFeed:  # fmt: skip
    """The parse workers' job: parse_feed (with its `limits`: max_entries, max_entry_html), then
    prepare_feed (with the feed's `known` fingerprints). Raises ParseError."""
    from .parse import parse_feed

    return prepare_feed(parse_feed(body, headers, url, **limits), languages, now, known)


# --------------------------------------------------------------------------- what storage tells us


@dataclass(frozen=True)
class StoredEntry:
    """One of this feed's stored entries that a document's entry may be (same key, link or text)."""

    id: int
    key: str
    canonical_link: str | None
    content_hash: str
    change_hash: str
    published: dt.datetime
    updated: dt.datetime
    story_id: int
    last_seen: dt.datetime | None = None  # None: not known (then a sighting is written)


@dataclass(frozen=True)
class Tombstones:
    """Keys and links of this feed's entries that retention pruned: they must not come back."""

    keys: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()

    def cover(self, key: str, canonical_link: str | None) -> bool:
        return key in self.keys or (canonical_link is not None and canonical_link in self.links)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class InsertEntry:
    prepared: PreparedEntry
    published: dt.datetime
    updated: dt.datetime


@dataclass(frozen=True)
class UpdateEntry:
    entry_id: int
    story_id: int
    prepared: PreparedEntry
    updated: dt.datetime


# An unchanged entry's sighting (entries.last_seen) is written at most this often, unless its key
# moved: writing it on every fetch rewrote the stored rows of every entry a changed feed still
# lists, one page each (a feed with one new item rewrote its other 40): 3 MB of the 10 MB that an
# incremental cycle of 200 feeds wrote to the WAL, and copied again at the checkpoint.
SIGHTING_RESOLUTION = dt.timedelta(days=1)


@dataclass(frozen=True)
class SeenEntry:
    """Unchanged: only its last sighting and (for feeds with unstable guids) its key move.
    `write`: whether they are written (its key moved, or its sighting is SIGHTING_RESOLUTION old)."""

    entry_id: int
    key: str
    write: bool = True


SkipReason = str  # "tombstoned" | "too old" | "not a story"


@dataclass(frozen=True)
class SkippedEntry:
    key: str
    reason: SkipReason


@dataclass(frozen=True)
class FeedPlan:
    """Everything one fetch of one feed will write, in one transaction."""

    feed: FeedConfig
    now: dt.datetime
    status: FeedStatus
    error: str | None
    state: FeedState  # the feed's whole new fetch state
    inserts: tuple[InsertEntry, ...] = ()
    updates: tuple[UpdateEntry, ...] = ()
    seen: tuple[SeenEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()


@dataclass(frozen=True)
class LookupKeys:
    """What to ask storage for: this feed's entries and tombstones with any of these."""

    keys: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    content_hashes: tuple[str, ...] = ()


def lookup_keys(prepared: PreparedFeed | None) -> LookupKeys:
    if prepared is None:
        return LookupKeys()
    return LookupKeys(
        keys=tuple(p.entry.key for p in prepared.entries),
        links=tuple(dict.fromkeys(p.fingerprint.canonical_link for p in prepared.entries if p.fingerprint.canonical_link)),
        content_hashes=tuple(dict.fromkeys(p.fingerprint.content_hash for p in prepared.entries)),
    )


@dataclass
class _StoredIndex:
    """The stored entries as a document is walked: keys move as unstable guids are followed."""

    rows: dict[int, StoredEntry]
    by_key: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, stored: Iterable[StoredEntry]) -> "_StoredIndex":
        rows = {s.id: s for s in stored}
        return cls(rows, {s.key: s.id for s in rows.values()})

    def newest(self, predicate: Callable[[StoredEntry], bool]) -> StoredEntry | None:
        matching = [s for s in self.rows.values() if predicate(s)]
        return max(matching, key=lambda s: s.id) if matching else None

    def add(self, row: StoredEntry) -> None:
        self.rows[row.id] = row
        self.by_key[row.key] = row.id

    def move_key(self, row: StoredEntry, key: str) -> None:
        if self.by_key.get(row.key) == row.id:
            del self.by_key[row.key]
        self.by_key[key] = row.id
        self.rows[row.id] = replace(row, key=key)


def _find_existing(
    p: PreparedEntry, index: _StoredIndex, document_keys: set[str], touched: set[int]
) -> StoredEntry | None:
    """The same entry seen before in this feed: by its key; else, for feeds that regenerate guids
    on every request, by link or by identical text, but only a stored entry whose own key has left
    the document (one still listed under its key is a different entry)."""
    by_key = index.by_key.get(p.entry.key)
    if by_key is not None:
        return index.rows[by_key]
    fp = p.fingerprint

    def reusable(row: StoredEntry | None) -> bool:
        return row is not None and row.id not in touched and row.key not in document_keys

    if fp.canonical_link:
        row = index.newest(lambda s: s.canonical_link == fp.canonical_link)
        if reusable(row):
            return row
    if fp.word_count >= dedupe.MIN_FINGERPRINT_WORDS:
        # Title-only items ("Editorial") repeat with different articles behind them; and a
        # different link is a different article.
        row = index.newest(lambda s: s.content_hash == fp.content_hash)
        if row is not None and reusable(row) and (
            not fp.canonical_link or not row.canonical_link or row.canonical_link == fp.canonical_link
        ):
            return row
    return None


def is_story(entry: ParsedEntry, word_count: int) -> bool:
    """An entry with neither a title, a link nor any text is nothing a reader could read."""
    has_title = bool(entry.title.strip()) and entry.title != UNTITLED
    return has_title or bool(entry.link) or word_count > 0


def plan_entries(
    feed: FeedConfig,
    prepared: PreparedFeed,
    stored: Sequence[StoredEntry],
    tombstones: Tombstones,
    now: dt.datetime,
    retention_days: float,
    keep_per_feed: int,
    recent_entry_times: Sequence[dt.datetime] = (),
) -> tuple[list[InsertEntry], list[UpdateEntry], list[SeenEntry], list[SkippedEntry]]:
    inserts: list[InsertEntry] = []
    updates: list[UpdateEntry] = []
    seen: list[SeenEntry] = []
    skipped: list[SkippedEntry] = []
    index = _StoredIndex.of(stored)
    touched: set[int] = set()  # rows already matched in this document: never match twice
    document_keys = {p.entry.key for p in prepared.entries}
    cutoff = now - dt.timedelta(days=retention_days)
    # An undated entry is dated when first seen, but never later than the feed's newest dated
    # entry (stored or in this document): a feed that drops its dates must not jump to the top.
    dated = [p.entry.published for p in prepared.entries if p.entry.published is not None]
    dated += [s.published for s in stored]
    dated += list(recent_entry_times[:1])
    undated_time = min([now, *([max(dated)] if dated else [])])
    # The newest entries of every feed are kept whatever their age (a quiet section, an archive).
    by_age = sorted(prepared.entries, key=lambda p: p.entry.published or undated_time, reverse=True)
    exempt = {id(p) for p in by_age[:keep_per_feed]}

    for p in prepared.entries:
        entry = p.entry
        if not is_story(entry, p.fingerprint.word_count):
            skipped.append(SkippedEntry(entry.key, "not a story"))
            continue
        existing = _find_existing(p, index, document_keys, touched)
        if existing is not None:
            touched.add(existing.id)
            if p.change_hash == existing.change_hash:
                sighting_due = existing.last_seen is None or now - existing.last_seen >= SIGHTING_RESOLUTION
                seen.append(SeenEntry(existing.id, entry.key, write=sighting_due or entry.key != existing.key))
            else:
                updated = max(min(entry.updated or now, now), existing.updated)
                if updated <= existing.updated:
                    updated = now
                updates.append(UpdateEntry(existing.id, existing.story_id, p, updated))
            index.move_key(existing, entry.key)
            continue
        if tombstones.cover(entry.key, p.fingerprint.canonical_link):
            skipped.append(SkippedEntry(entry.key, "tombstoned"))
            continue
        # A future date would pin a story to the top for ever.
        published = min(entry.published, now) if entry.published is not None else undated_time
        if published < cutoff and id(p) not in exempt:
            skipped.append(SkippedEntry(entry.key, "too old"))
            continue
        updated = max(min(entry.updated or published, now), published)
        inserts.append(InsertEntry(p, published, updated))
        # Stored before any later entry of the document looks for its link or text: the newest
        # row with them is this one, already taken, so a later entry is not matched to an older row.
        placeholder = StoredEntry(
            _PLANNED_ID_BASE + len(inserts), entry.key, p.fingerprint.canonical_link, p.fingerprint.content_hash,
            p.change_hash, published, updated, 0,
        )  # fmt: skip
        index.add(placeholder)
        touched.add(placeholder.id)
    return inserts, updates, seen, skipped


def plan_update(
    config: Config,
    feed: FeedConfig,
    state: FeedState,
    result: FetchResult,
    now: dt.datetime,
    *,
    digest: str | None = None,
    prepared: PreparedFeed | None = None,
    parse_error: str | None = None,
    suggested_url: str | None = None,
    stored: Sequence[StoredEntry] = (),
    tombstones: Tombstones = Tombstones(),
    due_from: dt.datetime | None = None,
) -> FeedPlan:
    """What to write for one fetch of `feed`: its new fetch state and one intent per entry.
    `due_from`: when the cycle that fetched it began; its next fetch is due an interval after
    that, not after `now` (a feed stored 40 s into an hourly cycle, due 1 h 40 s later, would be
    skipped by the next hourly cycle and polled every 2 h). None: from `now`."""
    status: FeedStatus = result.status
    if parse_error is not None:
        status = "error"
    elif result.status == "ok" and prepared is None:
        status = "unchanged"
    inserts: list[InsertEntry] = []
    updates: list[UpdateEntry] = []
    seen: list[SeenEntry] = []
    skipped: list[SkippedEntry] = []
    if prepared is not None:
        inserts, updates, seen, skipped = plan_entries(
            feed, prepared, stored, tombstones, now, config.retention_days, config.retention_keep_per_feed,
            state.recent_entry_times,
        )
        if prepared.parsed.warning and not (inserts or updates or seen):
            # A broken document that left nothing readable is a failure, not an empty success.
            status, parse_error = "error", f"the feed is broken and gave no readable entry: {xml_problem(prepared.parsed.warning)}"
    error = parse_error if parse_error is not None else result.error
    new_state = next_state(config, state, result, status, error, now, digest, prepared, suggested_url, due_from)
    return FeedPlan(
        feed=feed, now=now, status=status, error=error, state=new_state,
        inserts=tuple(inserts), updates=tuple(updates), seen=tuple(seen), skipped=tuple(skipped),
    )  # fmt: skip


def next_state(
    config: Config,
    state: FeedState,
    result: FetchResult,
    status: FeedStatus,
    error: str | None,
    now: dt.datetime,
    digest: str | None,
    prepared: PreparedFeed | None,
    suggested_url: str | None,
    due_from: dt.datetime | None = None,
) -> FeedState:
    """The feed's fetch state after this fetch: failures and backoff, validators, where it moved,
    when its content last changed, and when it is due again."""
    failed = status in ("error", "gone")
    s = replace(
        state,
        http_status=result.http_status,
        last_status=status,
        last_error=error,
        last_fetched=now,
        next_due=next_due(config, state, result, prepared.parsed if prepared else None, status, min(due_from or now, now)),
    )
    if result.status in ("ok", "not_modified") or result.moved_to:
        s = replace(s, moved_to=result.moved_to)  # cleared once the redirect goes away
    if suggested_url is not None or status == "error":
        s = replace(s, suggested_url=suggested_url)
    if failed:
        return replace(s, consecutive_failures=state.consecutive_failures + 1)
    s = replace(s, consecutive_failures=0, last_success=now, etag=result.etag, last_modified=result.last_modified)
    if result.status == "ok" and digest is not None:
        # No previous hash after a migration forgot it: a change only if never seen before.
        if (state.body_hash is not None and state.body_hash != digest) or (
            state.body_hash is None and state.last_changed is None
        ):
            s = replace(s, last_changed=now)
        s = replace(s, body_hash=digest)
    if prepared is not None:
        parsed = prepared.parsed
        s = replace(
            s,
            feed_title=parsed.title,
            feed_link=parsed.site_link,
            feed_id=parsed.feed_id if is_republishable_id(parsed.feed_id) else None,
            ttl_minutes=parsed.ttl_minutes,
            update_seconds=parsed.update_seconds,
            last_warning=parsed.warning,
        )
    return s


def next_due(
    config: Config,
    state: FeedState,
    result: FetchResult,
    parsed: ParsedFeed | None,
    status: str,
    now: dt.datetime,
) -> dt.datetime | None:
    if status == "gone":
        return None
    if status == "error":
        return polling.next_due_after_failure(now, config.polling, state.consecutive_failures + 1, result.retry_after)
    return polling.next_due_after_success(
        now,
        config.polling,
        headers=result.headers,
        # A 304 or an unchanged body carries no <ttl>: the last parse's hints still hold.
        ttl_minutes=parsed.ttl_minutes if parsed else state.ttl_minutes,
        update_seconds=parsed.update_seconds if parsed else state.update_seconds,
        entry_times=state.recent_entry_times,
    )
