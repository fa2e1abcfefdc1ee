"""Full text for excerpt-only feeds (issue 13): article pages served on 127.0.0.1 in two WordPress-like
layouts, robots.txt, failures that fall back to the excerpt, and what the outputs and status show."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from aggregator.config import load_config
from aggregator.models import StoryQuery
from aggregator.store import Store
from conftest import ATOM_NS, feed_entry, modules_loaded_by_cli, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom
from test_feed_formats import validate_json_feed

NAV = "Home About us Join the party Donate"
SIDEBAR = "Recent posts widget Archives widget"
COMMENTS = "Comrade Alice says great article"
SHARE = "Share on Facebook Share on Twitter"


def _body(marker: str) -> str:
    return "".join(
        f"<p>{marker} paragraph {i}: the workers at the depot voted to strike over pay and conditions, "
        f"and the union branch organised pickets at every gate through the night.</p>"
        for i in range(4)
    )


def wordpress_page(title: str, marker: str) -> str:
    """A twenty-twenty style WordPress single post: header nav, entry-content, share buttons,
    comments, a sidebar, scripts and inline handlers."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} – Socialist Party</title>
<script>window.tracker = function() {{ document.cookie = "x=1"; }};</script>
<link rel="stylesheet" href="/wp-content/themes/twentytwenty/style.css"></head>
<body class="post-template-default single single-post">
<header id="site-header"><nav class="primary-menu-wrapper"><ul class="primary-menu">
{''.join(f'<li class="menu-item"><a href="/{w.lower()}/">{w}</a></li>' for w in NAV.split())}</ul></nav></header>
<main id="site-content" role="main"><article class="post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{title}</h1>
<div class="post-meta">By <a href="/author/ed/">Editor</a> · 2 December 2026</div></header>
<div class="entry-content">{_body(marker)}
<p onclick="window.tracker()">Click to read more from {marker}, the <a href="/news/strike-fund/">strike fund</a> appeal continues.</p>
<figure class="wp-block-image"><img src="/wp-content/uploads/picket.jpg" alt="Picket line" onerror="alert(1)"></figure>
<script>alert("in the content")</script>
</div>
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul>
<li><a class="share-facebook" href="https://facebook.com/sharer?u=x" onclick="window.open(this.href)">{SHARE.split(' Share')[0]}</a></li>
<li><a class="share-twitter" href="https://twitter.com/share">Share on Twitter</a></li></ul></div>
</article>
<div id="comments" class="comments-wrapper"><h2 class="comment-reply-title">2 comments</h2>
<ol class="comment-list"><li class="comment"><div class="comment-content"><p>{COMMENTS}</p></div></li></ol>
<form id="commentform"><textarea name="comment"></textarea><input type="submit" value="Post Comment"></form></div>
</main>
<aside id="secondary" class="widget-area sidebar"><section class="widget"><h2>{SIDEBAR}</h2>
<ul><li><a href="/older/">An older post</a></li></ul></section></aside>
<footer id="site-footer"><p>© Socialist Party · Powered by WordPress</p></footer>
<script src="/wp-includes/js/comment-reply.min.js"></script></body></html>"""


def classic_page(title: str, marker: str) -> str:
    """An older (Genesis / classic theme) layout: #wrap, #content .post .entry, #sidebar, and
    handlers and javascript: links in the post itself."""
    return f"""<html><head><title>{title}</title><script type="text/javascript">var _gaq = [];</script></head>
<body><div id="wrap"><div id="header"><div id="nav"><a href="/">{NAV}</a></div></div>
<div id="content"><div class="post hentry"><h2 class="entry-title"><a href="/p/1">{title}</a></h2>
<div class="entry">{_body(marker)}
<p onmouseover="steal()">Hover text of {marker} with a <a href="javascript:steal()">bad link</a> and a
<a href="https://example.org/report">good link</a> to the full report on the dispute.</p>
<iframe src="https://evil.example/frame"></iframe></div>
<div class="addtoany_share_save_container">{SHARE}</div>
<div id="comments"><h3>Comments</h3><div class="comment-body">{COMMENTS}</div></div></div></div>
<div id="sidebar"><ul><li class="widget">{SIDEBAR}</li></ul></div>
<div id="footer">Copyright the party</div></div></body></html>"""


def rss(items: list[tuple[str, str, str]]) -> bytes:
    """An excerpt-only RSS 2.0 feed: (guid, link, title) with a one-sentence standfirst each."""
    body = "".join(
        f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link><guid>{guid}</guid>"
        f"<pubDate>Wed, 02 Dec 2026 1{i % 10}:00:00 GMT</pubDate>"
        f"<description>Standfirst of {html.escape(title)}: one sentence only.</description></item>"
        for i, (guid, link, title) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>SPEW</title>'
        f"<link>https://spew.example/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def _setup(tmp_path: Path, server: FeedServer, items: list[tuple[str, str, str]], **overrides: Any) -> Path:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    url = server.add("/feed.xml", rss(items))
    return write_config(tmp_path, [feed_entry(url, "Socialist Party E&W", full_text=True)], **overrides)


def _atom_entries(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {e.findtext(f"{ATOM_NS}title"): e for e in root.findall(f"{ATOM_NS}entry")}


def _status(config: Path) -> dict[str, Any]:
    result = run_cli("status", "--json", "-c", config)
    assert result.code == 0, result.err
    return dict(json.loads(result.out)[0])


def test_full_text_is_content_and_the_excerpt_is_summary(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/2026/12/strike/", wordpress_page("Depot strike", "WPMARK"), content_type="text/html; charset=utf-8")
    feed_server.add("/p/1", classic_page("Pay claim", "CLASSICMARK"), content_type="text/html")
    config = _setup(tmp_path, feed_server, [
        ("a", feed_server.url("/2026/12/strike/"), "Depot strike"),
        ("b", feed_server.url("/p/1"), "Pay claim"),
    ])  # fmt: skip
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    page_hits = feed_server.hits("/2026/12/strike/")
    assert len(page_hits) == 1 and "text/html" in page_hits[0].headers["accept"]
    assert page_hits[0].headers["user-agent"].startswith("aggregator/")
    assert len(feed_server.hits("/robots.txt")) == 1  # once per host per cycle

    public = tmp_path / "public"
    validate_atom(public / "feed.atom")
    entries = _atom_entries(public / "feed.atom")
    for title, marker in (("Depot strike", "WPMARK"), ("Pay claim", "CLASSICMARK")):
        content = entries[title].findtext(f"{ATOM_NS}content") or ""
        summary = entries[title].findtext(f"{ATOM_NS}summary") or ""
        assert f"{marker} paragraph 3" in content and "<p>" in content
        assert f"Standfirst of {title}" in summary and marker not in summary
        for boilerplate in (NAV, SIDEBAR, COMMENTS, "Share on Twitter", "Powered by WordPress", "Post Comment"):
            assert boilerplate not in content, (title, boilerplate)
        lowered = content.lower()
        for hostile in ("<script", "onclick", "onmouseover", "onerror", "javascript:", "<iframe", "alert("):
            assert hostile not in lowered, (title, hostile)
    wp = entries["Depot strike"].findtext(f"{ATOM_NS}content") or ""
    # Links and images survive, made absolute against the page's address.
    assert f'href="{feed_server.url("/news/strike-fund/")}"' in wp
    assert f'src="{feed_server.url("/wp-content/uploads/picket.jpg")}"' in wp
    classic = entries["Pay claim"].findtext(f"{ATOM_NS}content") or ""
    assert 'href="https://example.org/report"' in classic

    data = validate_json_feed(public / "feed.json")
    items = {i["title"]: i for i in data["items"]}
    assert "WPMARK paragraph 0" in items["Depot strike"]["content_html"]
    assert items["Depot strike"]["summary"] == "Standfirst of Depot strike: one sentence only."
    assert "<script" not in json.dumps(data)

    status = _status(config)
    assert (status["full_text_ok"], status["full_text_failed"]) == (2, 0)
    with Store.open(tmp_path / "aggregator.db") as store:  # sanitized as stored, not only as published
        stored = [r[0].lower() for r in store.db.execute("SELECT full_text_html FROM entries")]
    assert len(stored) == 2 and all("paragraph 3" in h for h in stored)
    assert not any(bad in h for h in stored for bad in ("<script", "onclick", "onerror", "onmouseover", "<html"))

    # The story page shows the full text.
    from aggregator.web.app import create_app

    loaded = load_config(config)
    with Store.open(loaded.database) as store:
        story_id = next(s.id for s in store.stories(__import__("aggregator.models").models.StoryQuery()).stories
                        if s.primary.title == "Depot strike")  # fmt: skip
        page = create_app(loaded, store).test_client().get(f"/story/{story_id}")
        text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "WPMARK paragraph 3" in text and 'class="full-text"' in text and COMMENTS not in text

    # A second cycle fetches no page again (each new entry's page is fetched once).
    run_cli("fetch", "--all", "-c", config)
    assert len(feed_server.hits("/2026/12/strike/")) == 1


def _slow(handler: Any) -> None:
    time.sleep(3)
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        handler.wfile.write(b"<html><body><p>too late</p></body></html>")
    except OSError:
        pass


def test_failures_fall_back_to_the_excerpt_are_shown_and_retried_a_bounded_number_of_times(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.fetch

    # 127.0.0.1 plays a public server here and 127.0.0.2 the private network behind it.
    monkeypatch.setattr(aggregator.fetch, "is_public_address", lambda address: str(address) != "127.0.0.2")
    feed_server.add("/private/secret", wordpress_page("Secret", "SECRETMARK"), content_type="text/html")
    feed_server.add("/big", wordpress_page("Big", "BIG " * 20_000), content_type="text/html")
    feed_server.add_handler("/slow", _slow)
    feed_server.add("/inward", b"", status=302, headers={"Location": f"http://127.0.0.2:{feed_server.port}/admin"})
    feed_server.add("/empty", "<html><head><title>x</title></head><body><script>x()</script></body></html>",
                    content_type="text/html")
    feed_server.add("/paper.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    names = {"/private/secret": "Disallowed", "/big": "Too large", "/slow": "Slow", "/missing": "Missing",
             "/inward": "Inward", "/empty": "Empty", "/paper.pdf": "Paper"}  # fmt: skip
    config = _setup(
        tmp_path, feed_server, [(p, feed_server.url(p), t) for p, t in names.items()],
        fetch={"timeout": 1.5, "max_bytes": 60_000, "concurrency": 8},
        full_text={"max_attempts": 2, "retry_after": 1},
    )  # fmt: skip
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    assert not feed_server.hits("/private/secret")  # robots.txt said no: never requested

    with Store.open(tmp_path / "aggregator.db") as store:
        errors = dict(store.db.execute("SELECT title, full_text_error FROM entries").fetchall())
        assert set(store.db.execute("SELECT full_text_status FROM entries").fetchall()) == {("failed",)}
    assert errors["Disallowed"] == "robots.txt disallows this page"
    assert errors["Too large"].startswith("response larger than 60000 bytes")
    assert errors["Slow"] == "timed out after 1.5 s"
    assert errors["Missing"] == "HTTP 404 Not Found"
    assert errors["Inward"].startswith("redirect from a public address to a private one (127.0.0.2")
    assert errors["Empty"] == "no main text found on the page"
    assert errors["Paper"] == "not an HTML page (application/pdf)"

    validate_atom(tmp_path / "public" / "feed.atom")
    entries = _atom_entries(tmp_path / "public" / "feed.atom")
    for title in names.values():  # the excerpt is the content (and, as for every excerpt-only entry, the summary)
        assert entries[title].findtext(f"{ATOM_NS}content") == f"Standfirst of {title}: one sentence only."
        assert entries[title].findtext(f"{ATOM_NS}summary") == f"Standfirst of {title}: one sentence only."

    status = _status(config)
    assert (status["full_text_ok"], status["full_text_failed"]) == (0, 7)
    assert status["full_text_error"] in errors.values()
    table = run_cli("status", "--wide", "-c", config)
    assert "full text: 7 of 7 pages failed" in table.out

    time.sleep(1.1)  # retry_after: 1 s
    run_cli("fetch", "--all", "-c", config)  # the second and last attempt
    time.sleep(1.1)
    run_cli("fetch", "--all", "-c", config)  # max_attempts reached: nothing is fetched again
    assert len(feed_server.hits("/missing")) == 2
    assert len(feed_server.hits("/big")) == 2


def test_a_page_whose_extraction_overruns_its_time_is_killed(tmp_path: Path, feed_server: FeedServer) -> None:
    paragraphs = "".join(f"<div><p>Paragraph {i} of a very long page with many words in it.</p></div>"
                         for i in range(20_000))  # fmt: skip
    feed_server.add("/huge", f"<html><body><article>{paragraphs}</article></body></html>", content_type="text/html")
    feed_server.add("/fine", wordpress_page("Fine", "FINEMARK"), content_type="text/html")
    config = _setup(
        tmp_path, feed_server, [("h", feed_server.url("/huge"), "Huge")],
        fetch={"timeout": 10, "max_bytes": 5_000_000}, full_text={"extract_timeout": 0.1},
    )  # fmt: skip
    started = time.monotonic()
    assert run_cli("fetch", "-c", config).code == 0
    assert time.monotonic() - started < 20
    with Store.open(tmp_path / "aggregator.db") as store:
        row = store.db.execute("SELECT full_text_status, full_text_error FROM entries").fetchone()
    assert tuple(row) == ("failed", "extraction took longer than 0.1 s")


def test_only_entries_stored_after_full_text_is_switched_on_are_fetched(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/old", wordpress_page("Old", "OLDMARK"), content_type="text/html")
    feed_server.add("/new", wordpress_page("New", "NEWMARK"), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([("old", feed_server.url("/old"), "Old")]))
    config = write_config(tmp_path, [feed_entry(url, "Party")])
    assert run_cli("fetch", "-c", config).code == 0
    assert not feed_server.hits("/old") and not feed_server.hits("/robots.txt")
    # Times are stored to the second: a switch-on in the very second of the last cycle would count
    # that cycle's entries as stored after it (cron cycles are minutes apart; a test's are not).
    time.sleep(1.05 - (time.time() % 1))

    feed_server.add("/feed.xml", rss([("new", feed_server.url("/new"), "New"), ("old", feed_server.url("/old"), "Old")]))
    config = write_config(tmp_path, [feed_entry(url, "Party", full_text=True)])
    assert run_cli("fetch", "--all", "-c", config).code == 0
    assert len(feed_server.hits("/new")) == 1 and not feed_server.hits("/old")
    entries = _atom_entries(tmp_path / "public" / "feed.atom")
    assert "NEWMARK paragraph 0" in (entries["New"].findtext(f"{ATOM_NS}content") or "")


def test_a_new_full_text_moves_the_content_signature(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", rss([("a", feed_server.url("/nowhere"), "A")]))
    config = write_config(tmp_path, [feed_entry(url, "Party")])
    assert run_cli("fetch", "-c", config).code == 0
    with Store.open(tmp_path / "aggregator.db") as store:
        before = store.content_signature()
        entry_id = int(store.db.execute("SELECT id FROM entries").fetchone()[0])
        import datetime as dt

        now = dt.datetime(2027, 1, 2, tzinfo=dt.timezone.utc)  # after the entry's dates
        store.record_full_text_failure(entry_id, "HTTP 404 Not Found", now)
        assert store.content_signature() == before  # a failure changes no output
        story = store.stories(StoryQuery()).stories[0]
        assert story.updated < now
        store.record_full_text(entry_id, "<p>full</p>", now)
        first = store.content_signature()
        assert first != before
        assert store.stories(StoryQuery()).stories[0].updated == now  # the content changed: readers see it
        later = now + dt.timedelta(hours=1)
        store.record_full_text(entry_id, "<p>full</p>", later)  # the same text again: not an update
        assert store.stories(StoryQuery()).stories[0].updated == now
        store.record_full_text(entry_id, "<p>full, changed</p>", later)
        assert store.content_signature() != first
        assert store.stories(StoryQuery()).stories[0].updated == later


def test_a_cycle_without_full_text_feeds_never_imports_trafilatura(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", rss([("a", feed_server.url("/a"), "A")]))
    config = write_config(tmp_path, [feed_entry(url, "Party")])
    assert modules_loaded_by_cli(["trafilatura"], "fetch", "-c", config) == (0, [])
    assert not feed_server.hits("/a")


@pytest.mark.parametrize(
    ("feed_extra", "top", "field"),
    [
        ({"full_text": "yes"}, {}, "feeds[0] (Party).full_text: must be true or false"),
        ({"full_text": True}, {"full_text": {"per_host": 0}}, "full_text.per_host: must be at least 1"),
        ({"full_text": True}, {"full_text": {"max_atempts": 3}}, "full_text.max_atempts: unknown key (did you mean 'max_attempts'?)"),
        ({"full_text": True}, {"full_text": "on"}, "full_text: must be a mapping"),
    ],
)  # fmt: skip
def test_bad_full_text_config_names_the_field_and_exits_2(
    tmp_path: Path, feed_extra: dict[str, Any], top: dict[str, Any], field: str
) -> None:
    config = write_config(tmp_path, [feed_entry("https://spew.example/feed", "Party", **feed_extra)], **top)
    result = run_cli("check", "-c", config)
    assert result.code == 2
    assert field in result.err + result.out


def test_at_most_per_host_pages_are_fetched_at_once(tmp_path: Path, feed_server: FeedServer) -> None:
    import threading

    lock = threading.Lock()
    in_flight = [0, 0]  # now, most seen
    page = wordpress_page("Slowish", "SLOWMARK").encode()

    def slowish(handler: Any) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.4)
        with lock:
            in_flight[0] -= 1
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)

    paths = [f"/slowish/{i}" for i in range(4)]
    for path in paths:
        feed_server.add_handler(path, slowish)
    config = _setup(tmp_path, feed_server, [(p, feed_server.url(p), f"Page {p}") for p in paths],
                    full_text={"per_host": 1})  # fmt: skip
    assert run_cli("fetch", "-c", config).code == 0
    assert len(feed_server.hits(paths[0])) == 1
    assert in_flight[1] == 1  # one at a time (fetch.per_host would allow 2, fetch.concurrency 8)
    assert _status(config)["full_text_ok"] == 4, _status(config)["full_text_error"]
