"""One update cycle: pick the due feeds, fetch them, parse what changed, store it, prune, publish.

This is the only place the stages meet; it holds no SQL, HTTP or XML of its own. Fetching is
concurrent, parsing runs on every core, and one thread stores the feeds as they are parsed, those
that come in quick succession in one transaction (groupwrite.py; those that only record their
fetch, 32 together).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

from . import polling, user_agent_for
from .lock import CycleLock
from .models import Config, CycleReport, FeedConfig, FeedSchedule, FeedState, FetchRequest, FetchResult
from .store import Store
from .times import utcnow

if TYPE_CHECKING:  # a cycle with nothing due loads neither the fetcher, the parser nor feedgen
    from .ingest import PreparedFeed
    from .parsepool import FeedParserPool
    from .update import FeedOutcome, ReadBody

log = logging.getLogger("aggregator.cycle")

ProgressCallback = Callable[["FeedOutcome"], None]

# At most this many feeds are between the start of their fetch and the end of their store: their
# bodies and parsed entries are all a cycle holds, so its memory does not grow with the number of
# feeds (storing is the slowest stage; without a bound every fetched body waited in memory).
IN_FLIGHT = 32
STATE_ONLY_BATCH = 32


def select_due(
    config: Config,
    schedules: Mapping[str, FeedSchedule],
    now: dt.datetime,
    force_all: bool = False,
    only_urls: set[str] | None = None,
) -> tuple[list[FeedConfig], int]:
    """The feeds to fetch now, and how many enabled feeds were skipped as not yet due."""
    due: list[FeedConfig] = []
    skipped = 0
    for feed in config.feeds:
        if only_urls is not None:
            if feed.url in only_urls:
                due.append(feed)
            continue
        if not feed.enabled:
            continue
        schedule = schedules.get(feed.url)
        if schedule is not None and schedule.last_status == "gone":
            skipped += 1
            continue
        if force_all or schedule is None or polling.is_due(schedule.next_due, now):
            due.append(feed)
        else:
            skipped += 1
    return due, skipped


def run_cycle(
    config: Config,
    *,
    force_all: bool = False,
    only_urls: set[str] | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    user_agent: str | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> CycleReport:
    """Run one cycle under the cycle lock. Raises LockHeld if another cycle runs.

    `clock` gives "now" for due times and backoff, so tests can run the policy on scheduler time.
    `user_agent` defaults to one naming the software and the config's base_url."""
    user_agent = user_agent or user_agent_for(config.base_url)
    with CycleLock(config.database):
        with Store.open(config.database) as store:
            return _run_locked(config, store, force_all, only_urls, progress, stop, user_agent, clock)


def _run_locked(
    config: Config,
    store: Store,
    force_all: bool,
    only_urls: set[str] | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    user_agent: str,
    clock: Callable[[], dt.datetime],
) -> CycleReport:
    started = time.monotonic()
    now = clock()
    store.sync_feeds(config.feeds, now)
    cycle_id = store.start_cycle(now)
    schedules = store.feed_schedules()  # which feeds are due needs neither whole states nor entry times
    due, skipped = select_due(config, schedules, now, force_all, only_urls)
    report = CycleReport(skipped=skipped)

    if due:
        # The due feeds' states, with their posting rates for when each is due next.
        states = store.feed_states(recent_of=None if len(due) == len(schedules) else [f.url for f in due])
        import asyncio  # here: a cycle with nothing due does not load it (start-up, 26 ms)

        asyncio.run(_fetch_parse_store(config, store, due, states, report, progress, stop, user_agent, clock, now))
    if any(f.full_text and f.enabled for f in config.feeds) and not (stop is not None and stop.is_set()):
        # After every feed is stored, so pages of all feeds share one client, robots.txt cache and
        # per-host limit; before publishing, so this cycle's outputs carry the full texts.
        from .fulltext import fetch_full_texts

        full = fetch_full_texts(config, store, user_agent, now, stop, clock)
        report.full_text_ok, report.full_text_failed = full.ok, full.failed
        if full.ok or full.failed:
            log.info("full text: %d pages extracted, %d failed, %.2fs", full.ok, full.failed, full.seconds)
    else:
        store.sync_full_text_feeds([], now)  # switched off everywhere: switching on later starts afresh
    if stop is not None and stop.is_set():
        report.interrupted = True

    report.pruned_stories = store.prune(
        clock(), config.retention_days, config.retention_keep_per_feed, band_days=2 * config.dedupe.window_days
    )
    if report.pruned_stories:
        log.info("pruned %d stories older than %g days", report.pruned_stories, config.retention_days)
    from .publish import publish_if_changed

    report.changed_outputs = tuple(publish_if_changed(config, store).changed)
    if config.websub.hub:  # WebSub: tell the hub which feeds changed (and retry what it missed)
        from .websub import notify_hub

        notify_hub(config, store, report.changed_outputs)
    report.seconds = round(time.monotonic() - started, 3)
    store.finish_cycle(cycle_id, clock(), report)
    return report


async def _fetch_parse_store(
    config: Config,
    store: Store,
    due: list[FeedConfig],
    states: dict[str, FeedState],
    report: CycleReport,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    user_agent: str,
    clock: Callable[[], dt.datetime],
    started: dt.datetime,
) -> None:
    """Fetch the due feeds concurrently; as each answers, parse it in the pool and store it. Each
    feed's next fetch is due an interval after `started`, when the cycle chose it."""
    import asyncio

    from . import dedupe
    from .fetch import iter_fetch
    from .groupwrite import GroupWriter
    from .parsepool import FeedParserPool
    from .update import store_result, store_results

    feeds = {f.url: f for f in due}
    requests = [
        FetchRequest(
            url=f.url,
            etag=states[f.url].etag if f.url in states else None,
            last_modified=states[f.url].last_modified if f.url in states else None,
        )
        for f in due
    ]
    parser = FeedParserPool(len(due), settings=config.fetch)
    matcher = dedupe.StoryMatcher(config.dedupe)
    pending: set[asyncio.Task[None]] = set()
    # Storing happens on one thread of its own, one feed at a time (SQLite has one writer anyway),
    # so that the fetches and their deadlines go on while a large feed is written. At most half the
    # feeds in flight wait for their transaction's commit, so the rest can still be fetched.
    writer = GroupWriter(store.transaction, max_calls=max(1, IN_FLIGHT // 2))

    slots = asyncio.Semaphore(IN_FLIGHT)
    # Fetches that write no entries (304, a body parsed before, an error) wait here and are stored
    # STATE_ONLY_BATCH at a time, in one transaction: storing each on its own cost a commit and a
    # trip to the writer thread, about a tenth of a cycle in which every feed answered 304.
    state_only: list[tuple[FeedConfig, FeedState, FetchResult, ReadBody, dt.datetime]] = []
    # Feeds fetched but not yet handed to the writer (being parsed): while there are none, no write
    # is coming soon, so the writer commits at once instead of lingering for one.
    unsubmitted = 0

    def submitted() -> None:
        nonlocal unsubmitted
        unsubmitted -= 1
        if unsubmitted == 0:
            writer.flush()

    def done(outcome: FeedOutcome) -> None:
        _count(report, outcome)
        _log_outcome(outcome)
        if progress is not None:
            progress(outcome)

    async def store_state_only() -> None:
        batch = state_only[:]
        state_only.clear()
        if batch:
            stored = writer.submit(store_results, store, config, batch, matcher, started)
            if unsubmitted == 0:
                writer.flush()
            for outcome in await asyncio.wrap_future(stored):
                done(outcome)

    async def handle(result: FetchResult) -> None:
        feed = feeds[result.url]
        state = states.get(feed.url) or FeedState(url=feed.url, enabled=feed.enabled)
        waiting = True
        try:
            read = await _read_in_pool(parser, store, feed, state, result, clock())
            if read.prepared is None:
                # Without its body (a body parsed before needs only its digest, in `read`), so the
                # waiting results hold no more memory than their headers.
                state_only.append((feed, state, dataclasses.replace(result, body=None), read, clock()))
                waiting = False
                submitted()
                outcome = None
            else:
                stored = writer.submit(store_result, store, config, feed, state, result, read, clock(), matcher, started)
                waiting = False
                submitted()
                outcome = await asyncio.wrap_future(stored)
        finally:
            if waiting:
                submitted()
            slots.release()  # the next feed may be fetched
        if outcome is not None:
            done(outcome)
        elif len(state_only) >= STATE_ONLY_BATCH:
            await store_state_only()

    results = iter_fetch(requests, config.fetch, user_agent=user_agent, slots=slots)
    try:
        async for result in _until_stopped(results, stop):
            unsubmitted += 1
            task = asyncio.create_task(handle(result))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
        await store_state_only()  # also after a stop: what was fetched is recorded
    finally:
        await results.aclose()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        writer.close()
        parser.shutdown()


async def _read_in_pool(
    parser: FeedParserPool, store: Store, feed: FeedConfig, state: FeedState, result: FetchResult, now: dt.datetime
) -> ReadBody:
    """update.read_body, with the parse (the costly part) on the pool's processes."""
    import asyncio

    from .update import ReadBody, failed_read, parse_needed

    digest, needed = parse_needed(state, result)
    if not needed or result.body is None:
        return ReadBody(digest=digest)
    try:
        # What the feed's stored copies were fingerprinted to: its unchanged entries are not again.
        known = await asyncio.get_running_loop().run_in_executor(None, store.stored_fingerprints, feed.url)
        prepared: PreparedFeed = await parser.parse(
            result.body, result.headers, result.final_url or result.url, feed.languages, now, known
        )
    except Exception as exc:  # a bug must cost one feed, never the cycle
        return failed_read(feed, digest, exc)
    return ReadBody(digest=digest, prepared=prepared)


def _log_outcome(outcome: "FeedOutcome") -> None:
    feed, error = outcome.feed, outcome.error
    log.info(
        "%s %s: %s%s, %d new, %d updated, %.2fs",
        feed.name, feed.url, outcome.status, f" ({error})" if error else "", outcome.new, outcome.updated,
        outcome.seconds,
        extra={
            "feed_url": feed.url, "outcome": outcome.status, "new": outcome.new, "updated": outcome.updated,
            "seconds": outcome.seconds,
        },
    )  # fmt: skip


async def _until_stopped(
    results: AsyncIterator[FetchResult], stop: threading.Event | None
) -> AsyncIterator[FetchResult]:
    """The fetch results until `stop` is set. A stop is noticed within a fifth of a second even
    while every remaining fetch is slow; those fetches are abandoned unrecorded, so stay due."""
    import asyncio

    while stop is None or not stop.is_set():
        following = asyncio.ensure_future(anext(results))
        while not following.done():
            if stop is not None and stop.is_set():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
                return
            await asyncio.wait({following}, timeout=0.2)
        try:
            yield following.result()
        except StopAsyncIteration:
            return


def _count(report: CycleReport, outcome: "FeedOutcome") -> None:
    if outcome.status == "ok":
        report.ok += 1
    elif outcome.status == "unchanged":
        report.unchanged += 1
    elif outcome.status == "not_modified":
        report.not_modified += 1
    else:
        report.failed += 1
    report.new_entries += outcome.new
    report.updated_entries += outcome.updated
