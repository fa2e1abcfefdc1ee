"""The parse workers: processes that run the parse (and fingerprint) of one fetched body at a time,
each bounded in time: past the limit the worker is killed and the feed fails, the cycle goes on.

It knows nothing of what is parsed; cycle.py hands it the job and the arguments.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from .models import FetchSettings, ParseError


class ParserTimeout(ParseError):
    """A feed took longer to parse than fetch.parse_timeout; its worker was killed."""


def _parse_worker(conn: Connection, parse: Callable[..., Any]) -> None:
    """A parse worker process: read (args, options) jobs, answer each one with parse(*args,
    **options), until the pipe closes or a None job arrives. It says "ready" first, so starting up
    (importing the parser) does not count against the first feed's time limit."""
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        args, options = job
        try:
            answer: tuple[Any, ...] = ("ok", parse(*args, **options))
        except ParseError as exc:
            answer = ("parse_error", str(exc), exc.suggested_feed_url)
        except Exception as exc:  # parse_feed raises only ParseError; an injected parse may not
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


_WORKER_START_SECONDS = 120.0


def _forkserver(preload: Sequence[str]) -> Any:
    """The multiprocessing context whose fork server starts the workers. The fork server imports
    the main module, this module (the worker's code) and `preload` (what the job imports: for the
    parse, the parser, nh3 and numpy) once; each worker forked from it then starts in milliseconds,
    with them loaded, instead of importing them itself. The fork server is one per process: the
    first pool to start it chooses its preload."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "aggregator.parsepool", *preload])
    return context


class _WorkerProcess:
    """One parse worker: a process and our end of its pipe. Used by one feed at a time."""

    def __init__(self, parse: Callable[..., Any], preload: Sequence[str] = ()) -> None:
        context = _forkserver(preload)
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
    """Runs the parse workers' job (by default ingest.parse_and_prepare: parse, then fingerprint)
    in worker processes (one per core, at most 4; fewer for small cycles), never
    in this process, so every parse is bounded in time: a feed that takes longer than `timeout`
    seconds has its worker killed and fails with ParserTimeout. A worker that dies (killed for
    memory by a hostile feed) likewise costs that one feed: it is replaced, and the rest of the
    cycle goes on. Workers start when the first feed needs one. `preload`: the modules `parse`
    imports, for the fork server to import once instead of each worker (the default parse's are
    ingest.PARSE_WORKER_MODULES)."""

    def __init__(
        self,
        feed_count: int,
        parse: Callable[..., Any] | None = None,
        *,
        settings: FetchSettings | None = None,
        timeout: float | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        settings = settings or FetchSettings()
        self._feed_count = feed_count
        if parse is None:
            from .ingest import PARSE_WORKER_MODULES, parse_and_prepare

            parse, preload = parse_and_prepare, PARSE_WORKER_MODULES
        self._parse = parse
        self._preload = tuple(preload)
        self._timeout = timeout if timeout is not None else settings.parse_timeout
        defaults = FetchSettings()
        # Only options that differ from parse_feed's defaults are passed, so a `parse` that takes
        # none still works.
        self._options: dict[str, int] = {}
        if settings.max_entries_per_feed != defaults.max_entries_per_feed:
            self._options["max_entries"] = settings.max_entries_per_feed
        if settings.max_entry_html != defaults.max_entry_html:
            self._options["max_entry_html"] = settings.max_entry_html
        self._size = _parse_pool(feed_count)
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_WorkerProcess] = []
        self._all: set[_WorkerProcess] = set()

    async def parse(self, *args: Any) -> Any:
        """parse(*args) in a worker: its result, or ParseError (ParserTimeout past the limit)."""
        loop = asyncio.get_running_loop()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = await loop.run_in_executor(None, _WorkerProcess, self._parse, self._preload)
                self._all.add(worker)
            answer = await loop.run_in_executor(None, worker.run, (args, self._options), self._timeout)
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
            return answer[1]
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
