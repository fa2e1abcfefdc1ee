"""Full text for excerpt-only feeds: fetch the article page of each new entry of a `full_text: true`
feed (robots.txt honoured), extract its main text with trafilatura, sanitize it, and store it.

It owns no HTTP stack (fetch.fetch_feed does every request, with the feeds' limits and address
guard) and no SQL (Store does); extraction runs in killable worker processes, never in this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .models import Config, FetchRequest, FetchResult, FullTextJob, ParseError
from .store import Store

if TYPE_CHECKING:  # loaded only when a full_text feed has pages to fetch
    import urllib.robotparser

    import httpx

    from .fetch import ConcurrencyLimits
    from .parsepool import FeedParserPool

log = logging.getLogger("aggregator.fulltext")

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_MAX_ROBOTS_LINES = 10_000


@dataclass
class FullTextReport:
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    extract_seconds: list[float] = dataclasses.field(default_factory=list)  # per extracted page, in the worker


def extract_article(body: bytes, url: str, max_chars: int) -> tuple[str, float]:
    """The page's main text as sanitized HTML (paragraphs, headings, lists, links, images), at most
    `max_chars` characters, and the seconds extraction took. Runs in a parse worker process.
    Raises ParseError when the page has no main text."""
    started = time.perf_counter()
    import trafilatura  # here, not at the top: a cycle without full_text feeds never loads it

    from .sanitize import clean_html, clean_text

    extracted = trafilatura.extract(
        body, url=url, output_format="html", include_links=True, include_images=True, include_tables=True,
        # No deduplicate: trafilatura remembers segments across calls in a process, so the same
        # paragraph on two pages would vanish from the second, depending on which worker ran it.
        include_comments=False, include_formatting=True, deduplicate=False,
    )  # fmt: skip
    if not extracted:
        raise ParseError("no main text found on the page")
    cleaned = clean_html(extracted, base_url=url, max_chars=max_chars)
    if not clean_text(cleaned, max_chars=200).strip():
        raise ParseError("no main text found on the page")
    return cleaned, time.perf_counter() - started


class RobotsRules:
    """robots.txt per origin (scheme, host, port), fetched once per cycle with the same client and
    limits as everything else, read with urllib.robotparser (RFC 9309: a 4xx answer allows
    everything; a 5xx or a network failure allows nothing, this cycle)."""

    def __init__(
        self, client: httpx.AsyncClient, config: Config, limits: ConcurrencyLimits, user_agent: str
    ) -> None:
        self._client, self._config, self._limits = client, config, limits
        self._agent = user_agent
        self._rules: dict[str, urllib.robotparser.RobotFileParser | str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids fetching `url` (None: allowed)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._rules:
                self._rules[origin] = await self._read(origin)
        rules = self._rules[origin]
        if isinstance(rules, str):
            return rules
        return None if rules.can_fetch(self._agent, url) else "robots.txt disallows this page"

    async def _read(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        import urllib.robotparser

        from .fetch import fetch_feed

        result = await fetch_feed(
            self._client, FetchRequest(url=origin + "/robots.txt"), self._config.fetch, limits=self._limits
        )
        rules = urllib.robotparser.RobotFileParser()
        status = result.http_status or 0
        if result.status == "ok" and result.body is not None:
            rules.parse(result.body.decode("utf-8", "replace").splitlines()[:_MAX_ROBOTS_LINES])
        elif 400 <= status < 500:
            rules.parse([])  # no robots.txt: everything is allowed
        else:
            return f"robots.txt could not be read ({result.error or 'no answer'})"
        return rules


def _page_problem(result: FetchResult) -> str | None:
    """Why a fetched page cannot be extracted, or None."""
    if result.status != "ok" or result.body is None:
        return result.error or f"no page ({result.status})"
    kind = result.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        return f"not an HTML page ({kind[:60]})"
    return None


async def _run_jobs(
    config: Config,
    store: Store,
    jobs: list[FullTextJob],
    user_agent: str,
    stop: threading.Event | None,
    clock: Callable[[], dt.datetime],
    report: FullTextReport,
) -> None:
    from .fetch import PAGE_ACCEPT, ConcurrencyLimits, make_client
    from .parsepool import FeedParserPool

    settings = dataclasses.replace(config.fetch, per_host=config.full_text.per_host)
    limits = ConcurrencyLimits(settings)
    extractor = FeedParserPool(len(jobs), extract_article, timeout=config.full_text.extract_timeout)
    try:
        async with make_client(settings, user_agent, accept=PAGE_ACCEPT) as client:
            robots = RobotsRules(client, config, limits, user_agent)

            async def one(job: FullTextJob) -> None:
                if stop is not None and stop.is_set():
                    return  # left untried: the next cycle takes it
                html, error = await _fetch_and_extract(job, config, client, limits, robots, extractor, report)
                now = clock()
                if html is not None:
                    store.record_full_text(job.entry_id, html, now)
                    report.ok += 1
                else:
                    error = error or "unknown error"
                    store.record_full_text_failure(job.entry_id, error, now)
                    report.failed += 1
                    log.info("full text of %s: %s (attempt %d)", job.link, error, job.attempts + 1,
                             extra={"feed_url": job.feed_url, "outcome": "full_text_failed"})  # fmt: skip

            await asyncio.gather(*(one(job) for job in jobs))
    finally:
        extractor.shutdown()


async def _fetch_and_extract(
    job: FullTextJob,
    config: Config,
    client: httpx.AsyncClient,
    limits: ConcurrencyLimits,
    robots: RobotsRules,
    extractor: FeedParserPool,
    report: FullTextReport,
) -> tuple[str | None, str | None]:
    """(html, None) or (None, why not)."""
    from .fetch import fetch_feed
    from .parsepool import ParserTimeout

    refusal = await robots.refusal(job.link)
    if refusal is not None:
        return None, refusal
    result = await fetch_feed(client, FetchRequest(url=job.link), config.fetch, limits=limits)
    problem = _page_problem(result)
    if problem is not None or result.body is None:
        return None, problem
    try:
        html, seconds = await extractor.parse(result.body, result.final_url or job.link, config.fetch.max_entry_html)
    except ParserTimeout:
        return None, f"extraction took longer than {config.full_text.extract_timeout:g} s"
    except ParseError as exc:
        return None, str(exc)
    except Exception as exc:  # a bug must cost one page, never the cycle
        log.warning("internal error extracting %s", job.link, exc_info=True)
        return None, f"internal error while extracting: {type(exc).__name__}"
    report.extract_seconds.append(seconds)
    return str(html), None


def fetch_full_texts(
    config: Config,
    store: Store,
    user_agent: str,
    cycle_started: dt.datetime,
    stop: threading.Event | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> FullTextReport:
    """The cycle's full-text step: fetch and store the article pages due now (new entries of
    full_text feeds, and earlier failures due for another try), at most full_text.max_per_cycle.
    A feed switched on in this cycle takes the entries stored since `cycle_started`."""
    from .times import utcnow

    clock = clock or utcnow
    started = time.monotonic()
    report = FullTextReport()
    store.sync_full_text_feeds([f.url for f in config.feeds if f.full_text and f.enabled], cycle_started)
    now = clock()
    settings = config.full_text
    jobs = store.full_text_jobs(now, settings.max_attempts, settings.retry_after, settings.max_per_cycle)
    if jobs:
        asyncio.run(_run_jobs(config, store, jobs, user_agent, stop, clock, report))
    report.seconds = time.monotonic() - started
    return report
