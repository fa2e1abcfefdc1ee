"""The cycle's own machinery: the parser pool survives a worker that dies, the memory a cycle holds is
bounded, and a cycle with nothing new stays light."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from aggregator.parsepool import FeedParserPool
from aggregator.models import ParsedFeed, ParseError
from aggregator.parse import parse_feed
from conftest import FEED_DATA
from feedserver import FeedServer


def parse_or_die(body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Runs in a worker process: a body of b"die" kills it, as the kernel's OOM killer would."""
    if body == b"die":
        os._exit(137)
    return parse_feed(body, headers, url)


def test_a_dead_parser_process_costs_one_feed_not_the_cycle() -> None:
    feed = (FEED_DATA / "wordpress_rss2.xml").read_bytes()
    headers = {"content-type": "application/rss+xml"}

    async def run() -> list[object]:
        pool = FeedParserPool(feed_count=10, parse=parse_or_die)
        try:
            results: list[object] = []
            for body in (feed, b"die", feed, feed):
                try:
                    results.append(await pool.parse(body, headers, "http://127.0.0.1/feed"))
                except ParseError as exc:
                    results.append(exc)
            return results
        finally:
            pool.shutdown()

    results = asyncio.run(run())
    assert isinstance(results[0], ParsedFeed) and results[0].entries
    assert isinstance(results[1], ParseError) and "parser process died" in str(results[1])
    assert all(isinstance(r, ParsedFeed) and r.entries for r in results[2:])


def test_a_cycle_in_which_no_feed_changed_never_loads_numpy(tmp_path: Path, feed_server: FeedServer) -> None:
    """numpy (dedupe's MinHash) is loaded by the first fingerprint, not by every cycle; and httpx
    comes without its command line (click, pygments: aggregator/http_client.py)."""
    from conftest import feed_entry, modules_loaded_by_cli, run_cli, write_config

    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config = write_config(tmp_path, [feed_entry(url, "Party")])
    assert run_cli("fetch", "-c", config).code == 0  # new entries: fingerprinted, in the workers
    # Nor does it load a renderer: publish_if_changed finds the outputs' signature unchanged and
    # their files where the last publish listed them.
    unwanted = ["numpy", "click", "pygments", "aggregator.outputs", "aggregator.atom", "feedgen", "jinja2"]
    assert modules_loaded_by_cli([*unwanted, "httpx"], "fetch", "--all", "-q", "-c", config) == (0, ["httpx"])

    # A published file that went missing is written again by the next cycle, changed or not.
    public = tmp_path / "public"
    index = (public / "index.html").read_bytes()
    (public / "index.html").unlink()
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    assert (public / "index.html").read_bytes() == index


def test_a_fetch_with_nothing_due_loads_no_fetcher_parser_or_renderer(tmp_path: Path, feed_server: FeedServer) -> None:
    """Start-up of a cron cycle with nothing due (issue 11): the HTTP client, the event loop, the
    parsers, feedgen and numpy are loaded only by a cycle that has work."""
    from conftest import feed_entry, modules_loaded_by_cli, run_cli, write_config

    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config = write_config(tmp_path, [feed_entry(url, "Party")])
    assert run_cli("fetch", "-c", config).code == 0
    hits = len(feed_server.hits("/wp.xml"))
    heavy = ["asyncio", "httpx", "feedparser", "feedgen", "numpy", "lxml", "nh3", "jinja2"]
    assert modules_loaded_by_cli(heavy, "fetch", "-q", "-c", config) == (0, [])
    assert len(feed_server.hits("/wp.xml")) == hits  # nothing was due


def test_a_cycle_holds_at_most_in_flight_feeds_between_fetch_and_store(tmp_path: Path, feed_server: FeedServer,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Storing is the slowest stage: without a bound every feed would be fetched at once and wait,
    body and parsed entries, in memory. With IN_FLIGHT slots, a feed is fetched only when one of
    the earlier ones has been stored."""
    import time

    from aggregator import cycle, update
    from aggregator.config import load_config
    from conftest import feed_entry, write_config

    paths = [f"/feed{n}.xml" for n in range(10)]
    config = load_config(write_config(tmp_path, [
        feed_entry(feed_server.add(p, FEED_DATA / "wordpress_rss2.xml"), f"Party {n}") for n, p in enumerate(paths)
    ]))  # fmt: skip
    fetched_when_stored: list[int] = []
    real = update.store_result

    def slow_store(*args: object, **kwargs: object) -> object:
        fetched_when_stored.append(sum(len(feed_server.hits(p)) for p in paths))
        time.sleep(0.1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(update, "store_result", slow_store)
    monkeypatch.setattr(cycle, "IN_FLIGHT", 2)
    report = cycle.run_cycle(config, force_all=True)
    assert report.ok == 10 and report.failed == 0
    assert len(fetched_when_stored) == 10
    # When the k-th feed (from 0) is stored, at most k + IN_FLIGHT feeds have been asked for.
    assert all(fetched <= k + 2 for k, fetched in enumerate(fetched_when_stored)), fetched_when_stored


def test_feed_states_read_entry_times_only_of_the_feeds_asked_for(tmp_path: Path, feed_server: FeedServer) -> None:
    """A cycle reads every feed's state to see which are due, but the newest entries' times (the
    posting rate, a read of every entry) only of the due ones."""
    from aggregator.store import Store
    from conftest import feed_entry, run_cli, write_config

    urls = [feed_server.add(f"/f{n}.xml", FEED_DATA / "wordpress_rss2.xml") for n in range(3)]
    config = write_config(tmp_path, [feed_entry(u, f"Party {n}") for n, u in enumerate(urls)])
    assert run_cli("fetch", "-c", config).code == 0
    with Store.open(tmp_path / "aggregator.db", readonly=True) as store:
        every = store.feed_states()
        assert all(every[u].recent_entry_times for u in urls)
        none = store.feed_states(recent_of=())
        assert set(none) == set(urls) and not any(s.recent_entry_times for s in none.values())
        assert {u: s.next_due for u, s in none.items()} == {u: s.next_due for u, s in every.items()}
        some = store.feed_states(recent_of=[urls[1]])
        assert some[urls[1]] == every[urls[1]] and not some[urls[0]].recent_entry_times
        # What choosing the due feeds reads of each: the same status and due time, nothing more.
        schedules = store.feed_schedules()
        assert {u: (s.last_status, s.next_due) for u, s in schedules.items()} == {
            u: (s.last_status, s.next_due) for u, s in every.items()
        }
        assert all(s.next_due is not None and s.last_status == "ok" for s in schedules.values())


def test_feeds_are_mirrored_from_the_config_writing_only_what_changed(tmp_path: Path) -> None:
    """sync_feeds at every cycle: a new feed is added, an edited one updated, one taken out of the
    config kept (with its entries) but out of the config, and one put back in again; a config
    that did not change writes nothing (the content version, which counts every change a reader
    could see, stays as it was)."""
    import datetime as dt
    from dataclasses import replace

    from aggregator.config import load_config
    from aggregator.store import Store
    from conftest import feed_entry, write_config

    now = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    config = load_config(write_config(tmp_path, [feed_entry(f"https://party{n}.example/feed/", f"Party {n}") for n in range(3)]))
    a, b, c = config.feeds

    def rows(store: Store) -> dict[str, tuple[object, ...]]:
        return {r[0]: tuple(r[1:]) for r in store.db.execute("SELECT url, name, region, in_config, created FROM feeds")}

    with Store.open(config.database) as store:
        store.sync_feeds([a, b, c], now)
        first = rows(store)
        assert {url: row[2] for url, row in first.items()} == {a.url: 1, b.url: 1, c.url: 1}
        version = store.content_version()
        store.sync_feeds([a, b, c], now + dt.timedelta(hours=1))
        assert rows(store) == first and store.content_version() == version  # nothing written

        renamed = replace(b, name="Party B", region="asia")
        store.sync_feeds([a, renamed], now + dt.timedelta(hours=2))
        after = rows(store)
        assert after[b.url][:3] == ("Party B", "asia", 1) and after[b.url][3] == first[b.url][3]  # created kept
        assert after[c.url][2] == 0 and after[a.url] == first[a.url]
        assert store.content_version() > version
        store.sync_feeds([a, renamed, c], now + dt.timedelta(hours=3))
        assert rows(store)[c.url][2] == 1
        assert set(store.feed_schedules()) == {a.url, b.url, c.url}


def test_feeds_that_write_no_entries_are_stored_together_and_all_recorded(tmp_path: Path, feed_server: FeedServer) -> None:
    """Fetches that write only their fetch state (304s, a body parsed before, errors) are stored
    in batches of STATE_ONLY_BATCH: every one is still recorded and reported, a full batch and the
    rest at the end, and a feed that changed is stored on its own as ever."""
    import datetime as dt

    from aggregator import cycle
    from aggregator.config import load_config
    from aggregator.store import Store
    from conftest import feed_entry, write_config

    count = cycle.STATE_ONLY_BATCH + 8
    paths = [f"/f{n}.xml" for n in range(count)]
    urls = [feed_server.add(p, FEED_DATA / "wordpress_rss2.xml") for p in paths]
    broken = feed_server.add("/gone.xml", b"", status=500)
    config = load_config(write_config(tmp_path, [feed_entry(u, f"Party {n}") for n, u in enumerate([*urls, broken])]))
    assert cycle.run_cycle(config).ok == count

    feed_server.routes[paths[0]].body = feed_server.routes[paths[0]].body.replace(b"</channel>", b"<item><title>New one</title><link>https://example.org/new</link><description>x</description></item></channel>")
    seen: list[str] = []
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    report = cycle.run_cycle(config, force_all=True, progress=lambda o: seen.append(o.status), clock=lambda: later)
    assert (report.ok, report.not_modified, report.failed, report.new_entries) == (1, count - 1, 1, 1)
    assert sorted(seen) == sorted(["ok", *["not_modified"] * (count - 1), "error"])
    with Store.open(config.database, readonly=True) as store:
        states = store.feed_states(recent_of=())
    assert all(states[u].last_fetched == later.replace(microsecond=0) for u in urls)
    assert states[broken].consecutive_failures == 2 and states[broken].last_status == "error"


def test_a_changed_feeds_unchanged_entries_are_rewritten_only_when_their_sighting_is_a_day_old(
    tmp_path: Path, feed_server: FeedServer
) -> None:  # fmt: skip
    """A feed that gains one item has its other entries matched as unchanged: their rows are left
    alone (no page of theirs rewritten) unless their last sighting is SIGHTING_RESOLUTION old."""
    import datetime as dt
    import sqlite3

    from aggregator import cycle, ingest
    from aggregator.config import load_config
    from conftest import feed_entry, write_config

    url = feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml")
    config = load_config(write_config(tmp_path, [feed_entry(url, "Party")]))
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert cycle.run_cycle(config, clock=lambda: start).new_entries > 1

    def add_item(n: int) -> None:
        route = feed_server.routes["/wp.xml"]
        route.body = route.body.replace(b"</channel>", f"<item><title>New {n}</title><link>https://example.org/new{n}</link>"
                                                       f"<description>news {n}</description></item></channel>".encode())  # fmt: skip

    def sightings() -> dict[str, str]:
        with sqlite3.connect(config.database) as conn:
            return dict(conn.execute("SELECT key, last_seen FROM entries"))

    first = sightings()
    assert set(first.values()) == {start.isoformat()}
    add_item(1)
    hour_later = start + dt.timedelta(hours=1)
    assert cycle.run_cycle(config, force_all=True, clock=lambda: hour_later).new_entries == 1
    second = sightings()
    assert {k: v for k, v in second.items() if k in first} == first  # unchanged rows left alone
    assert sorted(set(second.values())) == [start.isoformat(), hour_later.isoformat()]

    add_item(2)
    day_later = start + ingest.SIGHTING_RESOLUTION
    assert cycle.run_cycle(config, force_all=True, clock=lambda: day_later).new_entries == 1
    third = sightings()
    assert {k: v for k, v in third.items() if k in first} == {k: day_later.isoformat() for k in first}
    assert len(third) == len(first) + 2
