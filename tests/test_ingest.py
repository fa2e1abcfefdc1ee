"""The ingest rules as pure functions: no database, no HTTP server, no clock.

Each test builds a parsed feed and the stored rows by hand and checks the plan: entry identity,
edits in place, unstable guids, tombstones, the retention cut-off and keep_per_feed, undated
entries, and the feed's fetch state (moved, gone, backoff, validators).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from aggregator import ingest
from aggregator.ingest import StoredEntry, Tombstones
from aggregator.models import Config, FeedConfig, FeedState, FetchResult, ParsedEntry, ParsedFeed, PollingSettings

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
FEED = FeedConfig(url="https://party.example/feed/", name="Party", region="europe", country="GB", language="en")
CONFIG = Config(
    path=Path("/nonexistent/feeds.yaml"), title="T", base_url="https://feeds.example.org/",
    database=Path("/nonexistent/a.db"), output_dir=Path("/nonexistent/public"), regions={"europe": "Europe"},
    feeds=(FEED,), retention_days=30, retention_keep_per_feed=0,
)  # fmt: skip
TEXT = " ".join(f"word{i}" for i in range(60))


def entry(key: str, title: str = "A strike", days_ago: float | None = 1, link: str | None = "auto",
          content: str = f"<p>{TEXT}</p>", updated_days_ago: float | None = None) -> ParsedEntry:  # fmt: skip
    return ParsedEntry(
        key=key, key_source="id", original_id=key,
        link=f"https://party.example/{key}/" if link == "auto" else link,
        title=title, content_html=content, summary_html="", author=None, categories=(),
        published=NOW - dt.timedelta(days=days_ago) if days_ago is not None else None,
        updated=NOW - dt.timedelta(days=updated_days_ago) if updated_days_ago is not None else None,
    )  # fmt: skip


def prepared(*entries: ParsedEntry, warning: str | None = None) -> ingest.PreparedFeed:
    return ingest.prepare_feed(ParsedFeed(entries=entries, warning=warning), "en", NOW)


def stored_as(p: ingest.PreparedEntry, entry_id: int, story_id: int | None = None, key: str | None = None,
              change_hash: str | None = None) -> StoredEntry:  # fmt: skip
    published = p.entry.published or NOW
    return StoredEntry(
        id=entry_id, key=key or p.entry.key, canonical_link=p.fingerprint.canonical_link,
        content_hash=p.fingerprint.content_hash, change_hash=change_hash or p.change_hash,
        published=published, updated=published, story_id=story_id or entry_id,
    )  # fmt: skip


OK = FetchResult(url=FEED.url, status="ok", http_status=200, body=b"<rss/>", etag='"v2"', last_modified="Tue")


def plan(feed: ingest.PreparedFeed | None, stored: list[StoredEntry] = [], state: FeedState | None = None,
         result: FetchResult = OK, tombstones: Tombstones = Tombstones(), config: Config = CONFIG,
         **kwargs: object) -> ingest.FeedPlan:  # fmt: skip
    options: dict[str, object] = {"digest": "d2", **kwargs}
    return ingest.plan_update(
        config, FEED, state or FeedState(url=FEED.url), result, NOW, prepared=feed, stored=stored,
        tombstones=tombstones, **options,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- entries


def test_a_new_entry_is_inserted_with_its_dates() -> None:
    p = plan(prepared(entry("a", days_ago=2, updated_days_ago=1)))
    assert [i.prepared.entry.key for i in p.inserts] == ["a"]
    assert p.inserts[0].published == NOW - dt.timedelta(days=2)
    assert p.inserts[0].updated == NOW - dt.timedelta(days=1)
    assert p.status == "ok" and not p.updates and not p.seen


def test_the_same_entry_again_is_only_seen() -> None:
    feed = prepared(entry("a"))
    p = plan(feed, [stored_as(feed.entries[0], 7)])
    assert p.seen == (ingest.SeenEntry(7, "a"),) and not p.inserts and not p.updates


def test_an_unchanged_entrys_sighting_is_written_once_a_day_or_when_its_key_moved() -> None:
    feed = prepared(entry("a"), entry("b"), entry("guid-2", link="https://party.example/guid-1/"))
    old_key = prepared(entry("guid-1")).entries[0]
    stored = [replace(stored_as(feed.entries[0], 7), last_seen=NOW - dt.timedelta(hours=23)),
              replace(stored_as(feed.entries[1], 8), last_seen=NOW - ingest.SIGHTING_RESOLUTION),
              replace(stored_as(old_key, 9), last_seen=NOW - dt.timedelta(minutes=5))]  # fmt: skip
    p = plan(feed, stored)
    assert p.seen == (ingest.SeenEntry(7, "a", write=False), ingest.SeenEntry(8, "b"),
                      ingest.SeenEntry(9, "guid-2"))  # fmt: skip
    assert not p.inserts and not p.updates and p.status == "ok"


def test_an_edited_entry_is_updated_in_place_and_its_time_moves_forward() -> None:
    old = prepared(entry("a"))
    new = prepared(entry("a", title="A strike: update"))
    p = plan(new, [stored_as(old.entries[0], 7, story_id=3)])
    assert len(p.updates) == 1 and p.updates[0].entry_id == 7 and p.updates[0].story_id == 3
    assert p.updates[0].updated == NOW  # no <updated> given: the time of the edit we saw
    assert not p.inserts


def test_a_future_date_is_clamped_to_now() -> None:
    p = plan(prepared(entry("a", days_ago=-30)))
    assert p.inserts[0].published == NOW


def test_an_unstable_guid_is_followed_by_link_when_the_old_key_left_the_document() -> None:
    old = prepared(entry("guid-1"))
    moved = prepared(entry("guid-2", link="https://party.example/guid-1/"))
    p = plan(moved, [stored_as(old.entries[0], 7)])
    assert p.seen == (ingest.SeenEntry(7, "guid-2"),) and not p.inserts


def test_a_stored_entry_still_listed_under_its_own_key_is_not_reused() -> None:
    a = prepared(entry("a"))
    both = prepared(entry("a"), entry("b", link="https://party.example/a/"))
    p = plan(both, [stored_as(a.entries[0], 7)])
    assert p.seen == (ingest.SeenEntry(7, "a"),)
    assert [i.prepared.entry.key for i in p.inserts] == ["b"]


def test_tombstoned_entries_never_come_back_by_key_or_by_link() -> None:
    feed = prepared(entry("a"), entry("b"))
    b_link = feed.entries[1].fingerprint.canonical_link
    assert b_link is not None
    p = plan(feed, tombstones=Tombstones(keys=frozenset({"a"}), links=frozenset({b_link})))
    assert not p.inserts
    assert [(s.key, s.reason) for s in p.skipped] == [("a", "tombstoned"), ("b", "tombstoned")]


def test_the_retention_cut_off_skips_old_entries_unless_they_are_the_feeds_newest() -> None:
    feed = prepared(entry("old1", days_ago=400), entry("old2", days_ago=500), entry("new", days_ago=1))
    p = plan(feed)
    assert [i.prepared.entry.key for i in p.inserts] == ["new"]
    assert {s.key for s in p.skipped if s.reason == "too old"} == {"old1", "old2"}
    # An archive feed whose every item is old keeps its newest N.
    kept = plan(prepared(entry("old1", days_ago=400), entry("old2", days_ago=500), entry("old3", days_ago=600)),
                config=replace(CONFIG, retention_keep_per_feed=2))  # fmt: skip
    assert [i.prepared.entry.key for i in kept.inserts] == ["old1", "old2"]


def test_an_undated_entry_is_never_dated_after_the_feeds_newest_dated_entry() -> None:
    p = plan(prepared(entry("dated", days_ago=3), entry("undated", days_ago=None)))
    by_key = {i.prepared.entry.key: i for i in p.inserts}
    assert by_key["undated"].published == NOW - dt.timedelta(days=3)
    # With nothing dated anywhere, first sight is the best we know.
    alone = plan(prepared(entry("undated", days_ago=None)))
    assert alone.inserts[0].published == NOW


def test_an_entry_with_no_title_link_or_text_is_not_a_story() -> None:
    empty = entry("e", title=ingest.UNTITLED, link=None, content="")
    p = plan(prepared(empty, entry("a")))
    assert [i.prepared.entry.key for i in p.inserts] == ["a"]
    assert [(s.key, s.reason) for s in p.skipped] == [("e", "not a story")]


def test_a_broken_document_that_left_nothing_readable_is_a_failure() -> None:
    empty = entry("e", title=ingest.UNTITLED, link=None, content="")
    p = plan(prepared(empty, warning="mismatched tag"))
    assert p.status == "error" and p.error is not None and "mismatched tag" in p.error
    assert p.state.consecutive_failures == 1


# --------------------------------------------------------------------------- fetch state


def test_success_stores_validators_and_resets_failures() -> None:
    state = FeedState(url=FEED.url, consecutive_failures=3, etag='"v1"', body_hash="d1")
    p = plan(prepared(entry("a")), state=state)
    s = p.state
    assert (s.etag, s.last_modified, s.body_hash, s.consecutive_failures) == ('"v2"', "Tue", "d2", 0)
    assert s.last_success == NOW and s.last_changed == NOW and s.last_status == "ok"
    assert s.next_due is not None and s.next_due > NOW


def test_an_error_counts_a_failure_keeps_validators_and_backs_off() -> None:
    state = FeedState(url=FEED.url, consecutive_failures=2, etag='"v1"')
    error = FetchResult(url=FEED.url, status="error", http_status=500, error="HTTP 500")
    p = plan(None, state=state, result=error)
    assert p.status == "error" and p.state.consecutive_failures == 3 and p.state.etag == '"v1"'
    assert p.state.last_error == "HTTP 500"
    backoff = p.state.next_due - NOW  # type: ignore[operator]
    first = plan(None, state=replace(state, consecutive_failures=0), result=error).state.next_due - NOW  # type: ignore[operator]
    assert backoff > first  # exponential
    assert backoff <= dt.timedelta(seconds=PollingSettings().max_backoff * 1.01)


def test_a_parse_error_is_a_failure_with_its_reason_and_suggested_url() -> None:
    p = plan(None, parse_error="this is an HTML page", suggested_url="https://party.example/feed.xml")
    assert p.status == "error" and p.error == "this is an HTML page"
    assert p.state.suggested_url == "https://party.example/feed.xml" and p.state.consecutive_failures == 1


def test_gone_is_never_due_again_and_moved_is_remembered_until_the_redirect_goes() -> None:
    gone = plan(None, result=FetchResult(url=FEED.url, status="gone", http_status=410, error="410 Gone"))
    assert gone.state.next_due is None and gone.status == "gone" and gone.state.consecutive_failures == 1
    moved = plan(prepared(entry("a")), result=replace(OK, moved_to="https://new.example/feed/"))
    assert moved.state.moved_to == "https://new.example/feed/"
    back = plan(prepared(entry("a")), state=moved.state)
    assert back.state.moved_to is None


def test_not_modified_keeps_the_last_parse_hints_and_changes_nothing_else() -> None:
    state = FeedState(url=FEED.url, body_hash="d1", last_changed=NOW - dt.timedelta(days=5), ttl_minutes=600)
    p = ingest.plan_update(CONFIG, FEED, state, FetchResult(url=FEED.url, status="not_modified", http_status=304),
                           NOW)  # fmt: skip
    assert p.status == "not_modified" and not p.inserts
    assert p.state.body_hash == "d1" and p.state.last_changed == NOW - dt.timedelta(days=5)
    assert p.state.next_due is not None and p.state.next_due - NOW >= dt.timedelta(minutes=600)


def test_the_same_body_as_last_time_needs_no_parse() -> None:
    state = FeedState(url=FEED.url, body_hash=ingest.body_digest(b"<rss/>"), last_status="ok")
    assert not ingest.needs_parse(state, OK, ingest.body_digest(b"<rss/>"))
    assert ingest.needs_parse(state, OK, ingest.body_digest(b"<rss>changed</rss>"))
    assert ingest.needs_parse(replace(state, last_status="error"), OK, ingest.body_digest(b"<rss/>"))
    unchanged = plan(None, state=state, digest=ingest.body_digest(b"<rss/>"))
    assert unchanged.status == "unchanged"


def test_entries_a_stored_copy_had_are_not_fingerprinted_again(tmp_path: Path, monkeypatch: Any) -> None:
    """Issue 11: the parse worker gets the feed's stored fingerprints by change hash; an unchanged
    entry costs no fingerprint, and the one it gets back is the one fingerprinting would make."""
    from aggregator import dedupe
    from aggregator.config import load_config
    from aggregator.parse import parse_feed
    from aggregator.store import Store
    from conftest import FEED_DATA, feed_entry, run_cli, write_config
    from feedserver import FeedServer

    body = (FEED_DATA / "wordpress_rss2.xml").read_bytes()
    with FeedServer() as server:
        url = server.add("/wp.xml", body)
        config_path = write_config(tmp_path, [feed_entry(url, "Party")])
        assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    with Store.open(config.database) as store:
        known = store.stored_fingerprints(url)
    parsed = parse_feed(body, {}, url)
    assert len(known) == len(parsed.entries) >= 3
    now = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    fresh = ingest.prepare_feed(parsed, "en", now)

    # One entry edited since it was stored: only it is fingerprinted.
    edited = replace(parsed.entries[0], content_html=parsed.entries[0].content_html + "<p>A correction.</p>")
    document = replace(parsed, entries=(edited, *parsed.entries[1:]))
    fingerprinted: list[str] = []
    real = dedupe.fingerprint

    def counting(title: str, *args: Any) -> dedupe.Fingerprint:
        fingerprinted.append(title)
        return real(title, *args)

    monkeypatch.setattr(dedupe, "fingerprint", counting)
    reused = ingest.prepare_feed(document, "en", now, known)
    assert fingerprinted == [edited.title]
    assert reused.entries[0].search_text and reused.entries[0].references is not None
    for mine, theirs in zip(reused.entries[1:], fresh.entries[1:]):
        assert mine.fingerprint == theirs.fingerprint  # band keys, minhash, hashes: all the same
        assert mine.change_hash == theirs.change_hash and mine.language == theirs.language
        assert mine.search_text == "" and mine.references is None  # made by the store if ever written


def test_the_next_fetch_is_due_an_interval_after_the_cycle_began_not_after_the_store() -> None:
    """A feed stored 40 s into an hourly cycle with an hourly interval must be due for the next
    hourly cycle (due 1 h after the cycle began), not 40 s after it starts: it was polled every 2 h."""
    from aggregator.models import PollingSettings

    config = replace(CONFIG, polling=PollingSettings(min_interval=3600, default_interval=3600, max_interval=3600))
    state = FeedState(url=FEED.url)
    result = FetchResult(url=FEED.url, status="not_modified", http_status=304)
    began = NOW - dt.timedelta(seconds=40)
    p = ingest.plan_update(config, FEED, state, result, NOW, due_from=began)
    assert p.state.next_due == began + dt.timedelta(hours=1)
    assert p.state.last_fetched == NOW  # the fetch itself is still recorded when it was stored
    assert ingest.plan_update(config, FEED, state, result, NOW).state.next_due == NOW + dt.timedelta(hours=1)
    # An error backs off from the cycle's start too.
    failed = replace(result, status="error", http_status=500, error="500")
    p = ingest.plan_update(config, FEED, state, failed, NOW, due_from=began)
    assert p.state.next_due == began + dt.timedelta(hours=1)  # the first failure's back-off: min_interval
