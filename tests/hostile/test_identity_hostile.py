"""Identity and trust between parties (issue 14): one configured party must not take over another
party's story, its feed's atom:id or its future guid, nor flood the published lists.

Each attack runs as a real cycle against feeds served on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from conftest import ATOM_NS, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

TEXT = " ".join(f"solidarity{i} strike{i}" for i in range(80))


def _date(days_ago: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


def rss(title: str, site: str, items: list[str], channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{site}</link>{channel_extra}" + "".join(items) + "</channel></rss>"
    ).encode("utf-8")


def item(guid: str, title: str, link: str, days_ago: float, body: str = TEXT, author: str = "") -> str:
    byline = f"<author>{author}</author>" if author else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title><link>{link}</link>'
        f"<pubDate>{_date(days_ago)}</pubDate>{byline}<description><![CDATA[<p>{body}</p>]]></description></item>"
    )


def _feed(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def test_a_party_cannot_hijack_another_partys_story_with_its_link_and_an_earlier_date(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    victim_link = "https://victim.example/2026/11/strike-wins/"
    victim = feed_server.add("/victim.xml", rss("Victim", "https://victim.example/", [
        item("v-1", "Strike wins pay rise", victim_link, days_ago=1, author="real@victim.example (Real Author)"),
    ]))  # fmt: skip
    attacker = feed_server.add("/attacker.xml", rss("Attacker", "https://attacker.example/", [
        item("a-1", "HIJACKED TITLE", victim_link, days_ago=3, body="HIJACKED TEXT " + TEXT,
             author="evil@attacker.example (Evil)"),
    ]))  # fmt: skip
    config = write_config(tmp_path, [
        feed_entry(victim, "Victim Party", site="https://victim.example/"),
        feed_entry(attacker, "Attacker Party", site="https://attacker.example/"),
    ])  # fmt: skip
    assert run_cli("fetch", "-q", "-c", config).code == 0
    entries = _feed(tmp_path / "public" / "feed.atom").findall(f"{ATOM_NS}entry")
    assert len(entries) == 1  # merged by the same link: one story
    entry = entries[0]
    assert entry.findtext(f"{ATOM_NS}title") == "Strike wins pay rise"
    assert entry.find(f"{ATOM_NS}link[@rel='alternate']").get("href") == victim_link
    assert "HIJACKED" not in etree.tostring(entry, encoding="unicode").split("Also published by")[0]
    assert entry.findtext(f"{ATOM_NS}source/{ATOM_NS}title") == "Victim Party"
    assert "Attacker Party" in (entry.findtext(f"{ATOM_NS}content") or "")  # credited, not shown
    validate_atom(tmp_path / "public" / "feed.atom")


def test_a_feed_claiming_another_partys_feed_url_as_its_id_gets_no_source_id(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    victim = feed_server.url("/victim.atom")
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Attacker</title><id>{victim}</id><updated>2026-11-30T10:00:00Z</updated>"
        "<link href='https://attacker.example/'/>"
        "<entry><id>tag:attacker.example,2026:1</id><title>Attacker news</title>"
        "<link href='https://attacker.example/1'/><updated>2026-11-30T10:00:00Z</updated>"
        f"<content type='html'>&lt;p&gt;{TEXT}&lt;/p&gt;</content></entry></feed>"
    ).encode("utf-8")
    attacker = feed_server.add("/attacker.atom", atom, content_type="application/atom+xml")
    feed_server.add("/victim.atom", rss("Victim", "https://victim.example/", [
        item("v-1", "Victim news", "https://victim.example/1", days_ago=1, body="other words " * 30),
    ]))  # fmt: skip
    config = write_config(tmp_path, [
        feed_entry(victim, "Victim Party", site="https://victim.example/"),
        feed_entry(attacker, "Attacker Party", site="https://attacker.example/"),
    ])  # fmt: skip
    assert run_cli("fetch", "-q", "-c", config).code == 0
    for entry in _feed(tmp_path / "public" / "feed.atom").findall(f"{ATOM_NS}entry"):
        source = entry.find(f"{ATOM_NS}source")
        if source.findtext(f"{ATOM_NS}title") == "Attacker Party":
            assert source.findtext(f"{ATOM_NS}id") == attacker  # its own URL, never the victim's
        else:
            assert source.findtext(f"{ATOM_NS}id") == victim
    validate_atom(tmp_path / "public" / "feed.atom")


def test_a_guid_taken_from_another_party_is_republished_by_neither(tmp_path: Path, feed_server: FeedServer) -> None:
    stolen = "https://victim.example/?p=4242"
    attacker = feed_server.add("/attacker.xml", rss("Attacker", "https://attacker.example/", [
        item(stolen, "Squatted", "https://attacker.example/squat", days_ago=2, body="squat words " * 30),
    ]))  # fmt: skip
    victim = feed_server.add("/victim.xml", rss("Victim", "https://victim.example/", []))
    config = write_config(tmp_path, [
        feed_entry(victim, "Victim Party", site="https://victim.example/"),
        feed_entry(attacker, "Attacker Party", site="https://attacker.example/"),
    ])  # fmt: skip
    run_cli("fetch", "-q", "-c", config)
    # Later the victim publishes the real story under its own guid.
    feed_server.add("/victim.xml", rss("Victim", "https://victim.example/", [
        item(stolen, "The real story", "https://victim.example/real", days_ago=1, body="real words " * 30),
    ]))  # fmt: skip
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    ids = {e.findtext(f"{ATOM_NS}title"): e.findtext(f"{ATOM_NS}id")
           for e in _feed(tmp_path / "public" / "feed.atom").findall(f"{ATOM_NS}entry")}  # fmt: skip
    assert set(ids) == {"Squatted", "The real story"}
    # Two feeds claim the id: it identifies neither story, so no reader confuses them.
    assert ids["Squatted"] != stolen and ids["Squatted"] != ids["The real story"]
    validate_atom(tmp_path / "public" / "feed.atom")


def test_one_feed_cannot_flood_the_published_lists(tmp_path: Path, feed_server: FeedServer) -> None:
    flood = feed_server.add("/flood.xml", rss("Flood", "https://flood.example/", [
        item(f"f-{i}", f"Flood {i}", f"https://flood.example/{i}", days_ago=0.01 * i, body=f"flood{i} " * 40)
        for i in range(150)
    ]))  # fmt: skip
    quiet = feed_server.add("/quiet.xml", rss("Quiet", "https://quiet.example/", [
        item(f"q-{i}", f"Quiet {i}", f"https://quiet.example/{i}", days_ago=2 + i, body=f"quiet{i} " * 40)
        for i in range(5)
    ]))  # fmt: skip
    config = write_config(tmp_path, [
        feed_entry(flood, "Flood Party", site="https://flood.example/"),
        feed_entry(quiet, "Quiet Party", site="https://quiet.example/"),
    ], max_entries=20, max_stories_per_feed=10)  # fmt: skip
    assert run_cli("fetch", "-q", "-c", config).code == 0
    public = tmp_path / "public"
    for path in (public / "feed.atom", public / "regions" / "europe.atom"):
        titles = [e.findtext(f"{ATOM_NS}title") for e in _feed(path).findall(f"{ATOM_NS}entry")]
        assert len(titles) == 20
        assert sum(t.startswith("Quiet") for t in titles) == 5  # every quiet story is there
        assert sum(t.startswith("Flood") for t in titles) == 15  # the cap, then the unused slots
        published = [e.findtext(f"{ATOM_NS}published") for e in _feed(path).findall(f"{ATOM_NS}entry")]
        assert published == sorted(published, reverse=True)
    html = (public / "index.html").read_text(encoding="utf-8")
    assert "Quiet 0" in html and "Quiet 4" in html
