"""Feed archives (RFC 5005 section 4, "archived feeds"): for each subscription feed, one archive
document per ISO week, holding the stories that entered that feed in the week:
`archive/<year>-W<week>.atom` for feed.atom, `regions/<slug>/archive/<year>-W<week>.atom` for
regions/<slug>.atom, and the same under `languages/<tag>/` and `countries/<CC>/`.

A week's document is written at the first publish after the week ended and never again (the
outputs registry marks it write-once): its stories were fixed when the week ended, so a reader
that walks the chain (feed.atom's prev-archive, then each archive's prev-archive) once has every
story, and never needs to fetch an archive twice. Weeks without stories get an empty document, so
the chain has no gaps. This module says which weeks and what links; no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ARCHIVE_DIR = "archive"
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class ArchiveWeek:
    start: dt.datetime  # Monday 00:00 UTC
    path: str  # archive/2026-W47.atom
    prev_path: str | None  # the week before, if the archive goes back that far
    next_path: str | None  # the week after, if that one had ended too when this was written

    @property
    def end(self) -> dt.datetime:
        return self.start + WEEK

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def week_start(moment: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of the ISO week holding `moment`."""
    utc = moment.astimezone(dt.timezone.utc)
    monday = utc.date() - dt.timedelta(days=utc.weekday())
    return dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.timezone.utc)


def archive_folder(feed_stem: str) -> str:
    """Where a subscription feed's archives go: "archive" for feed.atom, else beside the feed
    ("regions/asia" -> "regions/asia/archive")."""
    return ARCHIVE_DIR if feed_stem == "feed" else f"{feed_stem}/{ARCHIVE_DIR}"


def is_archive_path(path: str) -> bool:
    """Whether a published path is an archive document (of any feed)."""
    folder, _, name = path.rpartition("/")
    return (folder == ARCHIVE_DIR or folder.endswith(f"/{ARCHIVE_DIR}")) and name.endswith(".atom")


def week_path(start: dt.datetime, folder: str = ARCHIVE_DIR) -> str:
    year, week, _ = start.isocalendar()
    return f"{folder}/{year}-W{week:02d}.atom"


def closed_weeks(first_created: dt.datetime | None, now: dt.datetime, folder: str = ARCHIVE_DIR) -> list[ArchiveWeek]:
    """Every week from the one the oldest story was stored in up to the last that has ended,
    newest first."""
    if first_created is None:
        return []
    current = week_start(now)
    starts = []
    start = week_start(first_created)
    while start < current:
        starts.append(start)
        start += WEEK
    weeks = []
    for i, start in enumerate(starts):
        weeks.append(
            ArchiveWeek(
                start=start,
                path=week_path(start, folder),
                prev_path=week_path(starts[i - 1], folder) if i > 0 else None,
                next_path=week_path(starts[i + 1], folder) if i + 1 < len(starts) else None,
            )
        )
    return weeks[::-1]
