"""The plain data that flows between the stages: config -> fetch -> parse -> ingest -> store -> publish.

Only dataclasses live here: no I/O, no SQL, no HTTP. Each stage takes and returns these; a stage's
own plan types (ingest's intents) live with that stage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class FeedConfig:
    """One sister party's feed, as configured in feeds.yaml."""

    url: str
    name: str
    region: str
    country: str
    language: str  # the default: entries whose text cannot tell are in this language
    site: str | None = None
    enabled: bool = True
    affiliation: str | None = None
    subdivision: tuple[str, ...] = ()
    notes: str | None = None
    full_text: bool = False  # fetch each new entry's article page and publish its main text
    languages: tuple[str, ...] = ()  # every language its entries may be in, `language` first

    def __post_init__(self) -> None:
        if not self.languages or self.languages[0] != self.language:
            rest = tuple(tag for tag in self.languages if tag != self.language)
            object.__setattr__(self, "languages", (self.language, *rest))


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = 20.0  # seconds, total per feed (connect + transfer)
    max_bytes: int = 10_000_000  # per response, counted after decompression (also bounds gzip inside a body)
    concurrency: int = 16
    per_host: int = 2  # requests at once to one host
    max_redirects: int = 5
    parse_timeout: float = 30.0  # seconds one feed may take to parse and sanitize; its worker is killed after
    max_entries_per_feed: int = 1_000  # entries kept from one feed document (the newest)
    max_entry_html: int = 256_000  # characters of one entry's HTML that reach the sanitizer


@dataclass(frozen=True)
class PollingSettings:
    """Bounds on how often one feed is fetched (seconds)."""

    min_interval: float = 15 * 60
    max_interval: float = 24 * 3600
    default_interval: float = 60 * 60
    max_backoff: float = 24 * 3600


@dataclass(frozen=True)
class DedupeSettings:
    similarity_threshold: float = 0.5  # Jaccard similarity of shingled text to call two copies one story
    window_days: float = 14.0  # only stories published this close together are compared
    never_merge: tuple[tuple[str, str], ...] = ()  # pairs of article URLs an editor split apart


@dataclass(frozen=True)
class ScheduleSettings:
    every: float | None = None  # seconds between cycles
    cron: str | None = None  # crontab expression; exclusive with `every`


@dataclass(frozen=True)
class WebSubSettings:
    hub: str | None = None  # the WebSub hub every feed names and publish pings; None: no WebSub


@dataclass(frozen=True)
class FullTextSettings:
    """Bounds on fetching article pages for feeds with `full_text: true` (aggregator/fulltext.py)."""

    per_host: int = 2  # article pages fetched at once from one host
    max_per_cycle: int = 50  # pages fetched in one cycle; the rest wait for the next
    max_attempts: int = 3  # a page that keeps failing is tried this many times, then left alone
    retry_after: float = 3600.0  # seconds before a failed page is tried again
    extract_timeout: float = 10.0  # seconds one page's extraction may take; its worker is killed after


@dataclass(frozen=True)
class Config:
    path: Path
    title: str
    base_url: str  # public URL of output_dir, ends with "/"
    database: Path
    output_dir: Path
    regions: dict[str, str]
    feeds: tuple[FeedConfig, ...]
    max_entries: int = 100
    max_stories_per_feed: int = 10  # of a published list's stories, while others wait for a slot
    retention_days: float = 365.0
    retention_keep_per_feed: int = 50  # the newest entries of each feed are kept whatever their age
    fetch: FetchSettings = field(default_factory=FetchSettings)
    polling: PollingSettings = field(default_factory=PollingSettings)
    dedupe: DedupeSettings = field(default_factory=DedupeSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    websub: WebSubSettings = field(default_factory=WebSubSettings)
    sections: dict[str, str] = field(default_factory=dict)  # editors' sections (party sites): slug -> label
    # What readers show of every feed (absolute URLs; config.py resolves paths under output_dir).
    icon: str | None = None  # small and square: Atom <icon>, JSON Feed favicon, the page's rel=icon
    logo: str | None = None  # larger, 2:1: Atom <logo>, JSON Feed icon
    subtitle: str | None = None  # the combined feed's and the page's description
    rights: str | None = None  # Atom <rights> of every feed
    generator_uri: str | None = None  # Atom <generator uri>; None: base_url (the deployment)
    full_text: FullTextSettings = field(default_factory=FullTextSettings)


# --------------------------------------------------------------------------- fetch


@dataclass(frozen=True)
class FetchRequest:
    """What the fetch stage needs to know about one feed: where, and the validators we hold."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


FetchStatus = Literal["ok", "not_modified", "error", "gone"]
# What became of a feed in a cycle: a fetch status, or "unchanged" (same bytes as last time, not parsed).
FeedStatus = Literal["ok", "unchanged", "not_modified", "error", "gone"]


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL that was requested (the feed's configured/stored URL)
    status: FetchStatus
    http_status: int | None = None
    final_url: str | None = None  # where the body came from after redirects
    moved_to: str | None = None  # target of a chain of permanent redirects (301/308), if any
    body: bytes | None = None  # decompressed bytes; only for status "ok"
    headers: dict[str, str] = field(default_factory=dict)  # response headers, lower-case names
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None  # human-readable reason for "error"/"gone"
    retry_after: float | None = None  # seconds, from Retry-After on 429/503
    elapsed: float = 0.0  # seconds


# --------------------------------------------------------------------------- parse

KeySource = Literal["id", "link", "hash"]


@dataclass(frozen=True)
class Enclosure:
    """A file an entry carries (a podcast episode, the paper's PDF): RSS <enclosure>, Atom
    link rel="enclosure" or media:content. Only http(s) URLs; type and length when given."""

    url: str
    type: str | None = None  # a media type such as audio/mpeg
    length: int | None = None  # bytes, as the feed states it


@dataclass(frozen=True)
class ParsedEntry:
    key: str  # identity of this entry inside its feed
    key_source: KeySource  # which rule gave `key`
    original_id: str | None  # the entry's own id/guid, as published
    link: str | None  # absolute http(s) URL of the article
    title: str  # plain text
    content_html: str  # sanitized HTML (full content if the feed has it, else the summary)
    summary_html: str  # sanitized HTML
    author: str | None
    categories: tuple[str, ...]
    published: dt.datetime | None  # aware, UTC
    updated: dt.datetime | None  # aware, UTC
    language: str | None = None
    enclosures: tuple[Enclosure, ...] = ()  # at most parse.MAX_ENCLOSURES, first given first
    image: str | None = None  # the entry's picture: media:thumbnail, media:content image, or its first <img>
    alternates: tuple[tuple[str, str], ...] = ()  # (hreflang, URL) of its other-language versions


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[ParsedEntry, ...]
    title: str | None = None  # the channel title (never shown: the configured name is)
    site_link: str | None = None
    feed_id: str | None = None  # an Atom feed's own atom:id (RSS channels have none)
    language: str | None = None
    ttl_minutes: int | None = None  # RSS <ttl>
    update_seconds: float | None = None  # from sy:updatePeriod / sy:updateFrequency
    warning: str | None = None  # feedparser's complaint about a feed that still gave entries


class ParseError(Exception):  # a feed's fault, recorded against it: never an AggregatorError
    """The bytes gave no entries: not a feed, or too broken to read."""

    def __init__(self, reason: str, suggested_feed_url: str | None = None):
        super().__init__(reason)
        self.suggested_feed_url = suggested_feed_url


# --------------------------------------------------------------------------- store -> publish


@dataclass(frozen=True)
class Copy:
    """One entry as published by one feed: a copy of a story."""

    id: int
    story_id: int
    feed_url: str
    feed_name: str
    feed_site: str | None
    region: str
    country: str
    language: str
    original_id: str | None
    key: str
    link: str | None
    title: str
    content_html: str
    summary_html: str
    author: str | None
    categories: tuple[str, ...]
    published: dt.datetime
    updated: dt.datetime
    # When the source feed last changed as of this copy's last write (its atom:source updated):
    # a later change of the feed, a new item say, leaves the copy's rendering as it was.
    source_updated: dt.datetime | None = None
    feed_id: str | None = None  # the source feed's own atom:id, when it has a republishable one
    match_rule: str | None = None  # why this copy was attached to its story
    match_score: float | None = None
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None
    full_text_html: str | None = None  # the article page's sanitized main text (full_text feeds)


@dataclass(frozen=True)
class Translation:
    """Another story that is this one in another language, and why they are linked."""

    story_id: int
    language: str  # the other story's (its primary copy's)
    url: str | None  # the other story's primary link
    rule: str  # hreflang | links to | same original | editor (aggregator.translations)
    evidence: str  # the URL that made the link, or who linked them by hand


@dataclass(frozen=True)
class Story:
    """What readers see once: the earliest copy, crediting every other copy."""

    id: int
    published: dt.datetime
    updated: dt.datetime
    copies: tuple[Copy, ...]  # earliest first; copies[0] is the primary
    atom_id: str = ""  # fixed when the story is first stored: its first copy's id, if that is an IRI
    picks: tuple[Pick, ...] = ()  # editors' picks, oldest first
    translations: tuple[Translation, ...] = ()  # the same story in other languages, by language

    @property
    def primary(self) -> Copy:
        return self.copies[0]

    @property
    def owner_feed(self) -> str:
        """The feed a list counts the story against (its primary copy's: max_per_feed)."""
        return self.copies[0].feed_url

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.region for c in self.copies))

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.country for c in self.copies))


@dataclass(frozen=True)
class StoryHead:
    """A story as a published list chooses and orders it, read without its copies' texts: its
    place, dates, id and the feed it counts against. A publish takes the kept rendering of a story
    that has one (rendered.py) and reads the whole Story only for those it renders anew."""

    id: int
    published: dt.datetime
    updated: dt.datetime
    atom_id: str
    owner_feed: str  # Story.owner_feed: its primary copy's feed


@dataclass(frozen=True)
class FeedSchedule:
    """The part of a feed's state that says whether it is due (cycle.select_due): read for every
    feed at every cycle, the whole FeedState only for the feeds that are."""

    url: str
    last_status: str | None = None
    next_due: dt.datetime | None = None


@dataclass(frozen=True)
class FeedState:
    """A feed's fetch state as stored: what the next fetch sends, and what the last ones found."""

    url: str
    enabled: bool = True
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    http_status: int | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_warning: str | None = None  # the parser's complaint about a feed that still gave entries
    consecutive_failures: int = 0
    last_fetched: dt.datetime | None = None
    last_success: dt.datetime | None = None
    last_changed: dt.datetime | None = None
    moved_to: str | None = None
    suggested_url: str | None = None
    next_due: dt.datetime | None = None
    feed_title: str | None = None
    feed_link: str | None = None
    feed_id: str | None = None
    ttl_minutes: int | None = None  # the feed's last known RSS <ttl>, kept across 304s
    update_seconds: float | None = None  # likewise sy:updatePeriod/Frequency
    recent_entry_times: tuple[dt.datetime, ...] = ()  # newest first, for the polling rate


@dataclass(frozen=True)
class Pick:
    """An editor's choice of a story for a section (a party's site): who, when, and why."""

    story_id: int
    section: str  # "" for a pick made for no section in particular
    editor: str  # a user name, or "cli" for the command line
    picked_at: dt.datetime
    note: str | None = None


@dataclass(frozen=True)
class StoryCursor:
    """Where a page of stories ended: the next page starts strictly after (published, id)."""

    published: dt.datetime
    story_id: int

    def token(self) -> str:
        return f"{int(self.published.timestamp())}-{self.story_id}"

    @classmethod
    def from_token(cls, token: str) -> "StoryCursor":
        """Raises ValueError for a token this class did not make."""
        seconds, _, story_id = token.partition("-")
        return cls(dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc), int(story_id))


@dataclass(frozen=True)
class StoryQuery:
    """Which stories to read, newest first: every filter is optional and they combine (AND).

    A story matches a filter when any of its copies does. Only copies from feeds that are in the
    config and enabled count, so removing or disabling a party takes its stories out of every list."""

    limit: int = 100
    region: str | None = None
    country: str | None = None
    language: str | None = None  # primary subtag or full tag: "en" matches en-GB
    feed_url: str | None = None
    picked: bool | None = None  # True: picked for any section (or `section`); False: not picked
    section: str | None = None  # with picked=True: picked for this section
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    search: str | None = None  # words that must all occur (title or text)
    after: StoryCursor | None = None  # keyset pagination
    story_ids: tuple[int, ...] | None = None  # exactly these (still newest first)
    # At most this many stories shown by one feed while other feeds' stories are left out (a
    # flooding feed cannot fill a list); published lists only: such a query has no next page.
    max_per_feed: int | None = None


@dataclass(frozen=True)
class StoryPage:
    stories: tuple["Story", ...]
    next: StoryCursor | None  # None on the last page


@dataclass(frozen=True)
class MergeExplanation:
    """Why one copy belongs to its story, for `aggregator story` and the story page."""

    copy_id: int
    feed_name: str
    link: str | None
    title: str
    published: dt.datetime
    rule: str | None  # None for the story's first copy
    score: float | None
    matched_copy_id: int | None
    split_at: dt.datetime | None = None  # when an editor split this copy out (`aggregator unmerge`)
    split_from: int | None = None  # the story it was split out of (for undo)


@dataclass(frozen=True)
class CycleRecord:
    """One finished cycle as the database keeps it, for `status`."""

    id: int
    started: dt.datetime
    finished: dt.datetime
    report: "CycleReport"


@dataclass(frozen=True)
class FeedHealth:
    """One feed's state, for `aggregator status`."""

    url: str
    name: str
    region: str
    enabled: bool
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    entries: int
    last_fetched: dt.datetime | None
    moved_to: str | None
    next_due: dt.datetime | None
    suggested_url: str | None = None
    pruned: int = 0  # entries removed by retention so far (tombstones kept)
    last_warning: str | None = None


@dataclass(frozen=True)
class FullTextJob:
    """One entry whose article page the full-text step fetches."""

    entry_id: int
    feed_url: str
    link: str
    attempts: int = 0  # earlier failed attempts


@dataclass(frozen=True)
class FullTextHealth:
    """A full_text feed's article pages, for `aggregator status`."""

    ok: int = 0
    failed: int = 0  # the excerpt is published instead (retried up to full_text.max_attempts)
    last_error: str | None = None


@dataclass
class CycleReport:
    """What one cycle did, for the one-line summary and the logs."""

    ok: int = 0
    not_modified: int = 0
    unchanged: int = 0  # 200 with a body identical to last time
    failed: int = 0
    skipped: int = 0  # not due yet
    new_entries: int = 0
    updated_entries: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    pruned_stories: int = 0
    changed_outputs: tuple[str, ...] = ()  # output paths (relative to output_dir) that publish rewrote
    full_text_ok: int = 0  # article pages fetched and extracted this cycle
    full_text_failed: int = 0

    def summary(self) -> str:
        """The one line `aggregator fetch` prints."""
        parts = [f"{self.ok} ok", f"{self.not_modified + self.unchanged} not modified", f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} not due")
        line = (
            f"feeds: {', '.join(parts)}; entries: {self.new_entries} new, {self.updated_entries} updated;"
            f" {self.seconds:.1f} s"
        )
        if self.interrupted:
            line += " (interrupted)"
        return line

    @property
    def fetched(self) -> int:
        return self.ok + self.not_modified + self.unchanged + self.failed

    @property
    def all_failed(self) -> bool:
        """Every feed fetched this cycle failed (and at least one was fetched)."""
        return self.failed > 0 and self.failed == self.fetched
