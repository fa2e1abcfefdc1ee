"""When each feed is next due: the polling policy, as pure functions of what the last fetch told us.

No I/O and no clock of its own: callers pass `now`, so the policy is tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence

from .models import PollingSettings

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


def clamp(seconds: float, settings: PollingSettings) -> float:
    return max(settings.min_interval, min(settings.max_interval, seconds))


def cache_lifetime(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """Seconds the server says its response stays fresh (Cache-Control max-age, else Expires)."""
    cache_control = headers.get("cache-control", "")
    match = _MAX_AGE.search(cache_control)
    if match:
        return float(match.group(1))
    if _NO_CACHE.search(cache_control):
        return None
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, (when - now).total_seconds())
    return None


def posting_interval(entry_times: Sequence[dt.datetime], now: dt.datetime | None = None) -> float | None:
    """How often a feed posts, in seconds: the median gap between its recent entries.

    With `now`, a feed silent for longer than twice its usual gap counts as posting every half
    silence, so a section that went quiet months ago is not polled at its old pace forever."""
    times = sorted({t for t in entry_times if now is None or t <= now}, reverse=True)
    if len(times) < 3:
        return None
    gaps = sorted((a - b).total_seconds() for a, b in zip(times, times[1:]))
    median = gaps[len(gaps) // 2]
    if now is not None:
        median = max(median, (now - times[0]).total_seconds() / 2)
    return median


def failure_backoff(consecutive_failures: int, settings: PollingSettings) -> float:
    """Exponential backoff after failures: min_interval, doubled per further failure, capped."""
    exponent = max(0, min(consecutive_failures - 1, 32))
    return min(settings.max_backoff, settings.min_interval * (2**exponent))


def next_due_after_success(
    now: dt.datetime,
    settings: PollingSettings,
    headers: Mapping[str, str] | None = None,
    ttl_minutes: int | None = None,
    update_seconds: float | None = None,
    entry_times: Sequence[dt.datetime] = (),
) -> dt.datetime:
    """A feed that posts often is polled more often, a quiet one less, within the bounds; the
    server's and the feed's own hints (max-age, Expires, <ttl>, sy:updatePeriod) are a floor."""
    interval = settings.default_interval
    rate = posting_interval(entry_times, now)
    if rate is not None:
        # Polling at a quarter of the posting gap catches most posts within a quarter gap.
        interval = rate / 4
    hints = [h for h in (
        cache_lifetime(headers or {}, now),
        ttl_minutes * 60.0 if ttl_minutes else None,
        update_seconds,
    ) if h]  # fmt: skip
    if hints:
        interval = max(interval, max(hints))
    return now + dt.timedelta(seconds=clamp(interval, settings))


def next_due_after_failure(
    now: dt.datetime,
    settings: PollingSettings,
    consecutive_failures: int,
    retry_after: float | None = None,
) -> dt.datetime:
    """Back off exponentially; never earlier than the server's Retry-After (up to a week, even
    beyond max_backoff: the server knows best when it will answer again)."""
    delay = failure_backoff(consecutive_failures, settings)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 7 * 86400.0))
    return now + dt.timedelta(seconds=delay)


def is_due(next_due: dt.datetime | None, now: dt.datetime) -> bool:
    return next_due is None or next_due <= now
