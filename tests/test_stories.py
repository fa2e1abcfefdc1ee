"""Deduplication across feeds and cycles, through the real pipeline: feeds served on 127.0.0.1,
fetched, stored and published; assertions on feed.atom, the regional feeds and the database."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from conftest import ATOM_NS, FEED_DATA, TESTS, feed_entry, run_cli, write_config
from feedserver import FeedServer

PAIRS = [json.loads(line) for line in (TESTS / "data" / "dedupe" / "pairs.jsonl").read_text().splitlines()]


_used_titles: set[str] = set()


@pytest.fixture(autouse=True)
def _fresh_articles() -> None:
    """Each test picks its articles afresh, whatever ran before it (xdist reorders tests)."""
    _used_titles.clear()


def _pair(kind: str, label: str, index: int = 0) -> dict[str, Any]:
    """The index-th pair of a kind whose articles no earlier call handed out: the evaluation set
    reuses its base articles across kinds, and one feed listing the same article twice is not
    what these tests are about."""
    fresh = [
        p for p in PAIRS
        if p["kind"] == kind and p["label"] == label
        and p["a"]["title"] not in _used_titles and p["b"]["title"] not in _used_titles
    ]  # fmt: skip
    pair = fresh[index]
    _used_titles.update((pair["a"]["title"], pair["b"]["title"]))
    return pair


def _recent(item: dict[str, Any], days_ago: float = 2.0, shift_hours: float = 0.0) -> dict[str, Any]:
    """The evaluation set is dated 2025; move an item to just before now so retention keeps it."""
    published = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago) + dt.timedelta(hours=shift_hours)
    return {**item, "published": published}


def rss(items: list[dict[str, Any]], title: str = "Feed") -> bytes:
    """An RSS 2.0 document; each item has title, link, content_html, published (datetime), guid?."""
    parts = []
    for item in items:
        guid = item.get("guid", item["link"])
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
            f"<guid isPermaLink=\"false\">{escape(guid)}</guid>"
            f"<pubDate>{format_datetime(item['published'])}</pubDate>"
            f"<description>{escape(item['content_html'])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")


def _entries(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).getroot().findall(f"{ATOM_NS}entry")


def _db(tmp_path: Path, name: str = "aggregator.db") -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / name)
    conn.row_factory = sqlite3.Row
    return conn


def _two_feeds(tmp_path: Path, server: FeedServer, a_items: list[dict[str, Any]], b_items: list[dict[str, Any]],
               **config: Any) -> Path:  # fmt: skip
    a = server.add("/a.xml", rss(a_items, "A"))
    b = server.add("/b.xml", rss(b_items, "B"))
    return write_config(
        tmp_path,
        [feed_entry(a, "Party A", region="europe", country="GB"),
         feed_entry(b, "Party B", region="asia", country="IN", language="en-IN")],
        **config,
    )  # fmt: skip


def test_a_story_published_by_two_parties_appears_once_crediting_both(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pair = _pair("repost_with_intro", "duplicate")
    original = _recent(pair["a"], shift_hours=0)
    repost = _recent(pair["b"], shift_hours=5)
    other = _recent(_pair("same_event_different_article", "distinct")["a"], days_ago=3)
    config = _two_feeds(tmp_path, feed_server, [original, other], [repost])
    assert run_cli("fetch", "-c", config).code == 0

    entries = _entries(tmp_path / "public" / "feed.atom")
    assert len(entries) == 2  # three copies, two stories
    story = next(e for e in entries if e.findtext(f"{ATOM_NS}title") == original["title"])
    assert story.find(f"{ATOM_NS}link[@rel='alternate']").get("href") == original["link"]
    related = story.findall(f"{ATOM_NS}link[@rel='related']")
    assert [r.get("href") for r in related] == [repost["link"]]
    assert "Also published by" in story.findtext(f"{ATOM_NS}content") and "Party B" in story.findtext(
        f"{ATOM_NS}content"
    )
    assert story.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title") == "Party A"  # the earliest copy's feed
    published = dt.datetime.fromisoformat(story.findtext(f"{ATOM_NS}published"))
    assert abs(published - original["published"]) < dt.timedelta(seconds=1)
    terms = {c.get("term") for c in story.findall(f"{ATOM_NS}category")}
    assert {"europe", "asia", "GB", "IN"} <= terms
    # It appears in the feed of every region where it was published.
    for region in ("europe", "asia"):
        titles = [e.findtext(f"{ATOM_NS}title") for e in _entries(tmp_path / "public" / "regions" / f"{region}.atom")]
        assert original["title"] in titles

    story_id = _db(tmp_path).execute("SELECT story_id FROM entries WHERE link = ?", [repost["link"]]).fetchone()[0]
    explained = run_cli("story", str(story_id), "-c", config)
    assert explained.code == 0
    assert "2 copies" in explained.out and "first copy" in explained.out
    assert "merged by rule similar_text, similarity 0." in explained.out
    # An editor who only has an article URL (with tracking junk) finds the same story; --json for tools.
    by_url = run_cli("story", f"{repost['link']}{'&' if '?' in repost['link'] else '?'}utm_source=newsletter", "--json", "-c", config)
    assert by_url.code == 0
    as_json = json.loads(by_url.out)
    assert as_json["story"] == story_id
    assert sorted(str(c["rule"]) for c in as_json["copies"]) == ["None", "similar_text"]  # stored first: no rule
    assert {c["feed_name"] for c in as_json["copies"]} == {"Party A", "Party B"}
    missing = run_cli("story", "https://nowhere.example/none", "-c", config)
    assert missing.code == 2 and "no stored copy links to" in missing.err


def test_same_link_with_tracking_parameters_or_amp_is_one_story(tmp_path: Path, feed_server: FeedServer) -> None:
    tracking = _pair("tracking_params", "duplicate")
    amp = _pair("amp_link", "duplicate")
    config = _two_feeds(
        tmp_path, feed_server,
        [_recent(tracking["a"]), _recent(amp["a"], days_ago=3)],
        [_recent(tracking["b"], shift_hours=2), _recent(amp["b"], days_ago=3, shift_hours=2)],
    )  # fmt: skip
    run_cli("fetch", "-c", config)
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 2
    rules = {r[0] for r in _db(tmp_path).execute("SELECT match_rule FROM entries WHERE match_rule IS NOT NULL")}
    assert "same_link" in rules


def test_hard_negatives_stay_apart(tmp_path: Path, feed_server: FeedServer) -> None:
    kinds = ["same_event_different_article", "translation", "weekly_column_same_title", "same_event_similar_headline"]
    a_items, b_items = [], []
    for i, kind in enumerate(kinds):
        pair = _pair(kind, "distinct")
        a_items.append(_recent(pair["a"], days_ago=1 + i))
        b_items.append(_recent(pair["b"], days_ago=1 + i, shift_hours=3))
    config = _two_feeds(tmp_path, feed_server, a_items, b_items)
    run_cli("fetch", "-c", config)
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 8
    assert _db(tmp_path).execute("SELECT count(*) FROM entries WHERE match_rule IS NOT NULL").fetchone()[0] == 0


def test_never_merge_pairs_from_the_config_are_respected(tmp_path: Path, feed_server: FeedServer) -> None:
    pair = _pair("cross_post_exact", "duplicate")
    a, b = _recent(pair["a"]), _recent(pair["b"], shift_hours=1)
    config = _two_feeds(tmp_path, feed_server, [a], [b], dedupe={"never_merge": [[a["link"], b["link"]]]})
    run_cli("fetch", "-c", config)
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 2


def test_unmerge_splits_a_copy_and_it_stays_split(tmp_path: Path, feed_server: FeedServer) -> None:
    pair = _pair("cross_post_edited", "duplicate")
    a, b = _recent(pair["a"]), _recent(pair["b"], shift_hours=1)
    config = _two_feeds(tmp_path, feed_server, [a], [b])
    run_cli("fetch", "-c", config)
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 1
    copy_id = _db(tmp_path).execute("SELECT id FROM entries WHERE link = ?", [b["link"]]).fetchone()[0]

    result = run_cli("unmerge", str(copy_id), "-c", config)
    assert result.code == 0 and "will not be merged again" in result.out
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 2
    explained = run_cli("story", b["link"], "-c", config)
    assert explained.code == 0 and f"copy c{copy_id}:" in explained.out
    assert "split out of story" in explained.out and "by an editor" in explained.out

    # The copy is edited and fetched again: it stays a story of its own.
    b2 = {**b, "content_html": b["content_html"] + "<p>Update: the strike continues.</p>"}
    feed_server.add("/b.xml", rss([b2], "B"))
    result = run_cli("fetch", "--all", "-c", config)
    assert "1 updated" in result.out
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 2
    assert run_cli("unmerge", "999999", "-c", config).code == 2


def test_unstable_guids_add_nothing_on_later_cycles(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/unstable.xml", FEED_DATA / "unstable_guids_a.xml")
    config = write_config(tmp_path, [feed_entry(url, "Unstable")])
    run_cli("fetch", "-c", config)
    count = _db(tmp_path).execute("SELECT count(*) FROM entries").fetchone()[0]
    ids = [e.findtext(f"{ATOM_NS}id") for e in _entries(tmp_path / "public" / "feed.atom")]
    assert count == len(ids) >= 3
    feed_server.add("/unstable.xml", FEED_DATA / "unstable_guids_b.xml")
    result = run_cli("fetch", "--all", "-c", config)
    assert "0 new, 0 updated" in result.out
    assert _db(tmp_path).execute("SELECT count(*) FROM entries").fetchone()[0] == count
    assert [e.findtext(f"{ATOM_NS}id") for e in _entries(tmp_path / "public" / "feed.atom")] == ids


def test_changed_link_keeps_one_entry(tmp_path: Path, feed_server: FeedServer) -> None:
    item = _recent(_pair("cross_post_exact", "duplicate")["a"])
    url = feed_server.add("/moving.xml", rss([{**item, "guid": "post-77"}]))
    config = write_config(tmp_path, [feed_entry(url, "Moving Links")])
    run_cli("fetch", "-c", config)
    moved = {**item, "guid": "post-77", "link": item["link"].replace("https://", "http://") + "?utm_source=x"}
    feed_server.add("/moving.xml", rss([moved]))
    run_cli("fetch", "--all", "-c", config)
    rows = _db(tmp_path).execute("SELECT link FROM entries").fetchall()
    assert len(rows) == 1 and rows[0]["link"] == moved["link"]
    # New guid and new link, same words: still the same entry.
    again = {**item, "guid": "post-77-regenerated", "link": item["link"] + "#comments"}
    feed_server.add("/moving.xml", rss([again]))
    run_cli("fetch", "--all", "-c", config)
    assert _db(tmp_path).execute("SELECT count(*) FROM entries").fetchone()[0] == 1


def test_retention_prunes_old_stories_keeps_picked_and_does_not_bring_them_back(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    items = [_recent(_pair("same_event_different_article", "distinct", i)["a"], days_ago=1 + i) for i in range(3)]
    url = feed_server.add("/old.xml", rss(items))
    config = write_config(tmp_path, [feed_entry(url, "Ageing")], retention={"days": 30, "keep_per_feed": 0})
    run_cli("fetch", "-c", config)
    db = _db(tmp_path)
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 3
    # Age two stories past the retention period; an editor picked one of them.
    old = db.execute("SELECT id FROM stories ORDER BY published LIMIT 2").fetchall()
    aged = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)).isoformat(timespec="seconds")
    with db:
        db.execute("UPDATE stories SET published = ?", [aged])
        db.execute(f"UPDATE stories SET published = ? WHERE id IN ({old[0][0]}, {old[1][0]})", [aged])
        db.execute("UPDATE stories SET published = ? WHERE id NOT IN (?, ?)",
                   [dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), old[0][0], old[1][0]])  # fmt: skip
        # The cycle log is pruned too (30 days), but the latest finished cycle always stays.
        db.executemany("INSERT INTO cycles (id, started, finished) VALUES (?, ?, ?)", [(-i, aged, aged) for i in range(5)])
    assert run_cli("pick", str(old[1][0]), "-c", config).code == 0
    assert run_cli("pick", "--undo", str(old[1][0]), "-c", config).code == 0  # changed their mind
    picked = run_cli("pick", str(old[0][0]), "-c", config)
    assert picked.code == 0 and "kept past retention" in picked.out
    assert "picked by cli" in run_cli("story", str(old[0][0]), "-c", config).out
    assert run_cli("pick", "999999", "-c", config).code == 2
    feed_server.routes["/old.xml"].body += b" "  # changed bytes: the feed is parsed again
    run_cli("fetch", "--all", "-c", config)
    remaining = {r[0] for r in _db(tmp_path).execute("SELECT id FROM stories")}
    assert old[1][0] not in remaining and old[0][0] in remaining and len(remaining) == 2
    cycles = _db(tmp_path).execute("SELECT started FROM cycles").fetchall()
    assert len(cycles) == 2 and aged not in {c[0] for c in cycles}  # the two real cycles
    assert _db(tmp_path).execute("SELECT count(*) FROM tombstones").fetchone()[0] == 1
    # The feed still lists the pruned item: the tombstone keeps it out.
    assert _db(tmp_path).execute("SELECT count(*) FROM entries").fetchone()[0] == 2
    assert len(_entries(tmp_path / "public" / "feed.atom")) == 2


def test_future_dates_do_not_pin_a_story_to_the_top(tmp_path: Path, feed_server: FeedServer) -> None:
    future = _recent(_pair("same_event_different_article", "distinct", 0)["a"], days_ago=-400)
    later = _recent(_pair("same_event_different_article", "distinct", 1)["a"], days_ago=0.5)
    url = feed_server.add("/future.xml", rss([future]))
    config = write_config(tmp_path, [feed_entry(url, "Time Traveller")])
    run_cli("fetch", "-c", config)
    published = dt.datetime.fromisoformat(_entries(tmp_path / "public" / "feed.atom")[0].findtext(f"{ATOM_NS}published"))
    assert published <= dt.datetime.now(dt.timezone.utc)
    feed_server.add("/future.xml", rss([future, {**later, "published": dt.datetime.now(dt.timezone.utc)}]))
    run_cli("fetch", "--all", "-c", config)
    assert _entries(tmp_path / "public" / "feed.atom")[0].findtext(f"{ATOM_NS}title") == later["title"]


CROSS_FEED_DUPLICATES = sorted(
    {p["kind"] for p in PAIRS if p["label"] == "duplicate" and p["a"]["feed"] != p["b"]["feed"]}
    - {"short_standfirst_reworded"}  # a known, documented miss: too short to compare by similarity
)


def test_every_cross_feed_duplicate_kind_merges_through_the_pipeline(tmp_path: Path, feed_server: FeedServer) -> None:
    """One pair of each kind, each on its own pair of feeds, all fetched in one cycle."""
    assert len(CROSS_FEED_DUPLICATES) >= 8
    feeds = []
    expected_links: list[tuple[str, str]] = []
    for n, kind in enumerate(CROSS_FEED_DUPLICATES):
        pair = _pair(kind, "duplicate")
        a, b = _recent(pair["a"], days_ago=1 + n / 10), _recent(pair["b"], days_ago=1 + n / 10, shift_hours=2)
        feeds.append(feed_entry(feed_server.add(f"/{n}a.xml", rss([a])), f"A{n} {kind}"))
        feeds.append(feed_entry(feed_server.add(f"/{n}b.xml", rss([b])), f"B{n} {kind}", region="asia",
                                country="IN", language="en-IN"))  # fmt: skip
        expected_links.append((a["link"], b["link"]))
    config = write_config(tmp_path, feeds)
    assert run_cli("fetch", "-c", config).code == 0
    db = _db(tmp_path)
    for (a_link, b_link), kind in zip(expected_links, CROSS_FEED_DUPLICATES):
        stories = {r[0] for r in db.execute("SELECT story_id FROM entries WHERE link IN (?, ?)", [a_link, b_link])}
        assert len(stories) == 1, f"{kind}: two copies should be one story"
    assert len(_entries(tmp_path / "public" / "feed.atom")) == len(CROSS_FEED_DUPLICATES)


def test_same_title_items_of_one_feed_stay_distinct_entries(tmp_path: Path, feed_server: FeedServer) -> None:
    """A weekly "Editorial" with a new article each week, and two items sharing one link."""
    now = dt.datetime.now(dt.timezone.utc)
    week1 = {"title": "Editorial", "link": "https://a.example/2026/editorial-1/", "guid": "https://a.example/?p=1",
             "content_html": "", "published": now - dt.timedelta(days=7)}  # fmt: skip
    url = feed_server.add("/weekly.xml", rss([week1]))
    config = write_config(tmp_path, [feed_entry(url, "Weekly")])
    run_cli("fetch", "-c", config)
    first_ids = [e.findtext(f"{ATOM_NS}id") for e in _entries(tmp_path / "public" / "feed.atom")]
    assert first_ids == ["https://a.example/?p=1"]

    week2 = {**week1, "link": "https://a.example/2026/editorial-2/", "guid": "https://a.example/?p=2",
             "published": now - dt.timedelta(hours=1)}  # fmt: skip
    statement_a = {**week1, "title": "Statement one", "link": "https://a.example/statements/",
                   "guid": "https://a.example/?p=3", "content_html": "<p>First statement.</p>"}  # fmt: skip
    statement_b = {**statement_a, "title": "Statement two", "guid": "https://a.example/?p=4",
                   "content_html": "<p>Second statement.</p>"}  # fmt: skip
    feed_server.add("/weekly.xml", rss([week2, week1, statement_a, statement_b]))
    run_cli("fetch", "--all", "-c", config)
    entries = {e.findtext(f"{ATOM_NS}id"): e for e in _entries(tmp_path / "public" / "feed.atom")}
    assert set(entries) == {f"https://a.example/?p={n}" for n in (1, 2, 3, 4)}
    assert entries["https://a.example/?p=1"].find(f"{ATOM_NS}link[@rel='alternate']").get("href") == week1["link"]
    assert entries["https://a.example/?p=2"].find(f"{ATOM_NS}link[@rel='alternate']").get("href") == week2["link"]
    assert _db(tmp_path).execute("SELECT count(DISTINCT story_id) FROM entries").fetchone()[0] == 4


def test_unmerging_the_first_copy_moves_its_atom_id_with_it(tmp_path: Path, feed_server: FeedServer) -> None:
    pair = _pair("cross_post_exact", "duplicate")
    a = {**_recent(pair["a"]), "guid": "1234"}  # a bare guid: the story id is minted from feed and key
    b = _recent(pair["b"], shift_hours=1)
    config = _two_feeds(tmp_path, feed_server, [a], [b])
    run_cli("fetch", "--feed", feed_server.url("/a.xml"), "-c", config)  # A's copy creates the story
    run_cli("fetch", "-c", config)
    [story] = _entries(tmp_path / "public" / "feed.atom")
    story_id = story.findtext(f"{ATOM_NS}id")
    assert story_id.startswith("urn:aggregator:entry:")
    copy_a = _db(tmp_path).execute("SELECT id FROM entries WHERE link = ?", [a["link"]]).fetchone()[0]

    result = run_cli("unmerge", str(copy_a), "-c", config)
    assert result.code == 0, result.err
    by_link = {e.find(f"{ATOM_NS}link[@rel='alternate']").get("href"): e.findtext(f"{ATOM_NS}id")
               for e in _entries(tmp_path / "public" / "feed.atom")}  # fmt: skip
    assert by_link[a["link"]] == story_id  # readers see A's article under the id they already have
    assert by_link[b["link"]] != story_id


def test_an_entry_declaring_its_own_language_keeps_it(tmp_path: Path, feed_server: FeedServer) -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Mixed</title><id>urn:x</id>
<updated>2026-11-30T10:00:00Z</updated>
<entry><id>urn:x:1</id><title>English report</title><link href="https://m.example/1"/>
<updated>2026-11-30T10:00:00Z</updated><content type="html">&lt;p&gt;Workers strike.&lt;/p&gt;</content></entry>
<entry xml:lang="ta"><id>urn:x:2</id><title>\xe0\xae\xa4\xe0\xae\xae\xe0\xae\xbf\xe0\xae\xb4\xe0\xaf\x8d</title>
<link href="https://m.example/2"/><updated>2026-11-30T11:00:00Z</updated>
<content type="html">&lt;p&gt;\xe0\xae\xa4\xe0\xae\xae\xe0\xae\xbf\xe0\xae\xb4\xe0\xaf\x8d&lt;/p&gt;</content></entry>
</feed>"""
    url = feed_server.add("/mixed.atom", body, content_type="application/atom+xml")
    config = write_config(tmp_path, [feed_entry(url, "Mixed", region="asia", country="LK", language="si")])
    run_cli("fetch", "-c", config)
    langs = {e.findtext(f"{ATOM_NS}id"): e.get("{http://www.w3.org/XML/1998/namespace}lang")
             for e in _entries(tmp_path / "public" / "feed.atom")}  # fmt: skip
    # The channel-wide "en" is a CMS default and is not trusted; the entry's own "ta" is.
    assert langs == {"urn:x:1": "si", "urn:x:2": "ta"}


def test_removing_a_feed_from_the_config_takes_its_stories_out(tmp_path: Path, feed_server: FeedServer) -> None:
    keep = feed_server.add("/keep.xml", FEED_DATA / "wordpress_rss2.xml")
    drop = feed_server.add("/drop.xml", FEED_DATA / "tamil.xml")
    config = write_config(tmp_path, [feed_entry(keep, "Keep"), feed_entry(drop, "Drop", region="asia")])
    run_cli("fetch", "-c", config)
    sources = {e.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title") for e in _entries(tmp_path / "public" / "feed.atom")}
    assert sources == {"Keep", "Drop"}
    write_config(tmp_path, [feed_entry(keep, "Keep"), feed_entry(drop, "Drop", region="asia", enabled=False)])
    run_cli("publish", "-c", config)
    sources = {e.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title") for e in _entries(tmp_path / "public" / "feed.atom")}
    assert sources == {"Keep"}
    assert _entries(tmp_path / "public" / "regions" / "asia.atom") == []


def test_pruning_the_cycle_log_keeps_the_last_finished_cycle_however_old(tmp_path: Path) -> None:
    """After weeks without a cycle, status must still say when the last one finished."""
    from aggregator.models import CycleReport
    from aggregator.store import Store

    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    with Store.open(tmp_path / "a.db") as store:
        for days_ago in (90, 80, 70):
            started = now - dt.timedelta(days=days_ago)
            store.finish_cycle(store.start_cycle(started), started, CycleReport(ok=days_ago))
        store.start_cycle(now - dt.timedelta(days=60))  # killed: never finished
        store.prune(now, retention_days=365)
        last = store.last_finished_cycle()
        assert last is not None and last.report.ok == 70
        assert _db(tmp_path, "a.db").execute("SELECT count(*) FROM cycles").fetchone()[0] == 1
