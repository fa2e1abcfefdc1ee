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
