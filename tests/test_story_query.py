"""The read side: StoryQuery filters and keyset pages, and reading from other threads (a web server)
while a cycle writes the same database."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.cycle import run_cycle
from aggregator.models import Pick, StoryQuery
from aggregator.store import Store
from conftest import FEED_DATA, feed_entry, write_config
from feedserver import FeedServer

FIXTURES = ["wordpress_rss2.xml", "blogger_atom.xml", "rss10_rdf.xml", "hindi.xml", "tamil.xml", "urdu_rtl.xml",
            "no_guid.xml", "excerpt_only.xml", "windows1252.xml", "yoast_footer.xml"]  # fmt: skip


def _setup(tmp_path: Path, feed_server: FeedServer, copies: int = 1) -> Path:
    feeds = []
    for n in range(copies):
        for i, name in enumerate(FIXTURES):
            url = feed_server.add(f"/{n}/{name}", FEED_DATA / name)
            region, country, language = [("europe", "GB", "en"), ("asia", "IN", "hi"), ("asia", "PK", "ur")][i % 3]
            if name == "urdu_rtl.xml":
                region, country, language = "asia", "PK", "ur"
            feeds.append(feed_entry(url, f"Party {n}-{i}", region=region, country=country, language=language))
    return write_config(tmp_path, feeds, retention={"days": 36500})


def test_reading_stories_from_other_threads_while_a_cycle_writes(tmp_path: Path, feed_server: FeedServer) -> None:
    config = load_config(_setup(tmp_path, feed_server, copies=4))
    done = threading.Event()
    seen: dict[int, list[int]] = {0: [], 1: []}
    errors: list[BaseException] = []
    store = Store.open(config.database)  # one Store shared by the reader threads, as a web server would

    def read(n: int) -> None:
        try:
            while not done.is_set():
                page = store.stories(StoryQuery(limit=500))
                assert all(s.copies for s in page.stories)
                seen[n].append(len(page.stories))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    readers = [threading.Thread(target=read, args=(n,)) for n in range(2)]
    for t in readers:
        t.start()
    try:
        report = run_cycle(config, force_all=True)
    finally:
        done.set()
        for t in readers:
            t.join(10)
    final = len(store.stories(StoryQuery(limit=500)).stories)
    store.close()
    assert not errors, errors
    assert report.failed == 0 and report.new_entries > 0
    for counts in seen.values():
        assert len(counts) > 5, "the readers hardly ran during the cycle"
        # Stories only arrive during a cycle (nothing is old enough to prune): each reader sees
        # the count grow, from less than the final count to at most it.
        assert counts == sorted(counts) and counts[-1] <= final
    assert min(min(c) for c in seen.values()) < final, "no read overlapped the cycle's writes"


def test_story_query_filters_combine_and_pages_do_not_overlap(tmp_path: Path, feed_server: FeedServer) -> None:
    config = load_config(_setup(tmp_path, feed_server))
    run_cycle(config, force_all=True)
    with Store.open(config.database) as store:
        everything = store.stories(StoryQuery(limit=1000)).stories
        assert len(everything) >= 15
        times = [(s.published, s.id) for s in everything]
        assert times == sorted(times, reverse=True)

        # Keyset pages of 7: together exactly the whole list, in order, no story twice.
        paged, page = [], store.stories(StoryQuery(limit=7))
        while True:
            paged += page.stories
            if page.next is None:
                break
            page = store.stories(StoryQuery(limit=7, after=page.next))
        assert [s.id for s in paged] == [s.id for s in everything]

        asia = store.stories(StoryQuery(limit=1000, region="asia")).stories
        assert asia and all("asia" in s.regions for s in asia) and len(asia) < len(everything)
        urdu = store.stories(StoryQuery(limit=1000, region="asia", language="ur")).stories
        assert urdu and all(any(c.language.startswith("ur") for c in s.copies) for s in urdu)
        assert store.stories(StoryQuery(limit=10, region="europe", country="PK")).stories == ()
        pk = store.stories(StoryQuery(limit=1000, country="pk")).stories
        assert {s.id for s in pk} == {s.id for s in urdu}

        one = everything[3]
        word = max(one.primary.title.split(), key=len)
        found = store.stories(StoryQuery(limit=1000, search=word)).stories
        assert one.id in {s.id for s in found} and len(found) < len(everything)

        since = everything[5].published
        recent = store.stories(StoryQuery(limit=1000, since=since)).stories
        assert recent and all(s.published >= since for s in recent)

        assert store.pick(Pick(one.id, "spew", "ana", dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc), "lead"))
        picked = store.stories(StoryQuery(limit=10, picked=True)).stories
        assert [s.id for s in picked] == [one.id] and picked[0].picks[0].note == "lead"
        assert store.stories(StoryQuery(limit=10, picked=True, section="other")).stories == ()
        not_picked = store.stories(StoryQuery(limit=1000, picked=False)).stories
        assert len(not_picked) == len(everything) - 1


def test_one_fetched_body_goes_through_the_same_update_step_outside_a_cycle(tmp_path: Path) -> None:
    """update.update_feed is the step a WebSub push or a "fetch now" button would run: one fetch
    result, parsed in this thread, planned and stored like a cycle does it."""
    from aggregator.models import FetchResult
    from aggregator.update import update_feed

    config = load_config(write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party")]))
    feed = config.feeds[0]
    body = (FEED_DATA / "wordpress_rss2.xml").read_bytes()
    result = FetchResult(url=feed.url, status="ok", http_status=200, body=body,
                         headers={"content-type": "application/rss+xml"}, etag='"v1"')  # fmt: skip
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    with Store.open(config.database) as store:
        store.sync_feeds(config.feeds, now)
        first = update_feed(store, config, feed, result, now)
        again = update_feed(store, config, feed, result, now)  # the same bytes: nothing to parse
        stored = store.stories(StoryQuery(limit=10)).stories
        state = store.feed_states()[feed.url]
    assert first.status == "ok" and first.new == 3 and len(stored) == 3
    assert again.status == "unchanged" and again.new == 0 and again.updated == 0
    assert state.etag == '"v1"' and state.consecutive_failures == 0 and state.next_due is not None


def _count_reads(monkeypatch: pytest.MonkeyPatch, loader: str) -> list[int]:
    """From now on, the ids that store.stories' `loader` (load_stories, load_heads) reads from the
    database: those it is asked for with no `loaded` dict (given one, it asks itself for the rest)."""
    from aggregator.store import stories as stories_module

    read: list[int] = []
    real = getattr(stories_module, loader)

    def counting(db: object, ids: list[int], loaded: object = None) -> object:
        if loaded is None:
            read.extend(ids)
        return real(db, ids, loaded)

    monkeypatch.setattr(stories_module, loader, counting)
    return read


def test_one_reader_reads_each_story_once_across_its_queries(tmp_path: Path, feed_server: FeedServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Store.stories(query, loaded): a publish's pages share the stories they have in common (the
    combined feed, a region's, a language's): the same objects, each story read once, and every
    page what it is without sharing."""
    config = load_config(_setup(tmp_path, feed_server))
    run_cycle(config)
    queries = [StoryQuery(limit=50), StoryQuery(limit=50, region="asia"), StoryQuery(limit=50, language="ur"),
               StoryQuery(limit=50, max_per_feed=2), StoryQuery(limit=5, country="PK")]  # fmt: skip
    with Store.open(config.database, readonly=True) as store:
        alone = [store.stories(q) for q in queries]
        read = _count_reads(monkeypatch, "load_stories")
        loaded: dict[int, object] = {}
        shared = [store.stories(q, loaded) for q in queries]  # type: ignore[arg-type]
    assert shared == alone
    assert len(read) == len(set(read)) == len(loaded)
    by_id = {s.id: s for s in shared[0].stories}
    overlap = [s for s in shared[1].stories if s.id in by_id]
    assert overlap and all(s is by_id[s.id] for s in overlap)


def test_one_reader_reads_each_story_head_once_across_its_queries(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store.story_heads(query, loaded), as a publish asks for its subscription feeds: every list
    what it is without sharing, each head read from the database once however many of the lists
    show it, and a story that is not there never kept as if it were."""
    config = load_config(_setup(tmp_path, feed_server, copies=2))
    run_cycle(config, force_all=True)
    queries = [StoryQuery(limit=50), StoryQuery(limit=50, region="asia"), StoryQuery(limit=50, language="ur"),
               StoryQuery(limit=12, max_per_feed=2), StoryQuery(limit=5, country="PK"),
               StoryQuery(limit=50, story_ids=(1, 2, 10**6))]  # fmt: skip
    with Store.open(config.database, readonly=True) as store:
        alone = [store.story_heads(q) for q in queries]
        read = _count_reads(monkeypatch, "load_heads")
        loaded: dict[int, object] = {}
        shared = [store.story_heads(q, loaded) for q in queries]  # type: ignore[arg-type]
    assert shared == alone and all(alone[:5])
    assert len(read) == len(set(read)), "a head was read twice"
    assert set(loaded) == {h.id for heads in shared for h in heads}
    assert len(read) < sum(len(heads) for heads in shared)  # the lists overlap: sharing saved reads
    from aggregator.store import stories as stories_module

    known = shared[0][0]
    with Store.open(config.database, readonly=True) as store:
        again = stories_module.load_heads(store.db, [10**6, known.id], loaded)  # type: ignore[arg-type]
    assert again == [known] and 10**6 not in loaded  # a story that is not there is not kept


def test_story_heads_are_what_the_whole_stories_give(tmp_path: Path, feed_server: FeedServer) -> None:
    """Store.story_heads(query), which a publish reads instead of whole stories: the same stories
    in the same order as Store.stories(query), with the same dates, shown atom:id and owner (its
    primary copy's feed, which max_per_feed counts), here with every story carried by two feeds."""
    from aggregator.models import StoryHead

    config = load_config(_setup(tmp_path, feed_server, copies=2))
    run_cycle(config, force_all=True)
    queries = [StoryQuery(limit=1000), StoryQuery(limit=7), StoryQuery(limit=50, region="asia"),
               StoryQuery(limit=50, language="ur"), StoryQuery(limit=12, max_per_feed=2),
               StoryQuery(limit=30, max_per_feed=1, region="europe"), StoryQuery(limit=5, country="PK"),
               StoryQuery(limit=10, region="nowhere")]  # fmt: skip
    with Store.open(config.database, readonly=True) as store:
        everything = store.stories(StoryQuery(limit=1000)).stories
        assert len(everything) >= 15 and sum(len(s.copies) == 2 for s in everything) >= 10
        capped = store.stories(StoryQuery(limit=12, max_per_feed=2)).stories
        assert len({s.owner_feed for s in capped}) > 1  # the cap chose among feeds
        for query in queries:
            whole = [StoryHead(s.id, s.published, s.updated, s.atom_id, s.primary.feed_url)
                     for s in store.stories(query).stories]  # fmt: skip
            assert store.story_heads(query) == whole, query
        assert store.story_heads(StoryQuery(limit=1000))
