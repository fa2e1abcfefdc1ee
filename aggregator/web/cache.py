"""What the readers' routes computed for one content version of the store (a search's ranked page,
a list's stories, a filtered Atom feed's bytes), so a repeat costs a dictionary look-up.

Entries are valid while the store's content version (store/content_version.py) stays the same:
any change a reader could see empties the cache. It holds results, never a response or anything
of one reader's session.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 200  # a search page is ~100 kB of stories: 20 MB at most


class ResultCache:
    """A small least-recently-used map of results, for one content version at a time."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._version: object = None
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: object, key: Hashable, make: Callable[[], T]) -> T:
        """The result for `key` at this version, made (outside the lock) when it is not held."""
        with self._lock:
            if version != self._version:
                self._items.clear()
                self._version = version
            elif key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                found: T = self._items[key]
                return found
            self.misses += 1
        value = make()
        with self._lock:
            if version == self._version:
                self._items[key] = value
                while len(self._items) > self._max:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._version = None
