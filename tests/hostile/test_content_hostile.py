"""Hostile feed *content* through the whole pipeline (local HTTP server -> fetch -> parse -> store ->
publish): injected markup and URLs never reach feed.atom, index.html or the database's published
columns, and odd entries (no id, huge, 10,000 of them, absurd dates) neither crash a cycle nor
break the published Atom. Sanitizer unit tests live in tests/test_sanitize.py; this file proves the
sanitizer is applied on every path a value takes to an output."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from aggregator.parse import MAX_ENTRIES
from aggregator.sanitize import MAX_TITLE_CHARS
from conftest import ATOM_NS, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

# Every executable payload carries this marker. Sanitizing may keep harmless text around a payload,
# but the marker itself must be gone from every output: if it is anywhere, a payload survived.
MARK = "XSSMARK"

# --------------------------------------------------------------------------- helpers


def rss(items: list[str], channel_extra: str = "", namespaces: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" {namespaces}>'
        f"<channel><title>Hostile</title><link>https://party.example/</link>{channel_extra}"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def item(n: int | str, body: str = "", *, link: str | None = "auto", guid: str | None = "auto",
         title: str | None = "auto", date: str | None = "Mon, 02 Nov 2026 10:00:00 GMT", extra: str = "") -> str:  # fmt: skip
    parts = ["<item>"]
    if title is not None:
        parts.append(f"<title>{f'Story {n}' if title == 'auto' else title}</title>")
    if link is not None:
        parts.append(f"<link>{f'https://party.example/story/{n}' if link == 'auto' else link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{f"story-{n}" if guid == "auto" else guid}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if body:
        parts.append(f"<description><![CDATA[{body}]]></description>")
    parts.append(extra)
    parts.append("</item>")
    return "".join(parts)


def run_cycle(tmp_path: Path, server: FeedServer, feeds: dict[str, bytes | tuple[bytes, str]],
              **config: Any) -> Path:  # fmt: skip
    entries = []
    for path, body in feeds.items():
        content_type = "application/rss+xml; charset=utf-8"
        if isinstance(body, tuple):
            body, content_type = body
        url = server.add(path, body, content_type=content_type)
        entries.append(feed_entry(url, f"Party {path.strip('/')}", site="https://party.example/"))
    config.setdefault("fetch", {"timeout": 20, "max_bytes": 10_000_000})
    cfg = write_config(tmp_path, entries, retention_days=365 * 200, max_entries=20_000, **config)
    result = run_cli("fetch", "-q", "-c", cfg)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return tmp_path / "public"


def db_rows(tmp_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(tmp_path / "aggregator.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def atom_entries(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).getroot().findall(f"{ATOM_NS}entry")


URL_ATTRIBUTES = ("href", "src", "cite", "action", "formaction", "data", "poster", "background", "xlink:href")
FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "meta", "base", "link",
                  "svg", "math", "applet", "frame", "frameset", "button", "textarea", "select"}  # fmt: skip


def assert_inert_fragment(fragment: str, where: str) -> None:
    """An HTML fragment, as a browser would parse it, holds nothing that runs or loads."""
    if not fragment.strip():
        return
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag.lower() not in FORBIDDEN_TAGS, (where, el.tag, fragment[:300])
        for name, value in el.attrib.items():
            lname = name.lower()
            assert not lname.startswith("on"), (where, name, fragment[:300])
            assert lname not in ("style", "class", "id", "srcdoc", "formaction"), (where, name)
            if lname in URL_ATTRIBUTES:
                assert value.startswith(("http://", "https://", "mailto:")), (where, name, value)


def assert_no_live_marker(text: str, where: str) -> None:
    """MARK appears nowhere, except as the path of an http(s) URL: a script URL that a parser took
    for a relative one ends up as http://feed-host/javascript:..., which is a dead link, not code."""
    for found in re.finditer(MARK, text):
        value_start = max(text.rfind('"', 0, found.start()), text.rfind("'", 0, found.start())) + 1
        value = text[value_start : found.start()]
        assert value.startswith(("http://", "https://")) and "<" not in value and ">" not in value, (
            f"a payload survived into {where}: ...{text[max(0, found.start() - 150) : found.end() + 50]}..."
        )


def assert_published_outputs_are_inert(tmp_path: Path) -> None:
    """feed.atom, every region feed, index.html and the database columns that get published."""
    public = tmp_path / "public"
    atoms = [public / "feed.atom", *sorted((public / "regions").glob("*.atom"))]
    for path in atoms:
        assert_no_live_marker(path.read_text(encoding="utf-8"), str(path))
        root = etree.fromstring(path.read_bytes())
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            for name in ("href", "src", "uri"):
                if el.get(name) is not None:
                    assert el.get(name).startswith(("http://", "https://")), (path, el.tag, el.get(name))
            if el.tag == f"{ATOM_NS}uri":
                assert (el.text or "").startswith(("http://", "https://")), (path, el.text)
        for entry in root.findall(f"{ATOM_NS}entry"):
            entry_id = entry.findtext(f"{ATOM_NS}id") or ""
            assert not re.match(r"(?i)\s*(javascript|vbscript|data|file):", entry_id), entry_id
            content = entry.find(f"{ATOM_NS}content")
            assert content is not None and content.get("type") == "html"
            assert_inert_fragment(content.text or "", f"{path.name} content")
            for text_el in ("title", "author/{0}name".format(ATOM_NS)):
                value = entry.findtext(f"{ATOM_NS}{text_el}") or ""
                assert "<" not in value or not re.search(r"<[a-zA-Z/!]", value), (path, value)
    html_page = (public / "index.html").read_text(encoding="utf-8")
    assert_no_live_marker(html_page, "index.html")
    doc = lxml.html.document_fromstring(html_page)
    scripts = [el for el in doc.iter("script", "iframe", "object", "embed", "form", "base", "svg")]
    assert scripts == []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            if name.lower() in ("href", "src"):
                assert not re.match(r"(?i)\s*(javascript|vbscript|data):", value), value
    published_columns = db_rows(tmp_path, "SELECT title, link, content_html, summary_html, author FROM entries")
    for row in published_columns:
        for value in row:
            assert_no_live_marker(value or "", "database")
        assert row[1] is None or row[1].startswith(("http://", "https://")), row[1]
        assert_inert_fragment(row[2], "db content_html")
        assert_inert_fragment(row[3], "db summary_html")
    validate_atom(public / "feed.atom")
    validate_atom(public / "regions" / "europe.atom")


# --------------------------------------------------------------------------- injection

# (name, HTML body). Each is served as an item's description: CDATA, so the markup reaches the
# sanitizer exactly as written.
HTML_PAYLOADS = [
    ("script", f"<p>kept</p><script>{MARK}()</script>"),
    ("script-src", f'<script src="https://evil.example/{MARK}.js"></script><p>kept</p>'),
    ("style-element", f"<style>body{{background:url('javascript:{MARK}()')}}</style><p>kept</p>"),
    ("event-handler", f'<p onclick="{MARK}()" onmouseover="{MARK}()">kept</p>'),
    ("img-onerror", f'<img src="https://party.example/x.png" onerror="{MARK}()"><p>kept</p>'),
    ("body-onload", f'<body onload="{MARK}()"><p>kept</p></body>'),
    ("iframe", f'<iframe src="https://evil.example/{MARK}"></iframe><p>kept</p>'),
    ("iframe-srcdoc", f'<iframe srcdoc="&lt;script&gt;{MARK}()&lt;/script&gt;"></iframe><p>kept</p>'),
    ("object", f'<object data="https://evil.example/{MARK}.swf"></object><p>kept</p>'),
    ("embed", f'<embed src="https://evil.example/{MARK}.swf"><p>kept</p>'),
    ("form", f'<form action="https://evil.example/{MARK}"><input name="pw" type="password"></form><p>kept</p>'),
    ("button-formaction", f'<button formaction="javascript:{MARK}()">b</button><p>kept</p>'),
    ("meta-refresh", f'<meta http-equiv="refresh" content="0;url=https://evil.example/{MARK}"><p>kept</p>'),
    ("base", f'<base href="https://evil.example/{MARK}/"><p>kept</p><a href="rel">rel</a>'),
    ("link-stylesheet", f'<link rel="stylesheet" href="https://evil.example/{MARK}.css"><p>kept</p>'),
    ("a-javascript", f'<p>kept</p><a href="javascript:{MARK}()">click</a>'),
    ("a-javascript-case", f'<p>kept</p><a href="JaVaScRiPt:{MARK}()">click</a>'),
    ("a-vbscript", f'<p>kept</p><a href="vbscript:msgbox({MARK})">click</a>'),
    ("a-data", f'<p>kept</p><a href="data:text/html,&lt;script&gt;{MARK}()&lt;/script&gt;">click</a>'),
    ("a-entity-decimal", f'<p>kept</p><a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:{MARK}()">x</a>'),
    ("a-entity-hex-nosemi", f'<p>kept</p><a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A{MARK}()">x</a>'),
    ("a-entity-padded", f'<p>kept</p><a href="&#0000106&#0000097vascript:{MARK}()">x</a>'),
    ("a-tab-newline", f'<p>kept</p><a href="java\tscr\nipt:{MARK}()">x</a>'),
    ("a-leading-space", f'<p>kept</p><a href="  javascript:{MARK}()">x</a>'),
    ("img-javascript", f'<p>kept</p><img src="javascript:{MARK}()">'),
    ("img-data-svg", f'<p>kept</p><img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+{MARK}">'),
    ("img-svg-file", '<p>kept</p><img src="https://party.example/logo.svg" alt="logo">'),
    ("svg-onload", f'<svg onload="{MARK}()"><circle r="1"/></svg><p>kept</p>'),
    ("svg-script", f'<svg><script>{MARK}()</script><a xlink:href="javascript:{MARK}()">x</a></svg><p>kept</p>'),
    ("svg-animate", f'<svg><animate attributeName="href" to="javascript:{MARK}()"/></svg><p>kept</p>'),
    ("math", f'<math><mtext><script>{MARK}()</script></mtext></math><p>kept</p>'),
    ("css-expression", f'<div style="width:expression({MARK}())">kept</div>'),
    ("css-url", f'<p style="background:url(javascript:{MARK}())">kept</p>'),
    ("css-width-expression", f'<img src="https://party.example/a.png" width="expression({MARK}())"><p>kept</p>'),
    ("noscript-mxss", f'<noscript><p title="</noscript><img src=x onerror={MARK}()>"></noscript><p>kept</p>'),
    ("nested-script", f"<<script>script>{MARK}()<</script>/script><p>kept</p>"),
    ("comment", f"<!--<script>{MARK}()</script>--><p>kept</p>"),
    ("template", f"<template><script>{MARK}()</script></template><p>kept</p>"),
    ("blockquote-cite", f'<blockquote cite="javascript:{MARK}()">kept</blockquote>'),
]


def test_html_injection_never_reaches_any_output(tmp_path: Path, feed_server: FeedServer) -> None:
    items = [item(f"html-{name}", body, title=f"Payload {name}") for name, body in HTML_PAYLOADS]
    run_cycle(tmp_path, feed_server, {"/html.xml": rss(items)})

    # Sanitized, not dropped: every hostile item is still a story, with its harmless text.
    assert db_rows(tmp_path, "SELECT count(*) FROM stories")[0][0] == len(HTML_PAYLOADS)
    contents = {k: c for k, c in db_rows(tmp_path, "SELECT key, content_html FROM entries")}
    for name, _ in HTML_PAYLOADS:
        if name != "img-svg-file":
            assert "kept" in contents[f"story-html-{name}"] or "click" in contents[f"story-html-{name}"], name
    # A plain <img> of an .svg file is an image, not a document: browsers run no script in it.
    assert 'src="https://party.example/logo.svg"' in contents["story-html-img-svg-file"]
    # The relative link was resolved against the feed's own URL, not against the injected <base>.
    assert f'href="{feed_server.url("/rel")}"' in contents["story-html-base"]
    assert_published_outputs_are_inert(tmp_path)


BAD_URLS = [
    f"javascript:{MARK}()",
    f"JAVASCRIPT:{MARK}()",
    f"vbscript:msgbox({MARK})",
    f"data:text/html;base64,{MARK}",
    f"&#106;avascript:{MARK}()",  # entity-obfuscated: the XML parser decodes it to javascript:
    f"&#x6A;&#x61;vascript:{MARK}()",
    f"java&#x09;script:{MARK}()",
    f" \t javascript:{MARK}()",
    f"file:///etc/passwd?{MARK}",
]


def test_bad_urls_in_every_rss_url_place_are_dropped(tmp_path: Path, feed_server: FeedServer) -> None:
    items = []
    for i, bad in enumerate(BAD_URLS):
        # item link; guid as permalink; enclosure; <source url>; comments; a and img in content
        items.append(item(f"link-{i}", "<p>kept</p>", link=bad, title=f"Bad link {i}"))
        items.append(
            f'<item><title>Bad permalink {i}</title><guid isPermaLink="true">{bad}#{i}</guid>'
            f"<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>kept</description></item>"
        )
        items.append(item(f"encl-{i}", "<p>kept</p>", title=f"Bad enclosure {i}",
                          extra=f'<enclosure url="{bad}" length="1" type="audio/mpeg"/>'
                                f'<source url="{bad}">Source {MARK}</source>'  # noqa: ISC003
                                f"<comments>{bad}</comments>"))  # fmt: skip
        body = f'<p>kept</p><a href="{bad}">a</a><img src="{bad}">'
        items.append(item(f"body-{i}", body, title=f"Bad body {i}"))
    channel = f"<image><url>{BAD_URLS[0]}</url><title>x</title><link>{BAD_URLS[1]}</link></image>"
    # The channel link itself is hostile too (it becomes feed_link in the database).
    document = rss(items, channel_extra=channel).replace(
        b"<link>https://party.example/</link>", f"<link>{BAD_URLS[0]}</link>".encode()
    )
    run_cycle(tmp_path, feed_server, {"/urls.xml": document})

    links = dict(db_rows(tmp_path, "SELECT title, link FROM entries"))
    assert len(links) == 4 * len(BAD_URLS)  # all kept: sanitized, not dropped
    for i in range(len(BAD_URLS)):
        assert links[f"Bad link {i}"] is None and links[f"Bad permalink {i}"] is None
        # A hostile enclosure, <source> or body link costs nothing but itself.
        assert links[f"Bad enclosure {i}"] == f"https://party.example/story/encl-{i}"
        assert links[f"Bad body {i}"] == f"https://party.example/story/body-{i}"
    assert db_rows(tmp_path, "SELECT feed_link FROM feeds") == [(None,)]
    # The source link published in atom:source is the configured site, never the channel's.
    for entry in atom_entries(tmp_path / "public" / "feed.atom"):
        if entry.findtext(f"{ATOM_NS}title").startswith(("Bad link", "Bad permalink")):
            assert entry.find(f"{ATOM_NS}link") is None  # no alternate link rather than a bad one
        source_links = {l.get("rel"): l.get("href") for l in entry.findall(f"{ATOM_NS}source/{ATOM_NS}link")}
        assert source_links["alternate"] == "https://party.example/"
    assert_published_outputs_are_inert(tmp_path)


def test_hostile_guids_never_become_atom_ids(tmp_path: Path, feed_server: FeedServer) -> None:
    # A guid is published as the story's atom:id when it is an IRI; a script URL is not one we
    # republish, even though it is syntactically an IRI: some readers open an id as a link.
    items = [
        item("g1", "<p>one</p>", guid=f"javascript:{MARK}()", link=None, title="Guid one"),
        item("g2", "<p>two</p>", guid=f"data:text/html,{MARK}", title="Guid two"),
        item("g3", "<p>three</p>", guid=f"vbscript:{MARK}", title="Guid three"),
        item("g4", "<p>four</p>", guid="tag:party.example,2026:4", title="Guid four"),
    ]
    run_cycle(tmp_path, feed_server, {"/guids.xml": rss(items)})

    ids = sorted(e.findtext(f"{ATOM_NS}id") for e in atom_entries(tmp_path / "public" / "feed.atom"))
    assert len(ids) == 4
    assert "tag:party.example,2026:4" in ids  # a good IRI is still kept as the id
    assert sum(i.startswith("urn:aggregator:entry:") for i in ids) == 3
    assert_published_outputs_are_inert(tmp_path)


def test_titles_authors_and_categories_escaped_many_times_carry_no_markup(tmp_path: Path, feed_server: FeedServer) -> None:
    """A title escaped two or three times decodes, step by step, into a tag; the published
    type="text" title must hold the words only, not a tag in any spelling."""
    payloads = [
        f"&amp;lt;img src=x onerror={MARK}(1)&amp;gt;",
        f"&amp;amp;lt;img src=x onerror={MARK}(1)&amp;amp;gt;",
        f"&amp;amp;#60;img src=x onerror={MARK}(1)&amp;amp;#62;",
        f"&amp;amp;amp;lt;script&amp;amp;amp;gt;{MARK}&amp;amp;amp;lt;/script&amp;amp;amp;gt;",
    ]
    items = [
        item(n, "<p>body</p>", title=f"{p}Story {n}",
             extra=f"<author>{p}Ann</author><category>{p}Politics</category>")  # fmt: skip
        for n, p in enumerate(payloads)
    ]
    run_cycle(tmp_path, feed_server, {"/escaped.xml": rss(items)})

    entries = atom_entries(tmp_path / "public" / "feed.atom")
    assert sorted(e.findtext(f"{ATOM_NS}title") or "" for e in entries) == [f"Story {n}" for n in range(4)]
    for entry in entries:
        assert {c.get("term") for c in entry.findall(f"{ATOM_NS}category")} >= {"Politics"}
        names = [a.findtext(f"{ATOM_NS}name") for a in entry.findall(f"{ATOM_NS}author")]
        assert all(n is not None and "<" not in n and MARK not in n for n in names)
    text = (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8")
    assert MARK not in text and "onerror" not in text
    assert_published_outputs_are_inert(tmp_path)


def atom_doc(entries: list[str], feed_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
        "<title>Hostile Atom</title><id>tag:party.example,2026:feed</id><updated>2026-11-02T10:00:00Z</updated>"
        f"{feed_extra}" + "".join(entries) + "</feed>"
    ).encode("utf-8")


def test_atom_feed_links_content_types_and_xml_base(tmp_path: Path, feed_server: FeedServer) -> None:
    entries = []
    for i, bad in enumerate(BAD_URLS):
        entries.append(
            f"<entry><id>tag:party.example,2026:a{i}</id><title>Atom bad link {i}</title>"
            f"<updated>2026-11-02T10:00:00Z</updated>"
            f'<link rel="alternate" href="{bad}"/><link rel="enclosure" href="{bad}"/>'
            f'<link rel="related" href="{bad}"/><summary>kept</summary></entry>'
        )
    payload = f'&lt;p&gt;kept&lt;/p&gt;&lt;script&gt;{MARK}()&lt;/script&gt;&lt;img src=x onerror={MARK}()&gt;'
    entries += [
        # escaped HTML content
        f'<entry><id>tag:party.example,2026:h</id><title type="html">&lt;b&gt;Bold&lt;/b&gt;&lt;script&gt;{MARK}()&lt;/script&gt;</title>'
        f'<updated>2026-11-02T10:00:00Z</updated><content type="html">{payload}</content></entry>',
        # inline XHTML content
        f'<entry><id>tag:party.example,2026:x</id><title>XHTML</title><updated>2026-11-02T10:00:00Z</updated>'
        f'<content type="xhtml"><xhtml:div><xhtml:p onclick="{MARK}()">kept</xhtml:p>'
        f'<xhtml:script>{MARK}()</xhtml:script><xhtml:a href="javascript:{MARK}()">x</xhtml:a></xhtml:div></content></entry>',
        # xml:base pointing at a script URL: relative links must not resolve into it
        f'<entry xml:base="javascript:{MARK}()/"><id>tag:party.example,2026:b</id><title>Base</title>'
        f'<updated>2026-11-02T10:00:00Z</updated><link href="story"/>'
        f'<content type="html">&lt;p&gt;kept&lt;/p&gt;&lt;a href="rel"&gt;rel&lt;/a&gt;</content></entry>',
        # an Atom entry's <source> with hostile links
        f'<entry><id>tag:party.example,2026:s</id><title>Source</title><updated>2026-11-02T10:00:00Z</updated>'
        f'<source><id>x</id><title>Evil</title><link rel="alternate" href="javascript:{MARK}()"/></source>'
        f'<summary>kept</summary><author><name>&lt;script&gt;{MARK}()&lt;/script&gt;Ann</name>'
        f'<uri>javascript:{MARK}()</uri></author></entry>',
    ]
    feed_extra = f'<link rel="alternate" href="javascript:{MARK}()"/><icon>javascript:{MARK}()</icon>'
    run_cycle(tmp_path, feed_server, {"/hostile.atom": (atom_doc(entries, feed_extra), "application/atom+xml")})

    rows = dict(db_rows(tmp_path, "SELECT original_id, link FROM entries"))
    assert len(rows) == len(BAD_URLS) + 4
    assert all(rows[f"tag:party.example,2026:a{i}"] is None for i in range(len(BAD_URLS)))
    titles = dict(db_rows(tmp_path, "SELECT original_id, title FROM entries"))
    assert titles["tag:party.example,2026:h"] == "Bold"
    assert_published_outputs_are_inert(tmp_path)


# --------------------------------------------------------------------------- weird entries


def test_entries_without_id_link_or_title_and_duplicate_ids(tmp_path: Path, feed_server: FeedServer) -> None:
    items = [
        item("noid", "<p>no id here</p>", guid=None),
        item("nolink", "<p>no link here</p>", link=None),
        item("notitle", "<p>The opening words of an untitled story.</p>", title=None),
        item("nothing", "<p>Nothing but a body.</p>", guid=None, link=None, title=None),
        item("empty", "", guid=None, link=None, title=None, date=None),  # truly empty
        item("dup", "<p>first copy of dup</p>", title="Dup first"),
        item("dup", "<p>second copy of dup</p>", title="Dup second"),
        item("dup", "<p>third copy of dup</p>", title="Dup third"),
    ]
    public = run_cycle(tmp_path, feed_server, {"/weird.xml": rss(items)})

    rows = db_rows(tmp_path, "SELECT key, key_source, title FROM entries ORDER BY id")
    by_key = {k: (src, t) for k, src, t in rows}
    assert by_key["https://party.example/story/noid"] == ("link", "Story noid")
    assert by_key["story-nolink"] == ("id", "Story nolink")
    assert by_key["story-notitle"][1] == "The opening words of an untitled story."
    assert by_key["story-dup"][1] == "Dup first"  # the first of three copies with one id
    hashed = [r for r in rows if r[1] == "hash"]
    # The truly empty item (no title, link or text) is no story: it is not stored or published.
    assert {t for _, _, t in hashed} == {"Nothing but a body."}
    assert len(rows) == 5
    assert db_rows(tmp_path, "SELECT count(*) FROM entries GROUP BY feed_url, key HAVING count(*) > 1") == []

    entries = atom_entries(public / "feed.atom")
    assert len(entries) == 5
    assert all(e.findtext(f"{ATOM_NS}title") for e in entries)  # never an empty title
    assert len({e.findtext(f"{ATOM_NS}id") for e in entries}) == 5  # ids unique in the output
    validate_atom(public / "feed.atom")

    # The same document again: nothing is new, nothing duplicated.
    before = db_rows(tmp_path, "SELECT count(*) FROM entries")
    assert run_cli("fetch", "--all", "-q", "-c", tmp_path / "feeds.yaml").code == 0
    assert db_rows(tmp_path, "SELECT count(*) FROM entries") == before


def test_ten_thousand_entries_are_capped_quickly(tmp_path: Path, feed_server: FeedServer) -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    items = [
        item(i, f"<p>Body of story number {i} with some words.</p>",
             date=(base + dt.timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S GMT"))
        for i in range(10_000)
    ]  # fmt: skip
    body = rss(items)
    started = time.monotonic()
    public = run_cycle(tmp_path, feed_server, {"/huge.xml": body})
    elapsed = time.monotonic() - started

    keys = {k for (k,) in db_rows(tmp_path, "SELECT key FROM entries")}
    assert len(keys) == MAX_ENTRIES
    assert keys == {f"story-{i}" for i in range(10_000 - MAX_ENTRIES, 10_000)}  # the newest are kept
    assert elapsed < 60, f"a 10,000-entry feed took {elapsed:.1f} s"
    assert len(atom_entries(public / "feed.atom")) == MAX_ENTRIES
    validate_atom(public / "feed.atom")


def test_megabyte_title_and_author_are_bounded(tmp_path: Path, feed_server: FeedServer) -> None:
    huge = "Révolution " * 100_000  # 1.1 MB
    items = [
        item("big", f"<p>{'word ' * 200_000}</p>", title=huge,
             extra=f"<author>{'a' * 1_000_000}@example.org</author><category>{'c' * 500_000}</category>"),
        item("small", "<p>small</p>"),
    ]  # fmt: skip
    public = run_cycle(tmp_path, feed_server, {"/big.xml": rss(items)})

    title, content = db_rows(tmp_path, "SELECT title, content_html FROM entries WHERE key = 'story-big'")[0]
    assert len(title) <= MAX_TITLE_CHARS and title.startswith("Révolution Révolution") and title.endswith("…")
    assert len(content) <= 200_100
    assert (public / "feed.atom").stat().st_size < 1_000_000
    validate_atom(public / "feed.atom")


NOW_TOLERANCE = dt.timedelta(minutes=10)


def test_dates_far_future_ancient_missing_and_odd_offsets(tmp_path: Path, feed_server: FeedServer) -> None:
    dates = {
        "future": "Fri, 01 Jan 2999 00:00:00 GMT",
        "near-future": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        ),
        "pre-1970": "Thu, 01 Jan 1953 12:00:00 GMT",
        "missing": None,
        "garbage": "the day after tomorrow",
        "impossible": "Wed, 31 Feb 2026 25:61:61 GMT",
        "plus14": "Mon, 02 Nov 2026 10:00:00 +1400",
        "minus12": "Mon, 02 Nov 2026 10:00:00 -1200",
        "plus0545": "Mon, 02 Nov 2026 10:00:00 +0545",
        "old-normal": "Mon, 02 Nov 2020 10:00:00 GMT",
    }
    items = [item(name, f"<p>Dated {name}.</p>", date=date) for name, date in dates.items()]
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    public = run_cycle(tmp_path, feed_server, {"/dates.xml": rss(items)})
    finished = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)

    published = {
        k.removeprefix("story-"): dt.datetime.fromisoformat(p)
        for k, p in db_rows(tmp_path, "SELECT key, published FROM entries")
    }
    assert set(published) == set(dates)
    # Future dates are clamped to the first time we saw the entry: they cannot pin the top.
    for name in ("future", "near-future", "missing", "garbage"):
        assert started - dt.timedelta(seconds=1) <= published[name] <= finished, (name, published[name])
    # Offsets are converted, not dropped.
    assert published["plus14"] == dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.timezone.utc)
    assert published["minus12"] == dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.timezone.utc)
    assert published["plus0545"] == dt.datetime(2026, 11, 2, 4, 15, tzinfo=dt.timezone.utc)
    assert published["pre-1970"].year == 1953
    assert published["old-normal"] == dt.datetime(2020, 11, 2, 10, 0, tzinfo=dt.timezone.utc)

    entries = atom_entries(public / "feed.atom")
    times = {e.findtext(f"{ATOM_NS}title"): e.findtext(f"{ATOM_NS}published") for e in entries}
    assert all(not t.startswith("2999") for t in times.values())
    # Atom dates must be RFC 3339 with a four-digit year; nothing before 1970 is ever written.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)", t) for t in times.values())
    assert min(times.values()) >= "1970-01-01"
    # The far-future story is not on top of the feed: a story published after the cycle is.
    newest_order = [e.findtext(f"{ATOM_NS}title") for e in entries]
    assert newest_order.index("Story future") > 0 or published["future"] <= published["missing"]
    validate_atom(public / "feed.atom")

    # A later story really does go above the far-future one.
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    time.sleep(2.1)
    items.append(item("later", "<p>Published after the first cycle.</p>",
                      date=later.strftime("%a, %d %b %Y %H:%M:%S GMT")))  # fmt: skip
    feed_server.add("/dates.xml", rss(items))
    assert run_cli("fetch", "--all", "-q", "-c", tmp_path / "feeds.yaml").code == 0
    first = atom_entries(public / "feed.atom")[0]
    assert first.findtext(f"{ATOM_NS}title") == "Story later"
    validate_atom(public / "feed.atom")
