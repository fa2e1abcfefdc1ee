"""One feed's update, from a fetch result to what is stored: read the body (parse and prepare),
look up what the feed already has, let ingest.py plan, and have the store apply the plan.

The cycle runs this for every fetched feed; a WebSub push or a web "fetch now" runs the same.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import dedupe, ingest
from .ingest import PreparedFeed
from .models import Config, FeedConfig, FeedState, FeedStatus, FetchResult, ParseError
from .store import Store

log = logging.getLogger("aggregator.update")

Parse = Callable[[bytes, Mapping[str, str], str, tuple[str, ...], dt.datetime], PreparedFeed]


@dataclass(frozen=True)
class ReadBody:
    """What reading a fetched body gave: the prepared feed, or why there is none."""

    digest: str | None = None
    prepared: PreparedFeed | None = None
    parse_error: str | None = None
    suggested_url: str | None = None


@dataclass(frozen=True)
class FeedOutcome:
    """One feed's result in a cycle, for progress display and logs."""

    feed: FeedConfig
    status: FeedStatus
    new: int
    updated: int
    seconds: float
    error: str | None


def parse_needed(state: FeedState | None, result: FetchResult) -> tuple[str | None, bool]:
    """The body's digest, and whether it must be parsed (not when it is the one parsed last time)."""
    if result.status != "ok" or result.body is None:
        return None, False
    digest = ingest.body_digest(result.body)
    return digest, ingest.needs_parse(state, result, digest)


def failed_read(feed: FeedConfig, digest: str | None, exc: Exception) -> ReadBody:
    """What a parse that raised gave: the feed's fault (ParseError) or, logged, a bug of ours."""
    if isinstance(exc, ParseError):
        return ReadBody(digest=digest, parse_error=str(exc), suggested_url=exc.suggested_feed_url)
    log.error("internal error while parsing %s", feed.url, exc_info=exc)
    return ReadBody(digest=digest, parse_error=f"internal error while parsing: {type(exc).__name__}: {exc}")


def read_body(
    feed: FeedConfig, state: FeedState | None, result: FetchResult, now: dt.datetime,
    parse: Parse = ingest.parse_and_prepare,
) -> ReadBody:  # fmt: skip
    """Parse a fetched body (in this thread) unless it is the one parsed last time."""
    digest, needed = parse_needed(state, result)
    if not needed or result.body is None:
        return ReadBody(digest=digest)
    try:
        prepared = parse(result.body, result.headers, result.final_url or result.url, feed.languages, now)
    except Exception as exc:  # a bug must cost one feed, never the cycle
        return failed_read(feed, digest, exc)
    return ReadBody(digest=digest, prepared=prepared)


def store_result(
    store: Store,
    config: Config,
    feed: FeedConfig,
    state: FeedState,
    result: FetchResult,
    read: ReadBody,
    now: dt.datetime,
    matcher: dedupe.StoryMatcher,
    due_from: dt.datetime | None = None,
) -> FeedOutcome:
    """Plan and write one fetch's outcome in one transaction (`due_from`: ingest.plan_update's)."""
    wanted = ingest.lookup_keys(read.prepared)
    with store.transaction():
        if read.prepared is not None:
            stored = store.stored_entries(feed.url, wanted)
            tombstones = store.tombstones(feed.url, wanted)
        else:
            stored, tombstones = [], ingest.Tombstones()
        plan = ingest.plan_update(
            config, feed, state, result, now, digest=read.digest, prepared=read.prepared,
            parse_error=read.parse_error, suggested_url=read.suggested_url, stored=stored, tombstones=tombstones,
            due_from=due_from,
        )  # fmt: skip
        counts = store.apply(plan, matcher)
    return FeedOutcome(feed, plan.status, counts.new, counts.updated, result.elapsed, plan.error)


def store_results(
    store: Store,
    config: Config,
    fetched: Sequence[tuple[FeedConfig, FeedState, FetchResult, ReadBody, dt.datetime]],
    matcher: dedupe.StoryMatcher,
    due_from: dt.datetime | None = None,
) -> list[FeedOutcome]:
    """store_result for several fetches at once, in one transaction: for those that write no
    entries (304 Not Modified, a body parsed before, an error), whose transaction is almost all of
    what storing them costs. Each (feed, state, result, read, now) is planned as store_result would."""
    with store.transaction():  # store_result's own transactions join this one
        return [
            store_result(store, config, feed, state, result, read, now, matcher, due_from)
            for feed, state, result, read, now in fetched
        ]


def update_feed(
    store: Store, config: Config, feed: FeedConfig, result: FetchResult, now: dt.datetime,
    matcher: dedupe.StoryMatcher | None = None,
) -> FeedOutcome:  # fmt: skip
    """The whole step for one fetch result, in this thread: for a pushed or a single fetched feed.
    The feed must be in the database already (Store.sync_feeds with the config's feeds)."""
    state = store.feed_states(recent_of=[feed.url]).get(feed.url) or FeedState(url=feed.url, enabled=feed.enabled)
    read = read_body(feed, state, result, now)
    return store_result(store, config, feed, state, result, read, now, matcher or dedupe.StoryMatcher(config.dedupe))
