"""Feed-level polish (issue 13): icon, logo, subtitle, rights and generator on every feed; summary
and content as the source had them; enclosures and the entry's picture carried from a real
podcast-like RSS and Atom feed served on 127.0.0.1 through a real cycle into Atom (jing) and JSON
Feed (the 1.1 schema); files rewritten only when their content changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html

from aggregator import __version__
from aggregator.parse import parse_feed
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom
from test_feed_formats import validate_json_feed

BASE = "https://feeds.example.org/"
POLISH = {
    "icon": "icon.png", "logo": "https://cdn.example.org/logo.svg", "subtitle": "News from the sister parties",
    "rights": "© the sister parties, reposted with credit", "generator_uri": "https://feeds.example.org/about",
}  # fmt: skip


def _setup(tmp_path: Path, server: FeedServer, **overrides: Any) -> Path:
    feeds = [
        feed_entry(server.add("/podcast.xml", FEED_DATA / "podcast_rss.xml"), "Socialist Sounds"),
        feed_entry(server.add("/radio.atom", FEED_DATA / "podcast_atom.xml", content_type="application/atom+xml"),
                   "Radio Gauche", country="FR", language="fr"),
    ]  # fmt: skip
    return write_config(tmp_path, feeds, **{**POLISH, **overrides})


def _entries(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {str(e.findtext(f"{ATOM_NS}title")): e for e in root.findall(f"{ATOM_NS}entry")}


def _enclosures(entry: etree._Element) -> list[tuple[str, str | None, str | None]]:
    return [(str(link.get("href")), link.get("type"), link.get("length"))
            for link in entry.findall(f"{ATOM_NS}link[@rel='enclosure']")]  # fmt: skip


def _files(public: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in public.rglob("*") if p.is_file()}


def test_a_podcast_cycle_carries_enclosures_pictures_and_summaries(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    validate_atom(public / "feed.atom", public / "regions" / "europe.atom", public / "languages" / "fr.atom")

    entries = _entries(public / "feed.atom")
    episode = entries["Episode 12: the general strike"]
    assert _enclosures(episode) == [("https://media.example.org/episodes/12.mp3", "audio/mpeg", "34567890")]
    # Only an excerpt in the source (RSS description alone): it is the summary, and the content too
    # (every entry keeps its content: readers and the hardening tests rely on it).
    assert "how the strike was won" in str(episode.findtext(f"{ATOM_NS}summary"))
    assert "how the strike was won" in str(episode.findtext(f"{ATOM_NS}content"))
    paper = entries["The paper, issue 1300"]
    assert _enclosures(paper) == [
        ("https://radio.example.org/paper/1300.pdf", "application/pdf", "2400000"),
        ("https://media.example.org/paper/1300-rally.mp4", "video/mp4", "98765432"),
    ]
    # Both in the source: both published, the excerpt as summary and the full text as content.
    assert "rent strikes spread." in str(paper.findtext(f"{ATOM_NS}summary"))
    assert "three more cities" in str(paper.findtext(f"{ATOM_NS}content"))
    assert "three more cities" not in str(paper.findtext(f"{ATOM_NS}summary"))
    congress = _enclosures(entries["Every recording of the congress"])
    # http(s) only (no ftp:, no javascript:), at most 8, a bad length or type left out, not the file.
    assert [u.rsplit("/", 1)[1] for u, _, _ in congress] == [f"{i:02d}.mp3" for i in range(1, 9)]
    assert ("https://media.example.org/congress/06.mp3", "audio/mpeg", None) in congress
    assert ("https://media.example.org/congress/07.mp3", None, "1000007") in congress
    radio = entries["Émission 40 : la grève des raffineries"]
    assert _enclosures(radio) == [("https://radio-gauche.example.org/audio/40.ogg", "audio/ogg", "23456789")]
    assert radio.find(f"{ATOM_NS}summary") is not None and radio.find(f"{ATOM_NS}content") is not None
    only_content = entries["Émission 38 : les retraites"]
    assert only_content.find(f"{ATOM_NS}summary") is None and only_content.find(f"{ATOM_NS}content") is not None
    assert _enclosures(only_content) == [(feed_server.url("/audio/38.ogg"), "audio/ogg", None)]

    items = {i["title"]: i for i in validate_json_feed(public / "feed.json")["items"]}
    assert items["Episode 12: the general strike"]["attachments"] == [
        {"url": "https://media.example.org/episodes/12.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 34567890}
    ]
    assert items["Episode 12: the general strike"]["image"] == "https://media.example.org/episodes/12.jpg"
    # The gravatar avatar of media:content is not the story's picture; the first <img> of the content is.
    assert items["The paper, issue 1300"]["image"] == "https://radio.example.org/paper/1300/cover.png"
    assert items["The paper, issue 1300"]["summary"] == "This week: rent strikes spread."
    assert items["Every recording of the congress"]["image"] == "https://media.example.org/congress/hall.jpg"
    assert len(items["Every recording of the congress"]["attachments"]) == 8
    assert "image" not in items["Émission 39 : le budget"] and "summary" not in items["Émission 39 : le budget"]
    for path in (public / "languages" / "fr.json", public / "countries" / "FR.json"):
        validate_json_feed(path)

    page = lxml_html.fromstring((public / "index.html").read_bytes())
    thumbs = page.xpath("//article//img[@class='thumb']")
    assert "https://media.example.org/episodes/12.jpg" in [t.get("src") for t in thumbs]
    assert all(t.get("loading") == "lazy" and t.get("alt") is not None for t in thumbs)


def test_feed_level_fields_on_every_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    atom_files = [public / "feed.atom", *(public / "regions").glob("*.atom"), *(public / "countries").glob("*.atom"),
                  *(public / "languages").glob("*.atom"), public / "picks.atom"]  # fmt: skip
    assert len(atom_files) >= 8
    validate_atom(*atom_files)
    for path in atom_files:
        root = etree.parse(str(path)).getroot()
        assert root.findtext(f"{ATOM_NS}icon") == BASE + "icon.png", path
        assert root.findtext(f"{ATOM_NS}logo") == "https://cdn.example.org/logo.svg", path
        assert root.findtext(f"{ATOM_NS}rights") == POLISH["rights"], path
        generator = root.find(f"{ATOM_NS}generator")
        assert generator is not None and generator.text == "aggregator", path
        assert generator.get("version") == __version__ and generator.get("uri") == POLISH["generator_uri"], path
    assert etree.parse(str(public / "feed.atom")).getroot().findtext(f"{ATOM_NS}subtitle") == POLISH["subtitle"]
    assert etree.parse(str(public / "regions" / "asia.atom")).getroot().findtext(f"{ATOM_NS}subtitle") == (
        "News from the sister parties in Asia"
    )
    for path in [public / "feed.json", *(public / "regions").glob("*.json")]:
        data = validate_json_feed(path)
        assert data["favicon"] == BASE + "icon.png" and data["icon"] == "https://cdn.example.org/logo.svg"
        assert data["_aggregator"]["rights"] == POLISH["rights"]
    assert validate_json_feed(public / "feed.json")["description"] == POLISH["subtitle"]
    page = lxml_html.fromstring((public / "index.html").read_bytes())
    assert page.xpath("//link[@rel='icon']/@href") == [BASE + "icon.png"]
    assert page.xpath("//meta[@name='generator']/@content") == [f"aggregator {__version__}"]


def test_without_the_settings_the_generator_names_the_deployment(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server, icon=None, logo=None, rights=None, subtitle=None, generator_uri=None)
    assert run_cli("fetch", "-c", config).code == 0
    root = etree.parse(str(tmp_path / "public" / "feed.atom")).getroot()
    assert root.find(f"{ATOM_NS}generator").get("uri") == BASE  # type: ignore[union-attr]
    assert root.find(f"{ATOM_NS}icon") is None and root.find(f"{ATOM_NS}rights") is None
    assert root.findtext(f"{ATOM_NS}subtitle") == "News from the sister parties, all regions"
    data = validate_json_feed(tmp_path / "public" / "feed.json")
    assert "favicon" not in data and "icon" not in data and "_aggregator" not in data
    assert not lxml_html.fromstring((tmp_path / "public" / "index.html").read_bytes()).xpath("//link[@rel='icon']")


def test_nothing_changed_rewrites_no_file_and_a_changed_enclosure_rewrites_the_feeds(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    before = _files(public)
    updated_before = _entries(public / "feed.atom")["Episode 12: the general strike"].findtext(f"{ATOM_NS}updated")

    # A cycle that fetches everything again (same bytes) and a forced publish write nothing.
    assert run_cli("fetch", "--all", "-c", config).code == 0
    assert run_cli("publish", "-c", config).code == 0
    assert _files(public) == before

    # The episode's file moves (a re-encode): an edit, though no text changed.
    body = (FEED_DATA / "podcast_rss.xml").read_bytes().replace(
        b'episodes/12.mp3" length="34567890"', b'episodes/12-v2.mp3" length="34600000"'
    )
    feed_server.add("/podcast.xml", body)
    result = run_cli("fetch", "--all", "-c", config)
    assert result.code == 0 and "1 updated" in result.out, result.out
    episode = _entries(public / "feed.atom")["Episode 12: the general strike"]
    assert _enclosures(episode) == [("https://media.example.org/episodes/12-v2.mp3", "audio/mpeg", "34600000")]
    assert episode.findtext(f"{ATOM_NS}updated") != updated_before
    after = _files(public)
    for path in ("feed.atom", "feed.json", "regions/europe.atom", "regions/europe.json", "countries/GB.atom"):
        assert after[public / path][0] != before[public / path][0], path
    # The French feed's stories did not change: neither did its files.
    for path in ("countries/FR.atom", "countries/FR.json", "languages/fr.atom"):
        assert after[public / path] == before[public / path], path
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        stored = conn.execute("SELECT enclosures FROM entries WHERE key = 'radio-episode-12'").fetchone()[0]
    assert "12-v2.mp3" in stored


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("icon", "javascript:alert(1)", "icon: 'javascript:alert(1)' must be an http(s) URL or a path under output_dir"),
        ("icon", "ftp://example.org/i.png", "icon: 'ftp://example.org/i.png' is not an absolute http(s) URL"),
        ("icon", "../secrets.png", "icon: '../secrets.png' must be an http(s) URL or a path under output_dir"),
        ("logo", "/etc/logo.png", "logo: '/etc/logo.png' must be an http(s) URL or a path under output_dir"),
        ("logo", ["a.png"], "logo: must be text"),
        ("rights", "line one\nline two", "rights: must be one line"),
        ("subtitle", "x" * 600, "subtitle: must be one line of at most 500 characters"),
        ("generator_uri", "ftp://example.org/", "generator_uri: 'ftp://example.org/' is not an absolute http(s) URL"),
        ("favicon", "icon.png", "favicon: unknown key"),
    ],
)
def test_a_bad_setting_exits_2_naming_the_field(tmp_path: Path, key: str, value: Any, message: str) -> None:
    config = write_config(tmp_path, [feed_entry("https://party.example/feed", "Party")], **{key: value})
    result = run_cli("check", "-c", config)
    assert result.code == 2 and message in result.err, result.err
    assert not (tmp_path / "public").exists()


def test_a_path_icon_is_published_under_base_url(tmp_path: Path) -> None:
    from aggregator.config import load_config

    config = load_config(write_config(tmp_path, [feed_entry("https://party.example/feed", "Party")],
                                      icon="img/party icon.png", logo="https://cdn.example.org/l.png"))  # fmt: skip
    assert config.icon == BASE + "img/party%20icon.png" and config.logo == "https://cdn.example.org/l.png"


def test_both_parse_paths_give_the_same_enclosures_and_pictures() -> None:
    """The fast path (lxml) reads these files itself, and gives what feedparser gives."""
    from unittest import mock

    from aggregator import fastparse

    for name in ("podcast_rss.xml", "podcast_atom.xml"):
        body = (FEED_DATA / name).read_bytes()
        results: list[object] = []
        real = fastparse.parse
        with mock.patch.object(fastparse, "parse", lambda *args: results.append(real(*args)) or results[-1]):
            fast_feed = parse_feed(body, {}, "https://example.org/feed/")
        assert len(results) == 1 and results[0] is not None  # the fast path took it
        with mock.patch.object(fastparse, "parse", lambda *args: None):
            slow_feed = parse_feed(body, {}, "https://example.org/feed/")
        assert [(e.enclosures, e.image) for e in fast_feed.entries] == [(e.enclosures, e.image) for e in slow_feed.entries]
        assert any(e.enclosures for e in fast_feed.entries) and any(e.image for e in fast_feed.entries)
