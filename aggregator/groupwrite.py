"""Group commit: one thread that runs the cycle's store writes one after another, several to a
transaction.

Each feed's write dirties pages all over the store's indexes (LSH bands, content hashes, the
full-text index), and a commit copies every dirty page into the WAL: when each of 200 cold feeds
had a transaction of its own, its commits wrote the band index out almost whole, 200 times, and
were the costliest statement of the cycle (1.3 s of 4.7 s of writes). Calls that come in quick
succession now share one transaction, so a page is written once for all of them.

A call's result is handed back only when its transaction has committed, so what a caller reports
as stored is stored. A call that raises ends its transaction: the calls of it that ran (itself
and those before it) are rolled back and each gets the exception, as a failed commit would give
every call of the group; the calls after it start a new transaction. (In a cycle a failed write
stops the cycle, as it did when each feed had a transaction of its own; the feeds of the group are
fetched again next time, since their fetch state was rolled back with their entries.)

A transaction is held open at most `max_seconds`, and ends as soon as no new call comes within
`linger` seconds, so other writers (the web app) never wait long for the lock; or at once when the
caller says no call is coming soon (`flush`): a cycle whose feeds all answered 304 took 0.2 s
longer while its last transactions waited out their linger.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Defaults for the cycle: a cold cycle's parse results come every 20-40 ms.
LINGER_SECONDS = 0.1
MAX_TRANSACTION_SECONDS = 1.0


@dataclass
class _Call:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: concurrent.futures.Future[Any]


_STOP = object()
_FLUSH = object()


class GroupWriter:
    """Runs submitted calls on its own thread, inside transactions opened by `transaction()`
    (the store's; the calls' own transactions join it), up to `max_calls` to a transaction."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[object]],
        *,
        max_calls: int = 16,
        linger: float = LINGER_SECONDS,
        max_seconds: float = MAX_TRANSACTION_SECONDS,
        name: str = "aggregator-store",
    ) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self._transaction = transaction
        self._max_calls = max_calls
        self._linger = linger
        self._max_seconds = max_seconds
        self._queue: queue.SimpleQueue[_Call | object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.transactions = 0  # how many it committed or rolled back, for tests and logs
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run function(*args) in a group transaction; the future is done once that committed."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("GroupWriter is closed")
            self._queue.put(_Call(function, args, future))
        return future

    def flush(self) -> None:
        """Commit the open transaction once the calls submitted before this one have run,
        without waiting for more."""
        with self._lock:
            if not self._closed:
                self._queue.put(_FLUSH)

    def close(self) -> None:
        """Commit what was submitted, then stop the thread (waits for it)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> "GroupWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            if first is _FLUSH:
                continue
            assert isinstance(first, _Call)
            group = [first]
            results: list[Any] = []
            try:
                with self._transaction():
                    results.append(self._call(first))
                    deadline = time.monotonic() + self._max_seconds
                    while len(group) < self._max_calls:
                        wait = min(self._linger, deadline - time.monotonic())
                        if wait <= 0:
                            break
                        try:
                            following = self._queue.get(timeout=wait)
                        except queue.Empty:
                            break
                        if following is _STOP:
                            stopping = True
                            break
                        if following is _FLUSH:
                            break
                        assert isinstance(following, _Call)
                        group.append(following)
                        results.append(self._call(following))
            except BaseException as exc:  # noqa: BLE001 - handed to every caller of the group
                self.transactions += 1
                for call in group:
                    if not call.future.done():
                        call.future.set_exception(exc)
                continue
            self.transactions += 1
            for call, result in zip(group, results):
                if not call.future.done():  # done: it was cancelled before it ran
                    call.future.set_result(result)

    @staticmethod
    def _call(call: _Call) -> Any:
        if not call.future.set_running_or_notify_cancel():
            return None  # cancelled before it ran: nothing written for it
        return call.function(*call.args)
