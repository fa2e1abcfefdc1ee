"""Feed archives (RFC 5005, issue 13): feed.atom points at weekly archive documents, each marked
fh:archive and linked to the one before; walking the chain finds every story exactly once, newest
to oldest, and an archive is never rewritten once its week has ended."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from lxml import etree

from aggregator import archive
from aggregator.config import load_config
from aggregator.websub import changed_feed_urls
from aggregator.store.plaintext import register_functions
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

BASE = "https://feeds.example.org/"
FH = "{http://purl.org/syndication/history/1.0}"


def archive_test_feeds(server: FeedServer) -> list[dict[str, Any]]:
    """Five parties in three regions and four languages, served by `server` (also used by
    test_archive_chains.py)."""
    return [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Europe Party"),
        feed_entry(server.add("/rdf.xml", FEED_DATA / "rss10_rdf.xml"), "Gauche RDF", country="FR", language="fr"),
        feed_entry(server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                   country="PK", language="ur"),
        feed_entry(server.add("/tamil.xml", FEED_DATA / "tamil.xml"), "Tamil Party", region="asia",
                   country="LK", language="ta"),
        feed_entry(server.add("/blogger.atom", FEED_DATA / "blogger_atom.xml", content_type="application/atom+xml"),
                   "Blogger Party", region="africa", country="NG", language="en-NG"),
    ]  # fmt: skip


def _setup(tmp_path: Path, server: FeedServer) -> Path:
    feeds = archive_test_feeds(server)
    return write_config(tmp_path, feeds, max_entries=3)


def _stored_long_ago(tmp_path: Path) -> None:
    """As if every story had been fetched an hour after it was published (the fixtures are from
    November 2026), instead of all at once just now."""
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        conn.execute("UPDATE stories SET created = strftime('%Y-%m-%dT%H:%M:%S+00:00', published, '+1 hour')")


def _link(root: etree._Element, rel: str) -> str | None:
    link = root.find(f"{ATOM_NS}link[@rel='{rel}']")
    return None if link is None else str(link.get("href"))


def _entries(root: etree._Element) -> list[tuple[str, str]]:
    return [(e.findtext(f"{ATOM_NS}id"), e.findtext(f"{ATOM_NS}published")) for e in root.findall(f"{ATOM_NS}entry")]


def test_walking_the_archive_chain_finds_every_story_once_newest_to_oldest(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    # Everything was stored this week, which has not ended: no archive yet.
    assert not (public / "archive").exists()
    assert _link(etree.parse(str(public / "feed.atom")).getroot(), "prev-archive") is None

    _stored_long_ago(tmp_path)
    assert run_cli("publish", "-c", config).code == 0
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        stored = {r[0] for r in conn.execute("SELECT atom_id FROM stories")}
    assert len(stored) > 10

    current = etree.parse(str(public / "feed.atom")).getroot()
    assert current.find(f"{FH}archive") is None
    walked = _entries(current)
    assert len(walked) == 3  # max_entries
    archive_ids: list[str] = []
    documents = []
    url, came_from = _link(current, "prev-archive"), None
    while url is not None:
        assert url.startswith(BASE + "archive/") and url.endswith(".atom")
        path = public / url.removeprefix(BASE)
        documents.append(path)
        root = etree.parse(str(path)).getroot()
        assert root.find(f"{FH}archive") is not None and root.find(f"{FH}complete") is None
        assert _link(root, "current") == BASE + "feed.atom"
        assert _link(root, "self") == url == root.findtext(f"{ATOM_NS}id")
        assert _link(root, "hub") is None
        assert _link(root, "next-archive") == came_from  # None for the newest: not known when written
        entries = _entries(root)
        archive_ids += [i for i, _ in entries]
        walked += entries
        url, came_from = _link(root, "prev-archive"), url
    validate_atom(public / "feed.atom", *documents)

    # Every story is in exactly one archive; the subscription document overlaps the newest ones.
    assert len(archive_ids) == len(set(archive_ids)) and set(archive_ids) == stored
    # Reconciled by id as RFC 5005 says, the walk meets each story once, newest to oldest.
    unique: dict[str, str] = {}
    for entry_id, published in walked:
        unique.setdefault(entry_id, published)
    assert set(unique) == stored
    times = [dt.datetime.fromisoformat(p) for p in unique.values()]
    assert times == sorted(times, reverse=True)
    # One document a week from the first story's week to last week, empty weeks included (no gaps).
    labels = [p.stem for p in documents]
    assert labels[-1] == "2026-W45" and labels == sorted(labels, reverse=True)
    assert len(labels) == len(archive.closed_weeks(min(times), dt.datetime.now(dt.timezone.utc)))
    assert {p.name for p in (public / "archive").iterdir()} == {p.name for p in documents}


def test_an_archive_is_never_rewritten_once_its_week_has_ended(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    _stored_long_ago(tmp_path)
    assert run_cli("publish", "-c", config).code == 0
    public = tmp_path / "public"
    archives = {p: p.read_bytes() for p in (public / "archive").iterdir()}
    mtimes = {p: p.stat().st_mtime_ns for p in archives}
    feed_before = (public / "feed.atom").read_bytes()

    # An editor's correction upstream: every story's title changes.
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        register_functions(conn)  # the full-text index's triggers call it
        conn.execute("UPDATE entries SET title = title || ' (corrected)'")
    assert run_cli("publish", "-c", config).code == 0
    assert (public / "feed.atom").read_bytes() != feed_before
    assert b"(corrected)" in (public / "feed.atom").read_bytes()
    assert {p: p.read_bytes() for p in archives} == archives
    assert {p: p.stat().st_mtime_ns for p in archives} == mtimes


def test_archives_are_not_announced_to_the_websub_hub(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, [feed_entry("https://party.example/feed", "Party")]))
    changed = ["archive/2026-W47.atom", "feed.atom", "feed.json", "index.html", "feeds.opml", "regions/asia.json"]
    assert changed_feed_urls(config, changed) == [BASE + "feed.atom", BASE + "feed.json", BASE + "regions/asia.json"]


def test_weeks_are_iso_weeks_starting_monday_utc() -> None:
    moment = dt.datetime(2027, 1, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))  # Mon 4 Jan, 01:30 UTC
    assert archive.week_start(moment) == dt.datetime(2027, 1, 4, tzinfo=dt.timezone.utc)
    assert archive.week_path(archive.week_start(moment)) == "archive/2027-W01.atom"
    assert archive.week_path(dt.datetime(2026, 12, 28, tzinfo=dt.timezone.utc)) == "archive/2026-W53.atom"
    weeks = archive.closed_weeks(dt.datetime(2026, 12, 20, tzinfo=dt.timezone.utc), moment)
    assert [w.path for w in weeks] == ["archive/2026-W53.atom", "archive/2026-W52.atom", "archive/2026-W51.atom"]
    assert weeks[0].next_path is None and weeks[0].prev_path == "archive/2026-W52.atom"
    assert weeks[-1].prev_path is None and weeks[-1].next_path == "archive/2026-W52.atom"
