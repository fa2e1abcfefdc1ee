"""The SQL function the full-text index's triggers call: an entry's HTML as plain text.

Every connection the store opens registers it (connection.py); search.py's triggers use it.
"""

from __future__ import annotations

import sqlite3

from ..sanitize import clean_text

PLAIN_TEXT_FUNCTION = "aggregator_plain_text"
_MAX_PLAIN_CHARS = 200_000


def _plain_text(html_text: str | None) -> str:
    return clean_text(html_text, max_chars=_MAX_PLAIN_CHARS) if html_text else ""


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL function the triggers call: every connection the store opens registers it."""
    conn.create_function(PLAIN_TEXT_FUNCTION, 1, _plain_text, deterministic=True)
