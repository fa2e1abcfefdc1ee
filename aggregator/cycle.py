"""One update cycle: pick the due feeds, fetch them, parse what changed, store it, prune, publish.

This is the only place the stages meet; it holds no SQL, HTTP or XML of its own. Fetching is
concurrent, parsing runs on every core, and each feed is stored in its own transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

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
    FetchSettings,
    ParsedFeed,
    ParseError,
)
from .parse import parse_feed
from .publish import publish
from .store import FeedFetchState, FeedUpdate, Store, utcnow

log = logging.getLogger("aggregator.cycle")


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
    parser = FeedParserPool(len(due), settings=config.fetch)
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


class ParserTimeout(ParseError):
    """A feed took longer to parse than fetch.parse_timeout; its worker was killed."""


def _parse_worker(conn: Connection, parse: Callable[..., ParsedFeed]) -> None:
    """A parse worker process: read (body, headers, url, options) jobs, answer each one, until
    the pipe closes or a None job arrives. It says "ready" first, so starting up (importing the
    parser) does not count against the first feed's time limit."""
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        body, headers, url, options = job
        try:
            answer: tuple[Any, ...] = ("ok", parse(body, headers, url, **options))
        except ParseError as exc:
            answer = ("parse_error", str(exc), exc.suggested_feed_url)
        except Exception as exc:  # parse_feed raises only ParseError; an injected parse may not
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


_WORKER_START_SECONDS = 120.0


class _WorkerProcess:
    """One parse worker: a process and our end of its pipe. Used by one feed at a time."""

    def __init__(self, parse: Callable[..., ParsedFeed]) -> None:
        context = multiprocessing.get_context("forkserver")
        # The fork server imports the main module, the parser and this module (the worker's code)
        # once; each worker forked from it then starts in milliseconds instead of a second or two.
        context.set_forkserver_preload(["__main__", "aggregator.parse", "aggregator.cycle"])
        self.conn, child = context.Pipe(duplex=True)
        # forkserver: children start from a clean process, not a copy of one with threads running.
        self.process = context.Process(target=_parse_worker, args=(child, parse), daemon=True, name="aggregator-parse")
        self.process.start()
        child.close()
        # Generous: on a loaded machine the first worker also waits for the fork server to start.
        ready = self.conn.poll(_WORKER_START_SECONDS)
        try:
            if not ready or self.conn.recv() != ("ready",):
                raise OSError("no answer")
        except (EOFError, OSError) as exc:
            self.kill()
            raise ParseError(f"the parser process did not start ({exc})") from None

    def run(self, job: tuple[Any, ...], timeout: float) -> tuple[Any, ...]:
        """The worker's answer to `job`; ("died",) if it died, ("timeout",) if it took too long."""
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                return ("timeout",)
            answer: tuple[Any, ...] = self.conn.recv()
            return answer
        except (EOFError, OSError):
            return ("died",)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class FeedParserPool:
    """Runs parse_feed in worker processes (one per core, at most 4; fewer for small cycles), never
    in this process, so every parse is bounded in time: a feed that takes longer than `timeout`
    seconds has its worker killed and fails with ParserTimeout. A worker that dies (killed for
    memory by a hostile feed) likewise costs that one feed: it is replaced, and the rest of the
    cycle goes on. Workers start when the first feed needs one."""

    def __init__(
        self,
        feed_count: int,
        parse: Callable[..., ParsedFeed] = parse_feed,
        *,
        settings: FetchSettings | None = None,
        timeout: float | None = None,
    ) -> None:
        settings = settings or FetchSettings()
        self._feed_count = feed_count
        self._parse = parse
        self._timeout = timeout if timeout is not None else settings.parse_timeout
        defaults = FetchSettings()
        # Only options that differ from parse_feed's defaults are passed, so a `parse` that takes
        # just (body, headers, url) still works.
        self._options: dict[str, int] = {}
        if settings.max_entries_per_feed != defaults.max_entries_per_feed:
            self._options["max_entries"] = settings.max_entries_per_feed
        if settings.max_entry_html != defaults.max_entry_html:
            self._options["max_entry_html"] = settings.max_entry_html
        self._size = _parse_pool(feed_count)
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_WorkerProcess] = []
        self._all: set[_WorkerProcess] = set()

    async def parse(self, body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = await loop.run_in_executor(None, _WorkerProcess, self._parse)
                self._all.add(worker)
            answer = await loop.run_in_executor(None, worker.run, (body, headers, url, self._options), self._timeout)
            if answer[0] in ("timeout", "died"):
                self._all.discard(worker)
                await loop.run_in_executor(None, worker.kill)
                if answer[0] == "timeout":
                    raise ParserTimeout(
                        f"parsing took longer than {self._timeout:g} s; the feed is too large or hostile"
                    )
                raise ParseError("the parser process died while reading this feed (out of memory?)")
            self._idle.append(worker)
        if answer[0] == "ok":
            parsed: ParsedFeed = answer[1]
            return parsed
        if answer[0] == "parse_error":
            raise ParseError(answer[1], answer[2])
        raise RuntimeError(answer[1])

    def shutdown(self) -> None:
        for worker in list(self._all):
            if worker in self._idle:
                worker.stop()
            else:  # still parsing (the cycle was stopped): nobody waits for its answer
                worker.kill()
        self._all.clear()
        self._idle.clear()


def _parse_pool(feed_count: int) -> int:
    """How many parse worker processes a cycle with `feed_count` due feeds gets."""
    return max(1, min(os.cpu_count() or 1, 4, feed_count))


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
