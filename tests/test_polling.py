"""The polling policy as pure functions: server and feed hints, posting rate, bounds, backoff."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from aggregator.models import PollingSettings
from aggregator.polling import (
    cache_lifetime,
    failure_backoff,
    is_due,
    next_due_after_failure,
    next_due_after_success,
    posting_interval,
)

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
SETTINGS = PollingSettings(min_interval=15 * 60, max_interval=24 * 3600, default_interval=3600, max_backoff=6 * 3600)
HOUR = 3600.0


def _after(**kwargs: object) -> float:
    return (next_due_after_success(NOW, SETTINGS, **kwargs) - NOW).total_seconds()  # type: ignore[arg-type]


def _posts_every(seconds: float, count: int = 10, last_ago: float = 0) -> list[dt.datetime]:
    newest = NOW - dt.timedelta(seconds=last_ago)
    return [newest - dt.timedelta(seconds=seconds * i) for i in range(count)]


def test_no_hints_gives_the_default_interval() -> None:
    assert _after() == HOUR


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({"cache-control": "public, max-age=7200"}, 7200),
        ({"cache-control": 's-maxage=10, max-age="10800"'}, 10800),
        ({"expires": email.utils.format_datetime(NOW + dt.timedelta(hours=5), usegmt=True)}, 5 * 3600),
        ({"cache-control": "max-age=7200", "expires": email.utils.format_datetime(NOW, usegmt=True)}, 7200),
    ],
)
def test_cache_headers_are_a_floor(headers: dict[str, str], seconds: float) -> None:
    assert cache_lifetime(headers, NOW) == seconds
    assert _after(headers=headers) == seconds


@pytest.mark.parametrize(
    "headers",
    [
        {"cache-control": "no-cache", "expires": email.utils.format_datetime(NOW + dt.timedelta(hours=5), usegmt=True)},
        {"expires": "0"},
        {"expires": email.utils.format_datetime(NOW - dt.timedelta(hours=5), usegmt=True)},
        {"cache-control": "max-age=0"},
    ],
)  # fmt: skip
def test_stale_or_uncacheable_responses_do_not_delay_polling(headers: dict[str, str]) -> None:
    assert _after(headers=headers) == HOUR


def test_rss_ttl_and_sy_update_period_are_floors() -> None:
    assert _after(ttl_minutes=180) == 3 * HOUR
    assert _after(update_seconds=12 * HOUR) == 12 * HOUR
    assert _after(ttl_minutes=5) == HOUR  # a short ttl does not make us poll faster than otherwise


def test_hints_stay_within_the_bounds() -> None:
    assert _after(headers={"cache-control": "max-age=604800"}) == SETTINGS.max_interval
    assert _after(ttl_minutes=60 * 24 * 30) == SETTINGS.max_interval


def test_a_busy_feed_is_polled_more_often_and_a_quiet_one_less() -> None:
    busy = _after(entry_times=_posts_every(HOUR))  # hourly posts: a quarter hour, the minimum
    daily = _after(entry_times=_posts_every(24 * HOUR))
    weekly = _after(entry_times=_posts_every(7 * 24 * HOUR))
    assert busy == SETTINGS.min_interval
    assert daily == 6 * HOUR
    assert weekly == SETTINGS.max_interval
    assert busy < HOUR < daily < weekly


def test_a_feed_that_went_silent_slows_down() -> None:
    # Posted every hour for a while, then nothing for 20 days: treated as dormant, not busy.
    assert _after(entry_times=_posts_every(HOUR, last_ago=20 * 24 * HOUR)) == SETTINGS.max_interval
    assert posting_interval(_posts_every(HOUR, last_ago=10 * HOUR), NOW) == 5 * HOUR


def test_posting_rate_needs_three_entries_and_ignores_future_dates() -> None:
    assert posting_interval(_posts_every(HOUR, count=2), NOW) is None
    future = [NOW + dt.timedelta(days=d) for d in (1, 2, 3)]
    assert posting_interval(future + _posts_every(24 * HOUR, count=2), NOW) is None
    assert posting_interval(future + _posts_every(24 * HOUR, count=5), NOW) == 24 * HOUR


def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    delays = [failure_backoff(n, SETTINGS) for n in range(1, 8)]
    assert delays[:5] == [900, 1800, 3600, 7200, 14400]
    assert delays[5:] == [SETTINGS.max_backoff, SETTINGS.max_backoff]
    assert failure_backoff(10_000, SETTINGS) == SETTINGS.max_backoff  # no overflow
    assert next_due_after_failure(NOW, SETTINGS, 3) == NOW + dt.timedelta(hours=1)


def test_retry_after_is_honoured_even_beyond_the_backoff_cap_but_not_forever() -> None:
    assert next_due_after_failure(NOW, SETTINGS, 1, retry_after=120) == NOW + dt.timedelta(seconds=900)
    assert next_due_after_failure(NOW, SETTINGS, 1, retry_after=2 * 86400) == NOW + dt.timedelta(days=2)
    assert next_due_after_failure(NOW, SETTINGS, 1, retry_after=365 * 86400) == NOW + dt.timedelta(days=7)
    small = PollingSettings(min_interval=10, max_interval=3600, default_interval=60, max_backoff=60)
    assert next_due_after_failure(NOW, small, 1, retry_after=120) == NOW + dt.timedelta(seconds=120)


def test_is_due() -> None:
    assert is_due(None, NOW)
    assert is_due(NOW, NOW)
    assert not is_due(NOW + dt.timedelta(seconds=1), NOW)
