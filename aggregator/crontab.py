"""Crontab expressions as cron reads them, turned into APScheduler triggers.

Parsing only: when cycles run is schedule.py's business; the config uses this to check a `cron:` line.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.cron import CronTrigger

_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 and 7 are Sunday


def crontab_trigger(expr: str, timezone: dt.tzinfo | str | None = None, jitter: int | None = None) -> CronTrigger:
    """A crontab line as cron reads it. APScheduler 3's own from_crontab counts weekdays from
    Monday = 0 (its issue 286), so `1-5` would mean Tuesday to Saturday; here weekdays are
    translated to names first. Raises ValueError for an expression cron would not accept."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab expression has 5 fields, not {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_cron_weekdays(weekday), timezone=timezone,
        jitter=jitter,
    )


def _cron_weekdays(field: str) -> str:
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for term in field.lower().split(","):
        span, _, step_text = term.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in weekday field {field!r}")
        if span == "*":
            first, last = 0, 6
        else:
            first_text, _, last_text = span.partition("-")
            first = _cron_weekday(first_text, field)
            last = _cron_weekday(last_text, field) if last_text else (6 if step_text else first)
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_CRON_WEEKDAYS[d] for d in (1, 2, 3, 4, 5, 6, 0) if d in days)


def _cron_weekday(text: str, field: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if text[:3] in _CRON_WEEKDAYS and text.isalpha():
        return _CRON_WEEKDAYS.index(text[:3])
    raise ValueError(f"{text!r} in weekday field {field!r} is not a weekday (0-7 or sun-sat)")
