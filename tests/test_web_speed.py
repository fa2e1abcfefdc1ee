"""What makes the web app fast and keeps it right (issue 12's misses): the content version the result
cache is keyed on, the ranked search that stops early (the same ranking as joining every match),
cached lists and Atom bytes that change as soon as the stories do, the config read once and again
only when its file changes, a pick that renders only its section's picks feeds, and feeds.opml
listing the picks feeds."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from aggregator import picks_atom
from aggregator.models import Config, Pick, StoryQuery
from aggregator.opml import read_opml
from aggregator.store import Store
from aggregator.store.search import BM25_WEIGHTS, FTS_TABLE, fts_query
from aggregator.store.stories import ranked_copies, ranked_stories
from aggregator.web import config_watch
from conftest import REPO
from test_web import _entries, _login, _story_ids, _token, app, built, client, site, store  # noqa: F401
from websetup import SECTION

sys.path.insert(0, str(REPO / "bench"))
from web import fill  # noqa: E402  (bench/web.py's synthetic stories)


def _add_story(store: Store, title: str, feed_index: int = 0) -> int:
    """One more story of one copy, as a cycle would store it (the triggers run)."""
    feeds = [r["url"] for r in store.db.query("SELECT url FROM feeds ORDER BY url")]
    now = "2026-12-02T12:00:00+00:00"
    with store.transaction():
        sid = int(store.db.execute("SELECT coalesce(max(id), 0) + 1 FROM stories").fetchone()[0])
        store.db.execute("INSERT INTO stories (id, atom_id, published, updated, created) VALUES (?, ?, ?, ?, ?)",
                         [sid, f"urn:test:{sid}", now, now, now])  # fmt: skip
        store.db.execute(
            "INSERT INTO entries (feed_url, key, key_source, original_id, link, title, content_html, summary_html,"
            " published, updated, first_seen, last_seen, change_hash, content_hash, title_key, story_id)"
            " VALUES (?, ?, 'id', ?, ?, ?, '<p>text</p>', '', ?, ?, ?, ?, 'c', ?, 't', ?)",
            [feeds[feed_index], f"test-{sid}", f"urn:test:{sid}", f"https://test.example/{sid}", title,
             now, now, now, now, f"h{sid}", sid],
        )  # fmt: skip
    return sid


def test_the_content_version_follows_what_readers_see_and_not_fetch_bookkeeping(store: Store) -> None:
    version = store.content_version()
    with store.transaction():
        store.db.execute("UPDATE feeds SET last_fetched = '2030-01-01T00:00:00+00:00', next_due = NULL")
        store.db.execute("UPDATE entries SET last_seen = '2030-01-01T00:00:00+00:00'")
        store.db.execute("UPDATE feeds SET name = name")  # set, but unchanged
    assert store.content_version() == version
    steps = [
        lambda: store.db.execute("UPDATE entries SET title = title || '!' WHERE id = (SELECT min(id) FROM entries)"),
        lambda: store.db.execute("UPDATE feeds SET name = name || '!' WHERE url = (SELECT min(url) FROM feeds)"),
        lambda: store.db.execute("UPDATE stories SET updated = '2030-01-01T00:00:00+00:00' WHERE id = (SELECT min(id) FROM stories)"),
    ]  # fmt: skip
    for step in steps:
        with store.transaction():
            step()
        assert store.content_version() > version
        version = store.content_version()
    story = store.stories(StoryQuery(limit=1)).stories[0]
    store.pick(Pick(story.id, SECTION, "ana", story.published, None))
    assert store.content_version() > version


def _reference_ranking(store: Store, query: StoryQuery, window: int | None = None) -> list[int]:
    """Every matching copy joined, ranked by its story's best bm25: the ranking before issue 12's
    speed-up, which the early-stopping search must equal. With `window`: the matching copies in
    blocks of `window`, newest (highest id) block first, bm25 within a block; a story where its
    first copy in that order is."""
    extra, params = "", []
    if query.region:
        extra, params = " AND f.region = ?", [query.region]
    rows = store.db.execute(
        f"""WITH r AS MATERIALIZED (SELECT rowid AS id, bm25({FTS_TABLE}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) AS rank
            FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)
        SELECT e.story_id, r.id, r.rank, f.in_config = 1 AND f.enabled = 1{extra} AS wanted
        FROM r JOIN entries e ON e.id = r.id JOIN feeds f ON f.url = e.feed_url""",
        [fts_query(query.search), *params],
    ).fetchall()
    newest_first = sorted(rows, key=lambda r: -r[1])
    block = {r[1]: (n // window if window else 0) for n, r in enumerate(newest_first)}
    ordered = sorted(rows, key=lambda r: (block[r[1]], r[2], -r[1]))
    stories: list[int] = []
    for story_id, _, _, wanted in ordered:
        if wanted and story_id not in stories:
            stories.append(story_id)
    return stories


def test_the_ranked_search_stops_early_and_ranks_as_joining_every_match_would(store: Store) -> None:
    fill(store, 800)
    for region in (None, "europe", "africa"):  # africa: one feed of eight, so most batches are filtered out
        query = StoryQuery(limit=20, search="strike union", region=region)
        expected = _reference_ranking(store, query)
        assert len(expected) > 60, region
        for offset in (0, 20, len(expected) - 5):
            page, more = store.search_stories(query, offset)
            assert [s.id for s in page.stories] == expected[offset : offset + 20], (region, offset)
            assert more == (offset + 20 < len(expected))


def test_a_common_word_is_ranked_within_blocks_of_the_newest_matches(store: Store) -> None:
    fill(store, 800)
    match = fts_query("strike union")
    assert match is not None
    matches = int(store.db.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", [match]).fetchone()[0])
    assert matches > 300
    for window in (50, 97, matches, matches + 1):  # several blocks, a last short one, exactly one, one
        copies = list(ranked_copies(store.db, match, window))
        assert sorted(copies) == sorted(set(copies)) and len(copies) == matches  # each match once
        newest = sorted(copies, reverse=True)
        assert set(copies[:window]) == set(newest[:window])  # the first block is the newest matches
        for region in (None, "africa"):
            query = StoryQuery(limit=20, search="strike union", region=region)
            expected = _reference_ranking(store, query, window)
            for offset in (0, 40, len(expected) - 5):
                page, more = ranked_stories(store.db, query, offset, window)
                assert [s.id for s in page.stories] == expected[offset : offset + 20], (window, region, offset)
                assert more == (offset + 20 < len(expected))
    assert _reference_ranking(store, StoryQuery(limit=20, search="strike union"), 50) != \
        _reference_ranking(store, StoryQuery(limit=20, search="strike union"))  # fmt: skip  (blocks do reorder)


def test_cached_search_lists_and_atom_change_as_soon_as_the_stories_do(app: Flask, client: FlaskClient,
                                                                        store: Store) -> None:  # fmt: skip
    cache = app.extensions["aggregator"]["cache"]
    first = client.get("/search?q=quetzalcoatl")
    assert _story_ids(first.get_data(as_text=True)) == []
    feed = client.get("/atom?q=quetzalcoatl")
    tag = feed.headers["ETag"]
    hits = cache.hits
    assert client.get("/search?q=quetzalcoatl").status_code == 200 and cache.hits == hits + 1  # a repeat is a hit
    assert client.get("/atom?q=quetzalcoatl", headers={"If-None-Match": tag}).status_code == 304
    story_id = _add_story(store, "Quetzalcoatl strike")
    assert _story_ids(client.get("/search?q=quetzalcoatl").get_data(as_text=True)) == [story_id]
    assert _story_ids(client.get("/?q=quetzalcoatl").get_data(as_text=True)) == [story_id]
    changed = client.get("/atom?q=quetzalcoatl", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert [e.findtext("{http://www.w3.org/2005/Atom}id") for e in _entries(changed.data)] == [f"urn:test:{story_id}"]


def test_the_config_is_read_once_and_again_when_its_file_changes(site: Config, app: Flask, client: FlaskClient,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    loads: list[Path] = []
    real_load = config_watch.load_config
    monkeypatch.setattr(config_watch, "load_config", lambda path: loads.append(path) or real_load(path))
    monkeypatch.setattr(config_watch, "CHECK_SECONDS", 0.0)
    for _ in range(5):
        assert "Test World News" in client.get("/").get_data(as_text=True)
    assert loads == []  # not per request
    text = site.path.read_text(encoding="utf-8")
    site.path.write_text(text.replace("Test World News", "Renamed World News"), encoding="utf-8")
    page = client.get("/").get_data(as_text=True)
    assert "Renamed World News" in page and "Test World News" not in page and len(loads) == 1
    site.path.write_text(text.replace("regions:", "regions: [oops"), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="aggregator.web"):
        r = client.get("/")
    assert r.status_code == 200 and "Renamed World News" in r.get_data(as_text=True)
    assert "not valid" in caplog.text
    site.path.write_text(text, encoding="utf-8")
    assert app.extensions["aggregator"]["watch"].reload()  # what SIGHUP does
    assert "Test World News" in client.get("/").get_data(as_text=True)


def test_a_pick_renders_only_picks_atom_and_its_own_sections_feed(client: FlaskClient, store: Store, site: Config,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    rendered: list[str | None] = []
    real = picks_atom.render_picks

    def recording(config: Config, st: Store, section: str | None) -> bytes:
        rendered.append(section)
        return real(config, st, section)

    monkeypatch.setattr(picks_atom, "render_picks", recording)
    assert len(site.sections) == 2
    story = store.stories(StoryQuery(limit=1)).stories[0]
    _login(client)
    client.post("/desk/pick", data={"story": story.id, "csrf_token": _token(client, "/")})
    publisher = client.application.extensions["aggregator"]["publisher"]
    assert publisher.wait(20)
    assert publisher.state().last_changed == ("picks.atom", f"picks/{SECTION}.atom")
    assert sorted(rendered, key=str) == sorted([None, SECTION], key=str)


def test_feeds_opml_lists_the_picks_feeds_the_feeds_page_shows(client: FlaskClient, site: Config, store: Store) -> None:
    from aggregator.publish import publish

    publish(site, store)
    listed = {f.url for f in read_opml((site.output_dir / "feeds.opml").read_bytes())}
    picks = {site.base_url + "picks.atom"} | {f"{site.base_url}picks/{slug}.atom" for slug in site.sections}
    assert picks <= listed
    page = client.get("/feeds").get_data(as_text=True)
    assert all(url in page for url in picks)


def test_deploy_docs_say_the_login_limits_are_per_process() -> None:
    text = " ".join((REPO / "docs" / "deploy.md").read_text(encoding="utf-8").split()).lower()
    assert "failed logins are counted in memory, per process" in text



def test_the_search_index_takes_the_parse_workers_plain_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle's new entries reach the index with the text the parse workers made: the cycle
    process converts none of them in its write transaction, and every word is still found."""
    from aggregator.store import plaintext
    from feedserver import FeedServer
    from websetup import build_site

    converted: list[str] = []
    real = plaintext.plain_text
    monkeypatch.setattr(plaintext, "plain_text", lambda html: converted.append(html) or real(html))
    with FeedServer() as server:
        config = build_site(tmp_path, server)  # a real cycle, parse workers in their own processes
    assert converted == []
    with Store.open(config.database) as st:
        count = int(st.db.execute(f"SELECT count(*) FROM {FTS_TABLE}").fetchone()[0])
        assert count == int(st.db.execute("SELECT count(*) FROM entries").fetchone()[0]) > 10
        # The index holds what converting here would have given, for every entry: FTS5's check
        # makes each copy's text again (through the content view, so with the function) and compares.
        st.db.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
        assert st.db.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", ['"ہڑتال"']).fetchone()[0]
        # A value the workers did not make (an edit here) is converted by the function itself, and
        # so is the old value, whose words leave the index.
        old_html = st.db.execute("SELECT content_html FROM entries WHERE id = 1").fetchone()[0]
        converted.clear()
        with st.transaction():
            st.db.execute("UPDATE entries SET content_html = '<p>Quetzalcoatl &amp; friends</p>' WHERE id = 1")
        assert converted == [old_html, "<p>Quetzalcoatl &amp; friends</p>"]
        st.db.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
        assert [r for (r,) in st.db.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH 'quetzalcoatl'")] == [1]
