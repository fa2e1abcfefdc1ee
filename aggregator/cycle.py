"""One update cycle: pick the due feeds, fetch them, parse what changed, store it, prune, publish.

This is the only place the stages meet; it holds no SQL, HTTP or XML of its own. Fetching is
concurrent, parsing runs on every core, and each feed is stored in its own transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from . import dedupe, polling, user_agent_for
from .fetch import iter_fetch
from .lock import CycleLock
from .models import (
    Config,
    CycleReport,
    FeedConfig,
    FeedStatus,
    FetchRequest,
    FetchResult,
    ParsedFeed,
    ParseError,
)
from .parse import parse_feed
from .publish import publish
from .store import FeedFetchState, FeedUpdate, Store, utcnow

log = logging.getLogger("aggregator.cycle")

# Below this many bodies to parse, starting worker processes costs more than it saves.
PARSE_POOL_MIN_FEEDS = 4


@dataclass(frozen=True)
class FeedOutcome:
    """One feed's result in a cycle, for progress display and logs."""

    feed: FeedConfig
    status: FeedStatus
    new: int
    updated: int
    seconds: float
    error: str | None


ProgressCallback = Callable[[FeedOutcome], None]


def select_due(
    config: Config,
    states: dict[str, FeedFetchState],
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
        state = states.get(feed.url)
        if state is not None and state.last_status == "gone":
            skipped += 1
            continue
        if force_all or state is None or polling.is_due(state.next_due, now):
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
    states = store.fetch_states()
    due, skipped = select_due(config, states, now, force_all, only_urls)
    report = CycleReport(skipped=skipped)
    matcher = dedupe.StoryMatcher(config.dedupe)

    if due:
        asyncio.run(
            _fetch_parse_store(config, store, due, states, matcher, report, progress, stop, user_agent, clock)
        )
    if stop is not None and stop.is_set():
        report.interrupted = True

    pruned = store.prune(clock(), config.retention_days, band_days=2 * config.dedupe.window_days)
    if pruned:
        log.info("pruned %d stories older than %g days", pruned, config.retention_days)
    publish(config, store)
    report.seconds = round(time.monotonic() - started, 3)
    store.finish_cycle(cycle_id, clock(), report)
    return report


async def _fetch_parse_store(
    config: Config,
    store: Store,
    due: list[FeedConfig],
    states: dict[str, FeedFetchState],
    matcher: dedupe.StoryMatcher,
    report: CycleReport,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    user_agent: str,
    clock: Callable[[], dt.datetime],
) -> None:
    feeds = {f.url: f for f in due}
    requests = [
        FetchRequest(
            url=f.url,
            etag=states[f.url].etag if f.url in states else None,
            last_modified=states[f.url].last_modified if f.url in states else None,
        )
        for f in due
    ]
    parser = FeedParserPool(len(due))
    pending: set[asyncio.Task[None]] = set()
    # Storing happens on this one thread, one feed at a time: SQLite has one writer anyway.
    store_lock = asyncio.Lock()

    async def handle(result: FetchResult) -> None:
        feed = feeds[result.url]
        state = states.get(feed.url)
        parsed: ParsedFeed | None = None
        parse_error: str | None = None
        suggested: str | None = None
        body_hash: str | None = None
        status: FeedStatus = result.status
        if result.status == "ok" and result.body is not None:
            body_hash = hashlib.sha256(result.body).hexdigest()
            if state is not None and state.body_hash == body_hash and state.last_status in ("ok", "not_modified"):
                status = "unchanged"  # same bytes without validators: nothing to parse
            else:
                try:
                    parsed = await parser.parse(result.body, result.headers, result.final_url or result.url)
                except ParseError as exc:
                    parse_error, suggested = str(exc), exc.suggested_feed_url
                except Exception as exc:  # a bug must cost one feed, never the cycle
                    log.exception("internal error while parsing %s", feed.url)
                    parse_error = f"internal error while parsing: {type(exc).__name__}: {exc}"
                if parse_error is not None:
                    status = "error"
        now = clock()
        next_due = _next_due(config, state, result, parsed, status, now)
        async with store_lock:
            counts = store.record_update(
                FeedUpdate(
                    feed=feed,
                    fetched=result,
                    now=now,
                    next_due=next_due,
                    parsed=parsed,
                    parse_error=parse_error,
                    suggested_url=suggested,
                    body_hash=body_hash,
                ),
                matcher,
                config.retention_days,
            )
        error = parse_error or result.error
        _count(report, status, counts.new, counts.updated)
        outcome = FeedOutcome(feed, status, counts.new, counts.updated, result.elapsed, error)
        log.info(
            "%s %s: %s%s, %d new, %d updated, %.2fs",
            feed.name,
            feed.url,
            status,
            f" ({error})" if error else "",
            counts.new,
            counts.updated,
            result.elapsed,
            extra={
                "feed_url": feed.url, "outcome": status, "new": counts.new, "updated": counts.updated,
                "seconds": result.elapsed,
            },  # fmt: skip
        )
        if progress is not None:
            progress(outcome)

    results = iter_fetch(requests, config.fetch, user_agent=user_agent)
    try:
        async for result in _until_stopped(results, stop):
            task = asyncio.create_task(handle(result))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
    finally:
        await results.aclose()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        parser.shutdown()


async def _until_stopped(
    results: AsyncIterator[FetchResult], stop: threading.Event | None
) -> AsyncIterator[FetchResult]:
    """The fetch results until `stop` is set. A stop is noticed within a fifth of a second even
    while every remaining fetch is slow; those fetches are abandoned unrecorded, so stay due."""
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


class FeedParserPool:
    """Runs parse_feed on every core. A worker that dies (killed for memory by a hostile feed)
    costs that one feed: the broken pool is replaced, and the rest of the cycle goes on."""

    def __init__(self, feed_count: int, parse: Callable[..., ParsedFeed] = parse_feed) -> None:
        self._feed_count = feed_count
        self._parse = parse
        self._pool = _parse_pool(feed_count)

    async def parse(self, body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, self._parse, body, headers, url)
        except concurrent.futures.process.BrokenProcessPool:
            if self._pool is pool and pool is not None:  # the first feed to notice replaces it
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = _parse_pool(self._feed_count)
            raise ParseError("the parser process died while reading this feed (out of memory?)") from None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _parse_pool(feed_count: int) -> concurrent.futures.Executor | None:
    workers = min(os.cpu_count() or 1, 4)
    if feed_count < PARSE_POOL_MIN_FEEDS or workers < 2:
        return None  # None = the loop's default thread pool
    # forkserver: children start from a clean process, not a copy of one with threads running.
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    )


def _next_due(
    config: Config,
    state: FeedFetchState | None,
    result: FetchResult,
    parsed: ParsedFeed | None,
    status: str,
    now: dt.datetime,
) -> dt.datetime | None:
    if status == "gone":
        return None
    if status == "error":
        failures = (state.consecutive_failures if state else 0) + 1
        return polling.next_due_after_failure(now, config.polling, failures, result.retry_after)
    return polling.next_due_after_success(
        now,
        config.polling,
        headers=result.headers,
        # A 304 or an unchanged body carries no <ttl>: the last parse's hints still hold.
        ttl_minutes=parsed.ttl_minutes if parsed else (state.ttl_minutes if state else None),
        update_seconds=parsed.update_seconds if parsed else (state.update_seconds if state else None),
        entry_times=state.recent_entry_times if state else (),
    )


def _count(report: CycleReport, status: FeedStatus, new: int, updated: int) -> None:
    if status == "ok":
        report.ok += 1
    elif status == "unchanged":
        report.unchanged += 1
    elif status == "not_modified":
        report.not_modified += 1
    else:
        report.failed += 1
    report.new_entries += new
    report.updated_entries += updated
