"""The web app (issue 12) over HTTP: every route, content types and 304s, filters and keyset pages,
search in four scripts, the editors' desk (auth failures, CSRF, rate limits, picks, splits), hostile
story text rendered inert, the JSON API, `aggregator user`, and one run through real waitress."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from aggregator.config import load_config
from aggregator.lock import CycleLock
from aggregator.models import Config, StoryQuery
from aggregator.outputs import PICK_OUTPUTS, pick_paths
from aggregator.store import Store
from aggregator.web import create_app
from aggregator.web.auth import LoginLimiter
from conftest import ATOM_NS, REPO, run_cli
from feedserver import FeedServer
from websetup import EDITOR, OTHER_EDITOR, PASSWORD, SECTION, build_site

# Live markup only: a script element other than ours, an event handler attribute, a javascript: URL
# in an attribute. The same words escaped into text are inert (and are shown).
HOSTILE = re.compile(r"<script(?![^>]*src=\"/static/site\.js\")|<[^<>]*\son\w+\s*=|<[^<>]*=\s*[\"']?\s*javascript:", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("site")
    with FeedServer() as server:
        build_site(directory, server)
    yield directory


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Config:
    """A private copy of the built site (database, outputs, config) for one test."""
    target = tmp_path / "site"
    shutil.copytree(built, target)
    return load_config(target / "feeds.yaml")


@pytest.fixture
def store(site: Config) -> Iterator[Store]:
    with Store.open(site.database) as s:
        yield s


@pytest.fixture
def app(site: Config, store: Store) -> Iterator[Flask]:
    made = create_app(site, store)
    yield made
    made.extensions["aggregator"]["publisher"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _token(client: FlaskClient, url: str = "/login") -> str:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _login(client: FlaskClient, name: str = EDITOR, password: str = PASSWORD, **kw: Any) -> Any:
    return client.post("/login", data={"name": name, "password": password, "csrf_token": _token(client)}, **kw)


def _published(client: FlaskClient) -> None:
    """Wait for the app's publisher thread to publish what the desk asked for."""
    assert client.application.extensions["aggregator"]["publisher"].wait(20), "the desk's publish did not finish"


def _story_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="story-(\d+)-title"', html)]


def _entries(atom_bytes: bytes) -> list[etree._Element]:
    return etree.fromstring(atom_bytes).findall(f"{ATOM_NS}entry")


# --------------------------------------------------------------------------- output files


def test_output_files_have_their_media_types_validators_304s_and_gzip(client: FlaskClient, site: Config) -> None:
    expected = {
        "/feed.atom": "application/atom+xml", "/regions/asia.atom": "application/atom+xml",
        "/index.html": "text/html; charset=utf-8", "/sources.opml": "text/x-opml; charset=utf-8",
        "/picks.atom": "application/atom+xml", f"/picks/{SECTION}.atom": "application/atom+xml",
    }  # fmt: skip
    for path, media_type in expected.items():
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"] == media_type, path
        assert r.data == (site.output_dir / path.lstrip("/")).read_bytes()
        assert r.headers["ETag"] and r.headers["Last-Modified"]
    first = client.get("/feed.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get("/feed.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/feed.atom", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/feed.atom", headers={"If-None-Match": '"other"'}).status_code == 200
    zipped = client.get("/feed.atom", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == first.data
    # The gzipped variant's own tag is a 304 too.
    assert client.get("/feed.atom", headers={"If-None-Match": zipped.headers["ETag"]}).status_code == 304
    # A file publish did not register still gets a type; nothing outside output_dir, no dotfiles.
    (site.output_dir / "extra.json").write_text("{}")
    assert client.get("/extra.json").headers["Content-Type"] == "application/json"
    (site.output_dir / ".feed.atom.x.tmp").write_text("half")
    for path in ("/.feed.atom.x.tmp", "/../feeds.yaml", "/%2e%2e/feeds.yaml", "/regions", "/nothing.atom"):
        assert client.get(path).status_code == 404, path


# --------------------------------------------------------------------------- readers' pages


def test_front_page_lists_each_story_once_newest_first_in_keyset_pages(client: FlaskClient, store: Store) -> None:
    everything = [s.id for s in store.stories(StoryQuery(limit=1000)).stories]
    assert len(everything) >= 15
    seen: list[int] = []
    url: str | None = "/?limit=4"
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        html = r.get_data(as_text=True)
        seen += _story_ids(html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == everything  # each story once, in the store's order (newest first)
    assert client.get("/?after=nonsense").status_code == 400


def test_filters_combine_in_the_url_and_every_list_links_its_atom_feed(client: FlaskClient, store: Store) -> None:
    asia = {s.id for s in store.stories(StoryQuery(limit=1000, region="asia")).stories}
    urdu = {s.id for s in store.stories(StoryQuery(limit=1000, region="asia", language="ur")).stories}
    assert urdu and urdu < asia
    html = client.get("/?region=asia").get_data(as_text=True)
    assert set(_story_ids(html)) == asia
    assert '<link rel="alternate" type="application/atom+xml"' in html and 'href="/atom?region=asia"' in html
    html = client.get("/?region=asia&language=ur").get_data(as_text=True)
    assert set(_story_ids(html)) == urdu
    assert 'href="/atom?region=asia&amp;language=ur"' in html
    pk = client.get("/?country=pk").get_data(as_text=True)
    assert set(_story_ids(pk)) == urdu
    feed_url = store.stories(StoryQuery(limit=1, language="ta")).stories[0].primary.feed_url
    tamil = client.get("/", query_string={"feed": feed_url}).get_data(as_text=True)
    assert _story_ids(tamil) and all(s.primary.feed_url == feed_url for s in store.stories(StoryQuery(
        limit=1000, story_ids=tuple(_story_ids(tamil)))).stories)  # fmt: skip
    # Story text carries its language and direction.
    assert re.search(r'<article class="story" lang="ur"', html) and 'dir="auto"' in html
    for bad in ("/?region=mars", "/?country=ZZ", "/?feed=https://nowhere.example/", "/?language=<x>"):
        assert client.get(bad).status_code == 400, bad


def test_the_atom_feed_of_a_list_is_exactly_that_list(client: FlaskClient, store: Store) -> None:
    listed = _story_ids(client.get("/?region=asia&language=hi").get_data(as_text=True))
    r = client.get("/atom?region=asia&language=hi")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/atom+xml"
    entries = _entries(r.data)
    stories = store.stories(StoryQuery(limit=1000, story_ids=tuple(listed))).stories
    assert [e.findtext(f"{ATOM_NS}id") for e in entries] == [s.atom_id for s in stories]
    assert all(e.find(f"{ATOM_NS}source") is not None for e in entries)  # the published entry format
    assert client.get("/atom?region=asia&language=hi", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    searched = _entries(client.get("/atom", query_string={"q": "ہڑتال"}).data)
    assert searched and all("ہڑتال" in e.findtext(f"{ATOM_NS}title", "") + e.findtext(f"{ATOM_NS}content", "")
                            for e in searched)  # fmt: skip


@pytest.mark.parametrize(
    ("words", "expected_title"),
    [
        ("ہڑتال", "لاہور میں صفائی کارکنوں کی ہڑتال"),  # Urdu
        ("हड़ताल", "दिल्ली में सफ़ाई कर्मचारियों की हड़ताल जारी"),  # Hindi (a nukta and a vowel sign)
        ("வேலைநிறுத்தம்", "கொழும்புத் துப்புரவுத் தொழிலாளர்கள் வேலைநிறுத்தம்"),  # Tamil
        ("greve marseille", "Grève dans le nettoyage à Marseille"),  # Latin, without its diacritics
        ("GRÈVE", "Grève dans le nettoyage à Marseille"),
    ],
)
def test_search_finds_words_in_each_script(client: FlaskClient, words: str, expected_title: str) -> None:
    r = client.get("/search", query_string={"q": words})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    titles = re.findall(r'class="title" id="story-\d+-title" dir="auto">\s*<a[^>]*>([^<]*)</a>', html)
    assert titles and titles[0] == expected_title, titles
    api = client.get("/api/stories", query_string={"q": words}).get_json()
    assert expected_title in [s["title"] for s in api["stories"]]


def test_search_matches_whole_words_and_user_syntax_cannot_break_it(client: FlaskClient, store: Store) -> None:
    # A fragment of a Devanagari or Tamil word is not a word (the marks belong to the word).
    assert not store.stories(StoryQuery(search="हड")).stories
    assert not store.stories(StoryQuery(search="வேல")).stories
    for hostile in ['"', '"ہڑتال', "*", "ہڑ*", "-strike", "strike AND", "OR", "NOT strike", "(", "title:x", "a^b",
                    'NEAR("a" "b")', "'; DROP TABLE entries; --"]:  # fmt: skip
        r = client.get("/search", query_string={"q": hostile})
        assert r.status_code == 200, hostile
        assert client.get("/api/stories", query_string={"q": hostile}).status_code == 200
    # The words are only text: "AND" is looked for as a word, not an operator.
    assert store.stories(StoryQuery(search="strike AND")).stories == ()
    assert store.stories(StoryQuery(search="Glasgow strike")).stories
    assert client.get("/search?q=").status_code == 200


def test_ranking_puts_a_title_match_first_and_filters_apply(client: FlaskClient, store: Store) -> None:
    ranked, more = store.search_stories(StoryQuery(limit=50, search="strike"))
    assert ranked.stories and not more
    assert "strike" in ranked.stories[0].primary.title.lower()
    asia, _ = store.search_stories(StoryQuery(limit=50, search="strike", region="asia"))
    assert all("asia" in s.regions for s in asia.stories)
    html = client.get("/search?q=strike&region=europe").get_data(as_text=True)
    ids = _story_ids(html)
    assert ids and all("europe" in s.regions for s in store.stories(StoryQuery(limit=100, story_ids=tuple(ids))).stories)


def test_the_search_index_follows_entries_through_triggers(store: Store) -> None:
    story = store.stories(StoryQuery(limit=1, language="ta")).stories[0]
    copy_id = story.primary.id
    with store.transaction():
        store.db.execute("UPDATE entries SET title = 'Zanzibarian dockers' WHERE id = ?", [copy_id])
    assert [s.id for s in store.stories(StoryQuery(search="zanzibarian")).stories] == [story.id]
    with store.transaction():
        store.db.execute("UPDATE entries SET content_html = '<p>Quetzalcoatl <b>rally</b></p>' WHERE id = ?", [copy_id])
    assert store.stories(StoryQuery(search="quetzalcoatl rally")).stories
    assert not store.stories(StoryQuery(search="b")).stories  # tags are not text
    with store.transaction():
        store.db.execute("DELETE FROM entry_bands WHERE entry_id = ?", [copy_id])
        store.db.execute("DELETE FROM entries WHERE id = ?", [copy_id])
    assert not store.stories(StoryQuery(search="zanzibarian")).stories
    # The index holds the words of every stored copy and of no other (FTS5 compares it with the
    # copies' texts made again from their HTML), and one entry per copy.
    store.db.execute("INSERT INTO entries_search (entries_search, rank) VALUES ('integrity-check', 1)")
    count = store.db.execute("SELECT count(*) FROM entries_search_docsize").fetchone()[0]
    assert count == store.db.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_migration_0006_indexes_the_entries_already_stored(site: Config) -> None:
    with Store.open(site.database) as store:
        for trigger in ("insert", "update", "delete"):
            store.db.execute(f"DROP TRIGGER entries_search_{trigger}")
        store.db.execute("DROP TABLE entries_search")
        store.db.execute("DELETE FROM schema_migrations WHERE name = '0006_search'")
    with Store.open(site.database) as store:
        assert store.stories(StoryQuery(search="ہڑتال")).stories


def test_story_page_shows_copies_why_merged_tags_and_picks(client: FlaskClient, store: Store) -> None:
    merged = next(s for s in store.stories(StoryQuery(limit=1000)).stories if len(s.copies) > 1)
    r = client.get(f"/story/{merged.id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for copy in merged.copies:
        assert f'id="c{copy.id}"' in html and copy.feed_name in html
        assert f'href="{copy.link}"' in html
    assert "First copy stored" in html and "Merged by rule" in html
    assert "Region: Europe" in html and "Country: United Kingdom" in html and "Language: English" in html
    assert "Not picked." in html and "Split c" not in html  # no editor: no editor's forms
    urdu = store.stories(StoryQuery(limit=1, language="ur")).stories[0]
    page = client.get(f"/story/{urdu.id}").get_data(as_text=True)
    assert 'lang="ur" dir="auto"' in page
    assert client.get("/story/999999").status_code == 404


def test_feeds_and_sources_pages(client: FlaskClient, site: Config) -> None:
    html = client.get("/feeds").get_data(as_text=True)
    for path in ("feed.atom", "regions/asia.atom", "picks.atom", f"picks/{SECTION}.atom"):
        assert f'value="{site.base_url}{path}"' in html
    assert 'value="http://localhost/atom?region=asia"' in html and "Party: United Socialist Party" in html
    html = client.get("/sources").get_data(as_text=True)
    for feed in site.feeds:
        assert feed.url in html
    assert "Posts per week" in html and html.count(">ok<") + html.count(">ok\n") >= 1 or ">ok" in html


def test_every_page_is_landmarked_labelled_and_has_a_skip_link(client: FlaskClient) -> None:
    for url in ("/", "/search?q=strike", "/feeds", "/sources", "/login", "/story/1"):
        html = client.get(url).get_data(as_text=True)
        assert '<a class="skip" href="#main">' in html and '<main id="main"' in html, url
        assert '<nav aria-label="Main">' in html and "<header" in html and "<footer" in html
        assert '<html lang="en">' in html and 'name="viewport"' in html
        for field in re.findall(r'<(?:input|select)(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', html):
            assert f'for="{field}"' in html, (url, field)
    css = (REPO / "aggregator/web/static/style.css").read_text()
    for font in ("Noto Nastaliq Urdu", "Noto Naskh Arabic", "Noto Sans Devanagari", "Noto Sans Tamil", "Noto Sans Sinhala"):
        assert font in css
    assert "https://" not in css and "//fonts." not in client.get("/").get_data(as_text=True)  # no CDN


def test_hostile_story_text_is_rendered_inert(client: FlaskClient, store: Store) -> None:
    # The worst case: a title stored raw (as if the parser had let it through).
    hostile = next(s for s in store.stories(StoryQuery(limit=1000)).stories if s.primary.feed_name.startswith("Hostile"))
    with store.transaction():
        store.db.execute(
            "UPDATE entries SET title = ?, link = ? WHERE id = ?",
            ['<script>alert("x")</script><img src=x onerror=alert(1)> Strike', "javascript:alert(6)", hostile.primary.id],
        )
    pages = ["/", f"/story/{hostile.id}", "/search?q=strike", "/?region=africa", "/sources", "/feeds"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert not HOSTILE.search(html), (url, HOSTILE.search(html))
    story_page = client.get(f"/story/{hostile.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in story_page  # shown, as text
    assert "Hostile &lt;b&gt;Party&lt;/b&gt;" in story_page
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    api = client.get(f"/api/stories/{hostile.id}")
    assert api.headers["Content-Type"] == "application/json" and api.get_json()["title"].startswith("<script>")


# --------------------------------------------------------------------------- editors


def test_anonymous_and_forged_posts_change_nothing(client: FlaskClient, store: Store) -> None:
    story = store.stories(StoryQuery(limit=1)).stories[0]
    copy_id = story.primary.id
    for url, data in (("/desk/pick", {"story": story.id}), ("/desk/unpick", {"story": story.id}),
                      ("/desk/unmerge", {"copy": copy_id}), ("/desk/undo-unmerge", {"copy": copy_id})):  # fmt: skip
        assert client.post(url, data=data).status_code == 400  # no CSRF token
        token = _token(client, "/login")
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403  # a token, no session
    assert client.get("/desk").status_code == 302
    _login(client)
    assert client.post("/desk/pick", data={"story": story.id, "csrf_token": "forged"}).status_code == 400
    assert client.post("/desk/pick", data={"story": story.id}).status_code == 400
    assert store.picks() == [] and store.editor_actions() == []


def test_login_failures_are_refused_then_rate_limited(site: Config, store: Store) -> None:
    app = create_app(site, store, limiter=LoginLimiter(limit=5, window=900))
    client = app.test_client()
    assert _login(client, password="wrong").status_code == 401
    assert _login(client, name="nobody").status_code == 401
    assert client.post("/login", data={"name": EDITOR, "password": PASSWORD}).status_code == 400  # no token
    for _ in range(3):
        assert _login(client, password="wrong").status_code == 401
    limited = _login(client)  # the right password, but five failures from this address
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # Per name too: another address trying the same name is refused; another name is not.
    other = app.test_client()
    kw = {"environ_base": {"REMOTE_ADDR": "10.9.9.9"}}
    for _ in range(5):
        other.post("/login", data={"name": OTHER_EDITOR, "password": "x", "csrf_token": _token(other)}, **kw)
    third = app.test_client()
    assert _login(third, name=OTHER_EDITOR, environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 429
    assert _login(third, environ_base={"REMOTE_ADDR": "10.1.1.2"}).status_code == 303


def test_session_cookie_flags_and_https_behind_a_proxy(site: Config, store: Store) -> None:
    plain = create_app(site, store).test_client()
    cookie = _login(plain).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = create_app(site, store).test_client()
    _token(secure, "https://localhost/login")
    r = secure.post("https://localhost/login", data={"name": EDITOR, "password": PASSWORD,
                                                      "csrf_token": _token(secure, "https://localhost/login")})  # fmt: skip
    assert "Secure" in r.headers["Set-Cookie"]
    proxied = create_app(site, store, behind_proxy=True).test_client()
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    token = re.search(r'name="csrf_token" value="([^"]+)"', proxied.get("/login", headers=fwd).get_data(as_text=True))
    assert token
    r = proxied.post("/login", headers=fwd, data={"name": EDITOR, "password": PASSWORD, "csrf_token": token.group(1)})
    assert "Secure" in r.headers["Set-Cookie"]
    # Not behind a proxy, the header is a client's claim and is ignored.
    direct = create_app(site, store).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', direct.get("/login", headers=fwd).get_data(as_text=True))
    assert token
    r = direct.post("/login", headers=fwd, data={"name": EDITOR, "password": PASSWORD, "csrf_token": token.group(1)})
    assert "Secure" not in r.headers["Set-Cookie"]


def test_an_editor_picks_with_a_note_and_the_picks_feeds_are_republished(client: FlaskClient, store: Store,
                                                                          site: Config) -> None:  # fmt: skip
    urdu = store.stories(StoryQuery(limit=1, language="ur")).stories[0]
    older = store.stories(StoryQuery(limit=1, language="ta")).stories[0]
    assert _login(client).status_code == 303
    front = client.get("/?region=asia").get_data(as_text=True)
    assert f'for="note-{urdu.id}"' in front and "Pick<span" in front
    for story, note in ((older, "first pick"), (urdu, "Lead: Lahore <b>sanitation</b> strike")):
        r = client.post("/desk/pick", data={"story": story.id, "note": note, "csrf_token": _token(client, "/"),
                                            "next": "/?region=asia"})  # fmt: skip
        assert r.status_code == 303 and r.headers["Location"].endswith("/?region=asia")
        time.sleep(1.1)  # pick times are whole seconds: make the order unambiguous
    picks = store.picks(SECTION)
    assert [(p.story_id, p.editor, p.section) for p in picks] == [(urdu.id, EDITOR, SECTION), (older.id, EDITOR, SECTION)]
    _published(client)
    desk = client.get("/desk").get_data(as_text=True)
    assert "The feeds are being republished." in desk  # the flash message, once
    assert "Feeds published at" in desk and f"picks/{SECTION}.atom" in desk  # the publisher's report
    on_disk = (site.output_dir / f"picks/{SECTION}.atom").read_bytes()
    entries = _entries(client.get(f"/picks/{SECTION}.atom").data)
    assert on_disk == client.get(f"/picks/{SECTION}.atom").data
    assert [e.findtext(f"{ATOM_NS}id") for e in entries] == [urdu.atom_id, older.atom_id]  # newest pick first
    content = entries[0].findtext(f"{ATOM_NS}content") or ""
    assert "Lead: Lahore &lt;b&gt;sanitation&lt;/b&gt; strike" in content and f"by {EDITOR}" in content
    assert entries[0].find(f"{ATOM_NS}source") is not None and entries[0].find(f"{ATOM_NS}link") is not None
    assert [e.findtext(f"{ATOM_NS}id") for e in _entries((site.output_dir / "picks.atom").read_bytes())][0] == urdu.atom_id
    desk = client.get("/desk").get_data(as_text=True)
    assert "Lead: Lahore &lt;b&gt;sanitation&lt;/b&gt; strike" in desk and f"<td>{EDITOR}</td><td>pick</td>" in desk
    api = client.get(f"/api/picks?section={SECTION}").get_json()["picks"]
    assert [p["story"]["id"] for p in api] == [urdu.id, older.id] and api[0]["editor"] == EDITOR
    story_page = client.get(f"/story/{urdu.id}").get_data(as_text=True)
    assert f"by {EDITOR}" in story_page and "Unpick" in story_page
    r = client.post("/desk/unpick", data={"story": urdu.id, "csrf_token": _token(client, "/desk"), "next": "/desk"})
    assert r.status_code == 303 and [p.story_id for p in store.picks(SECTION)] == [older.id]
    _published(client)
    assert [e.findtext(f"{ATOM_NS}id") for e in _entries((site.output_dir / f"picks/{SECTION}.atom").read_bytes())] \
        == [older.atom_id]  # fmt: skip
    assert [a.action for a in store.editor_actions()] == ["unpick", "pick", "pick"]
    # An open redirect is not possible through `next`.
    r = client.post("/desk/pick", data={"story": urdu.id, "csrf_token": _token(client, "/"), "next": "//evil.example/"})
    assert r.headers["Location"] == f"/story/{urdu.id}"


def test_a_pick_while_a_cycle_runs_is_published_when_that_cycle_lets_go(client: FlaskClient, store: Store,
                                                                         site: Config) -> None:  # fmt: skip
    story = store.stories(StoryQuery(limit=1)).stories[0]
    _login(client)
    before = (site.output_dir / "picks.atom").read_bytes()
    lock = CycleLock(site.database)
    lock.acquire()
    try:
        started = time.monotonic()
        r = client.post("/desk/pick", data={"story": story.id, "csrf_token": _token(client, "/")}, follow_redirects=True)
        assert time.monotonic() - started < 2  # the editor does not wait for the cycle
        assert r.status_code == 200 and store.picks(SECTION)
        time.sleep(1.0)  # the publisher has found the lock held (it retries every 0.5 s)
        desk = client.get("/desk").get_data(as_text=True)
        assert "a cycle is running, and the feeds are republished when it finishes" in desk
        assert (site.output_dir / "picks.atom").read_bytes() == before  # nothing written under a cycle's lock
    finally:
        lock.release()
    _published(client)
    ids = [e.findtext(f"{ATOM_NS}id") for e in _entries((site.output_dir / "picks.atom").read_bytes())]
    assert ids == [story.atom_id]  # published once the cycle let go, whether or not that cycle saw the pick


def test_a_burst_of_picks_is_published_together(client: FlaskClient, store: Store, site: Config,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    published: list[tuple[object, object]] = []
    publisher = client.application.extensions["aggregator"]["publisher"]
    real = publisher._publish

    def recording(only: frozenset[str] | None, paths: frozenset[str] | None) -> list[str]:
        changed = real(only, paths)  # raises LockHeld while the lock is held
        published.append((only, paths))
        return changed

    monkeypatch.setattr(publisher, "_publish", recording)
    stories = store.stories(StoryQuery(limit=3)).stories
    _login(client)
    lock = CycleLock(site.database)
    lock.acquire()  # hold the publisher back while the picks arrive
    try:
        for story in stories:
            client.post("/desk/pick", data={"story": story.id, "csrf_token": _token(client, "/")})
    finally:
        lock.release()
    _published(client)
    ids = {e.findtext(f"{ATOM_NS}id") for e in _entries((site.output_dir / f"picks/{SECTION}.atom").read_bytes())}
    assert ids == {s.atom_id for s in stories}
    assert published == [(PICK_OUTPUTS, pick_paths(SECTION))]  # three picks, one publish


def test_an_editor_splits_a_wrongly_merged_copy_and_undoes_it(client: FlaskClient, store: Store) -> None:
    merged = next(s for s in store.stories(StoryQuery(limit=1000)).stories if len(s.copies) > 1)
    second = merged.copies[1]
    _login(client)
    page = client.get(f"/story/{merged.id}").get_data(as_text=True)
    assert f"Split c{second.id} out" in page
    r = client.post("/desk/unmerge", data={"copy": second.id, "csrf_token": _token(client, "/")})
    assert r.status_code == 303
    new_story = store.story_of_copy(second.id)
    assert new_story != merged.id and r.headers["Location"].endswith(f"/story/{new_story}")
    page = client.get(f"/story/{new_story}").get_data(as_text=True)
    assert "Split out of story" in page and f"Undo the split of c{second.id}" in page and f"{EDITOR} · unmerge" in page
    r = client.post("/desk/undo-unmerge", data={"copy": second.id, "csrf_token": _token(client, "/")})
    assert r.status_code == 303 and store.story_of_copy(second.id) == merged.id
    assert "Put back by an editor" in client.get(f"/story/{merged.id}").get_data(as_text=True)
    assert [(a.editor, a.action) for a in store.editor_actions()] == [(EDITOR, "undo unmerge"), (EDITOR, "unmerge")]
    only = next(s for s in store.stories(StoryQuery(limit=1000)).stories if len(s.copies) == 1)
    assert client.post("/desk/unmerge", data={"copy": only.primary.id, "csrf_token": _token(client, "/")}).status_code == 409
    assert client.post("/desk/undo-unmerge", data={"copy": 999999, "csrf_token": _token(client, "/")}).status_code == 404


def test_a_removed_editor_is_logged_out(client: FlaskClient, store: Store) -> None:
    _login(client)
    assert client.get("/desk").status_code == 200
    user = store.user(EDITOR)
    assert user is not None
    store.set_password_hash(EDITOR, user.password_hash + "x")  # as if the password had changed
    assert client.get("/desk").status_code == 302  # the old session is gone
    store.set_password_hash(EDITOR, user.password_hash)
    _login(client)
    assert client.get("/desk").status_code == 200
    store.remove_user(EDITOR)
    assert client.get("/desk").status_code == 302
    assert client.post("/logout", data={"csrf_token": _token(client, "/login")}).status_code == 303


# --------------------------------------------------------------------------- the JSON API


def test_json_api(client: FlaskClient, store: Store) -> None:
    everything = [s.id for s in store.stories(StoryQuery(limit=1000)).stories]
    ids, url = [], "/api/stories?limit=5"
    while url:
        data = client.get(url).get_json()
        ids += [s["id"] for s in data["stories"]]
        url = data["next_url"] and data["next_url"].replace("http://localhost", "")
    assert ids == everything
    asia = client.get("/api/stories?region=asia&language=ta").get_json()["stories"]
    assert asia and all(s["language"] == "ta" and "asia" in s["regions"] for s in asia)
    one = client.get(f"/api/stories/{everything[0]}")
    assert one.headers["Content-Type"] == "application/json"
    body = one.get_json()
    assert body["id"] == everything[0] and body["explanations"][0]["rule"] is None and body["copies"]
    assert client.get("/api/stories/999999").status_code == 404
    feeds = client.get("/api/feeds").get_json()
    assert {"feed.atom", "regions/asia.atom", "picks.atom"} <= {f["path"] for f in feeds["published"]}
    assert len(feeds["sources"]) == 8 and all("posts_per_week" in s for s in feeds["sources"])
    assert client.get("/api/picks").get_json() == {"picks": []}
    assert client.get("/api/picks?section=nope").status_code == 400
    assert client.get("/api/stories?after=x").status_code == 400


# --------------------------------------------------------------------------- the CLI and real waitress


def test_user_add_list_remove(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    config = site.path
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    result = run_cli("user", "add", "zeynep", "--section", SECTION, "-c", config)
    assert result.code == 0, result.err
    listed = run_cli("user", "list", "-c", config)
    assert "zeynep\tspew" in listed.out and f"{EDITOR}\tspew" in listed.out
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert run_cli("user", "add", "yuki", "--section", SECTION, "-c", config).code == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    bad = run_cli("user", "add", "yuki", "--section", "nope", "-c", config)
    assert bad.code == 2 and "--section 'nope'" in bad.err
    assert run_cli("user", "add", "zeynep", "--section", SECTION, "-c", config).code == 2  # taken
    with Store.open(site.database) as store:
        user = store.user("zeynep")
        assert user is not None and user.password_hash.startswith("$argon2id$")
    assert run_cli("user", "remove", "zeynep", "-c", config).code == 0
    assert "zeynep" not in run_cli("user", "list", "-c", config).out
    assert run_cli("user", "remove", "zeynep", "-c", config).code == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_aggregator_serve_runs_waitress_on_127_0_0_1(site: Config) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "-c", str(site.path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert r.status_code == 200 and r.headers["server"] == "aggregator"
        assert r.headers["content-encoding"] == "gzip" and "Latest stories" in r.text  # httpx asks for gzip
        feed = httpx.get(base + "/regions/asia.atom", timeout=5)
        assert feed.headers["content-type"] == "application/atom+xml" and _entries(feed.content)
        assert httpx.get(base + "/regions/asia.atom", headers={"If-None-Match": feed.headers["etag"]},
                         timeout=5).status_code == 304  # fmt: skip
        assert httpx.get(base + "/search", params={"q": "வேலைநிறுத்தம்"}, timeout=5).text.count('<article class="story"') >= 1
        assert json.loads(httpx.get(base + "/api/stories?limit=2", timeout=5).text)["next"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_stopping_the_server_still_publishes_a_pick_saved_while_a_cycle_ran(site: Config, store: Store) -> None:
    story = store.stories(StoryQuery(limit=1)).stories[0]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "-c", str(site.path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    lock = CycleLock(site.database)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    page = http.get("/login").text
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline
                    time.sleep(0.2)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            login = {"name": EDITOR, "password": PASSWORD, "csrf_token": token.group(1)}
            assert http.post("/login", data=login).status_code == 303
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/desk").text)
            assert token
            lock.acquire()  # a cycle runs: the server's publisher must wait for it
            assert http.post("/desk/pick", data={"story": story.id, "csrf_token": token.group(1)}).status_code == 303
        assert [p.story_id for p in store.picks(SECTION)] == [story.id]
        proc.terminate()  # SIGTERM, as `docker stop` sends, while the change is still unpublished
        time.sleep(1.0)
        assert proc.poll() is None  # still waiting for the cycle
        assert story.atom_id not in (site.output_dir / "picks.atom").read_text(encoding="utf-8")
        lock.release()
        assert proc.wait(30) == 0
        assert story.atom_id in (site.output_dir / f"picks/{SECTION}.atom").read_text(encoding="utf-8")
    finally:
        lock.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
