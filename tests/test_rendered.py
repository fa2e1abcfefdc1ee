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
from conftest import FEED_DATA, feed_entry, run_cli, write_config
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


def test_the_digest_of_a_story_changes_with_every_field_an_entry_could_show() -> None:
    """rendered._digest_of reads every field of every copy and translation: changing any one of
    them (to another value of its type) renders the entry again; equal stories digest equal."""
    import dataclasses
    import datetime as dt

    from aggregator import rendered
    from aggregator.models import Copy, Enclosure, Story, Translation

    when = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)
    copy = Copy(
        id=1, story_id=1, feed_url="https://p.example/feed", feed_name="P", feed_site="https://p.example/",
        region="europe", country="GB", language="en", original_id="urn:x:1", key="k", link="https://p.example/1",
        title="Strike", content_html="<p>Workers</p>", summary_html="<p>W</p>", author="A", categories=("labour",),
        published=when, updated=when, feed_updated=when, feed_id="urn:feed", match_rule="same_link", match_score=1.0,
        enclosures=(Enclosure("https://p.example/a.mp3", "audio/mpeg", 10),), image="https://p.example/i.jpg",
        full_text_html="<p>Workers, all</p>",
    )  # fmt: skip
    story = Story(id=1, published=when, updated=when, copies=(copy,), atom_id="urn:x:1",
                  translations=(Translation(2, "fr", "https://p.example/fr", "hreflang", "https://p.example/fr"),))  # fmt: skip
    base = rendered._digest_of(story)
    assert rendered._digest_of(dataclasses.replace(story)) == base

    def other(value: object) -> object:
        if isinstance(value, bool) or value is None:
            return "x"
        if isinstance(value, str):
            return value + "!"
        if isinstance(value, int | float):
            return value + 1
        if isinstance(value, dt.datetime):
            return value + dt.timedelta(seconds=1)
        if isinstance(value, tuple):
            return value + value[:1] if value else ("x",)
        raise AssertionError(value)

    for f in dataclasses.fields(Copy):
        changed = dataclasses.replace(story, copies=(dataclasses.replace(copy, **{f.name: other(getattr(copy, f.name))}),))
        assert rendered._digest_of(changed) != base, f.name
    for f in dataclasses.fields(Translation):
        translation = dataclasses.replace(story.translations[0], **{f.name: other(getattr(story.translations[0], f.name))})
        assert rendered._digest_of(dataclasses.replace(story, translations=(translation,))) != base, f.name
    # A text moved from one field to the next is not the same story.
    moved = dataclasses.replace(copy, title="Strike<p>Workers</p>", content_html="")
    assert rendered._digest_of(dataclasses.replace(story, copies=(moved,))) != base
    assert rendered._digest_of(dataclasses.replace(story, picks=())) == base  # picks are not shown
