"""WebSub, the publisher's side (issue 13), against a hub stand-in on 127.0.0.1 that records every
POST: feeds name the hub, exactly the changed feeds are pinged, a failed ping is retried on the
next cycle, and no hub (down, broken or slow) ever costs a cycle."""

from __future__ import annotations

import http.server
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from lxml import etree

from aggregator.config import load_config
from aggregator.models import StoryQuery
from aggregator.store import Store
from aggregator.websub import notify_hub
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom
from test_feed_formats import validate_json_feed

BASE = "https://feeds.example.org/"


class Hub:
    """A WebSub hub stand-in: answers every POST with `status` (after `delay` seconds) and records
    each one's form fields and headers."""

    def __init__(self) -> None:
        self.status = 204
        self.delay = 0.0
        self.posts: list[dict[str, Any]] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
                hub.posts.append({"form": parse_qs(body), "content_type": self.headers.get("Content-Type"),
                                  "user_agent": self.headers.get("User-Agent")})  # fmt: skip
                time.sleep(hub.delay)
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hub"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def pinged(self) -> list[str]:
        """The hub.url of every POST so far, checking each is a well-formed publish ping."""
        urls = []
        for post in self.posts:
            assert post["content_type"] == "application/x-www-form-urlencoded"
            assert post["form"]["hub.mode"] == ["publish"] and len(post["form"]["hub.url"]) == 1
            assert post["user_agent"].startswith("aggregator/")
            urls.append(post["form"]["hub.url"][0])
        return urls

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(tmp_path: Path, server: FeedServer, hub_url: str) -> Path:
    return write_config(
        tmp_path,
        [
            feed_entry(server.add("/edit.xml", FEED_DATA / "edited_entry_a.xml"), "Editing Party"),
            feed_entry(server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                       country="PK", language="ur"),
        ],
        websub={"hub": hub_url},
    )  # fmt: skip


def _snapshot(public: Path) -> dict[str, bytes]:
    return {str(p.relative_to(public)): p.read_bytes() for p in public.rglob("*") if p.is_file()}


def _pending(tmp_path: Path) -> dict[str, int]:
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        return dict(conn.execute("SELECT url, attempts FROM websub_pending").fetchall())


def test_feeds_name_the_hub_and_only_changed_feeds_are_pinged(tmp_path: Path, feed_server: FeedServer, hub: Hub) -> None:
    config = _setup(tmp_path, feed_server, hub.url)
    public = tmp_path / "public"
    assert run_cli("fetch", "-c", config).code == 0
    files = _snapshot(public)
    feeds = sorted(p for p in files if p.endswith((".atom", ".json")))
    assert "languages/ur.json" in feeds and "countries/PK.atom" in feeds
    # The first publish wrote every file: every feed is pinged once, the page and the OPML never.
    assert sorted(hub.pinged()) == sorted(BASE + p for p in feeds)
    assert _pending(tmp_path) == {}

    validate_atom(*(public / p for p in feeds if p.endswith(".atom")))
    for path in feeds:
        if path.endswith(".atom"):
            root = etree.parse(str(public / path)).getroot()
            assert root.find(f"{ATOM_NS}link[@rel='hub']").get("href") == hub.url
            assert root.find(f"{ATOM_NS}link[@rel='self']").get("href") == BASE + path
        else:
            assert validate_json_feed(public / path)["hubs"] == [{"type": "WebSub", "url": hub.url}]

    # Nothing changed upstream: nothing is pinged.
    hub.posts.clear()
    assert run_cli("fetch", "--all", "-c", config).code == 0
    assert hub.pinged() == []

    # One European entry edited: exactly the feeds whose bytes changed are pinged, each once.
    feed_server.add("/edit.xml", FEED_DATA / "edited_entry_b.xml")
    assert run_cli("fetch", "--all", "-c", config).code == 0
    after = _snapshot(public)
    changed = sorted(p for p in after if p.endswith((".atom", ".json")) and after[p] != files.get(p))
    assert "feed.atom" in changed and "regions/europe.json" in changed
    assert not [p for p in changed if "PK" in p or "/ur." in p or "asia" in p]
    assert after["index.html"] != files["index.html"]  # changed too, but not a feed: not pinged
    assert sorted(hub.pinged()) == sorted(BASE + p for p in changed)


def test_a_hub_answering_500_is_pinged_again_on_the_next_cycle(tmp_path: Path, feed_server: FeedServer, hub: Hub) -> None:
    config = _setup(tmp_path, feed_server, hub.url)
    hub.status = 500
    assert run_cli("fetch", "-c", config).code == 0
    first = hub.pinged()
    assert first and set(_pending(tmp_path)) == set(first)
    assert set(_pending(tmp_path).values()) == {1}

    hub.posts.clear()
    assert run_cli("fetch", "--all", "-c", config).code == 0  # nothing changed, still 500
    assert sorted(hub.pinged()) == sorted(first) and set(_pending(tmp_path).values()) == {2}

    hub.posts.clear()
    hub.status = 202
    assert run_cli("fetch", "--all", "-c", config).code == 0  # nothing changed: the queue is retried
    assert sorted(hub.pinged()) == sorted(first)
    assert _pending(tmp_path) == {}
    hub.posts.clear()
    assert run_cli("fetch", "--all", "-c", config).code == 0
    assert hub.pinged() == []


def test_an_unreachable_hub_never_fails_a_cycle_and_an_editors_republish_retries(
    tmp_path: Path, feed_server: FeedServer, hub: Hub
) -> None:
    config = _setup(tmp_path, feed_server, f"http://127.0.0.1:{_closed_port()}/hub")
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    assert "feeds: 2 ok" in result.out
    queued = _pending(tmp_path)
    assert BASE + "feed.atom" in queued and BASE + "index.html" not in queued

    # The hub is back (the config names it now); an editor's pick republishes and flushes the queue.
    config.write_text(config.read_text(encoding="utf-8").replace(load_config(config).websub.hub or "", hub.url))
    with Store.open(tmp_path / "aggregator.db", readonly=True) as store:
        story = store.stories(StoryQuery(limit=1)).stories[0].id
    assert run_cli("pick", str(story), "-c", config).code == 0
    assert sorted(hub.pinged()) == sorted(queued) and _pending(tmp_path) == {}


def test_a_slow_hub_costs_one_timeout_not_one_per_feed(tmp_path: Path, feed_server: FeedServer, hub: Hub) -> None:
    config_path = _setup(tmp_path, feed_server, hub.url)
    hub.status = 500
    assert run_cli("fetch", "-c", config_path).code == 0
    queued = _pending(tmp_path)
    assert len(queued) > 5
    hub.delay, hub.status = 3.0, 204
    config = load_config(config_path)
    started = time.monotonic()
    with Store.open(config.database) as store:
        report = notify_hub(config, store, [], timeout=0.3)
    assert time.monotonic() - started < 2.5
    assert report.pinged == [] and sorted(report.failed) == sorted(queued)
    assert report.error and "Timeout" in report.error
    assert set(_pending(tmp_path)) == set(queued)


def test_without_a_hub_nothing_is_pinged_or_queued(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, [feed_entry(feed_server.add("/a.xml", FEED_DATA / "wordpress_rss2.xml"), "A")])
    assert run_cli("fetch", "-c", config).code == 0
    assert _pending(tmp_path) == {}
    root = etree.parse(str(tmp_path / "public" / "feed.atom")).getroot()
    assert root.find(f"{ATOM_NS}link[@rel='hub']") is None
    assert "hubs" not in json.loads((tmp_path / "public" / "feed.json").read_bytes())
