"""The reader harness itself: each reader must see what a small feedgen feed says, and the
validator must reject an invalid document (so it can never pass silently)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from feedgen.feed import FeedGenerator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedserver import FeedServer  # noqa: E402
from readers import (  # noqa: E402
    ReaderFailed,
    ReaderToolMissing,
    atom_schema_path,
    read_with_feedparser,
    read_with_newsboat,
    read_with_newsboat_full,
    read_with_node,
    validate_atom,
)

UTC = dt.timezone.utc
URDU_TITLE = "پاکستان میں مزدوروں کی ہڑتال"
TAMIL_TITLE = "தமிழ்நாட்டில் தொழிலாளர் போராட்டம்"
URDU_AUTHOR = "علی رضا"

EXPECTED = [
    {
        "id": "urn:uuid:5f1c8e0a-0000-4000-8000-000000000001",
        "title": URDU_TITLE,
        "link": "https://example.org/ur/strike",
        "author": URDU_AUTHOR,
        "categories": ["labour"],
        "published": dt.datetime(2025, 1, 1, 10, 0, tzinfo=UTC),
        "updated": dt.datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        "content": '<p>Strike <b>news</b> from <a href="https://example.org/k">Karachi</a></p>',
    },
    {
        "id": "urn:uuid:5f1c8e0a-0000-4000-8000-000000000002",
        "title": TAMIL_TITLE,
        "link": "https://example.org/ta/protest",
        "author": "Kavitha",
        "categories": ["tamil-nadu", "strikes"],
        "published": dt.datetime(2025, 1, 2, 9, 30, tzinfo=UTC),
        "updated": dt.datetime(2025, 1, 2, 9, 45, tzinfo=UTC),
        "content": "<p>Second <em>report</em></p>",
    },
]


def build_feed(path: Path) -> Path:
    fg = FeedGenerator()
    fg.id("urn:uuid:5f1c8e0a-0000-4000-8000-00000000feed")
    fg.title("Harness test feed")
    fg.link(href="https://example.org/", rel="alternate")
    fg.link(href="https://example.org/feed.atom", rel="self")
    fg.author({"name": "Aggregator"})
    fg.updated(dt.datetime(2025, 1, 3, tzinfo=UTC))
    for item in EXPECTED:
        entry = fg.add_entry(order="append")
        entry.id(item["id"])
        entry.title(item["title"])
        entry.link(href=item["link"], rel="alternate")
        entry.author({"name": item["author"]})
        for term in item["categories"]:
            entry.category(term=term)
        entry.published(item["published"])
        entry.updated(item["updated"])
        entry.content(item["content"], type="html")
    fg.atom_file(str(path), pretty=True)
    return path


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    return build_feed(tmp_path / "feed.atom")


def test_schema_is_found() -> None:
    assert atom_schema_path().name == "atom.rnc"


def test_valid_feed_passes_jing(feed_file: Path) -> None:
    validate_atom(feed_file)


INVALID_NO_ID = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>No id here</title>
  <updated>2025-01-01T00:00:00Z</updated>
  <author><name>X</name></author>
</feed>
"""

INVALID_ENTRY_NO_UPDATED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:x</id>
  <title>t</title>
  <updated>2025-01-01T00:00:00Z</updated>
  <author><name>X</name></author>
  <entry><id>urn:y</id><title>e</title><link href="https://example.org/"/></entry>
</feed>
"""


@pytest.mark.parametrize(
    ("doc", "needle"),
    [(INVALID_NO_ID, "id"), (INVALID_ENTRY_NO_UPDATED, "updated"), ("<feed><unclosed></feed>", "")],
    ids=["feed-missing-id", "entry-missing-updated", "not-well-formed"],
)
def test_invalid_atom_fails_jing(tmp_path: Path, doc: str, needle: str) -> None:
    path = tmp_path / "bad.atom"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(AssertionError) as excinfo:
        validate_atom(path)
    message = str(excinfo.value)
    assert "not valid Atom" in message
    assert str(path) in message  # jing's own messages are carried
    assert needle in message


def test_feedparser_reads_feed(feed_file: Path) -> None:
    parsed = read_with_feedparser(feed_file)
    assert parsed.feed.title == "Harness test feed"
    assert len(parsed.entries) == 2
    for got, want in zip(parsed.entries, EXPECTED):
        assert got.id == want["id"]
        assert got.title == want["title"]
        assert got.link == want["link"]
        assert got.author == want["author"]
        assert [t.term for t in got.tags] == want["categories"]
        assert dt.datetime(*got.published_parsed[:6], tzinfo=UTC) == want["published"]
        assert dt.datetime(*got.updated_parsed[:6], tzinfo=UTC) == want["updated"]
        assert got.content[0].value == want["content"]
        assert got.content[0].type == "text/html"


def test_node_reads_feed(feed_file: Path) -> None:
    out = read_with_node(feed_file)
    assert out["parser"]["name"] == "@rowanmanning/feed-parser"
    assert out["feed"]["title"] == "Harness test feed"
    assert out["feed"]["meta"] == {"type": "atom", "version": "1.0"}
    assert out["feed"]["self"] == "https://example.org/feed.atom"
    assert len(out["entries"]) == 2
    for got, want in zip(out["entries"], EXPECTED):
        assert got["id"] == want["id"]
        assert got["title"] == want["title"]
        assert got["link"] == want["link"]
        assert got["author"] == want["author"]
        assert got["categories"] == want["categories"]
        assert dt.datetime.fromisoformat(got["published"]) == want["published"]
        assert dt.datetime.fromisoformat(got["updated"]) == want["updated"]
        assert got["content"] == want["content"]


def _check_newsboat_entries(entries: list[dict]) -> None:
    assert [e["title"] for e in entries] == [w["title"] for w in EXPECTED]
    for got, want in zip(entries, EXPECTED):
        assert got["guid"] == want["id"]
        assert got["link"] == want["link"]
        assert got["author"] == want["author"]
        assert got["content"] == want["content"]
        # newsboat keeps one date: atom:published when present
        assert got["pubDate"] == int(want["published"].timestamp())


def test_newsboat_reads_file(feed_file: Path) -> None:
    full = read_with_newsboat_full(feed_file)
    assert full["feed"]["title"] == "Harness test feed"
    assert full["feed"]["url"] == "https://example.org/"
    _check_newsboat_entries(full["entries"])
    assert read_with_newsboat(feed_file) == full["entries"]


def test_newsboat_reads_http(feed_file: Path) -> None:
    with FeedServer() as server:
        url = server.add("/feed.atom", feed_file.read_bytes(), content_type="application/atom+xml; charset=utf-8")
        entries = read_with_newsboat(url)
        assert server.hits("/feed.atom"), "newsboat did not fetch over HTTP"
    _check_newsboat_entries(entries)


def test_newsboat_unreadable_source_fails(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.add("/gone.atom", b"not found", status=404)
        with pytest.raises(ReaderFailed, match="could not read"):
            read_with_newsboat(url)


def test_node_rejects_non_feed(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    with pytest.raises(ReaderFailed):
        read_with_node(path)


def test_missing_tool_fails_not_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, feed_file: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    for reader in (validate_atom, read_with_newsboat, read_with_node):
        with pytest.raises(ReaderToolMissing, match="install-test-tools"):
            reader(feed_file)


def test_schema_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, feed_file: Path) -> None:
    monkeypatch.setenv("AGGREGATOR_ATOM_SCHEMA", str(tmp_path / "nope.rnc"))
    with pytest.raises(ReaderToolMissing, match="AGGREGATOR_ATOM_SCHEMA"):
        validate_atom(feed_file)
