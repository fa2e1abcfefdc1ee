"""WebSub, the publisher's side (https://www.w3.org/TR/websub/): after a publish that changed some
feeds, tell the configured hub which ones, so subscribers get them pushed instead of polling.

Every feed names the hub (<link rel="hub">, JSON Feed `hubs`; see outputs.py). Here: a form POST
`hub.mode=publish&hub.url=<feed URL>` per changed feed, with a bounded timeout. A ping the hub
did not accept (an error status, a timeout, no hub there) is kept in the store's queue and tried
again after the next publish; nothing here ever stops a cycle or a command.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

from . import user_agent_for
from .archive import is_archive_path
from .http_client import httpx
from .models import Config
from .store import Store

log = logging.getLogger("aggregator.websub")

PING_TIMEOUT = 10.0  # seconds, per ping (connect + answer)
FEED_SUFFIXES = (".atom", ".json")  # the subscription documents among the published files


@dataclass
class PingReport:
    pinged: list[str] = field(default_factory=list)  # feed URLs the hub accepted
    failed: list[str] = field(default_factory=list)  # feed URLs left in the queue for next time
    error: str | None = None  # the last failure, for the log


def changed_feed_urls(config: Config, changed_paths: Sequence[str]) -> list[str]:
    """The public URLs of the subscription feeds among the changed output paths (not the HTML
    page, the OPML files or the feed archives, which no one subscribes to through a hub)."""
    return [
        urljoin(config.base_url, p)
        for p in changed_paths
        if p.endswith(FEED_SUFFIXES) and not is_archive_path(p)
    ]


def notify_hub(
    config: Config, store: Store, changed_paths: Sequence[str], *, timeout: float = PING_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> PingReport:  # fmt: skip
    """Queue the changed feeds and ping the hub for everything queued. Never raises: a failure is
    logged and its URLs wait for the next call. Does nothing without `websub.hub` in the config."""
    report = PingReport()
    hub = config.websub.hub
    if not hub:
        return report
    try:
        store.queue_websub(changed_feed_urls(config, changed_paths))
        pending = store.websub_pending()
        if pending:
            _ping_all(hub, pending, store, report, timeout, transport, user_agent_for(config.base_url))
    except Exception as exc:  # WebSub is a courtesy: it must never cost a cycle
        report.error = f"{type(exc).__name__}: {exc}"
        log.warning("WebSub: could not notify the hub %s: %s", hub, report.error)
    return report


def _ping_all(
    hub: str, pending: list[str], store: Store, report: PingReport, timeout: float,
    transport: httpx.BaseTransport | None, user_agent: str,
) -> None:  # fmt: skip
    with httpx.Client(timeout=timeout, transport=transport, headers={"User-Agent": user_agent}) as client:
        for number, url in enumerate(pending):
            try:
                response = client.post(hub, data={"hub.mode": "publish", "hub.url": url})
            except httpx.HTTPError as exc:
                # The hub is unreachable or too slow: the rest would fail alike, each after the
                # timeout, so they all wait for the next publish.
                report.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                for left in pending[number:]:
                    store.websub_failed(left, report.error)
                    report.failed.append(left)
                log.warning("WebSub: hub %s unreachable (%s); %d feed(s) kept for the next publish",
                            hub, report.error, len(pending) - number)  # fmt: skip
                return
            if 200 <= response.status_code < 300:
                store.websub_done(url)
                report.pinged.append(url)
            else:
                report.error = f"HTTP {response.status_code}"
                store.websub_failed(url, report.error)
                report.failed.append(url)
                log.warning("WebSub: hub %s answered %s for %s; kept for the next publish", hub, report.error, url)
    if report.pinged:
        log.info("WebSub: hub %s told of %d changed feed(s)", hub, len(report.pinged))
