"""The desk's publisher: an editor's change (a pick, an unpick, a split, a translation link) is
saved by the request and published by a thread of its own, so the editor does not wait for feeds
to be rendered.

- Requests that arrive while it works are merged into its next publish: a burst of picks costs
  one publish, of the union of what they asked for.
- It publishes under the cycle lock. When a cycle holds it, it waits the cycle out and publishes
  after it, rather than trusting that cycle to publish the change: the cycle may already be past
  its own publish. (What the cycle did publish is then unchanged and not rewritten.)
- A failed publish is logged and kept in `state()` for the desk to show; the next request tries
  again.
- `close()` (at exit) publishes what is still pending, so a change saved just before the server
  stops still reaches the files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..lock import LockHeld
from ..times import utcnow

if TYPE_CHECKING:
    from ..store import Store
    from .config_watch import ConfigWatch

log = logging.getLogger("aggregator.web")

# (only, paths) as publish.publish takes them: None is everything.
Scope = tuple[frozenset[str] | None, frozenset[str] | None]
# Publishes a scope under the cycle lock (raising LockHeld when a cycle holds it) and returns the
# changed files' paths.
PublishFunction = Callable[[frozenset[str] | None, frozenset[str] | None], list[str]]

# How long a first request waits for others to join it (an editor picking several stories).
GATHER_SECONDS = 0.05
# How often a held cycle lock is tried again.
RETRY_SECONDS = 0.5


def merge(a: Scope | None, b: Scope) -> Scope:
    """The smallest scope that covers both: outputs and paths are united; None (all) wins."""
    if a is None:
        return b
    only = None if a[0] is None or b[0] is None else a[0] | b[0]
    paths = None if a[1] is None or b[1] is None else a[1] | b[1]
    return only, paths


@dataclass(frozen=True)
class PublisherState:
    """What the desk shows of the publisher."""

    pending: bool = False  # a change is saved and not yet published
    waiting_for_cycle: bool = False  # ... because a cycle holds the lock
    last_published: dt.datetime | None = None
    last_changed: tuple[str, ...] = ()  # the files the last publish rewrote
    last_error: str | None = None


class Publisher:
    """One per app (per server process). Thread-safe; its thread starts at the first request."""

    def __init__(self, publish: PublishFunction, gather: float = GATHER_SECONDS, retry: float = RETRY_SECONDS) -> None:
        self._publish = publish
        self._gather = gather
        self._retry = retry
        self._cond = threading.Condition()
        self._pending: Scope | None = None
        self._working = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._state = PublisherState()

    def request(self, only: frozenset[str] | None = None, paths: frozenset[str] | None = None) -> None:
        """Publish these outputs (None: all; `paths`: only these files of them) soon."""
        with self._cond:
            self._pending = merge(self._pending, (only, paths))
            self._state = dataclasses.replace(self._state, pending=True)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="aggregator-publisher", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def state(self) -> PublisherState:
        with self._cond:
            return self._state

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until nothing is pending or being published; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._working:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float = 60.0) -> None:
        """Stop the thread after publishing what is pending (waiting out a cycle up to `timeout`)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._pending is None:
                    return
            time.sleep(self._gather)  # let a burst of requests join
            with self._cond:
                scope, self._pending = self._pending, None
                self._working = scope is not None
            if scope is None:
                continue
            try:
                self._publish_when_free(scope)
            finally:
                with self._cond:
                    self._working = False
                    self._cond.notify_all()

    def _publish_when_free(self, scope: Scope) -> None:
        while True:
            with self._cond:
                # Requests made while this one waited for a cycle join it (merged just before each
                # try: a request also wakes the wait, and may come just as the cycle ends).
                if self._pending is not None:
                    scope, self._pending = merge(scope, self._pending), None
            try:
                changed = self._publish(*scope)
            except LockHeld:
                with self._cond:
                    self._state = dataclasses.replace(self._state, waiting_for_cycle=True)
                    self._cond.wait(self._retry)
                continue
            except Exception as exc:  # noqa: BLE001 - a failed publish must not kill the thread
                log.exception("publishing an editor's change failed")
                with self._cond:
                    self._state = dataclasses.replace(self._state, pending=self._pending is not None,
                                                      waiting_for_cycle=False, last_error=str(exc) or type(exc).__name__)  # fmt: skip
                return
            with self._cond:
                self._state = PublisherState(pending=self._pending is not None, last_published=utcnow(),
                                             last_changed=tuple(changed))  # fmt: skip
            return


def publisher_for(watch: "ConfigWatch", store: "Store") -> Publisher:
    """The app's publisher: publish.republish of the config in use, under the cycle lock."""

    def publish_under_lock(only: frozenset[str] | None, paths: frozenset[str] | None) -> list[str]:
        from ..lock import CycleLock
        from ..publish import republish

        config = watch.config
        with CycleLock(config.database):
            return republish(config, store, only, paths).changed

    return Publisher(publish_under_lock)
