"""Locks beside the database: one cycle at a time, whether cron or the daemon started it
(CycleLock), and one daemon at a time (DaemonLock).

Each is an advisory flock on a file beside the database; the kernel drops it when the process
dies, so a killed cycle never leaves a stale lock behind. They guard nothing else.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .errors import EXIT_LOCKED, AggregatorError


class LockHeld(AggregatorError):
    """Another cycle holds the lock."""

    exit_code = EXIT_LOCKED


class LockUnavailable(AggregatorError):
    """The lock file cannot be created (its folder is missing or not writable)."""

    operational = True


class CycleLock:
    """Held while a cycle (or a publish, an unmerge) runs: `<database>.lock`."""

    suffix = ".lock"
    holder = "another cycle is running"

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + self.suffix)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LockUnavailable(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (process {holder})" if holder else ""
            raise LockHeld(f"{self.holder}{who}; lock file {self.path}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> CycleLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class DaemonLock(CycleLock):
    """Held by `aggregator run` for its whole life: `<database>.daemon.lock`. A second daemon on
    the same database would only alternate cycles with the first, so it exits instead."""

    suffix = ".daemon.lock"
    holder = "another `aggregator run` is running on this database"


def _read_pid(fd: int) -> str | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if text.isdigit() else None
