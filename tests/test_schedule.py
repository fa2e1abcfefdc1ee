"""`aggregator run`: the daemon on a real schedule against the local server, its shutdown, its lock,
and the polling policy on scheduler time (an injected clock, never a real wait)."""

from __future__ import annotations

import datetime as dt
import email.utils
import http.server
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, run_cli_process, write_config
from feedserver import FeedServer, send, write_head
from readers import validate_atom

FAST_POLLING = {"min_interval": "1s", "default_interval": "1s", "max_interval": "1s"}


def _rss(items: list[tuple[str, str, dt.datetime]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://growing.example.org/{guid}</link>"
        f"<guid isPermaLink='false'>{guid}</guid><description>{title}: a statement on {guid}.</description>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for guid, title, when in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Growing</title>"
        f"<link>https://growing.example.org/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def _growing_handler() -> Any:
    """A feed that gains one item per request and never sends validators: every cycle parses it."""
    count = {"n": 2}
    lock = threading.Lock()
    start = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)

    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        with lock:
            count["n"] += 1
            n = count["n"]
        items = [(f"g{i}", f"Growing story number {i} about rents", start + dt.timedelta(hours=i)) for i in range(n)]
        body = _rss(items)
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))})
        send(h, body)

    return handler


def _slow_handler(seconds: float, body: bytes) -> Any:
    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))})
        send(h, body)

    return handler


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{tmp_path / 'aggregator.db'}?mode=ro", uri=True, timeout=10)


def _finished_cycles(tmp_path: Path) -> int:
    if not (tmp_path / "aggregator.db").exists():
        return 0
    try:
        with _db(tmp_path) as conn:
            return int(conn.execute("SELECT count(*) FROM cycles WHERE finished IS NOT NULL").fetchone()[0])
    except sqlite3.OperationalError:  # the daemon is still creating the schema
        return 0


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _start_daemon(config: Path, log_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "-v", "-c", str(config), *extra],
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )


@pytest.mark.slow
def test_daemon_runs_cycles_every_second_and_stops_cleanly_on_sigterm(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slow_body = (FEED_DATA / "tamil.xml").read_bytes()
    feeds = [
        feed_entry(feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml", etag=False, last_modified=None),
                   "Wordpress Party"),
        feed_entry(feed_server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                   country="PK", language="ur"),
        feed_entry(feed_server.add_handler("/growing.xml", _growing_handler()), "Growing Party", country="IE"),
        feed_entry(feed_server.add_handler("/slow.xml", _slow_handler(1.0, slow_body)), "Slow Party",
                   region="asia", country="LK", language="ta"),
    ]  # fmt: skip
    config = write_config(tmp_path, feeds, schedule={"every": "1s"}, polling=FAST_POLLING)
    log_path = tmp_path / "daemon.log"
    proc = _start_daemon(config, log_path)
    try:
        _wait(lambda: _finished_cycles(tmp_path) >= 3, 30, "three finished cycles")
        # Wait for the slow feed's next request: the daemon is then in the middle of a cycle.
        slow_before = len(feed_server.hits("/slow.xml"))
        _wait(lambda: len(feed_server.hits("/slow.xml")) > slow_before, 10, "a cycle in progress")
        time.sleep(0.3)
        in_progress = _finished_cycles(tmp_path)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert code == 0, log
    assert took < 10
    assert "received SIGTERM" in log and "Traceback" not in log
    assert "next cycle at" in log

    with _db(tmp_path) as conn:
        cycles = conn.execute("SELECT finished, interrupted FROM cycles ORDER BY id").fetchall()
        # The interrupted cycle still finished: it stored what it had, published, and was recorded.
        assert len(cycles) == in_progress + 1 >= 4
        assert all(finished is not None for finished, _ in cycles)
        assert cycles[-1][1] == 1 and not any(interrupted for _, interrupted in cycles[:-1])
        duplicates = conn.execute(
            "SELECT feed_url, key, count(*) FROM entries GROUP BY feed_url, key HAVING count(*) > 1"
        ).fetchall()
        assert duplicates == []
        stories = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
        assert stories == conn.execute("SELECT count(DISTINCT story_id) FROM entries").fetchone()[0]
        growing = conn.execute(
            "SELECT count(*) FROM entries WHERE feed_url = ?", [feed_server.url("/growing.xml")]
        ).fetchone()[0]
    # The growing feed gained an item per fetch; every stored fetch added exactly its new item.
    growing_fetches = len(feed_server.hits("/growing.xml"))
    assert growing_fetches >= 4
    assert growing_fetches + 1 <= growing <= growing_fetches + 2

    public = tmp_path / "public"
    for name in ("feed.atom", "regions/europe.atom", "regions/asia.atom"):
        validate_atom(public / name)
    assert not list(public.rglob("*.tmp*")) and not list(public.rglob(".*"))
    from lxml import etree

    ids = [e.findtext(f"{ATOM_NS}id") for e in etree.parse(str(public / "feed.atom")).getroot().iter(f"{ATOM_NS}entry")]
    assert len(ids) == len(set(ids)) == min(stories, 100)

    from aggregator.lock import CycleLock

    lock = CycleLock(tmp_path / "aggregator.db")
    lock.acquire()  # released by the daemon: no LockHeld
    lock.release()
    result = run_cli_process("fetch", "-c", config)
    assert result.code == 0, result.err


@pytest.mark.slow
def test_daemon_skips_a_run_while_cron_holds_the_lock_then_carries_on(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    from aggregator.lock import CycleLock

    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config = write_config(tmp_path, [feed_entry(url, "Wordpress Party")], schedule={"every": "1s"})
    log_path = tmp_path / "daemon.log"
    lock = CycleLock(tmp_path / "aggregator.db")
    lock.acquire()  # as `aggregator fetch` from cron would
    proc = _start_daemon(config, log_path)
    try:
        _wait(lambda: log_path.read_text().count("skipping this cycle") >= 2, 15, "skipped runs")
        assert proc.poll() is None  # still running
        assert feed_server.requests == []
        # A second daemon on the same database would only take turns with the first: it exits 75.
        second = run_cli_process("run", "-c", config, timeout=30)
        assert second.code == 75, second.err
        assert f"another `aggregator run` is running on this database (process {proc.pid})" in second.err
        lock.release()
        _wait(lambda: _finished_cycles(tmp_path) >= 1, 15, "a cycle once the lock is free")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    finally:
        lock.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_path.read_text()
    assert code == 0, log
    assert "WARNING aggregator.schedule: skipping this cycle: another cycle is running" in log
    assert f"(process {os.getpid()})" in log
    assert len(feed_server.hits("/wp.xml")) >= 1


def test_cycle_job_keeps_the_last_good_config_and_survives_a_held_lock(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    from aggregator.config import load_config
    from aggregator.lock import CycleLock
    from aggregator.schedule import CycleJob

    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config_path = write_config(tmp_path, [feed_entry(url, "Wordpress Party")])
    job = CycleJob(config_path, load_config(config_path), threading.Event())
    caplog.set_level(logging.INFO)

    with CycleLock(tmp_path / "aggregator.db"):
        job()  # must not raise
    assert "skipping this cycle: another cycle is running" in caplog.text
    assert feed_server.requests == []

    good = job.config
    config_path.write_text(config_path.read_text() + "\nbogus_key: 1\n")
    caplog.clear()
    job()
    assert "keeping the last good config" in caplog.text and "bogus_key" in caplog.text
    assert job.config is good
    assert len(feed_server.hits("/wp.xml")) == 1  # the cycle still ran, with the good config
    assert "cycle done: 1 ok" in caplog.text


def test_triggers_for_every_cron_and_the_default() -> None:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from aggregator.config import parse_duration
    from aggregator.models import ScheduleSettings
    from aggregator.schedule import describe_schedule, make_trigger, misfire_grace

    assert parse_duration("1s") == 1.0
    one = make_trigger(ScheduleSettings(every=1.0))
    assert isinstance(one, IntervalTrigger) and one.interval == dt.timedelta(seconds=1)
    assert one.jitter == pytest.approx(0.1)

    default = make_trigger(ScheduleSettings())
    assert isinstance(default, IntervalTrigger) and default.interval == dt.timedelta(hours=1)
    assert default.jitter == 60  # capped at a minute
    assert describe_schedule(ScheduleSettings()) == "every 3600 s"

    cron = make_trigger(ScheduleSettings(cron="*/15 6-22 * * 1-5"))
    assert isinstance(cron, CronTrigger)
    assert describe_schedule(ScheduleSettings(cron="*/15 6-22 * * 1-5")) == "cron '*/15 6-22 * * 1-5'"
    assert cron.jitter == 10  # seconds after each cron time: never enough to reorder runs
    tz = cron.timezone  # crontab times are the machine's local time, as in cron itself
    monday_six = dt.datetime(2026, 11, 9, 6, 0, tzinfo=tz)
    friday_night = dt.datetime(2026, 11, 6, 22, 50, tzinfo=tz)  # a Friday
    saturday_morning = dt.datetime(2026, 11, 7, 6, 0, tzinfo=tz)
    for now in (friday_night, saturday_morning):
        fire = cron.get_next_fire_time(None, now)
        assert monday_six <= fire <= monday_six + dt.timedelta(seconds=10)
    assert misfire_grace(ScheduleSettings(every=1.0)) == 1
    assert misfire_grace(ScheduleSettings()) == 1800
    assert misfire_grace(ScheduleSettings(cron="0 * * * *")) == 300


@pytest.mark.parametrize(
    "field, days",
    [
        ("1-5", "mon,tue,wed,thu,fri"),  # APScheduler 3's from_crontab would make this tue-sat
        ("0", "sun"), ("7", "sun"), ("0-6", "mon,tue,wed,thu,fri,sat,sun"), ("*/2", "tue,thu,sat,sun"),
        ("mon-fri", "mon,tue,wed,thu,fri"), ("sat,sun", "sat,sun"), ("5-7", "fri,sat,sun"), ("*", "*"),
    ],
)  # fmt: skip
def test_crontab_weekdays_count_from_sunday_as_cron_does(field: str, days: str) -> None:
    from aggregator.crontab import crontab_trigger

    trigger = crontab_trigger(f"0 6 * * {field}")
    assert str(trigger.fields[4]) == days


@pytest.mark.parametrize("expr", ["0 6 * *", "0 6 * * 8", "0 6 * * 5-1", "0 6 * * funday", "61 * * * *"])
def test_bad_crontab_is_refused(expr: str) -> None:
    from aggregator.crontab import crontab_trigger

    with pytest.raises(ValueError):
        crontab_trigger(expr)


def test_config_cron_is_validated_and_used(tmp_path: Path) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from aggregator.config import load_config
    from aggregator.schedule import make_trigger

    path = write_config(tmp_path, [], schedule={"cron": "0 */2 * * *"})
    config = load_config(path)
    trigger = make_trigger(config.schedule)
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.fields[5]) == "*/2"  # hour
    bad = write_config(tmp_path, [], schedule={"cron": "0 */2 * *"})
    assert "schedule.cron" in run_cli("check", "-c", bad).err


# ------------------------------------------------------------------ policy on scheduler time


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def test_429_with_retry_after_is_not_fetched_again_within_120_s_of_scheduler_time(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    from aggregator.config import load_config
    from aggregator.cycle import run_cycle

    url = feed_server.add("/busy.xml", b"slow down", status=429, content_type="text/plain",
                          headers={"Retry-After": "120"})  # fmt: skip
    path = write_config(tmp_path, [feed_entry(url, "Busy Party")],
                        polling={"min_interval": "10s", "max_backoff": "1h"})  # fmt: skip
    config = load_config(path)
    t = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
    clock = Clock(t)

    report = run_cycle(config, clock=clock)
    assert report.failed == 1 and len(feed_server.hits("/busy.xml")) == 1

    for seconds in (60, 119):
        clock.now = t + dt.timedelta(seconds=seconds)
        report = run_cycle(config, clock=clock)
        assert report.skipped == 1, seconds
        assert len(feed_server.hits("/busy.xml")) == 1, f"fetched again at t+{seconds}s"

    feed_server.add("/busy.xml", FEED_DATA / "wordpress_rss2.xml")
    clock.now = t + dt.timedelta(seconds=121)
    report = run_cycle(config, clock=clock)
    assert report.ok == 1 and len(feed_server.hits("/busy.xml")) == 2


def test_fetch_all_and_fetch_feed_force_a_feed_that_is_not_due(tmp_path: Path, feed_server: FeedServer) -> None:
    a = feed_server.add("/a.xml", b"busy", status=503, content_type="text/plain", headers={"Retry-After": "3600"})
    b = feed_server.add("/b.xml", FEED_DATA / "tamil.xml")
    config = write_config(tmp_path, [feed_entry(a, "A Party"), feed_entry(b, "B Party", country="LK", language="ta")])
    assert run_cli("fetch", "-c", config).code == 0
    assert "2 not due" in run_cli("fetch", "-c", config).out
    assert (len(feed_server.hits("/a.xml")), len(feed_server.hits("/b.xml"))) == (1, 1)

    out = run_cli("fetch", "--feed", a, "-c", config).out
    assert "1 failed" in out and "not due" not in out
    assert (len(feed_server.hits("/a.xml")), len(feed_server.hits("/b.xml"))) == (2, 1)

    assert run_cli("fetch", "--all", "-c", config).code == 0
    assert (len(feed_server.hits("/a.xml")), len(feed_server.hits("/b.xml"))) == (3, 2)
