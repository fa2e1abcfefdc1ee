"""The config `aggregator serve` runs with: read and validated once at start, read again when its file
changes (looked at no more than once a second, a stat) or on SIGHUP; a file that no longer
validates is logged and the last good config stays in use.

It only reloads the config; the database and output folder stay those the server opened.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from ..config import ConfigError, load_config
from ..models import Config

log = logging.getLogger("aggregator.web")
CHECK_SECONDS = 1.0


def _file_state(config: Config) -> tuple[int, int, int] | None:
    try:
        st = os.stat(config.path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ConfigWatch:
    """The current config; `generation` counts the reloads (a cache key part)."""

    def __init__(self, config: Config, watch_file: bool = True) -> None:
        self._config = config
        self._state = _file_state(config)
        self._watch = watch_file
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self.generation = 0

    @property
    def config(self) -> Config:
        if self._watch and time.monotonic() - self._checked >= CHECK_SECONDS:
            self._checked = time.monotonic()
            if _file_state(self._config) != self._state:
                self.reload()
        return self._config

    def reload(self) -> bool:
        """Read the file again; True when a new config is now in use."""
        with self._lock:
            old = self._config
            self._state = _file_state(old)
            try:
                new = load_config(old.path)
            except ConfigError as exc:
                log.error("the changed config %s is not valid; still serving the previous one:\n%s", old.path, exc)
                return False
            if new.database != old.database or new.output_dir != old.output_dir:
                log.warning("the config %s names another database or output_dir: restart `aggregator serve` for that",
                            old.path)  # fmt: skip
                new = _keep_places(new, old)
            self._config = new
            self.generation += 1
            log.warning("config %s reloaded", old.path)
            return True


def _keep_places(new: Config, old: Config) -> Config:
    from dataclasses import replace

    return replace(new, database=old.database, output_dir=old.output_dir)
