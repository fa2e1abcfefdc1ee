"""Rendered entries kept between publishes (aggregator/rendered.py, issue 11): a publish renders
only the Atom entries and JSON Feed items of stories that changed, and the files it writes are the
same bytes as a publish that renders everything."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aggregator import atom, jsonfeed
from aggregator import publish as publish_module
from aggregator.config import load_config
from aggregator.store import Store
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom


def _setup(tmp_path: Path, server: FeedServer, **overrides: Any) -> Path:
    feeds = [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Europe Party", site="https://wp.example.org/"),
        feed_entry(server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                   country="PK", language="ur"),
    ]  # fmt: skip
    return write_config(tmp_path, feeds, **overrides)


def _feeds(public: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(public.rglob("*")) if p.is_file() and p.suffix in (".atom", ".json")}


class _Counting:
    """Counts the entries and items rendered (not taken from the kept ones), by story id."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.atom: list[int] = []
        self.json: list[int] = []
        real_entry, real_item = atom.entry_xml, jsonfeed.item_json

        def entry(story: Any, atom_id: str, config: Any) -> str:
            self.atom.append(story.id)
            return real_entry(story, atom_id, config)

        def item(story: Any, item_id: str, config: Any) -> str:
            self.json.append(story.id)
            return real_item(story, item_id, config)

        monkeypatch.setattr(atom, "entry_xml", entry)
        monkeypatch.setattr(jsonfeed, "item_json", item)


def _republish(config_path: Path) -> None:
    config = load_config(config_path)
    with Store.open(config.database) as store:
        publish_module.publish(config, store)


def test_a_publish_renders_only_what_changed_and_writes_the_same_bytes(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    public = tmp_path / "public"
    first = _feeds(public)
    assert len(first) > 6

    counting = _Counting(monkeypatch)
    for p in first:
        p.unlink()
    _republish(config_path)
    assert counting.atom == [] and counting.json == []  # every entry kept from the cycle's publish
    assert _feeds(public) == first  # and the files are the same bytes
    for p in public.rglob("*.atom"):
        validate_atom(p)  # a feed made of kept entries is valid Atom (jing, RFC 4287)
    for p in public.rglob("*.json"):
        json.loads(p.read_text(encoding="utf-8"))

    # A story whose copy changes is rendered again, once per format; nothing else is.
    config = load_config(config_path)
    with Store.open(config.database) as store, store.transaction():  # as a feed's correction would
        story_id, entry_id = store.db.execute("SELECT story_id, id FROM entries ORDER BY id LIMIT 1").fetchone()
        store.db.execute("UPDATE entries SET title = 'A corrected headline' WHERE id = ?", [entry_id])
    _republish(config_path)
    assert set(counting.atom) == {story_id} and set(counting.json) == {story_id}
    changed = {p for p, data in _feeds(public).items() if data != first[p]}
    assert changed and all(b"A corrected headline" in p.read_bytes() for p in changed)

    # Forgetting every kept entry renders them all again, to the same bytes as the kept ones.
    with Store.open(config.database) as store, store.transaction():
        store.db.execute("UPDATE entries SET title = 'Back' WHERE id = ?", [entry_id])
    _republish(config_path)
    kept = _feeds(public)
    with Store.open(config.database) as store:
        store.save_rendered_entries([], keep=set())
    counting.atom.clear()
    _republish(config_path)
    with sqlite3.connect(config.database) as conn:
        assert set(counting.atom) == {r[0] for r in conn.execute("SELECT id FROM stories")}
    assert _feeds(public) == kept


def test_what_the_config_shows_in_an_entry_renders_it_again(tmp_path: Path, feed_server: FeedServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    counting = _Counting(monkeypatch)
    # The region's label is each entry's category label: every entry of the region renders again.
    text = config_path.read_text(encoding="utf-8").replace("europe: Europe", "europe: Western Europe")
    assert "Western Europe" in text
    config_path.write_text(text, encoding="utf-8")
    _republish(config_path)
    assert counting.atom and counting.json
    feed = (tmp_path / "public" / "regions" / "europe.atom").read_text(encoding="utf-8")
    assert 'label="Western Europe"' in feed


def test_a_whole_publish_keeps_only_the_entries_it_shows(tmp_path: Path, feed_server: FeedServer) -> None:
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    with sqlite3.connect(config.database) as conn:
        stored = [r[0] for r in conn.execute("SELECT id FROM stories")]
        kept_before = conn.execute("SELECT count(*) FROM rendered_entries").fetchone()[0]
    assert kept_before == 2 * len(stored)  # each story in Atom and JSON, kept once however many feeds show it
    # Fewer entries per feed: the stories no feed shows any more are forgotten.
    _setup(tmp_path, feed_server, max_entries=2)
    _republish(config_path)
    with sqlite3.connect(config.database) as conn:
        kept = {r[0] for r in conn.execute("SELECT story_id FROM rendered_entries")}
    shown = set()
    for p in (tmp_path / "public").rglob("*.json"):
        shown |= {item["_aggregator"]["story"] for item in json.loads(p.read_text(encoding="utf-8"))["items"]}
    assert kept == shown and len(kept) < len(stored)


def test_the_render_context_covers_the_code_that_renders_entries() -> None:
    """A changed renderer (atom.py, jsonfeed.py, the sanitizer...) renders every entry again:
    every module named is read, and the installed files are those modules'."""
    from pathlib import Path as _Path

    from aggregator import atom as atom_module, locales, rendered, sanitize

    folder = _Path(rendered.__file__).parent
    for module in (atom_module, jsonfeed, sanitize, locales, rendered):
        assert _Path(module.__file__ or "").name in rendered._RENDERERS
        assert (folder / _Path(module.__file__ or "").name).is_file()
    assert len(rendered._renderer_source()) == 64


# How a write changes each field of a shown copy (models.Copy), as a feed's edit, the matcher, the
# full-text step or a config change would: (table, column, new value). "id" and "story_id" are the
# copy's identity (a copy moving to another story is a case of its own below).
_COPY_FIELD_WRITES: dict[str, tuple[str, str, object]] = {
    "feed_url": ("entries", "feed_url", "the other feed"),  # (its URL is the test's)
    "feed_name": ("feeds", "name", "Renamed Party"),
    "feed_site": ("feeds", "site", "https://renamed.example/"),
    "region": ("feeds", "region", "asia"),
    "country": ("feeds", "country", "FR"),
    "language": ("entries", "language", "fr"),
    "original_id": ("entries", "original_id", "urn:changed:1"),
    "key": ("entries", "key", "changed-key"),
    "link": ("entries", "link", "https://wp.example.org/changed"),
    "title": ("entries", "title", "A corrected headline"),
    "content_html": ("entries", "content_html", "<p>Corrected</p>"),
    "summary_html": ("entries", "summary_html", "<p>Corrected</p>"),
    "author": ("entries", "author", "Another Author"),
    "categories": ("entries", "categories", '["corrected"]'),
    "published": ("entries", "published", "2020-01-02T03:04:05+00:00"),
    "updated": ("entries", "updated", "2020-01-02T03:04:05+00:00"),
    "source_updated": ("entries", "source_updated", "2020-01-02T03:04:05+00:00"),
    "feed_id": ("feeds", "feed_id", "urn:changed:feed"),
    "match_rule": ("entries", "match_rule", "same_link"),
    "match_score": ("entries", "match_score", 0.5),
    "enclosures": ("entries", "enclosures", '[{"url": "https://wp.example.org/a.mp3", "type": "audio/mpeg"}]'),
    "image": ("entries", "image", "https://wp.example.org/i.jpg"),
    "full_text_html": ("entries", "full_text_html", "<p>The whole article</p>"),
}


def _kept_stories(db_path: Path) -> set[int]:
    with sqlite3.connect(db_path) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT story_id FROM rendered_entries")}


def test_every_write_to_what_an_entry_shows_drops_its_kept_rendering(tmp_path: Path, feed_server: FeedServer) -> None:
    """The store's triggers (store/rendered.py) drop a story's kept renderings when any field of a
    copy it shows is written, whichever table holds it; every field of Copy is covered here, so a
    new one fails this test until its writes are watched. Fetch bookkeeping keeps them."""
    import dataclasses

    from aggregator.models import Copy

    assert set(_COPY_FIELD_WRITES) == {f.name for f in dataclasses.fields(Copy)} - {"id", "story_id"}
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    db_path = load_config(config_path).database
    with sqlite3.connect(db_path) as conn:
        story_id, entry_id, feed_url = conn.execute(
            "SELECT story_id, id, feed_url FROM entries WHERE feed_url LIKE '%wp.xml' ORDER BY id LIMIT 1"
        ).fetchone()
        feed_stories = {r[0] for r in conn.execute("SELECT story_id FROM entries WHERE feed_url = ?", [feed_url])}
        other_feed = conn.execute("SELECT url FROM feeds WHERE url != ?", [feed_url]).fetchone()[0]
    everyone = _kept_stories(db_path)
    assert story_id in everyone and feed_stories < everyone
    for field, (table, column, value) in _COPY_FIELD_WRITES.items():
        _republish(config_path)
        assert _kept_stories(db_path) == everyone, field
        where = ("id", entry_id) if table == "entries" else ("url", feed_url)
        value = other_feed if value == "the other feed" else value
        with Store.open(db_path) as store, store.transaction():  # the store's SQL functions serve its triggers
            was = store.db.execute(f"SELECT {column} FROM {table} WHERE {where[0]} = ?", [where[1]]).fetchone()[0]
            assert was != value, field
            store.db.execute(f"UPDATE {table} SET {column} = ? WHERE {where[0]} = ?", [value, where[1]])
        assert story_id not in _kept_stories(db_path), field
        with Store.open(db_path) as store, store.transaction():  # back, for the next field
            store.db.execute(f"UPDATE {table} SET {column} = ? WHERE {where[0]} = ?", [was, where[1]])
    # What only the fetch keeps track of changes no rendering, nor does the feed's last change
    # (since migration 0015 each copy shows the feed's last change as of its own last write).
    _republish(config_path)
    with Store.open(db_path) as store, store.transaction():
        store.db.execute("UPDATE entries SET last_seen = '2030-01-01T00:00:00+00:00' WHERE id = ?", [entry_id])
        store.db.execute("UPDATE feeds SET etag = 'W/\"x\"', last_fetched = '2030-01-01T00:00:00+00:00',"
                         " last_changed = '2030-01-01T00:00:00+00:00' WHERE url = ?", [feed_url])  # fmt: skip
    assert _kept_stories(db_path) == everyone


def _assert_what_rendering_everything_gives(config_path: Path) -> None:
    """The files as they are (written from kept renderings) are those a publish with nothing kept writes."""
    config = load_config(config_path)
    written = _feeds(config.output_dir)
    with Store.open(config.database) as store:
        store.save_rendered_entries([], keep=set())
    _republish(config_path)
    assert _feeds(config.output_dir) == written


def _source_updated(feed: Path) -> dict[str, str]:
    """{entry title: its atom:source updated} of an Atom file."""
    from lxml import etree

    return {e.findtext(f"{ATOM_NS}title") or "": e.findtext(f"{ATOM_NS}source/{ATOM_NS}updated") or ""
            for e in etree.parse(str(feed)).getroot().iter(f"{ATOM_NS}entry")}  # fmt: skip


def test_a_feed_that_gains_an_item_renders_only_the_new_story(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incremental cycle: a feed's new item changes the feed (its last change), but each copy it
    had keeps the atom:source updated it was written with, so the cycle's publish renders the new
    story alone, and the files are the bytes of a publish that renders everything."""
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    with Store.open(config.database) as store, store.transaction():  # as if fetched the day before
        store.db.execute("UPDATE entries SET source_updated = '2026-11-20T10:00:00+00:00'")
        store.db.execute("UPDATE feeds SET last_changed = '2026-11-20T10:00:00+00:00'")
    _republish(config_path)
    combined = tmp_path / "public" / "feed.atom"
    before = _source_updated(combined)
    assert len(before) >= 5 and set(before.values()) == {"2026-11-20T10:00:00+00:00"}
    body = (FEED_DATA / "wordpress_rss2.xml").read_text(encoding="utf-8")
    new_item = """<item>
		<title>Edinburgh nurses win back pay</title>
		<link>https://socialistpartyscotland.org.uk/2026/11/21/item-new/</link>
		<pubDate>Sat, 21 Nov 2026 09:00:00 +0000</pubDate>
		<guid isPermaLink="false">https://socialistpartyscotland.org.uk/?p=999</guid>
		<description><![CDATA[Nurses in Edinburgh won their back pay after a long campaign.]]></description>
	</item>
	<item>"""
    changed = body.replace("<item>", new_item, 1).replace("Fri, 20 Nov 2026 10:00:00 +0000</lastBuildDate>",
                                                          "Sat, 21 Nov 2026 09:00:00 +0000</lastBuildDate>")  # fmt: skip
    assert changed.count("<item>") == body.count("<item>") + 1
    feed_server.add("/wp.xml", changed.encode("utf-8"))
    counting = _Counting(monkeypatch)
    result = run_cli("fetch", "--all", "-c", config_path)
    assert result.code == 0 and "entries: 1 new, 0 updated" in result.out, result.out
    with sqlite3.connect(config.database) as conn:
        (new_story,) = conn.execute("SELECT story_id FROM entries WHERE title = 'Edinburgh nurses win back pay'").fetchone()
        (last_changed,) = conn.execute("SELECT last_changed FROM feeds WHERE url LIKE '%wp.xml'").fetchone()
    assert set(counting.atom) == {new_story} and set(counting.json) == {new_story}
    after = _source_updated(combined)
    assert {t: u for t, u in after.items() if t in before} == before  # the copies it had are as they were
    assert after["Edinburgh nurses win back pay"] == last_changed != "2026-11-20T10:00:00+00:00"
    _assert_what_rendering_everything_gives(config_path)


def test_copies_written_before_migration_0015_show_and_follow_their_feeds_last_change(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A copy with no source_updated of its own (stored before migration 0015) shows its feed's last
    change, as before, and a change of it drops that copy's rendering, and only those."""
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    db_path = config.database
    with Store.open(db_path) as store, store.transaction():
        store.db.execute("UPDATE entries SET source_updated = NULL WHERE feed_url LIKE '%wp.xml'")
    _republish(config_path)
    with sqlite3.connect(db_path) as conn:
        old_copies = {r[0] for r in conn.execute("SELECT story_id FROM entries WHERE feed_url LIKE '%wp.xml'")}
    everyone = _kept_stories(db_path)
    assert old_copies < everyone
    with Store.open(db_path) as store, store.transaction():
        store.db.execute("UPDATE feeds SET last_changed = '2026-11-30T08:00:00+00:00' WHERE url LIKE '%wp.xml'")
    assert _kept_stories(db_path) == everyone - old_copies
    _republish(config_path)
    shown = _source_updated(tmp_path / "public" / "regions" / "europe.atom")
    assert shown and set(shown.values()) == {"2026-11-30T08:00:00+00:00"}
    _assert_what_rendering_everything_gives(config_path)


def test_kept_renderings_give_the_bytes_of_a_fresh_publish_after_each_kind_of_write(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """After each write that changes what is shown (a merge, a split, a translation link, a story's
    dates, another feed's copy claiming a story's atom:id, a feed disabled), a publish from the kept
    renderings writes the same bytes as one that renders every entry afresh, and they differ from
    before the write."""
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    public = tmp_path / "public"
    with sqlite3.connect(config.database) as conn:
        wp = [r[0] for r in conn.execute("SELECT story_id FROM entries WHERE feed_url LIKE '%wp.xml' ORDER BY id")]
        ur = [r[0] for r in conn.execute("SELECT story_id FROM entries WHERE feed_url LIKE '%urdu.xml' ORDER BY id")]
        ur_entry = conn.execute("SELECT id FROM entries WHERE story_id = ?", [ur[0]]).fetchone()[0]
        wp_atom_id = conn.execute("SELECT atom_id FROM stories WHERE id = ?", [wp[1]]).fetchone()[0]
    assert len(wp) >= 3 and len(ur) >= 2 and wp_atom_id
    writes = {
        "a copy merged into another story": [("UPDATE entries SET story_id = ? WHERE story_id = ?", [wp[0], ur[1]])],
        "the merge undone": [("UPDATE entries SET story_id = ? WHERE feed_url LIKE '%urdu.xml' AND story_id = ?",
                              [ur[1], wp[0]])],  # fmt: skip
        "a translation link": [("INSERT INTO translations (story_a, story_b, rule, evidence, linked_at)"
                                " VALUES (?, ?, 'hreflang', 'https://x.example/', '2026-12-01T00:00:00+00:00')",
                                [min(wp[2], ur[0]), max(wp[2], ur[0])])],  # fmt: skip
        "one translation's copy edited": [("UPDATE entries SET link = 'https://ur.example/moved' WHERE id = ?", [ur_entry])],
        "the other's copy edited": [("UPDATE entries SET link = 'https://wp.example.org/moved' WHERE story_id = ?",
                                     [wp[2]])],  # fmt: skip
        "a story's dates": [("UPDATE stories SET updated = '2026-11-30T10:00:00+00:00' WHERE id = ?", [wp[2]])],
        "another feed's copy with a story's atom:id": [("UPDATE entries SET original_id = ? WHERE id = ?",
                                                       [wp_atom_id, ur_entry])],  # fmt: skip
        "a feed disabled": [("UPDATE feeds SET enabled = 0 WHERE url LIKE '%urdu.xml'", [])],
    }
    _republish(config_path)
    for name, statements in writes.items():
        before = _feeds(public)
        with Store.open(config.database) as store, store.transaction():
            for sql, params in statements:
                store.db.execute(sql, params)
        _republish(config_path)
        cached = _feeds(public)
        with Store.open(config.database) as store:
            store.save_rendered_entries([], keep=set())
        _republish(config_path)
        assert _feeds(public) == cached, name
        assert cached != before, name


def test_renderings_of_stories_written_during_a_publish_are_not_kept(tmp_path: Path, feed_server: FeedServer) -> None:
    """A rendering made from a story read before a write (the web app unmerging a copy while a
    publish renders) would outlive the trigger that dropped the old one: it is not kept."""
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    with Store.open(config.database) as store:
        story_id = store.db.execute("SELECT id FROM stories ORDER BY id LIMIT 1").fetchone()[0]
        store.save_rendered_entries([], keep=set())
        version = store.content_version()
        with store.transaction():
            store.db.execute("UPDATE entries SET title = 'Written meanwhile' WHERE story_id = ?", [story_id])
        store.save_rendered_entries([(story_id, "atom", "d", "<entry/>")], as_of=version)
        assert store.rendered_entries("atom", [story_id]) == {}
        store.save_rendered_entries([(story_id, "atom", "d", "<entry/>")], as_of=store.content_version())
        assert store.rendered_entries("atom", [story_id]) == {story_id: ("d", "<entry/>")}


def test_kept_entries_need_no_whole_story_and_stories_gone_are_left_out() -> None:
    """EntryCache.texts, given story heads: a kept entry (same context, same entry id) is taken
    without reading its story; the others are read whole in one call and rendered; a story gone
    since its head was read is left out instead of failing the publish."""
    import datetime as dt

    from aggregator.models import StoryHead
    from aggregator.rendered import EntryCache, _entry_digest

    when = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    heads = [StoryHead(i, when, when, f"urn:x:{i}", "https://p.example/feed") for i in (1, 2, 3)]

    class Kept:
        def rendered_entries(self, format: str, story_ids: Any) -> dict[int, tuple[str, str]]:
            return {1: (_entry_digest("ctx", "urn:x:1"), "<kept 1/>"), 2: (_entry_digest("other", "urn:x:2"), "<old 2/>")}

        def save_rendered_entries(self, rows: Any, keep: Any = None, as_of: Any = None) -> None:
            self.saved = list(rows)

    reads: list[list[int]] = []

    def full(ids: Any) -> list[Any]:
        reads.append(list(ids))
        return [type("S", (), {"id": 2})()]  # story 3 is gone

    kept = Kept()
    cache = EntryCache(kept, "ctx")  # type: ignore[arg-type]
    texts = cache.texts("atom", [(h, h.atom_id) for h in heads], lambda story, entry_id: f"<new {entry_id}/>", full)
    assert texts == ["<kept 1/>", "<new urn:x:2/>"]
    assert reads == [[2, 3]]  # story 1 was not read
    cache.save(whole=True)
    assert [row[0] for row in kept.saved] == [2]
