"""Archives for every subscription feed (issue 13, RFC 5005): each region's, language's and
country's feed links `prev-archive` to its own weekly archive documents; walking a chain from the
feed finds every stored story of that feed exactly once, newest to oldest, across weeks, after a
late repost joins a story, and after retention pruned some; a closed week is never rewritten, and a
publish with nothing new renders no archive."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from unittest import mock

import pytest
from lxml import etree

from aggregator import archive, atom
from aggregator.config import load_config
from aggregator.publish import publish
from aggregator.store import Store
from aggregator.store.plaintext import register_functions
from aggregator.websub import changed_feed_urls
from conftest import ATOM_NS, FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom
from test_archives import archive_test_feeds

BASE = "https://feeds.example.org/"
FH = "{http://purl.org/syndication/history/1.0}"
# Which stored copies belong to each feed: (feed document, SQL condition on entries e / feeds f).
FEEDS = {
    "regions/asia": "f.region = 'asia'",
    "languages/en": "(lower(coalesce(e.language, f.language)) = 'en' OR lower(coalesce(e.language, f.language)) LIKE 'en-%')",
    "countries/GB": "f.country = 'GB'",
    "languages/ur": "lower(coalesce(e.language, f.language)) = 'ur'",
}


def _setup(tmp_path: Path, server: FeedServer) -> Path:
    feeds = [
        *archive_test_feeds(server),
        feed_entry(server.add("/podcast.xml", FEED_DATA / "podcast_rss.xml"), "Socialist Sounds"),
    ]  # fmt: skip
    return write_config(tmp_path, feeds, max_entries=2)


def _db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "aggregator.db")
    register_functions(conn)  # the full-text index's triggers call it
    return conn


def _stored_long_ago(tmp_path: Path) -> None:
    """As if every copy had been fetched an hour after it was published (the fixtures are from
    November 2026), instead of all at once just now: stories spread over several weeks."""
    with _db(tmp_path) as conn:
        conn.execute("UPDATE stories SET created = strftime('%Y-%m-%dT%H:%M:%S+00:00', published, '+1 hour')")
        conn.execute("UPDATE entries SET first_seen = strftime('%Y-%m-%dT%H:%M:%S+00:00', published, '+1 hour')")


def _stored(tmp_path: Path, condition: str) -> set[str]:
    with _db(tmp_path) as conn:
        return {r[0] for r in conn.execute(
            f"SELECT DISTINCT s.atom_id FROM stories s JOIN entries e ON e.story_id = s.id"
            f" JOIN feeds f ON f.url = e.feed_url WHERE {condition}"
        )}  # fmt: skip


def _link(root: etree._Element, rel: str) -> str | None:
    link = root.find(f"{ATOM_NS}link[@rel='{rel}']")
    return None if link is None else str(link.get("href"))


def _walk(public: Path, stem: str) -> tuple[list[tuple[str, str]], list[str], list[Path]]:
    """(every entry met, newest first, reconciled by id; the archives' entry ids; the archives)."""
    current_url = BASE + stem + ".atom"
    current = etree.parse(str(public / f"{stem}.atom")).getroot()
    assert current.find(f"{FH}archive") is None
    met = [(str(e.findtext(f"{ATOM_NS}id")), str(e.findtext(f"{ATOM_NS}published")))
           for e in current.findall(f"{ATOM_NS}entry")]  # fmt: skip
    archived: list[str] = []
    documents: list[Path] = []
    url, came_from = _link(current, "prev-archive"), None
    while url is not None:
        assert url.startswith(f"{BASE}{stem}/archive/") and url.endswith(".atom"), url
        path = public / url.removeprefix(BASE)
        documents.append(path)
        root = etree.parse(str(path)).getroot()
        assert root.find(f"{FH}archive") is not None
        assert _link(root, "current") == current_url
        assert _link(root, "self") == url == root.findtext(f"{ATOM_NS}id")
        assert _link(root, "next-archive") == came_from
        for e in root.findall(f"{ATOM_NS}entry"):
            archived.append(str(e.findtext(f"{ATOM_NS}id")))
            met.append((archived[-1], str(e.findtext(f"{ATOM_NS}published"))))
        url, came_from = _link(root, "prev-archive"), url
    unique: dict[str, str] = {}
    for entry_id, published in met:
        unique.setdefault(entry_id, published)
    return list(unique.items()), archived, documents


def _check_chain(public: Path, stem: str, stored: set[str]) -> list[Path]:
    walked, archived, documents = _walk(public, stem)
    assert documents, f"{stem} has no archives"
    assert len(archived) == len(set(archived)), f"{stem}: a story in two archive pages"
    assert {i for i, _ in walked} == stored, stem
    times = [dt.datetime.fromisoformat(p) for _, p in walked]
    assert times == sorted(times, reverse=True), stem
    labels = [p.stem for p in documents]
    assert labels == sorted(labels, reverse=True)
    # One page a week from the feed's first week to last week, empty weeks included: no gaps.
    starts = [archive.week_start(dt.datetime.strptime(label + "-1", "%G-W%V-%u").replace(tzinfo=dt.timezone.utc))
              for label in labels]  # fmt: skip
    assert all(a - b == archive.WEEK for a, b in zip(starts, starts[1:])), labels
    assert starts[0] == archive.week_start(dt.datetime.now(dt.timezone.utc)) - archive.WEEK
    return documents


def test_every_feeds_chain_finds_each_of_its_stories_once(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    public = tmp_path / "public"
    assert not (public / "regions" / "asia").exists()  # nothing stored before this week
    _stored_long_ago(tmp_path)
    assert run_cli("publish", "-c", config).code == 0

    documents: list[Path] = []
    for stem, condition in FEEDS.items():
        stored = _stored(tmp_path, condition)
        assert len(stored) > 2, stem  # more than max_entries: the archives must hold the rest
        documents += _check_chain(public, stem, stored)
    # Every feed has its chain, the combined one too.
    for doc in ("regions/europe", "regions/africa", "countries/PK", "countries/LK", "languages/ta", "languages/fr"):
        assert _link(etree.parse(str(public / f"{doc}.atom")).getroot(), "prev-archive"), doc
    assert _link(etree.parse(str(public / "feed.atom")).getroot(), "prev-archive") == (
        BASE + archive.week_path(archive.week_start(dt.datetime.now(dt.timezone.utc)) - archive.WEEK)
    )
    all_archives = sorted(p for p in public.rglob("*.atom") if archive.is_archive_path(p.relative_to(public).as_posix()))
    assert set(documents) <= set(all_archives)
    validate_atom(*all_archives)
    # Archives are not subscription feeds: the WebSub hub is not told about them.
    paths = [p.relative_to(public).as_posix() for p in all_archives]
    assert changed_feed_urls(load_config(config), [*paths, "regions/asia.atom"]) == [BASE + "regions/asia.atom"]


def test_a_late_repost_joins_a_regions_chain_in_its_own_week_once(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config).code == 0
    _stored_long_ago(tmp_path)
    with _db(tmp_path) as conn:
        # The oldest European story, reposted by the Tamil party 9 days later: its copy joins it.
        story_id, atom_id, published = conn.execute(
            "SELECT s.id, s.atom_id, s.published FROM stories s JOIN entries e ON e.story_id = s.id"
            " WHERE e.feed_url LIKE '%/wp.xml' ORDER BY s.published LIMIT 1"
        ).fetchone()
        entry_id, old_story = conn.execute(
            "SELECT id, story_id FROM entries WHERE feed_url LIKE '%/tamil.xml' ORDER BY published LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE entries SET story_id = ?, first_seen = strftime('%Y-%m-%dT%H:%M:%S+00:00', ?, '+9 days') WHERE id = ?",
            [story_id, published, entry_id],
        )
        conn.execute("DELETE FROM stories WHERE id = ?", [old_story])
    assert run_cli("publish", "-c", config).code == 0
    public = tmp_path / "public"
    _check_chain(public, "regions/asia", _stored(tmp_path, FEEDS["regions/asia"]))
    _, archived, documents = _walk(public, "regions/asia")
    assert archived.count(atom_id) == 1
    repost_week = archive.week_path(archive.week_start(dt.datetime.fromisoformat(published) + dt.timedelta(days=9)),
                                    "regions/asia/archive")  # fmt: skip
    assert atom_id.encode() in (public / repost_week).read_bytes()
    # In the combined chain it stays in the week Europe's copy came, once.
    _, combined, _ = _walk_combined(public)
    assert combined.count(atom_id) == 1


def _walk_combined(public: Path) -> tuple[list[str], list[str], list[Path]]:
    root = etree.parse(str(public / "feed.atom")).getroot()
    ids: list[str] = []
    docs: list[Path] = []
    url = _link(root, "prev-archive")
    while url is not None:
        docs.append(public / url.removeprefix(BASE))
        page = etree.parse(str(docs[-1])).getroot()
        ids += [str(e.findtext(f"{ATOM_NS}id")) for e in page.findall(f"{ATOM_NS}entry")]
        url = _link(page, "prev-archive")
    return [], ids, docs


def test_closed_weeks_are_never_rewritten_nor_rendered_and_pruning_leaves_no_gap(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config_path = _setup(tmp_path, feed_server)
    assert run_cli("fetch", "-c", config_path).code == 0
    _stored_long_ago(tmp_path)
    assert run_cli("publish", "-c", config_path).code == 0
    public = tmp_path / "public"
    archives = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in public.rglob("*.atom")
                if archive.is_archive_path(p.relative_to(public).as_posix())}  # fmt: skip
    assert any(p.is_relative_to(public / "languages") for p in archives)
    before_walks = {stem: _walk(public, stem)[2] for stem in FEEDS}

    # A publish with nothing new renders no archive at all (they exist, and are write-once).
    config = load_config(config_path)
    rendered: list[str] = []
    real = atom.render_atom

    def counting(meta: atom.AtomFeedMeta, *args: object, **kwargs: object) -> bytes:
        if meta.archive:
            rendered.append(meta.id)
        return real(meta, *args, **kwargs)  # type: ignore[arg-type]

    with mock.patch.object(atom, "render_atom", counting), Store.open(config.database) as store:
        report = publish(config, store)
    assert rendered == [] and report.changed == []

    # Corrections upstream, and retention pruning the oldest Asian story and then a whole week.
    with _db(tmp_path) as conn:
        conn.execute("UPDATE entries SET title = title || ' (corrected)'")
        oldest = conn.execute(
            "SELECT s.id, s.atom_id FROM stories s JOIN entries e ON e.story_id = s.id JOIN feeds f ON f.url = e.feed_url"
            " WHERE f.region = 'asia' ORDER BY s.published LIMIT 1"
        ).fetchone()
        first_week = archive.week_start(dt.datetime.fromisoformat(
            conn.execute("SELECT min(created) FROM stories").fetchone()[0]))  # fmt: skip
        gone = [oldest[0]] + [r[0] for r in conn.execute(
            "SELECT id FROM stories WHERE created < ?", [(first_week + archive.WEEK).isoformat()])]  # fmt: skip
        marks = ",".join("?" * len(gone))
        conn.execute(f"DELETE FROM entry_bands WHERE entry_id IN (SELECT id FROM entries WHERE story_id IN ({marks}))", gone)
        conn.execute(f"DELETE FROM entries WHERE story_id IN ({marks})", gone)
        conn.execute(f"DELETE FROM stories WHERE id IN ({marks})", gone)
    assert run_cli("publish", "-c", config_path).code == 0
    assert b"(corrected)" in (public / "regions" / "asia.atom").read_bytes()
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in archives} == archives
    # The chains still reach every page they had: a pruned story stays in the page it is in.
    for stem, condition in FEEDS.items():
        walked, archived, documents = _walk(public, stem)
        assert documents == before_walks[stem], stem
        assert _stored(tmp_path, condition) <= {i for i, _ in walked}, stem
    assert oldest[1] in _walk(public, "regions/asia")[1]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("archive/2026-W47.atom", True), ("regions/asia/archive/2026-W47.atom", True),
     ("languages/zh-Hant/archive/2026-W01.atom", True), ("regions/archive.atom", False),
     ("regions/asia.atom", False), ("archive/notes.txt", False)],
)  # fmt: skip
def test_archive_paths(path: str, expected: bool) -> None:
    assert archive.is_archive_path(path) is expected
    assert archive.archive_folder("feed") == "archive" and archive.archive_folder("countries/PK") == "countries/PK/archive"
