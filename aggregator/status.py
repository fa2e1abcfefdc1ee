"""Feed health for operators: the `status` table and JSON, and the `status --check` verdict.

It reads state through Store and formats it; it never fetches or changes anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from . import polling
from .config import parse_duration
from .models import Config, CycleRecord
from .sanitize import CONTROL_CHARS
from .store import Store
from .times import utcnow


def status_records(config: Config, store: Store | None) -> list[dict[str, Any]]:
    """One dict per configured feed (JSON-ready apart from datetimes); with no database yet, every
    feed is listed as never fetched. `enabled` is false for a feed the config disables and for one
    that answered 410 Gone (it is not fetched again until the config changes its URL)."""
    health = {h.url: h for h in store.feed_health()} if store is not None else {}
    states = store.feed_states() if store is not None else {}
    full_text = store.full_text_health() if store is not None else {}
    now = utcnow()
    records = []
    for feed in config.feeds:
        h = health.get(feed.url)
        record: dict[str, Any] = {
            "url": feed.url,
            "name": feed.name,
            "region": feed.region,
            "country": feed.country,
            "enabled": feed.enabled,
            "last_status": None,
            "last_error": None,
            "consecutive_failures": 0,
            "entries": 0,
            "last_fetched": None,
            "next_due": None,
            "moved_to": None,
            "suggested_url": None,
            "pruned": 0,  # entries retention removed (the newest `keep_per_feed` always stay)
            "last_warning": None,
            "posts_per_week": None,  # from the gaps between its recent entries (polling adapts to it)
            "disabled_by": None if feed.enabled else "config",  # or "gone": it answered 410
            "full_text": feed.full_text,
            # full_text feeds: article pages extracted, and those that fell back to the excerpt
            "full_text_ok": 0,
            "full_text_failed": 0,
            "full_text_error": None,
        }
        if h is not None:
            data = dataclasses.asdict(h)
            for key in record:
                if key in data and key not in ("name", "region", "enabled", "url"):
                    record[key] = data[key]
            if record["last_status"] == "gone" and feed.enabled:
                record["enabled"], record["disabled_by"] = False, "gone"
        ft = full_text.get(feed.url)
        if ft is not None:
            record["full_text_ok"], record["full_text_failed"], record["full_text_error"] = ft.ok, ft.failed, ft.last_error
        state = states.get(feed.url)
        interval = polling.posting_interval(state.recent_entry_times, now) if state is not None else None
        if interval:
            record["posts_per_week"] = round(7 * 86400 / interval, 1)
        records.append(record)
    return records


def health_check(
    records: list[dict[str, Any]], last_cycle: CycleRecord | None, max_age: str, max_failing: float
) -> list[str]:
    """Why the service is unhealthy, if it is: no recent cycle, or too many failing feeds."""
    problems = []
    now = utcnow()
    finished = last_cycle.finished if last_cycle else None
    age_limit = dt.timedelta(seconds=parse_duration(max_age))
    if finished is None:
        problems.append("no cycle has finished yet")
    elif now - finished > age_limit:
        problems.append(f"the last cycle finished at {finished:%Y-%m-%d %H:%M} UTC, more than {max_age} ago")
    # A feed gone (410) counts as failing while the config still asks for it; one the config
    # disables does not count at all.
    enabled = [r for r in records if r["disabled_by"] != "config"]
    failing = [r for r in enabled if r["last_status"] in ("error", "gone")]
    if enabled and len(failing) / len(enabled) > max_failing:
        problems.append(f"{len(failing)} of {len(enabled)} enabled feeds are failing")
    return problems


# Terminal escape sequences (CSI "ESC [ ... final", OSC "ESC ] ... BEL/ST" such as OSC-8 links,
# and two-character ESC x), then any C0/C1 control or bidi override left over.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")


def plain(value: object, limit: int = 500) -> str:
    """Text from a server, a feed or the config, made safe to print to a terminal through rich:
    no escape or control characters, bounded, and with rich markup ("[bold]", "[link=...]")
    escaped so it shows as the characters it is."""
    from rich.markup import escape

    text = CONTROL_CHARS.sub(" ", _ESCAPE_SEQUENCE.sub("", str(value)))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def print_status_table(records: list[dict[str, Any]], last_cycle: CycleRecord | None, wide: bool = False) -> None:
    """The table at the terminal's width (80 columns when piped); `wide` adds the columns an
    operator seldom needs, and never folds."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=250 if wide else None)
    columns = ["name", "status", "entries", "next due", "problem"]
    if wide:
        columns = ["name", "region", "status", "fails", "entries", "pruned", "posts/week", "last fetched",
                   "next due", "problem"]  # fmt: skip
    table = Table(title="Feeds", show_lines=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column not in ("name", "problem"), min_width=4)
    for r in records:
        status = r["last_status"] or ("disabled" if not r["enabled"] else "never fetched")
        if not r["enabled"] and r["last_status"]:
            status += " (disabled)"
        problems = [r["last_error"] or ""]
        if r["moved_to"]:
            problems.append(f"moved to {r['moved_to']}")
        if r["suggested_url"] and r["suggested_url"] not in (r["last_error"] or ""):  # said once is enough
            problems.append(f"feed found at {r['suggested_url']}")
        if r.get("last_warning") and wide:
            problems.append(f"warning: {r['last_warning']}")
        if r.get("full_text_failed"):
            problems.append(
                f"full text: {r['full_text_failed']} of {r['full_text_failed'] + r['full_text_ok']} pages failed,"
                f" excerpt kept (last: {r['full_text_error']})"
            )
        cells = {
            "name": r["name"], "region": r["region"], "status": status, "fails": str(r["consecutive_failures"]),
            "entries": str(r["entries"]) + (f" ({r['pruned']} pruned)" if r.get("pruned") and not wide else ""),
            "pruned": str(r.get("pruned") or 0),
            "posts/week": "-" if r["posts_per_week"] is None else f"{r['posts_per_week']:g}",
            "last fetched": _fmt(r["last_fetched"]), "next due": _fmt(r["next_due"]),
            "problem": "; ".join(p for p in problems if p),
        }  # fmt: skip
        table.add_row(*(plain(cells[c], limit=1000 if c == "problem" else 500) for c in columns))
    console.print(table)
    if last_cycle:
        report = last_cycle.report
        console.print(
            f"last cycle finished {last_cycle.finished:%Y-%m-%d %H:%M} UTC: {report.new_entries} new,"
            f" {report.updated_entries} updated, {report.failed} failed, {report.seconds:.1f} s"
        )


def _fmt(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"
