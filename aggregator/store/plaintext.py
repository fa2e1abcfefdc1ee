"""The SQL function the full-text index's triggers call: an entry's HTML as plain text.

Every connection the store opens registers it (connection.py); search.py's triggers use it. The
parse workers already made each new entry's plain text (ingest.PreparedEntry.search_text, with
sanitize.plain_text, the same function), so the store hands those over for the statement that
writes the entries (`PlainTextFunction.known`) and the function only looks them up: converting
HTML in the write transaction cost the cycle process about 1.6 s of a cold cycle of 200 feeds.
A value it was not given (a migration, a full-text update, an old row) is converted here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ..sanitize import plain_text

PLAIN_TEXT_FUNCTION = "aggregator_plain_text"


class PlainTextFunction:
    """One connection's `aggregator_plain_text(html)`."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def __call__(self, html_text: str | None) -> str:
        if not html_text:
            return ""
        found = self._known.get(html_text)
        return found if found is not None else plain_text(html_text)

    @contextmanager
    def known(self, texts: Mapping[str, str]) -> Iterator[None]:
        """While inside: these HTML values' plain texts (as sanitize.plain_text makes them) are known."""
        self._known.update(texts)
        try:
            yield
        finally:
            self._known.clear()


def register_functions(conn: sqlite3.Connection) -> PlainTextFunction:
    """The SQL function the triggers call: every connection the store opens registers it."""
    function = PlainTextFunction()
    conn.create_function(PLAIN_TEXT_FUNCTION, 1, function, deterministic=True)
    return function
