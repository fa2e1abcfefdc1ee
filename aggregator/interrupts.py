"""SIGINT and SIGTERM as a polite request to stop: the running cycle stores what it fetched,
publishes and releases its lock; a second signal stops at once.

Used by `aggregator fetch` and `aggregator run`; it only sets an event, the cycle does the rest.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from .errors import EXIT_INTERRUPTED, EXIT_TERMINATED

log = logging.getLogger("aggregator")


class StopOnSignals:
    """While installed, SIGINT/SIGTERM set `stop` and are remembered in `received`. Only the main
    thread can install signal handlers; elsewhere this does nothing."""

    def __init__(self, stop: threading.Event, log_message: str | None = None) -> None:
        self.stop = stop
        self.received: int | None = None
        self._log_message = log_message
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._log_message:
            log.warning(self._log_message, signal.Signals(signum).name)
        self.received = self.received or signum
        self.stop.set()
        # A second signal means "now": the defaults kill the process (SIGINT raises KeyboardInterrupt).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    @property
    def exit_code(self) -> int | None:
        """128 + the signal, the shell's convention, once one was received."""
        if self.received is None:
            return None
        return EXIT_TERMINATED if self.received == signal.SIGTERM else EXIT_INTERRUPTED

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def __enter__(self) -> "StopOnSignals":
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
