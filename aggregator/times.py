"""Time as the database stores it: aware UTC datetimes, whole seconds, ISO 8601 text.

Only conversions live here; nothing reads a clock but `utcnow`.
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def to_db_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def from_db_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None
