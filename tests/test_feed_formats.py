"""Publishing beyond the region feeds (issue 13): a JSON Feed 1.1 twin of every Atom feed, feeds per
language and per country, feeds.opml listing every feed, and the HTML page's Feeds section."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree
from lxml import html as lxml_html

from aggregator import atom, jsonfeed
from aggregator.config import load_config
from aggregator.models import Copy, Story
from aggregator.opml import read_opml
from conftest import ATOM_NS, FEED_DATA, TESTS, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

SCHEMA = json.loads((TESTS / "data" / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
BASE = "https://feeds.example.org/"


def validate_json_feed(path: Path) -> dict[str, Any]:
    """The parsed feed, after checking it against our JSON Feed 1.1 schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, f"{path} is not JSON Feed 1.1:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )
    return dict(data)


def _setup(tmp_path: Path, server: FeedServer, **overrides: Any) -> Path:
    feeds = [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Europe Party", site="https://wp.example.org/"),
        feed_entry(server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                   country="PK", language="ur"),
        feed_entry(server.add("/blogger.atom", FEED_DATA / "blogger_atom.xml", content_type="application/atom+xml"),
                   "Blogger Party", region="africa", country="NG", language="en-NG"),
        feed_entry(server.add("/tamil.xml", FEED_DATA / "tamil.xml"), "Tamil Party", region="asia",
                   country="LK", language="ta"),
    ]  # fmt: skip
    return write_config(tmp_path, feeds, **overrides)


def _atom_ids(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    return [e.findtext(f"{ATOM_NS}id") for e in root.findall(f"{ATOM_NS}entry")]


def _atom_contents(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    return [e.findtext(f"{ATOM_NS}content") for e in root.findall(f"{ATOM_NS}entry")]


def test_every_atom_feed_has_a_valid_json_feed_twin_with_the_same_stories(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    # The editors' picks feeds (Atom only, issue 12) are not story lists of this kind.
    atom_files = sorted(p for p in public.rglob("*.atom") if not p.relative_to(public).parts[0].startswith("picks"))
    names = {str(p.relative_to(public)) for p in atom_files}
    assert names == {
        "feed.atom", "regions/europe.atom", "regions/asia.atom", "regions/africa.atom",
        "languages/en.atom", "languages/en-NG.atom", "languages/ur.atom", "languages/ta.atom",
        "countries/GB.atom", "countries/PK.atom", "countries/NG.atom", "countries/LK.atom",
    }  # fmt: skip
    validate_atom(*atom_files)
    assert {str(p.relative_to(public)) for p in public.rglob("*.json")} == {n[:-5] + ".json" for n in names}

    for atom_path in atom_files:
        json_path = atom_path.with_suffix(".json")
        feed = validate_json_feed(json_path)
        url_path = str(json_path.relative_to(public))
        assert feed["feed_url"] == BASE + url_path
        assert feed["home_page_url"].startswith(BASE)
        assert feed["title"] == etree.parse(str(atom_path)).getroot().findtext(f"{ATOM_NS}title")
        assert feed["description"]
        assert "hubs" not in feed  # no websub in this config
        # The same stories, in the same order, under the same ids, with the same sanitized content.
        assert [i["id"] for i in feed["items"]] == _atom_ids(atom_path), url_path
        assert [i["content_html"] for i in feed["items"]] == _atom_contents(atom_path)

    feed = validate_json_feed(public / "feed.json")
    assert feed["authors"] == [{"name": "Test World News", "url": BASE}]
    assert "language" not in feed
    items = feed["items"]
    assert len(items) > 10
    published = [i["date_published"] for i in items]
    assert published == sorted(published, reverse=True)
    for item in items:
        assert item["url"].startswith(("http://", "https://"))
        assert item["authors"][0]["name"] and item["language"]
        assert item["date_modified"] >= item["date_published"]
        ext = item["_aggregator"]
        assert ext["regions"] and ext["countries"] and ext["sources"] and ext["copies"]
        assert all(c["feed_url"].startswith("http://127.0.0.1:") and c["published"] for c in ext["copies"])
    urdu = [i for i in items if i["language"] == "ur"]
    assert urdu and all(i["_aggregator"]["regions"] == [{"slug": "asia", "label": "Asia"}] for i in urdu)
    assert all(i["_aggregator"]["countries"] == [{"code": "PK", "name": "Pakistan"}] for i in urdu)
    assert all(i["_aggregator"]["sources"][0]["name"] == "Urdu Party" for i in urdu)
    europe = next(i for i in items if i["_aggregator"]["sources"][0]["name"] == "Europe Party")
    assert europe["_aggregator"]["sources"][0]["home_page_url"] == "https://wp.example.org/"
    assert any(i.get("tags") for i in items)


def test_language_and_country_feeds_hold_only_their_stories_under_readable_titles(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"

    urdu = validate_json_feed(public / "languages" / "ur.json")
    assert urdu["title"] == "Test World News: Urdu (اردو)"
    assert urdu["language"] == "ur" and urdu["items"]
    assert all(i["language"] == "ur" for i in urdu["items"])
    english = validate_json_feed(public / "languages" / "en.json")
    assert english["title"] == "Test World News: English"
    # "en" takes in en-NG too (StoryQuery's language filter); en-NG has a feed of its own.
    assert {i["language"] for i in english["items"]} == {"en", "en-NG"}
    assert {i["language"] for i in validate_json_feed(public / "languages" / "en-NG.json")["items"]} == {"en-NG"}

    pakistan = validate_json_feed(public / "countries" / "PK.json")
    assert pakistan["title"] == "Test World News: Pakistan"
    assert pakistan["items"] and all(
        any(c["code"] == "PK" for c in i["_aggregator"]["countries"]) for i in pakistan["items"]
    )
    root = etree.parse(str(public / "countries" / "NG.atom")).getroot()
    assert root.findtext(f"{ATOM_NS}title") == "Test World News: Nigeria"
    assert root.find(f"{ATOM_NS}link[@rel='self']").get("href") == BASE + "countries/NG.atom"
    assert len(_atom_ids(public / "countries" / "NG.atom")) == len(
        validate_json_feed(public / "regions" / "africa.json")["items"]
    )


def test_feeds_opml_and_the_html_page_list_every_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    atom_urls = {BASE + str(p.relative_to(public)) for p in public.rglob("*.atom")
                 if not p.relative_to(public).parts[0].startswith("picks")}  # listed by the web app's /feeds

    picks_urls = {BASE + str(p.relative_to(public)) for p in public.rglob("*.atom")
                  if p.relative_to(public).parts[0].startswith("picks")}  # fmt: skip
    assert BASE + "picks.atom" in picks_urls

    listed = read_opml((public / "feeds.opml").read_bytes())
    # feeds.opml lists the editors' picks feeds too (as the web app's /feeds does); the page does not.
    assert {f.url for f in listed} == atom_urls | picks_urls and len(listed) == len(atom_urls | picks_urls)
    assert {f.language for f in listed if "/languages/" in f.url} == {"en", "en-NG", "ur", "ta"}

    page = lxml_html.fromstring((public / "index.html").read_bytes())
    links = {BASE + href for href in page.xpath("//section[@id='feeds']//a/@href") if href.endswith((".atom", ".json"))}
    assert links == atom_urls | {u[:-5] + ".json" for u in atom_urls}
    head_json = page.xpath("//head/link[@rel='alternate'][@type='application/feed+json']/@href")
    assert head_json[0] == "feed.json" and "regions/asia.json" in head_json
    assert page.xpath("//head/link[@rel='outline'][@href='feeds.opml']")
    # The Atom feeds' own alternate stays the HTML page (RFC 4287: one alternate per type).
    root = etree.parse(str(public / "feed.atom")).getroot()
    assert [link.get("type") for link in root.findall(f"{ATOM_NS}link[@rel='alternate']")] == ["text/html"]


def test_a_disabled_party_takes_its_language_and_country_out_of_the_lists(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    text = config.read_text(encoding="utf-8").replace("name: Tamil Party", "name: Tamil Party\n  enabled: false")
    config.write_text(text, encoding="utf-8")
    assert not next(f for f in load_config(config).feeds if f.name == "Tamil Party").enabled
    assert run_cli("publish", "-c", config).code == 0
    listed = {f.url for f in read_opml((tmp_path / "public" / "feeds.opml").read_bytes())}
    assert BASE + "languages/ta.atom" not in listed and BASE + "countries/LK.atom" not in listed
    assert BASE + "languages/ur.atom" in listed


def _story(story_id: int, atom_id: str, day: int) -> Story:
    when = dt.datetime(2026, 11, day, tzinfo=dt.timezone.utc)
    copy = Copy(
        id=story_id, story_id=story_id, feed_url="https://party.example/feed", feed_name="Party",
        feed_site=None, region="europe", country="GB", language="en", original_id=atom_id, key=atom_id,
        link=None, title=f"Story {story_id}", content_html="<p>Text</p>", summary_html="", author=None,
        categories=(), published=when, updated=when,
    )  # fmt: skip
    return Story(id=story_id, published=when, updated=when, copies=(copy,), atom_id=atom_id)


def test_a_shared_id_is_resolved_the_same_way_in_both_formats(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, [feed_entry("https://party.example/feed", "Party")])
    config = load_config(config_path)
    stories = [_story(2, "tag:party.example,2026:1", 20), _story(1, "tag:party.example,2026:1", 10)]
    meta = atom.AtomFeedMeta(id=BASE + "feed.atom", title="T", self_url=BASE + "feed.atom", alternate_url=BASE)
    (tmp_path / "feed.atom").write_bytes(atom.render_atom(meta, stories, config))
    (tmp_path / "feed.json").write_bytes(
        jsonfeed.render_json_feed(jsonfeed.JsonFeedMeta("T", BASE + "feed.json", BASE), stories, config)
    )
    feed = validate_json_feed(tmp_path / "feed.json")
    ids = [i["id"] for i in feed["items"]]
    # The older story keeps the id; the newer gets its own.
    assert ids == ["urn:aggregator:story:2", "tag:party.example,2026:1"] == _atom_ids(tmp_path / "feed.atom")
    assert "url" not in feed["items"][0]  # no link anywhere: no url, never an empty one


@pytest.mark.parametrize(
    ("websub", "message"),
    [
        ({"hub": "ftp://hub.example/"}, "websub.hub: 'ftp://hub.example/' is not an absolute http(s) URL"),
        ({"hubb": "https://hub.example/"}, "websub.hubb: unknown key (did you mean 'hub'?)"),
        ("https://hub.example/", "websub: must be a mapping"),
    ],
)
def test_bad_websub_config_is_named(tmp_path: Path, websub: Any, message: str) -> None:
    config = write_config(tmp_path, [feed_entry("https://party.example/feed", "Party")], websub=websub)
    result = run_cli("check", "-c", config)
    assert result.code == 2 and message in result.err, result.err


def test_a_publish_sanitizes_each_stored_text_once_and_lets_go_of_them(tmp_path: Path, feed_server: FeedServer,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from aggregator import publish as publish_module
    from aggregator.store import Store

    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    config = load_config(config_path)
    public = tmp_path / "public"
    before = {p: p.read_bytes() for p in public.rglob("*") if p.is_file()}
    sanitized: list[str] = []
    real = atom.clean_html

    def counting(html_text: str, base_url: str | None = None) -> str:
        sanitized.append(html_text)
        return real(html_text, base_url)

    monkeypatch.setattr(atom, "clean_html", counting)
    for p in before:
        if p.suffix in (".atom", ".json") and "archive" not in p.parts:
            p.unlink()  # rendered again, every story in several of them
    with Store.open(config.database) as store:
        store.save_rendered_entries([], keep=set())  # forget the kept entries: every one is rendered (rendered.py)
        publish_module.publish(config, store)
    assert sanitized and len(sanitized) == len(set(sanitized))  # each text once, though in several outputs
    assert {p: p.read_bytes() for p in before} == before  # the same bytes as the cycle's publish
    assert atom._clean_html.cache_info().currsize == 0  # let go when the publish ended
