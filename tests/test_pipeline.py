"""The whole pipeline through the CLI: config -> fetch (real HTTP on 127.0.0.1) -> parse -> store -> publish."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from aggregator import __version__
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, run_cli_process, write_config
from feedserver import FeedServer
from readers import read_with_newsboat, read_with_node, validate_atom

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _setup(tmp_path: Path, server: FeedServer) -> Path:
    feeds = [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Socialist Party Wordpress",
                   site="https://wp.example.org/"),
        feed_entry(server.add("/rdf.xml", FEED_DATA / "rss10_rdf.xml"), "Gauche RDF", country="FR", language="fr"),
        feed_entry(server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                   country="PK", language="ur"),
        feed_entry(server.add("/tamil.xml", FEED_DATA / "tamil.xml"), "Tamil Party", region="asia",
                   country="LK", language="ta"),
        feed_entry(server.add("/blogger.atom", FEED_DATA / "blogger_atom.xml",
                              content_type="application/atom+xml"), "Blogger Party", region="africa",
                   country="NG", language="en-NG"),
    ]  # fmt: skip
    return write_config(tmp_path, feeds)


def _atom(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def _entries(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{ATOM_NS}entry")


def _db_count(tmp_path: Path, table: str) -> int:
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_full_cycle_publishes_valid_region_tagged_atom(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    assert "feeds: 5 ok, 0 not modified, 0 failed" in result.out
    # An honest User-Agent: the software and the public address of the service fetching.
    agents = {hit.headers.get("user-agent") for hit in feed_server.requests}
    assert agents == {f"aggregator/{__version__} (+https://feeds.example.org/; feed aggregator)"}

    public = tmp_path / "public"
    for name in ("feed.atom", "regions/europe.atom", "regions/asia.atom", "regions/africa.atom"):
        validate_atom(public / name)
    assert (public / "index.html").exists() and (public / "sources.opml").exists()

    root = _atom(public / "feed.atom")
    assert root.findtext(f"{ATOM_NS}id") == "https://feeds.example.org/feed.atom"
    assert root.find(f"{ATOM_NS}link[@rel='self']").get("href") == "https://feeds.example.org/feed.atom"
    assert root.find(f"{ATOM_NS}generator") is not None
    entries = _entries(root)
    assert len(entries) == _db_count(tmp_path, "stories") > 10
    regions = {c.get("term") for e in entries for c in e.findall(f"{ATOM_NS}category")
               if c.get("scheme") == "https://feeds.example.org/regions"}  # fmt: skip
    assert regions == {"europe", "asia", "africa"}

    # Newest first.
    published = [e.findtext(f"{ATOM_NS}published") for e in entries]
    assert published == sorted(published, reverse=True)

    for entry in entries:
        assert entry.findtext(f"{ATOM_NS}id")
        assert entry.get(XML_LANG)
        alternate = entry.find(f"{ATOM_NS}link[@rel='alternate']")
        assert alternate is not None and alternate.get("href").startswith(("http://", "https://"))
        assert entry.findtext(f"{ATOM_NS}author/{ATOM_NS}name")
        assert entry.findtext(f"{ATOM_NS}published") and entry.findtext(f"{ATOM_NS}updated")
        source = entry.find(f"{ATOM_NS}source")
        assert source is not None
        assert source.findtext(f"{ATOM_NS}id") and source.findtext(f"{ATOM_NS}title")
        assert source.find(f"{ATOM_NS}link[@rel='self']").get("href").startswith("http://127.0.0.1:")
        assert source.findtext(f"{ATOM_NS}updated")
        terms = {c.get("term"): c for c in entry.findall(f"{ATOM_NS}category")}
        region = next(c for c in terms.values() if c.get("scheme") == "https://feeds.example.org/regions")
        assert region.get("label") in {"Europe", "Asia", "Africa"}
        assert any(c.get("scheme") == "https://feeds.example.org/countries" for c in terms.values())

    urdu = [e for e in entries if e.get(XML_LANG) == "ur"]
    assert urdu and all(
        e.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title") == "Urdu Party" for e in urdu
    )  # the configured name, not the channel title
    wp_source = next(
        e.find(f"{ATOM_NS}source") for e in entries
        if e.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title") == "Socialist Party Wordpress"
    )  # fmt: skip
    assert wp_source.find(f"{ATOM_NS}link[@rel='alternate']").get("href") == "https://wp.example.org/"
    sources = {e.find(f"{ATOM_NS}source").findtext(f"{ATOM_NS}title"): e.find(f"{ATOM_NS}source") for e in entries}
    # An Atom source keeps its own atom:id; an RSS source (no id of its own) is named by its feed URL.
    assert sources["Blogger Party"].findtext(f"{ATOM_NS}id") == "tag:blogger.com,1999:blog-4482910375566120934"
    assert sources["Urdu Party"].findtext(f"{ATOM_NS}id").endswith("/urdu.xml")
    # No `site` in the config: the alternate link is the site the feed itself names.
    assert sources["Urdu Party"].find(f"{ATOM_NS}link[@rel='alternate']").get("href") == "https://socialistpakistan.org"

    asia = _entries(_atom(public / "regions" / "asia.atom"))
    assert asia and all(
        any(c.get("term") == "asia" for c in e.findall(f"{ATOM_NS}category")) for e in asia
    )
    html = (public / "index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml"' in html and 'href="regions/asia.atom"' in html


def test_second_fetch_sends_conditional_requests_and_parses_nothing(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in public.rglob("*") if p.is_file()}
    entries_before = _db_count(tmp_path, "entries")

    result = run_cli("fetch", "--all", "-c", config)
    assert result.code == 0, result.err
    assert "0 ok, 5 not modified, 0 failed" in result.out
    assert "0 new, 0 updated" in result.out
    second_round = feed_server.requests[5:]
    assert len(second_round) == 5
    assert all(r.status == 304 for r in second_round)
    assert all(r.headers.get("if-none-match") for r in second_round)
    assert _db_count(tmp_path, "entries") == entries_before
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in public.rglob("*") if p.is_file()}
    assert after == before  # nothing rewritten


def test_same_body_without_validators_is_not_parsed_again(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/plain.xml", FEED_DATA / "wordpress_rss2.xml", etag=False, last_modified=None)
    config = write_config(tmp_path, [feed_entry(url, "No Validators")])
    assert run_cli("fetch", "-c", config).code == 0
    result = run_cli("fetch", "--all", "-c", config)
    assert "0 ok, 1 not modified" in result.out
    assert all(r.status == 200 for r in feed_server.hits("/plain.xml"))
    assert not any("if-none-match" in r.headers for r in feed_server.hits("/plain.xml"))


def test_edited_entry_is_updated_in_place(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/edit.xml", FEED_DATA / "edited_entry_a.xml")
    config = write_config(tmp_path, [feed_entry(url, "Editing Party")])
    assert run_cli("fetch", "-c", config).code == 0
    first = {e.findtext(f"{ATOM_NS}id"): e for e in _entries(_atom(tmp_path / "public" / "feed.atom"))}
    count = _db_count(tmp_path, "entries")

    feed_server.add("/edit.xml", FEED_DATA / "edited_entry_b.xml")
    result = run_cli("fetch", "--all", "-c", config)
    assert "0 new, 1 updated" in result.out
    assert _db_count(tmp_path, "entries") == count
    second = {e.findtext(f"{ATOM_NS}id"): e for e in _entries(_atom(tmp_path / "public" / "feed.atom"))}
    assert second.keys() == first.keys()  # same identities, nothing announced as new
    changed = [i for i in first if first[i].findtext(f"{ATOM_NS}title") != second[i].findtext(f"{ATOM_NS}title")]
    assert len(changed) == 1
    entry_id = changed[0]
    assert second[entry_id].findtext(f"{ATOM_NS}updated") > first[entry_id].findtext(f"{ATOM_NS}updated")


def test_failures_are_recorded_per_feed_and_never_stop_the_cycle(tmp_path: Path, feed_server: FeedServer) -> None:
    good = feed_server.add("/good.xml", FEED_DATA / "wordpress_rss2.xml")
    broken = feed_server.add("/broken.xml", b"oops", status=500, content_type="text/plain")
    gone = feed_server.add("/gone.xml", b"", status=410)
    html = feed_server.add("/page.html", FEED_DATA / "html_page.html", content_type="text/html")
    feed_server.add("/new-home.xml", FEED_DATA / "tamil.xml")
    moved = feed_server.add("/old-home.xml", b"", status=301, headers={"Location": "/new-home.xml"})
    config = write_config(
        tmp_path,
        [
            feed_entry(good, "Good"), feed_entry(broken, "Broken"), feed_entry(gone, "Gone"),
            feed_entry(html, "Html Page"), feed_entry(moved, "Moved", region="asia", country="LK", language="ta"),
        ],
    )  # fmt: skip
    # Before any fetch: every configured feed is listed as never fetched, and no database is created.
    before = json.loads(run_cli("status", "--json", "-c", config).out)
    assert [s["name"] for s in before] == ["Good", "Broken", "Gone", "Html Page", "Moved"]
    assert all(s["last_status"] is None and s["enabled"] for s in before)
    assert not (tmp_path / "aggregator.db").exists()

    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    assert "2 ok, 0 not modified, 3 failed" in result.out

    status = {s["name"]: s for s in json.loads(run_cli("status", "--json", "-c", config).out)}
    required = {"url", "name", "region", "enabled", "last_status", "last_error", "consecutive_failures",
                "entries", "last_fetched", "moved_to"}  # fmt: skip
    assert all(required <= s.keys() for s in status.values())
    assert status["Good"]["last_status"] == "ok" and status["Good"]["entries"] > 0
    assert status["Good"]["posts_per_week"] > 0 and status["Broken"]["posts_per_week"] is None
    assert status["Broken"]["last_status"] == "error" and "500" in status["Broken"]["last_error"]
    assert status["Broken"]["consecutive_failures"] == 1
    assert status["Gone"]["last_status"] == "gone" and status["Gone"]["enabled"] is False  # 410 disables it
    assert status["Html Page"]["last_status"] == "error"
    assert status["Html Page"]["suggested_url"] == feed_server.url("/feed/")
    assert status["Moved"]["moved_to"] == feed_server.url("/new-home.xml")
    assert status["Moved"]["last_status"] == "ok" and status["Moved"]["entries"] > 0

    # Backoff: a plain `fetch` does not retry the failing feed yet; --all does, and counts up.
    assert "not due" in run_cli("fetch", "-c", config).out
    assert len(feed_server.hits("/broken.xml")) == 1
    run_cli("fetch", "--all", "-c", config)
    status = {s["name"]: s for s in json.loads(run_cli("status", "--json", "-c", config).out)}
    assert status["Broken"]["consecutive_failures"] == 2
    assert len(feed_server.hits("/gone.xml")) == 1  # 410 disabled it

    # Recovery resets the count.
    feed_server.add("/broken.xml", FEED_DATA / "no_guid.xml")
    run_cli("fetch", "--all", "-c", config)
    status = {s["name"]: s for s in json.loads(run_cli("status", "--json", "-c", config).out)}
    assert status["Broken"]["consecutive_failures"] == 0 and status["Broken"]["last_status"] == "ok"

    table = run_cli("status", "-c", config).out
    assert "Broken" in table and "moved to" in table


def test_fetching_again_never_duplicates_entries(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/nog.xml", FEED_DATA / "no_guid_no_link.xml", etag=False, last_modified=None)
    url2 = feed_server.add("/nog2.xml", FEED_DATA / "no_guid.xml", etag=False, last_modified=None)
    config = write_config(tmp_path, [feed_entry(url, "No Ids"), feed_entry(url2, "No Guids")])
    run_cli("fetch", "-c", config)
    count = _db_count(tmp_path, "entries")
    assert count >= 4
    feed_server.routes["/nog.xml"].body += b"\n"  # a new body, same items: parsed again
    feed_server.routes["/nog2.xml"].body += b"\n"
    result = run_cli("fetch", "--all", "-c", config)
    assert "2 ok" in result.out and "0 new, 0 updated" in result.out
    assert _db_count(tmp_path, "entries") == count


def test_publish_rebuilds_outputs_from_the_database_alone(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    run_cli("fetch", "-c", config)
    public = tmp_path / "public"
    before = {p.relative_to(public): p.read_bytes() for p in public.rglob("*") if p.is_file()}
    for p in public.rglob("*.atom"):
        p.unlink()
    (public / "index.html").unlink()
    requests = len(feed_server.requests)
    result = run_cli("publish", "-c", config)
    assert result.code == 0
    assert len(feed_server.requests) == requests
    after = {p.relative_to(public): p.read_bytes() for p in public.rglob("*") if p.is_file()}
    assert after == before


def test_output_reads_in_independent_feed_readers(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    run_cli("fetch", "-c", config)
    feed = tmp_path / "public" / "feed.atom"
    ours = {e.findtext(f"{ATOM_NS}title"): e for e in _entries(_atom(feed))}

    newsboat = read_with_newsboat(feed)
    assert {e["title"] for e in newsboat} == set(ours)
    for item in newsboat:
        assert item["link"] == ours[item["title"]].find(f"{ATOM_NS}link[@rel='alternate']").get("href")
        assert item["author"] == ours[item["title"]].findtext(f"{ATOM_NS}author/{ATOM_NS}name")

    node = read_with_node(feed)
    assert node["feed"]["title"] == "Test World News"
    assert [e["title"] for e in node["entries"]] == list(ours)
    for entry in node["entries"]:
        mine = ours[entry["title"]]
        assert entry["id"] == mine.findtext(f"{ATOM_NS}id")
        assert "europe" in entry["categories"] or "asia" in entry["categories"] or "africa" in entry["categories"]
        assert entry["published"] is not None


def test_bad_config_exits_2_naming_the_field_and_touches_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    run_cli("fetch", "-c", config)
    public = tmp_path / "public"
    before = {p: p.stat().st_mtime_ns for p in public.rglob("*")}
    db_before = (tmp_path / "aggregator.db").stat().st_mtime_ns
    requests = len(feed_server.requests)

    bad = write_config(
        tmp_path,
        [
            feed_entry("https://a.example.org/feed/", "Typo Party", regoin="europe"),
            feed_entry("https://b.example.org/feed/", "Nowhere Party", region="antarctica"),
            feed_entry("https://b.example.org/feed/", "Twin Party"),
            feed_entry("https://c.example.org/feed/", "Country Party", country="XX"),
            feed_entry("https://d.example.org/feed/", "Language Party", language="english"),
            {"name": "No Url Party", "region": "europe", "country": "GB", "language": "en"},
            feed_entry("http://www.C.example.org/feed?utm_source=x", "Spelled Twin Party"),
        ],
    )
    for command in (["fetch"], ["check"], ["publish"], ["status"]):
        result = run_cli(*command, "-c", bad)
        assert result.code == 2, command
        assert "Traceback" not in result.err
    err = run_cli("check", "-c", bad).err
    assert "feeds[0] (Typo Party).regoin: unknown key (did you mean 'region'?)" in err
    assert "feeds[1] (Nowhere Party).region: 'antarctica' is not one of the regions" in err
    assert "feeds[2] (Twin Party).url: https://b.example.org/feed/ is already used by feeds[1]" in err
    assert "feeds[3] (Country Party).country: 'XX' is not an ISO 3166-1 alpha-2 code" in err
    assert "feeds[4] (Language Party).language: 'english' is not a BCP 47 language tag" in err
    assert "feeds[5] (No Url Party).url: is required" in err
    assert "feeds[6] (Spelled Twin Party).url: http://www.C.example.org/feed?utm_source=x is already used by feeds[3]" in err
    assert {p: p.stat().st_mtime_ns for p in public.rglob("*")} == before
    assert (tmp_path / "aggregator.db").stat().st_mtime_ns == db_before
    assert len(feed_server.requests) == requests


@pytest.mark.parametrize(
    "text, message",
    [
        ("feeds: [\n  - url: x\n", "is not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("regions: {europe: Europe}\nfeeds: []\nfetch: {timeout: -1}\n", "fetch.timeout: must be at least"),
        ("regions: {europe: Europe}\nfeeds: []\nschedule: {every: soon}\n", "schedule.every:"),
        ("regions: {europe: Europe}\nfeeds: []\nschedule: {cron: '61 * * * *'}\n", "schedule.cron:"),
        ("regions: {europe: Europe}\nbase_url: ftp://x/\nfeeds: []\n", "base_url:"),
        ("regions: {Europe!: Europe}\nfeeds: []\n", "regions.Europe!"),
    ],
)
def test_bad_config_shapes(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.yaml"
    needs_base = "regions:" in text and "base_url" not in text
    path.write_text(("base_url: https://x.org/\n" if needs_base else "") + text)
    result = run_cli("check", "-c", path)
    assert result.code == 2
    assert message in result.err


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("fetch", "-c", tmp_path / "nope.yaml")
    assert result.code == 2 and "not found" in result.err


def test_lock_held_exits_75(tmp_path: Path, feed_server: FeedServer) -> None:
    from aggregator.lock import CycleLock

    config = _setup(tmp_path, feed_server)
    with CycleLock(tmp_path / "aggregator.db"):
        result = run_cli_process("fetch", "-c", config)
    assert result.code == 75
    assert "another cycle is running" in result.err
    assert feed_server.requests == []
    assert run_cli_process("fetch", "-c", config).code == 0  # released


def test_unusable_database_is_fatal_with_a_clear_message(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    (tmp_path / "aggregator.db").write_bytes(b"this is not a database" * 100)
    result = run_cli_process("fetch", "-c", config)
    assert result.code == 1
    assert "database" in result.err and "Traceback" not in result.err


def test_demo_runs_twice_and_publishes_valid_feed_from_every_region(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    first = run_cli_process("demo", "--dir", demo)
    assert first.code == 0, first.err
    assert "newest stories" in first.out
    validate_atom(demo / "public" / "feed.atom")
    root = _atom(demo / "public" / "feed.atom")
    regions = {c.get("term") for e in _entries(root) for c in e.findall(f"{ATOM_NS}category")
               if c.get("scheme", "").endswith("/regions")}  # fmt: skip
    assert regions == {"europe", "africa", "asia", "americas", "oceania"}  # every region the demo configures
    for region in regions:
        assert _entries(_atom(demo / "public" / "regions" / f"{region}.atom")), f"regions/{region}.atom is empty"
    langs = {e.get(XML_LANG) for e in _entries(root)}
    assert {"ur", "hi", "ta"} <= langs
    # The COP31 statement and the Japan article, each published by two parties: one story each, crediting both.
    assert sum(len(e.findall(f"{ATOM_NS}link[@rel='related']")) == 1 for e in _entries(root)) == 2
    body = (demo / "public" / "feed.atom").read_text(encoding="utf-8")
    assert "<script" not in body and "javascript:" not in body and "onerror" not in body

    second = run_cli_process("demo", "--dir", demo)
    assert second.code == 0, second.err
    assert "0 new" in second.out
    validate_atom(demo / "public" / "feed.atom")


def test_ttl_still_holds_after_a_304_and_moved_to_clears(tmp_path: Path, feed_server: FeedServer) -> None:
    import datetime as dt

    body = (FEED_DATA / "wordpress_rss2.xml").read_bytes().replace(b"<channel>", b"<channel><ttl>720</ttl>", 1)
    feed_server.add("/ttl.xml", body)
    moved = feed_server.add("/ttl-old.xml", b"", status=301, headers={"Location": "/ttl.xml"})
    config = write_config(tmp_path, [feed_entry(moved, "Slow Poller")])

    def status() -> dict:
        return json.loads(run_cli("status", "--json", "-c", config).out)[0]

    for _ in range(2):  # a 200, then a 304
        run_cli("fetch", "--all", "-c", config)
        due = dt.datetime.fromisoformat(status()["next_due"])
        assert due - dt.datetime.now(dt.timezone.utc) > dt.timedelta(hours=11)
    assert feed_server.hits("/ttl.xml")[-1].status == 304
    assert status()["moved_to"] == feed_server.url("/ttl.xml")

    feed_server.add("/ttl-old.xml", body)  # the redirect is gone again
    run_cli("fetch", "--all", "-c", config)
    assert status()["moved_to"] is None


def test_temp_files_left_by_a_killed_cycle_are_cleaned_up(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    run_cli("fetch", "-c", config)
    stale = [tmp_path / "public" / ".feed.atom.abc123.tmp", tmp_path / "public" / "regions" / ".asia.atom.x.tmp"]
    for path in stale:
        path.write_bytes(b"<feed")
    keep = tmp_path / "public" / "notes.txt"  # not ours: left alone
    keep.write_text("hello")
    assert run_cli("publish", "-c", config).code == 0
    assert not any(p.exists() for p in stale)
    assert keep.exists()


def test_publish_refuses_while_a_cycle_runs(tmp_path: Path, feed_server: FeedServer) -> None:
    from aggregator.lock import CycleLock

    config = _setup(tmp_path, feed_server)
    run_cli("fetch", "-c", config)
    with CycleLock(tmp_path / "aggregator.db"):
        result = run_cli_process("publish", "-c", config)
    assert result.code == 75 and "another cycle is running" in result.err


def _atom_feed(feed_id: str, slug: str, words: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{feed_id}</id><title>{slug}</title><updated>2026-11-20T10:00:00Z</updated>"
        f'<link rel="alternate" href="https://{slug}.example.org/"/>'
        f"<entry><id>https://{slug}.example.org/p/1</id><title>{words} one</title>"
        f'<link rel="alternate" href="https://{slug}.example.org/p/1"/><updated>2026-11-20T10:00:00Z</updated>'
        f"<content type=\"html\">&lt;p&gt;{words} {slug} first article body&lt;/p&gt;</content></entry></feed>"
    ).encode()


def test_atom_source_id_is_the_feeds_own_unless_two_feeds_claim_it(tmp_path: Path, feed_server: FeedServer) -> None:
    own = feed_server.add("/own.atom", _atom_feed("urn:uuid:3f1c0d4e-own", "own", "Dockers"),
                          content_type="application/atom+xml")  # fmt: skip
    twin_a = feed_server.add("/a.atom", _atom_feed("https://cms.example.org/feed/atom/", "twina", "Nurses"),
                             content_type="application/atom+xml")  # fmt: skip
    twin_b = feed_server.add("/b.atom", _atom_feed("https://cms.example.org/feed/atom/", "twinb", "Miners"),
                             content_type="application/atom+xml")  # fmt: skip
    config = write_config(tmp_path, [feed_entry(own, "Own"), feed_entry(twin_a, "Twin A"), feed_entry(twin_b, "Twin B")])
    assert run_cli("fetch", "-c", config).code == 0
    feed = tmp_path / "public" / "feed.atom"
    validate_atom(feed)
    ids = {s.findtext(f"{ATOM_NS}title"): s.findtext(f"{ATOM_NS}id")
           for s in _atom(feed).iterfind(f"{ATOM_NS}entry/{ATOM_NS}source")}  # fmt: skip
    assert ids == {"Own": "urn:uuid:3f1c0d4e-own", "Twin A": twin_a, "Twin B": twin_b}
