"""Crash safety: `aggregator fetch` killed with SIGKILL at random moments, over and over, then one
normal cycle: the database is intact and holds exactly what a clean run holds, and the published
files are whole. A reader polling feed.atom while cycles rewrite it never sees half a file."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from conftest import ATOM_NS, FEED_DATA, REPO, feed_entry, run_cli, write_config
from feedserver import FeedServer, RawHandler, send, write_head
from readers import validate_atom

DEMO_FEEDS = REPO / "aggregator" / "demo_feeds"
KILL_ITERATIONS = int(os.environ.get("AGGREGATOR_CRASH_ITERATIONS", "25"))
SEED = int(os.environ.get("AGGREGATOR_CRASH_SEED", "20261201"))

# (route, file, region, country, language, delay in seconds before the server answers)
SOURCES = [
    ("/wp.xml", FEED_DATA / "wordpress_rss2.xml", "europe", "GB", "en", 0.0),
    ("/sw.xml", DEMO_FEEDS / "socialistworld.xml", "europe", "GB", "en", 0.15),
    ("/sps.xml", DEMO_FEEDS / "socialistpartyscotland.xml", "europe", "GB", "en", 0.0),
    ("/isg.xml", DEMO_FEEDS / "independentsocialistgroup.xml", "europe", "GB", "en", 0.3),
    ("/mwp.xml", DEMO_FEEDS / "marxistworkersparty.xml", "africa", "ZA", "en", 0.05),
    ("/ng.xml", DEMO_FEEDS / "socialistnigeria.xml", "africa", "NG", "en", 0.2),
    ("/ur.xml", DEMO_FEEDS / "socialistpakistan_urdu.xml", "asia", "PK", "ur", 0.1),
    ("/ta.xml", DEMO_FEEDS / "lankasocialist_tamil.xml", "asia", "LK", "ta", 0.0),
    ("/hi.xml", DEMO_FEEDS / "socialism_in_hindi.xml", "asia", "IN", "hi", 0.25),
    ("/fr.rdf", DEMO_FEEDS / "gaucherevolutionnaire.rdf", "europe", "FR", "fr", 0.0),
    ("/br.atom", DEMO_FEEDS / "socialismorevolucionario_blogger.atom", "europe", "BR", "pt", 0.1),
]
ITEMS_PER_GENERATION = 3
WORDS = ("workers strike union wages rent housing council climate fuel prices pension health nurses "
         "teachers students transport rail bus general assembly solidarity picket ballot vote").split()  # fmt: skip


class ChangingFeeds:
    """The SOURCES served by a FeedServer; every RSS 2.0 feed gains new items each generation, and
    keeps the old ones, so the final documents hold every item ever served."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.generation = 0
        self.bodies: dict[str, bytes] = {}
        self.urls: dict[str, str] = {}
        for route, path, _region, _country, _language, delay in SOURCES:
            self.bodies[route] = path.read_bytes()
            self.urls[route] = server.add_handler(route, self._handler(route, delay))

    def _handler(self, route: str, delay: float):  # type: ignore[no-untyped-def]
        def handle(h: RawHandler) -> None:
            body = self.bodies[route]
            if delay:
                time.sleep(delay)
            content_type = "application/atom+xml" if route.endswith(".atom") else "application/rss+xml"
            write_head(h, 200, {"Content-Type": content_type, "Content-Length": str(len(body))})
            send(h, body)

        return handle

    def advance(self) -> None:
        self.generation += 1
        rng = random.Random(self.generation)
        now = dt.datetime.now(dt.timezone.utc)
        for route in self.bodies:
            if not route.endswith(".xml"):
                continue  # RDF and Atom stay as they are: served again, unchanged
            items = []
            for i in range(ITEMS_PER_GENERATION):
                n = f"{route.strip('/').split('.')[0]}-{self.generation}-{i}"
                text = " ".join(rng.choice(WORDS) for _ in range(120))
                date = (now - dt.timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
                items.append(
                    f"<item><title>Report {n}: {text[:60]}</title><link>https://party.example/{n}</link>"
                    f'<guid isPermaLink="false">gen-{n}</guid><pubDate>{date}</pubDate>'
                    f"<description><![CDATA[<p>{text}</p>]]></description></item>"
                )
            body = self.bodies[route]
            cut = body.rindex(b"</channel>")
            self.bodies[route] = body[:cut] + "".join(items).encode("utf-8") + body[cut:]

    def config(self, directory: Path) -> Path:
        feeds = [
            feed_entry(self.urls[route], f"Party {route.strip('/')}", region=region, country=country,
                       language=language, site="https://party.example/")
            for route, _path, region, country, language, _delay in SOURCES
        ]  # fmt: skip
        return write_config(directory, feeds, fetch={"timeout": 10, "max_bytes": 5_000_000, "concurrency": 8})


@pytest.fixture
def feeds() -> Iterator[ChangingFeeds]:
    with FeedServer(poll_interval=0.05) as server:
        yield ChangingFeeds(server)


def start_cycle(config: Path) -> subprocess.Popen[bytes]:
    # Its own process group, so SIGKILL reaches the parse workers too, as when systemd or the OOM
    # killer ends the service.
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "fetch", "--all", "-q", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def entry_keys(database: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT feed_url, key FROM entries").fetchall()
    finally:
        conn.close()


def assert_database_consistent(database: Path) -> None:
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute(
            "SELECT feed_url, key FROM entries GROUP BY feed_url, key HAVING count(*) > 1"
        ).fetchall() == []
        orphans = conn.execute(
            "SELECT count(*) FROM entries WHERE story_id NOT IN (SELECT id FROM stories)"
        ).fetchone()[0]
        assert orphans == 0, "entries whose story is gone"
        empty = conn.execute(
            "SELECT count(*) FROM stories WHERE id NOT IN (SELECT story_id FROM entries)"
        ).fetchone()[0]
        assert empty == 0, "stories with no entry"
        unknown_feed = conn.execute(
            "SELECT count(*) FROM entries WHERE feed_url NOT IN (SELECT url FROM feeds)"
        ).fetchone()[0]
        assert unknown_feed == 0
    finally:
        conn.close()


def assert_outputs_whole(public: Path, jing: bool = True) -> None:
    atoms = [public / "feed.atom", *sorted((public / "regions").glob("*.atom"))]
    assert len(atoms) == 4
    for path in atoms:
        root = etree.parse(str(path)).getroot()  # raises on a partial file
        assert root.tag == f"{ATOM_NS}feed"
    if jing:
        for path in atoms:
            validate_atom(path)
    html = (public / "index.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    etree.parse(str(public / "sources.opml"))


@pytest.mark.slow
def test_kill_9_at_random_points_loses_and_duplicates_nothing(tmp_path: Path, feeds: ChangingFeeds) -> None:
    work = tmp_path / "killed"
    work.mkdir()
    config = feeds.config(work)
    rng = random.Random(SEED)

    # Two whole cycles first: outputs that kills must not damage, and the usual cycle time (the
    # second's: the first also renders every entry, which later cycles keep; rendered.py).
    for _ in range(2):
        feeds.advance()
        started = time.monotonic()
        proc = start_cycle(config)
        _, err = proc.communicate(timeout=120)
        cycle_seconds = time.monotonic() - started
        assert proc.returncode == 0, err.decode()

    kills = finished = mid_store = after_store = 0
    delays = []
    changing = sum(route.endswith(".xml") for route, *_ in SOURCES)
    for _ in range(KILL_ITERATIONS):
        before = len(entry_keys(work / "aggregator.db"))
        feeds.advance()  # new items every time, so the killed cycle has real writes to do
        started_at = time.monotonic()
        proc = start_cycle(config)
        # Half anywhere in the cycle, half in its last 40 %, where feeds are stored and files written
        # (start-up and fetching take the first part).
        delay = rng.uniform(0 if len(delays) % 2 else 0.6 * cycle_seconds, cycle_seconds)
        delays.append(delay)
        try:
            proc.wait(timeout=delay)
            # The cycle beat the clock: fine, the next one is killed somewhere else. The machine
            # may have been busier when the cycle was timed (other tests running beside this one),
            # so the next delays are drawn from this cycle's own time.
            finished += 1
            cycle_seconds = min(cycle_seconds, time.monotonic() - started_at)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            kills += 1
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        # Between kills the database must already be consistent, not only after the repair cycle.
        assert_database_consistent(work / "aggregator.db")
        written = len(entry_keys(work / "aggregator.db")) - before
        # Where the kill landed: before any feed was stored, between feeds, or after all of them.
        if 0 < written:
            mid_store += written < changing * ITEMS_PER_GENERATION
            after_store += written >= changing * ITEMS_PER_GENERATION
    print(f"\ncrash safety: cycle {cycle_seconds:.2f} s at the end, {kills} kills ({mid_store} between feeds, "
          f"{after_store} after storing), {finished} cycles finished first, "
          f"delays {min(delays):.2f}-{max(delays):.2f} s, seed {SEED}")  # fmt: skip
    assert kills >= KILL_ITERATIONS // 2, "most cycles must really be killed mid-way"
    assert mid_store + after_store >= 2, "some kills must land after the first feed was stored"

    started = time.monotonic()
    result = run_cli("fetch", "--all", "-q", "-c", config)
    assert result.code == 0, result.err

    reference = tmp_path / "clean"
    reference.mkdir()
    clean = run_cli("fetch", "--all", "-q", "-c", feeds.config(reference))
    assert clean.code == 0, clean.err
    print(f"repair + clean cycles {time.monotonic() - started:.1f} s")

    killed_keys = entry_keys(work / "aggregator.db")
    clean_keys = entry_keys(reference / "aggregator.db")
    assert len(killed_keys) == len(set(killed_keys))
    assert set(killed_keys) == set(clean_keys)
    generated = [k for _, k in clean_keys if k.startswith("gen-")]
    assert len(generated) == changing * ITEMS_PER_GENERATION * (KILL_ITERATIONS + 2)  # the two whole cycles too
    assert_database_consistent(work / "aggregator.db")
    assert_outputs_whole(work / "public")
    # The published story count is the same as the clean run's (up to max_entries).
    killed_entries = etree.parse(str(work / "public" / "feed.atom")).getroot().findall(f"{ATOM_NS}entry")
    clean_entries = etree.parse(str(reference / "public" / "feed.atom")).getroot().findall(f"{ATOM_NS}entry")
    assert len(killed_entries) == len(clean_entries) > 0


def test_reader_polling_feed_atom_never_sees_a_partial_file(tmp_path: Path, feeds: ChangingFeeds) -> None:
    config = feeds.config(tmp_path)
    feeds.advance()
    assert run_cli("fetch", "--all", "-q", "-c", config).code == 0
    target = tmp_path / "public" / "feed.atom"

    stop = threading.Event()
    reads: list[int] = []
    versions: set[str] = set()
    failures: list[str] = []

    def poll() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            try:
                root = etree.fromstring(data)
            except etree.XMLSyntaxError as exc:
                failures.append(f"{len(data)} bytes: {exc}")
                continue
            reads.append(len(data))
            versions.add(root.findtext(f"{ATOM_NS}updated") or "")

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for _ in range(3):
            feeds.advance()
            # A separate process, as cron would run it: the poller's reads interleave with its writes.
            proc = start_cycle(config)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
    finally:
        stop.set()
        poller.join(timeout=10)
    assert failures == [], failures[:3]
    assert len(reads) > 200, "the poller must really have raced the writer"
    assert len(versions) >= 3, "every cycle must have rewritten feed.atom while it was being read"
