"""What a new user hits (issue 10): the first commands a person runs, their messages and exit codes,
the demo, and the first feeds that misbehave. Real feed servers on 127.0.0.1, real SQLite files and,
where signals or exit codes matter, real subprocesses."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from conftest import ATOM_NS, REPO, feed_entry, run_cli, run_cli_process, write_config
from feedserver import FeedServer, RawHandler

NOW = dt.datetime.now(dt.timezone.utc)


def rss(items: list[dict[str, Any]], title: str = "Feed") -> bytes:
    """RSS 2.0; each item: title, link, and optionally guid, published (datetime, None: no pubDate), html."""
    parts = []
    for item in items:
        published = item.get("published", NOW - dt.timedelta(days=2))
        parts.append(
            "<item>"
            + (f"<title>{escape(item['title'])}</title>" if item.get("title") else "")
            + (f"<link>{escape(item['link'])}</link>" if item.get("link") else "")
            + (f'<guid isPermaLink="false">{escape(item["guid"])}</guid>' if item.get("guid") else "")
            + (f"<pubDate>{format_datetime(published)}</pubDate>" if published is not None else "")
            + (f"<description>{escape(item['html'])}</description>" if item.get("html") else "")
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")


def article(slug: str, n: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"{slug} article number {n} about the strike wave", "link": f"https://{slug}.example.org/{n}",
            "html": f"<p>{slug} {n}: workers walked out at plant {n} demanding pay {n * 7}</p>", **extra}  # fmt: skip


def _status(config: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("status", "--json", "-c", config)
    assert result.code == 0, result.err
    return {r["url"]: r for r in json.loads(result.out)}


def _atom_entries(path: Path) -> list[Any]:
    from lxml import etree

    return etree.parse(str(path)).getroot().findall(f"{ATOM_NS}entry")


# --------------------------------------------------------------------------- 15: snippets


def test_index_snippet_separates_a_heading_from_the_next_paragraph(tmp_path: Path, feed_server: FeedServer) -> None:
    html = "<h2>Statement of the Workers Party</h2><p>Another round of cuts</p><ul><li>one</li><li>two</li></ul>"
    url = feed_server.add("/f.xml", rss([article("mwp", 1, html=html)]))
    config = write_config(tmp_path, [feed_entry(url, "MWP")])
    assert run_cli("fetch", "-c", config).code == 0
    page = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert "Statement of the Workers Party · Another round of cuts · one · two" in page
    assert "Workers PartyAnother" not in page and "Workers Party Another" not in page


# --------------------------------------------------------------------------- 17: parse errors


HTML_LINKING_A_FEED = b"""<!doctype html>
<html><head><title>Party</title>
<link rel="alternate" type="application/rss+xml" href="/feed/">
</head><body><div><p>News</div></body></html>"""
HTML_PLAIN = b"<!doctype html><html><head><title>Party</title></head><body><p>Welcome</p></body></html>"
NOT_WELL_FORMED = b"\n\x01\x02garbage \x03\x04"


def test_parse_errors_say_what_to_do(tmp_path: Path, feed_server: FeedServer) -> None:
    page = feed_server.add("/page", HTML_LINKING_A_FEED, content_type="text/html; charset=utf-8")
    plain = feed_server.add("/plain", HTML_PLAIN, content_type="text/html")
    junk = feed_server.add("/junk", NOT_WELL_FORMED, content_type="application/rss+xml")
    config = write_config(tmp_path, [feed_entry(page, "Page"), feed_entry(plain, "Plain"), feed_entry(junk, "Junk")])
    run_cli("fetch", "-c", config)
    errors = {url: r["last_error"] for url, r in _status(config).items()}
    assert errors[page] == (f"this is an HTML page, not a feed; it links a feed at {feed_server.url('/feed/')}"
                            " (use that URL in feeds.yaml)")  # fmt: skip
    assert errors[plain] == "this is an HTML page, not a feed, and it links no feed"
    assert errors[junk].startswith("this is not a feed: not well-formed XML (line 2, column "), errors[junk]
    assert errors[junk].endswith(": invalid token)"), errors[junk]


# --------------------------------------------------------------------------- 16: opml import

SPACED_CONFIG = """\
title: Test World News
base_url: https://feeds.example.org/
regions:
  europe: Europe
feeds:
  - url: https://one.example.org/feed/
    name: Party One
    region: europe
    country: GB
    language: en

  - url: https://two.example.org/feed/
    name: Party Two   # inline comment
    region: europe
    country: IE
    language: en

  - url: https://three.example.org/feed/
    name: Party Three
    region: europe
    country: GB
    language: en
  # - url: https://later.example.org/feed/   (commented out: keep at the end)
"""


def _opml_file(tmp_path: Path, outlines: list[tuple[str, str]]) -> Path:
    body = "".join(f'<outline type="rss" text="{escape(text)}" xmlUrl="{escape(url)}"/>' for text, url in outlines)
    path = tmp_path / "in.opml"
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>{body}</body></opml>',
                    encoding="utf-8")  # fmt: skip
    return path


def test_opml_import_names_each_skipped_feed_and_why(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(SPACED_CONFIG, encoding="utf-8")
    opml = _opml_file(tmp_path, [("Two again", "https://www.two.example.org/feed"),
                                 ("Three again", "https://three.example.org/feed/")])  # fmt: skip
    result = run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en", "-c", config)
    assert result.code == 0, result.err
    assert "skipped https://www.two.example.org/feed: already in the config as feeds[1] (Party Two)" in result.out
    assert "skipped https://three.example.org/feed/: already in the config as feeds[2] (Party Three)" in result.out
    assert "added 0 feeds" in result.out
    assert config.read_text(encoding="utf-8") == SPACED_CONFIG


def test_opml_import_keeps_blank_lines_between_feeds(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(SPACED_CONFIG, encoding="utf-8")
    opml = _opml_file(tmp_path, [("Four", "https://four.example.org/feed/"), ("Five", "https://five.example.org/feed/"),
                                 ("Five twice", "https://five.example.org/feed")])  # fmt: skip
    result = run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en", "-c", config)
    assert result.code == 0, result.err
    assert "added 2 feeds" in result.out
    assert "skipped https://five.example.org/feed: listed twice in the OPML file" in result.out
    text = config.read_text(encoding="utf-8")
    assert text.startswith(SPACED_CONFIG.rsplit("  # - url", 1)[0])  # the old lines, unchanged
    assert "    language: en\n\n  - url: https://four.example.org/feed/\n" in text
    assert "    language: en\n\n  - url: https://five.example.org/feed/\n" in text
    assert text.endswith("    language: en\n  # - url: https://later.example.org/feed/   (commented out: keep at the end)\n")

    # A file without blank lines between its feeds gets none.
    dense = tmp_path / "dense"
    dense.mkdir()
    config = dense / "feeds.yaml"
    config.write_text(SPACED_CONFIG.replace("\n\n", "\n"), encoding="utf-8")
    assert run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en", "-c", config).code == 0
    assert "\n\n" not in config.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- 13, 14: the demo


def _demo(directory: Path) -> Any:
    result = run_cli("demo", "--dir", directory)
    assert result.code == 0, result.err
    return result


def _tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}  # fmt: skip


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "README.md").write_text("mine")
    real = tmp_path / "real"  # a copy of a real setup: a config, a database, public/
    real.mkdir()
    (real / "feeds.yaml").write_text("title: Our real news\n")
    (real / "aggregator.db").write_bytes(b"precious")
    (real / "public").mkdir()
    (real / "public" / "feed.atom").write_text("<feed/>")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for directory in (checkout, real, a_file):
        before = _tree(directory) if directory.is_dir() else a_file.read_bytes()
        result = run_cli("demo", "--dir", directory)
        assert result.code == 2, (directory, result.out, result.err)
        assert str(directory) in result.err and "Traceback" not in result.err
        assert (_tree(directory) if directory.is_dir() else a_file.read_bytes()) == before
    assert "not empty" in run_cli("demo", "--dir", real).err
    # New and empty directories are fine, and are marked as the demo's.
    empty = tmp_path / "empty"
    empty.mkdir()
    _demo(empty)
    assert (empty / ".aggregator-demo").is_file()


def test_demo_rerun_keeps_picks_and_an_edited_config(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    _demo(demo)
    config = demo / "feeds.yaml"
    assert run_cli("pick", "s3", "--note", "for the front page", "-c", config).code == 0
    edited = config.read_text(encoding="utf-8").replace("title: Socialist World News (demo)", "title: My demo")
    config.write_text(edited, encoding="utf-8")
    again = _demo(demo)
    story = run_cli("story", "s3", "-c", config)
    assert story.code == 0 and "for the front page" in story.out
    assert config.read_text(encoding="utf-8") == edited
    assert "used as it is" in again.out
    assert "0 failed" in again.out and "0 new" in again.out


def test_demo_rerun_on_a_busy_port_moves_the_feeds_and_keeps_picks(tmp_path: Path) -> None:
    import re
    import socket

    demo = tmp_path / "demo"
    _demo(demo)
    config = demo / "feeds.yaml"
    assert run_cli("pick", "s2", "-c", config).code == 0
    ports = set(re.findall(r"http://127\.0\.0\.1:(\d+)/", config.read_text(encoding="utf-8")))
    assert len(ports) == 1
    with socket.socket() as busy:  # something else now listens on the demo's port
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", int(ports.pop())))
        busy.listen()
        again = _demo(demo)
    assert "11 not modified, 0 failed" in again.out  # the stored feeds moved with the port
    assert "(kept past retention)" in run_cli("story", "s2", "-c", config).out
    statuses = _status(config)
    assert len(statuses) == 11 and all(r["last_status"] == "not_modified" for r in statuses.values())


def test_demo_config_comments_read_right_and_fetching_it_later_gives_a_hint(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    _demo(demo)
    config = demo / "feeds.yaml"
    text = config.read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#") or " # " in line)
    assert "{base}" not in text and "replaces http" not in comments and "this folder" not in comments
    for name in ("aggregator.db", "public/", "public/index.html"):
        if name in comments:
            assert (demo / name).exists(), name
    # The demo has exited: its feeds are gone, and fetch says why.
    result = run_cli("fetch", "--all", "-q", "-c", config)
    assert result.code == 3
    assert result.err.count("connection refused") == 11
    assert "the demo's feeds are served only while `aggregator demo` runs" in result.err
    # A config that is not the demo's gets no such hint.
    (demo / ".aggregator-demo").unlink()
    assert "the demo's feeds" not in run_cli("fetch", "--all", "-q", "-c", config).err


# --------------------------------------------------------------------------- 1: fetch --quiet


def _refused_url() -> str:
    import socket

    with socket.socket() as s:  # a port nobody listens on once this closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed"


def test_fetch_quiet_prints_each_failure_and_exits_3_when_every_feed_failed(tmp_path: Path, feed_server: FeedServer) -> None:
    broken = feed_server.add("/500", b"oops", status=500, content_type="text/plain")
    refused = _refused_url()
    good = feed_server.add("/ok.xml", rss([article("ok", 1)]))
    all_bad = tmp_path / "all-bad"
    all_bad.mkdir()
    config = write_config(all_bad, [feed_entry(broken, "Broken"), feed_entry(refused, "Refused")])
    result = run_cli("fetch", "--quiet", "-c", config)
    assert result.code == 3, result
    assert result.out == ""
    failed = [line for line in result.err.splitlines() if line.startswith("aggregator: failed: ")]
    assert len(failed) == 2
    assert any("Broken" in line and broken in line for line in failed)
    assert any("Refused" in line and "connection refused" in line for line in failed)

    some_good = tmp_path / "some-good"
    some_good.mkdir()
    config = write_config(some_good, [feed_entry(good, "Good"), feed_entry(broken, "Broken")])
    result = run_cli("fetch", "--quiet", "-c", config)
    assert result.code == 0, result
    assert result.out == ""
    assert [line for line in result.err.splitlines() if line.startswith("aggregator: failed: ")] == [
        line for line in result.err.splitlines() if "Broken" in line
    ] and result.err.count("aggregator: failed: ") == 1


# --------------------------------------------------------------------------- 2: signals during fetch


def _slow(handler: RawHandler) -> None:
    from feedserver import client_gone, send, write_head

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not client_gone(handler, 0.1):
        pass
    body = rss([article("slow", 1)])
    write_head(handler, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))})
    send(handler, body)


def _stored_entries(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_fetch_stores_what_was_fetched_and_exits_128_plus_signal(
    tmp_path: Path, feed_server: FeedServer, signum: int, code: int
) -> None:
    fast = feed_server.add("/fast.xml", rss([article("fast", 1), article("fast", 2)]))
    slow = feed_server.add_handler("/slow.xml", _slow)
    config = write_config(tmp_path, [feed_entry(fast, "Fast"), feed_entry(slow, "Slow")],
                          fetch={"timeout": 60, "max_bytes": 2_000_000, "concurrency": 8})  # fmt: skip
    db = tmp_path / "aggregator.db"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "fetch", "-c", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _stored_entries(db) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _stored_entries(db) == 2, "the fast feed was never stored"
        time.sleep(0.3)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, (out, err)
    assert "interrupted" in err
    assert "unexpected error" not in err and "RuntimeError" not in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM entries WHERE feed_url = ?", (fast,)).fetchone()[0] == 2


# --------------------------------------------------------------------------- 3, 4: unusable databases


def test_run_on_a_garbage_database_exits_1_at_once_with_one_line(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", rss([article("a", 1)]))
    config = write_config(tmp_path, [feed_entry(url, "A")], schedule={"every": "1h"})
    (tmp_path / "aggregator.db").write_bytes(os.urandom(4096))
    started = time.monotonic()
    result = run_cli_process("run", "-c", config, timeout=30)
    assert time.monotonic() - started < 15
    assert result.code == 1, result
    assert "Traceback" not in result.err
    problems = [line for line in result.err.splitlines() if line.strip() and " INFO " not in line]
    assert len(problems) == 1, result.err  # the daemon's INFO lines aside: one line says what is wrong
    assert "cannot use the database" in problems[0] and str(tmp_path / "aggregator.db") in problems[0]


def test_status_on_a_file_that_is_not_ours_writes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, [feed_entry("https://a.example.org/feed", "A")])
    db = tmp_path / "aggregator.db"
    db.write_bytes(b"")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE feeds (id INTEGER PRIMARY KEY, title TEXT, xml_url TEXT)")
        conn.execute("INSERT INTO feeds (title, xml_url) VALUES ('x', 'https://x/')")
    conn.close()
    for contents in (b"", other.read_bytes()):
        db.write_bytes(contents)
        os.utime(db, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        for args in (("status",), ("status", "--json")):
            result = run_cli(*args, "-c", config)
            assert result.code == 1, result
            assert "not an aggregator database" in result.err and "Traceback" not in result.err
            assert db.read_bytes() == contents and db.stat().st_mtime_ns == 1_000_000_000_000_000_000
            assert sorted(p.name for p in tmp_path.iterdir()) == ["aggregator.db", "feeds.yaml", "other.db"]
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        conn.close()
        assert tables == (set() if not contents else {"feeds"})  # no schema was created


# --------------------------------------------------------------------------- 5: check


def test_check_names_output_dir_that_is_a_file_and_a_broken_url(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    config = write_config(tmp_path, [feed_entry("https://a.example.org/feed", "A")], output_dir="out")
    result = run_cli("check", "-c", config)
    assert result.code == 2, result
    assert "output_dir" in result.err and "unexpected error" not in result.err

    config = write_config(tmp_path, [feed_entry("http://[::1/feed", "Broken URL")])
    result = run_cli("check", "-c", config)
    assert result.code == 2, result
    assert "feeds[0] (Broken URL).url" in result.err and "unexpected error" not in result.err


# --------------------------------------------------------------------------- 6, 7, 8: stories, story, unmerge, pick

SHARED = {"title": "General strike called across the ports after talks collapse",
          "link": "https://shared.example.org/general-strike",
          "html": "<p>Dockers in every port walked out on Monday after the employers refused the pay claim.</p>"}  # fmt: skip


def _newsroom(tmp_path: Path, server: FeedServer) -> Path:
    """Three feeds: A (europe, en) with three articles, B (asia, hi) with one plus the article A
    has too (one story of two copies), C (africa, fr) with one."""
    days = [NOW - dt.timedelta(days=d) for d in (1, 2, 3, 4, 5)]
    a = server.add("/a.xml", rss([
        {**article("alpha", 1), "published": days[0]},
        {**article("alpha", 2), "title": "Nurses vote for action over staffing", "published": days[1]},
        {**SHARED, "published": days[3]},
    ], "A"))  # fmt: skip
    b = server.add("/b.xml", rss([{**article("beta", 1), "published": days[2]},
                                  {**SHARED, "published": days[3] + dt.timedelta(hours=1)}], "B"))  # fmt: skip
    c = server.add("/c.xml", rss([{**article("gamma", 1), "published": days[4]}], "C"))
    config = write_config(tmp_path, [
        feed_entry(a, "Party A"),
        feed_entry(b, "Party B", region="asia", country="IN", language="hi"),
        feed_entry(c, "Party C", region="africa", country="SN", language="fr"),
    ])  # fmt: skip
    assert run_cli("fetch", "-c", config).code == 0
    return config


def _stories(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run_cli("stories", "--json", *args, "-c", config)
    assert result.code == 0, result.err
    stories: list[dict[str, Any]] = json.loads(result.out)["stories"]
    return stories


def test_stories_lists_filters_and_pages(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _newsroom(tmp_path, feed_server)
    listed = run_cli("stories", "-c", config)
    assert listed.code == 0
    every = _stories(config)
    assert len(every) == 5  # six entries, the shared one is one story
    assert all(s["name"] == f"s{s['story']}" for s in every)
    for s in every:
        assert s["name"] + "  " in listed.out
    assert [s["title"] for s in _stories(config, "--region", "asia")] == [
        s["title"] for s in every if "asia" in s["regions"]]  # fmt: skip
    assert len(_stories(config, "--region", "asia")) == 2
    assert {s["language"] for s in _stories(config, "--language", "fr")} == {"fr"}
    assert len(_stories(config, "--feed", feed_server.url("/c.xml"))) == 1
    assert [s["title"] for s in _stories(config, "--search", "nurses staffing")] == ["Nurses vote for action over staffing"]
    assert _stories(config, "--picked") == []
    shared = next(s for s in every if len(s["copies"]) == 2)
    assert run_cli("pick", shared["name"], "-c", config).code == 0
    assert [s["story"] for s in _stories(config, "--picked")] == [shared["story"]]

    # Paging: --limit 1 prints the position of the next page; it gives the next story.
    first = run_cli("stories", "--limit", "1", "-c", config)
    more = [line for line in first.out.splitlines() if "--after " in line]
    assert len(more) == 1
    position = more[0].split("--after ", 1)[1].split()[0]
    second = _stories(config, "--limit", "1", "--after", position)
    assert [s["story"] for s in second] == [every[1]["story"]]
    assert run_cli("stories", "--after", "nonsense", "-c", config).code == 2


def test_story_and_unmerge_take_the_printed_names(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _newsroom(tmp_path, feed_server)
    shared = next(s for s in _stories(config) if len(s["copies"]) == 2)
    shown = run_cli("story", shared["name"], "-c", config)
    assert shown.code == 0 and f"story {shared['name']}: 2 copies" in shown.out
    copy = shared["copies"][1]["name"]
    assert copy.startswith("c")
    refused = run_cli("story", copy, "-c", config)
    assert refused.code == 2 and "names a copy" in refused.err
    result = run_cli("unmerge", copy, "-c", config)
    assert result.code == 0, result.err
    assert len(_stories(config)) == 6


def test_unmerge_undo_puts_a_copy_back_and_an_only_copy_cannot_be_split(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _newsroom(tmp_path, feed_server)
    feed = tmp_path / "public" / "feed.atom"
    shared = next(s for s in _stories(config) if len(s["copies"]) == 2)
    copy = shared["copies"][1]["name"]
    assert run_cli("unmerge", copy, "-c", config).code == 0
    assert sum(SHARED["title"] in (e.findtext(f"{ATOM_NS}title") or "") for e in _atom_entries(feed)) == 2
    undone = run_cli("unmerge", "--undo", copy, "-c", config)
    assert undone.code == 0, undone.err
    assert sum(SHARED["title"] in (e.findtext(f"{ATOM_NS}title") or "") for e in _atom_entries(feed)) == 1
    assert len(_stories(config)) == 5

    # The only copy of a story: refused, and nothing is recorded against it.
    alone = next(s for s in _stories(config) if s["copies"][0]["feed"] == "Party C")
    only = alone["copies"][0]["name"]
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        before = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("split_entries", "editor_actions")]
    conn.close()
    refused = run_cli("unmerge", only, "-c", config)
    assert refused.code == 2 and "only copy" in refused.err, refused.err
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        after = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("split_entries", "editor_actions")]
    conn.close()
    assert after == before
    # A later duplicate of it still merges.
    gamma = article("gamma", 1)
    feed_server.add("/b.xml", rss([{**article("beta", 1), "published": NOW - dt.timedelta(days=3)},
                                   {**SHARED, "published": NOW - dt.timedelta(days=4)},
                                   {**gamma, "published": NOW - dt.timedelta(days=5)}], "B"))  # fmt: skip
    assert run_cli("fetch", "--all", "-c", config).code == 0
    merged = next(s for s in _stories(config) if s["story"] == alone["story"])
    assert {c["feed"] for c in merged["copies"]} == {"Party B", "Party C"}


def test_a_picks_note_shows_in_story(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _newsroom(tmp_path, feed_server)
    story = _stories(config)[2]["name"]
    assert run_cli("pick", story, "--note", "for the front page", "-c", config).code == 0
    shown = run_cli("story", story, "-c", config).out
    line = next(line for line in shown.splitlines() if "picked" in line)
    assert "by cli on " in line and f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}" in line and " UTC" in line
    assert line.endswith(": for the front page")
    picks = json.loads(run_cli("story", story, "--json", "-c", config).out)["picks"]
    assert [(p["editor"], p["note"]) for p in picks] == [("cli", "for the front page")]


# --------------------------------------------------------------------------- 9: retention


def test_retention_keeps_the_newest_n_of_an_old_feed_and_publishes_them(tmp_path: Path, feed_server: FeedServer) -> None:
    old = [{**article("old", n), "published": dt.datetime(2011, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)}
           for n in range(80)]  # fmt: skip
    url = feed_server.add("/old.xml", rss(old))
    config = write_config(tmp_path, [feed_entry(url, "Old")], retention={"days": 365, "keep_per_feed": 50})
    assert run_cli("fetch", "-c", config).code == 0
    assert _status(config)[url]["entries"] == 50
    entries = _atom_entries(tmp_path / "public" / "feed.atom")
    assert len(entries) == 50
    assert {e.findtext(f"{ATOM_NS}title") for e in entries} == {a["title"] for a in old[30:]}  # the newest 50

    # Ten newer (still aged) items: the ten oldest stored ones are pruned, and status counts them.
    newer = [{**article("old", n), "published": dt.datetime(2011, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)}
             for n in range(80, 90)]  # fmt: skip
    feed_server.add("/old.xml", rss(newer + old))
    assert run_cli("fetch", "--all", "-c", config).code == 0
    record = _status(config)[url]
    assert record["entries"] == 50 and record["pruned"] >= 10, record
    entries = _atom_entries(tmp_path / "public" / "feed.atom")
    assert {e.findtext(f"{ATOM_NS}title") for e in entries} == {a["title"] for a in (old + newer)[40:]}


def test_a_feed_whose_guids_change_on_every_fetch_still_publishes(tmp_path: Path, feed_server: FeedServer) -> None:
    def items(fetch: int) -> list[dict[str, Any]]:
        return [{**article("churn", n), "guid": f"urn:churn:{fetch}:{n}",
                 "published": dt.datetime(2022, 3, 1 + n, tzinfo=dt.timezone.utc)} for n in range(5)]  # fmt: skip

    url = feed_server.add("/churn.xml", rss(items(1)))
    config = write_config(tmp_path, [feed_entry(url, "Churn")], retention={"days": 365, "keep_per_feed": 50})
    assert run_cli("fetch", "-c", config).code == 0
    feed_server.add("/churn.xml", rss(items(2)))
    assert run_cli("fetch", "--all", "-c", config).code == 0
    entries = _atom_entries(tmp_path / "public" / "feed.atom")
    assert len(entries) == 5
    assert {e.findtext(f"{ATOM_NS}title") for e in entries} == {a["title"] for a in items(2)}


# --------------------------------------------------------------------------- 10: undated and empty entries


def test_an_undated_entry_is_never_newer_than_the_feeds_newest_dated_one(tmp_path: Path, feed_server: FeedServer) -> None:
    dated = NOW - dt.timedelta(days=2)
    url = feed_server.add("/f.xml", rss([{**article("d", 1), "published": dated},
                                         {**article("d", 2), "published": dated - dt.timedelta(hours=3)},
                                         {**article("u", 1), "published": None},  # no pubDate
                                         {"title": "", "link": "", "published": None}]))  # fmt: skip
    config = write_config(tmp_path, [feed_entry(url, "Dated")])
    assert run_cli("fetch", "-c", config).code == 0
    stories = {s["title"]: s for s in _stories(config)}
    assert len(stories) == 3  # the item with neither title, link nor content is not stored
    undated = dt.datetime.fromisoformat(stories[article("u", 1)["title"]]["published"])
    assert undated <= dated.replace(microsecond=0)

    # A truncated document: feedparser loses the unclosed title, so its one item has neither title,
    # link nor text. It is not stored (no "(untitled)" story on top): the feed fails, saying why.
    feed_server.add("/f.xml", b"<rss><channel><item><title>Broken")
    assert run_cli("fetch", "--all", "-c", config).code == 3
    after = _stories(config)
    assert [s["title"] for s in after] == [s["title"] for s in _stories(config)] and len(after) == 3
    assert "(untitled)" not in {s["title"] for s in after}
    assert _status(config)[url]["last_error"] == (
        "the feed is broken and gave no readable entry: broken XML (line 2, column 33: no element found)")


# --------------------------------------------------------------------------- 11: status, help, check wording

LONG_NAME = "Committee for a Workers' International (socialistworld.net)"


def test_status_table_fits_80_columns_when_piped_and_wide_shows_everything(tmp_path: Path, feed_server: FeedServer) -> None:
    ok = feed_server.add("/ok.xml", rss([article("ok", 1)]))
    bad = feed_server.add("/bad", HTML_PLAIN, content_type="text/html")
    config = write_config(tmp_path, [feed_entry(ok, LONG_NAME), feed_entry(bad, "Socialist Party Scotland")])
    run_cli("fetch", "-c", config)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    table = run_cli_process("status", "-c", config, env=env)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), "\n".join(lines)
    words = " ".join(table.out.split())
    for word in LONG_NAME.split()[:-1] + ["(socialistworld"]:
        assert word in words, word  # folded across lines, but in whole words: readable
    assert "Scotland" in words
    wide = run_cli_process("status", "--wide", "-c", config, env=env)
    assert wide.code == 0
    header = " ".join(wide.out.split())
    for column in ("region", "fails", "pruned", "posts/week", "last fetched", "next due", "problem"):
        assert column in header, column


def test_status_option_mistakes_are_usage_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, [feed_entry("https://a.example.org/feed", "A")])
    result = run_cli("status", "--check", "--max-failing", "2", "-c", config)
    assert result.code == 2 and "--max-failing" in result.err
    result = run_cli("status", "--max-age", "1h", "-c", config)
    assert result.code == 2 and "--check" in result.err


def test_every_command_help_says_what_it_does() -> None:
    commands = ["fetch", "publish", "status", "check", "stories", "story", "pick", "unmerge", "demo", "run",
                "opml", "opml export", "opml import"]  # fmt: skip
    for command in commands:
        result = run_cli(*command.split(), "--help")
        assert result.code == 0, command
        before_options = result.out.split("\noptions:", 1)[0]
        usage, _, description = before_options.partition("\n\n")
        assert usage.startswith("usage:") and description.strip(), f"`{command} --help` has no description"
    demo = run_cli("demo", "--help").out
    assert "-c" not in demo.split() and "--config" not in demo
    run = run_cli("run", "--help").out
    assert "schedule" in run and "SIGTERM" in run


def test_check_counts_in_words(tmp_path: Path) -> None:
    config = write_config(tmp_path, [feed_entry("https://a.example.org/feed", "A")], regions={"europe": "Europe"})
    result = run_cli("check", "-c", config)
    assert result.code == 0, result.err
    assert "1 feed (1 enabled) in 1 region;" in result.out and "1 regions" not in result.out


# --------------------------------------------------------------------------- 12: country labels


def test_atom_country_categories_are_labelled_with_names(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/au.xml", rss([article("au", 1)]))
    config = write_config(tmp_path, [feed_entry(url, "Socialism Today", region="asia", country="AU", language="en-AU")])
    assert run_cli("fetch", "-c", config).code == 0
    [entry] = _atom_entries(tmp_path / "public" / "feed.atom")
    countries = [c for c in entry.findall(f"{ATOM_NS}category") if c.get("scheme", "").endswith("/countries")]
    assert [(c.get("term"), c.get("label")) for c in countries] == [("AU", "Australia")]
