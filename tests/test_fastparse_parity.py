"""The lxml fast path (aggregator/fastparse.py) gives exactly what feedparser gives, and declines the rest.

Parity: every file of the shared corpus, the demo feeds and tests/data/feeds goes through
parse_feed twice, once as it runs (fast path first) and once with the fast path switched off;
for every file the fast path accepts, the two ParsedFeeds must be equal field by field (every
entry's key, key source, original id, link, title, content and summary HTML, author, categories,
dates and language; the feed's title, site link, id, language, ttl, update interval, warning).
A difference fails the test unless ALLOWED_DIFFERENCES lists the file with its reason, so a new
file the fast path misreads fails it. `python tests/test_fastparse_parity.py` writes docs/parity.md.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from aggregator import fastparse
from aggregator import parse as parse_module
from aggregator.models import ParseError
from aggregator.parse import parse_feed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_files import CORPUS, REPO  # noqa: E402

URL = "https://example.org/feed/"
_NOT_TEST_FILES = {"MANIFEST.tsv", "NOTICE.md", "LICENSE.txt", "README.md", "demo.yaml"}
# The HTTP headers each file is tried with. The second set exercises charset and Content-Language
# handling; it runs on the project's own feeds only (the corpus is 4,000 files).
PLAIN: dict[str, str] = {}
SERVED = {"Content-Type": "application/rss+xml; charset=UTF-8", "Content-Language": "en_GB"}

# File (relative to its source folder, prefixed "corpus/", "demo/" or "data/") -> why the two
# paths may differ on it. Each entry needs its reason; the test fails on stale entries too.
ALLOWED_DIFFERENCES: dict[str, str] = {
    # (none: every accepted file currently gives identical results)
}

FIELDS = [f.name for f in dataclasses.fields(parse_module.ParsedFeed) if f.name != "entries"] + [
    "entries." + f.name for f in dataclasses.fields(parse_module.ParsedEntry)
]


def _sources() -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for prefix, folder in (("corpus", CORPUS), ("demo", REPO / "aggregator" / "demo_feeds"), ("data", REPO / "tests" / "data" / "feeds")):
        if folder.is_dir():
            found += [(f"{prefix}/{p.relative_to(folder).as_posix()}", p) for p in sorted(folder.rglob("*"))
                      if p.is_file() and p.name not in _NOT_TEST_FILES]  # fmt: skip
    return found


SOURCES = _sources()
GROUPS = sorted({name.split("/")[0] if not name.startswith("corpus/") else "/".join(name.split("/")[:2]) for name, _ in SOURCES})


def _normalised(body: bytes, headers: Mapping[str, str], fast: bool) -> Any:
    try:
        if fast:
            feed = parse_feed(body, headers, URL)
        else:
            with mock.patch.object(fastparse, "parse", lambda *args: None):
                feed = parse_feed(body, headers, URL)
    except ParseError as exc:
        return ("ParseError", str(exc), exc.suggested_feed_url)
    return dataclasses.asdict(feed)


def decline_reason(body: bytes, headers: Mapping[str, str]) -> str | None:
    """What the fast path says about this body, prepared exactly as parse_feed prepares it."""
    try:
        prepared = parse_module.prepare_bytes(body)
        prepared, fp_headers = parse_module.repair_encoding(prepared, parse_module._feedparser_headers(headers, URL))
    except ParseError as exc:
        return f"rejected before parsing: {exc}"
    return fastparse.decline_reason(prepared, fp_headers, body)


def differences(a: Any, b: Any) -> list[str]:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return [] if a == b else [f"outcome: {a!r:.200} != {b!r:.200}"]
    found = [f"{k}: {a[k]!r:.200} != {b[k]!r:.200}" for k in a if k != "entries" and a[k] != b[k]]
    if len(a["entries"]) != len(b["entries"]):
        return found + [f"entry count {len(a['entries'])} != {len(b['entries'])}"]
    for i, (ea, eb) in enumerate(zip(a["entries"], b["entries"], strict=True)):
        found += [f"entries[{i}].{k}: {ea[k]!r:.200} != {eb[k]!r:.200}" for k in ea if ea[k] != eb[k]]
    return found


@dataclasses.dataclass
class Outcome:
    name: str
    headers: str
    reason: str | None  # why the fast path declined; None: accepted and compared
    diffs: list[str]


def compare(name: str, path: Path) -> Iterator[Outcome]:
    body = path.read_bytes()
    header_sets = [("plain", PLAIN)] + ([] if name.startswith("corpus/") else [("served", SERVED)])
    for label, headers in header_sets:
        reason = decline_reason(body, headers)
        diffs = differences(_normalised(body, headers, True), _normalised(body, headers, False)) if reason is None else []
        yield Outcome(name, label, reason, diffs)


def _in_group(name: str, group: str) -> bool:
    return name == group or name.startswith(group + "/")


@pytest.mark.parametrize("group", GROUPS)
def test_fast_path_matches_feedparser(group: str) -> None:
    outcomes = [o for name, path in SOURCES if _in_group(name, group) for o in compare(name, path)]
    accepted = [o for o in outcomes if o.reason is None]
    unexpected = [f"{o.name} ({o.headers}): {'; '.join(o.diffs[:3])}" for o in accepted if o.diffs and o.name not in ALLOWED_DIFFERENCES]
    stale = sorted({o.name for o in accepted if not o.diffs and o.name in ALLOWED_DIFFERENCES})
    assert not unexpected, f"{len(unexpected)} accepted files read differently:\n" + "\n".join(unexpected[:30])
    assert not stale, f"ALLOWED_DIFFERENCES entries that no longer differ: {stale}"


def test_every_source_is_present_and_the_fast_path_takes_the_projects_feeds() -> None:
    assert len([n for n, _ in SOURCES if n.startswith("corpus/")]) > 4000, f"corpus missing at {CORPUS}"
    own = [(name, o) for name, path in SOURCES if not name.startswith("corpus/") for o in compare(name, path)]
    declined = sorted(f"{name} ({o.headers})" for name, o in own if o.reason is not None)
    # What feedparser must read: an HTML page, a latin-1 feed whose header lies, and a windows-1252
    # feed served as UTF-8 (feedparser falls back to windows-1252 and warns).
    assert declined == [
        "data/html_page.html (plain)", "data/html_page.html (served)",
        "data/latin1_http_charset.xml (plain)", "data/latin1_http_charset.xml (served)",
        "data/windows1252.xml (served)",
    ], declined  # fmt: skip


def test_allow_list_reasons_are_given() -> None:
    assert all(reason.strip() for reason in ALLOWED_DIFFERENCES.values())


# --------------------------------------------------------------------------- one test per decline reason

_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"%(ns)s><channel><title>T</title><link>https://example.org/</link>
<item><title>One</title><link>https://example.org/1</link><guid>https://example.org/1</guid>%(item)s</item>
</channel></rss>"""


def _rss(item: bytes = b"", ns: bytes = b"") -> bytes:
    return _RSS % {b"item": item, b"ns": ns}


def _reason(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    prepared, fp_headers = parse_module.repair_encoding(body, parse_module._feedparser_headers(headers or {}, URL))
    return fastparse.decline_reason(prepared, fp_headers, body)


def test_accepts_plain_rss() -> None:
    assert _reason(_rss()) is None


def test_accepts_rss_with_content_dc_and_wordpress_extensions() -> None:
    item = (b'<content:encoded><![CDATA[<p>Full</p>]]></content:encoded><dc:creator>A</dc:creator>'
            b'<post-id xmlns="com-wordpress:feed-additions:1">7</post-id>')  # fmt: skip
    ns = b' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    assert _reason(_rss(item, ns)) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'<?xml version="1.0"?>\n<!DOCTYPE rss>\n' + _rss().split(b"?>", 1)[1], "a DOCTYPE", id="doctype"),
        pytest.param(b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel><item><title>&e;</title></item></channel></rss>', "a DOCTYPE", id="entity-declaration"),
        pytest.param(_rss().replace(b"</channel>", b""), "not well-formed", id="ill-formed"),
        pytest.param(b"Deprecated: " * 1000, "not markup", id="not-markup"),
        pytest.param(_rss(b"<title>&nbsp;</title>"), "not well-formed", id="undefined-entity"),
        pytest.param(_rss().replace(b'version="2.0"', b'version="0.91"'), "RSS version", id="rss-0.91"),
        pytest.param(_rss().replace(b'version="2.0"', b""), "RSS version", id="rss-without-version"),
        pytest.param(b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title><entry><title>x</title></entry></feed>', "root element", id="atom-0.3"),
        pytest.param(b"<html><head><title>x</title></head><body></body></html>", "root element", id="html-page"),
        pytest.param(_rss(b"<itunes:summary>1</itunes:summary>", b' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'), "unhandled element", id="itunes"),
        pytest.param(_rss(b'<media:title>x</media:title>', b' xmlns:media="http://search.yahoo.com/mrss/"'), "unhandled element", id="media-title"),
        pytest.param(_rss(b"<source url='https://a.example/'>A</source>"), "unhandled element", id="source"),
        pytest.param(_rss(b'<title xmlns="urn:other">x</title>'), "unknown namespace", id="unknown-namespace-on-a-handled-name"),
        pytest.param(_rss(b"<description>a <b>b</b></description>"), "child elements", id="markup-not-escaped"),
        pytest.param(_rss(b"<title>Two</title>"), "two title", id="two-titles"),
        pytest.param(_rss(b"<description>a</description><description>b</description>"), "two summary", id="two-descriptions"),
        pytest.param(_rss().replace(b"<item>", b"<item><image><url>x</url></image>"), "unhandled element", id="image-in-item"),
        pytest.param(b'<rss version="2.0"><channel><title>T</title></channel></rss>', "no entries", id="no-entries"),
        pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>', "content type", id="atom-xhtml"),
        pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="image/png">AAAA</content></entry></feed>', "content type", id="atom-base64"),
        pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content src="https://a.example/x"/></entry></feed>', "unexpected attributes", id="atom-content-src"),
        pytest.param(_rss(ns=b' xmlns:x="http://www.w3.org/1999/xlink"'), "xlink", id="xlink"),
        pytest.param(_rss().replace(b"<channel>", b'<channel href="https://a.example/">'), "CDF", id="cdf-attributes"),
        pytest.param(b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"><item><title>x</title></item></rdf:RDF>', "RDF", id="rss-0.90"),
    ],
)
def test_declines(body: bytes, expected: str) -> None:
    reason = _reason(body)
    assert reason is not None and expected in reason, reason


def test_wordpress_com_media_content_after_the_title_is_accepted_and_matches() -> None:
    ns = b' xmlns:media="http://search.yahoo.com/mrss/"'
    gravatar = b'<media:content url="https://gravatar.example/a" medium="image"><media:title type="html">author</media:title></media:content>'
    body = _rss(gravatar, ns)
    assert _reason(body) is None
    assert _normalised(body, PLAIN, True) == _normalised(body, PLAIN, False)
    assert parse_feed(body, {}, URL).entries[0].title == "One"
    before = body.replace(b"<item><title>One</title>", b"<item>" + gravatar + b"<title>One</title>").replace(gravatar + b"</item>", b"</item>")
    assert "media:title before" in (_reason(before) or "")


def test_declines_encoding_trouble() -> None:
    # Declared UTF-8 but not UTF-8 at all (and too few UTF-8 sequences for repair_encoding to act):
    # feedparser falls back to windows-1252 and says so; that is its call to make.
    body = _rss(b"<description>caf\xe9 na\xefve \xe0 la</description>")
    assert _reason(body, {"Content-Type": "application/xml; charset=utf-8"}) == "encoding trouble"


def test_parse_feed_uses_the_fast_path_and_falls_back_on_decline() -> None:
    with mock.patch("feedparser.parse", side_effect=AssertionError("feedparser was called")):
        assert parse_feed(_rss(), {}, URL).entries[0].title == "One"
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE rss>\n' + _rss().split(b"?>", 1)[1]
    calls = Counter[str]()
    real = parse_module.feedparser.parse

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["feedparser"] += 1
        return real(*args, **kwargs)

    with mock.patch("feedparser.parse", side_effect=counting):
        assert parse_feed(doctype, {}, URL).entries[0].title == "One"
    assert calls["feedparser"] == 1


def test_an_internal_error_is_a_decline() -> None:
    with mock.patch.object(fastparse, "_parse", side_effect=RuntimeError("bug")):
        assert fastparse.parse(_rss(), {}, _rss()) is None
        assert parse_feed(_rss(), {}, URL).entries[0].title == "One"


# --------------------------------------------------------------------------- the report


def write_report(path: Path) -> str:
    outcomes = [o for name, p in SOURCES for o in compare(name, p)]
    accepted = [o for o in outcomes if o.reason is None]
    reasons = Counter(o.reason.split(": ")[0][:90] for o in outcomes if o.reason is not None)
    by_group: Counter[str] = Counter()
    accepted_by_group: Counter[str] = Counter()
    for o in outcomes:
        group = "/".join(o.name.split("/")[:2]) if o.name.startswith("corpus/") else o.name.split("/")[0]
        by_group[f"{group} ({o.headers} headers)"] += 1
        if o.reason is None:
            accepted_by_group[f"{group} ({o.headers} headers)"] += 1
    differing = [o for o in accepted if o.diffs]
    lines = [
        "# Fast-path parity report",
        "",
        "Generated by `python tests/test_fastparse_parity.py` (the same comparison `tests/test_fastparse_parity.py` runs).",
        "Each file goes through `parse_feed` twice: as it runs (lxml fast path first, `aggregator/fastparse.py`) and",
        "with the fast path switched off (feedparser only). Where the fast path accepts a file, the two `ParsedFeed`s",
        "are compared field by field, exactly (no normalisation beyond `dataclasses.asdict`).",
        "",
        f"- Files compared: {len({o.name for o in outcomes})} ({len(outcomes)} file/header combinations:"
        " corpus files with no headers; demo and test feeds also with `Content-Type: application/rss+xml; charset=UTF-8`"
        " and `Content-Language: en_GB`)",
        f"- Accepted by the fast path: {len(accepted)} combinations ({len({o.name for o in accepted})} files)",
        f"- Differences: {len(differing)}" + (" (all listed in ALLOWED_DIFFERENCES with reasons)" if differing else ""),
        "",
        "Fields compared: " + ", ".join(f"`{f}`" for f in FIELDS) + ".",
        "",
        "## Accepted per source",
        "",
        "| source | combinations | accepted |",
        "|---|---:|---:|",
        *(f"| {g} | {n} | {accepted_by_group[g]} |" for g, n in sorted(by_group.items())),
        "",
        "## Differences",
        "",
        *([f"- `{o.name}` ({o.headers}): {ALLOWED_DIFFERENCES.get(o.name, 'NOT ALLOWED')}: {'; '.join(o.diffs[:2])}" for o in differing] or ["None."]),
        "",
        "## Why the fast path declined the others (feedparser read them)",
        "",
        "| reason | combinations |",
        "|---|---:|",
        *(f"| {r.replace('|', '/')} | {n} |" for r, n in reasons.most_common()),
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    print(write_report(REPO / "docs" / "parity.md"))


# --------------------------------------------------------------------------- the HTML shortcut

_BASE = "https://example.org/2026/12/post/"


def _through_feedparser(html_text: str) -> str:
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import resolve_relative_uris

    html_text = html_text.strip()  # as feedparser's pop() and the fast path's value() both do first
    resolved = resolve_relative_uris(html_text, _BASE, "utf-8", "text/html")
    return parse_module.clean_html(parse_module.strip_feed_boilerplate(_sanitize_html(resolved, "utf-8", "text/html")), base_url=_BASE)


def _through_shortcut(html_text: str) -> str | None:
    simple = fastparse._simple_html(html_text.strip(), _BASE)
    if simple is None:
        return None
    return parse_module.clean_html(parse_module.strip_feed_boilerplate(simple), base_url=_BASE)


SIMPLE_SNIPPETS = [
    "<p>Plain paragraph.</p>",
    '<p><img src="https://example.org/a.jpg" alt="A &amp; B" width="800" height="450" class="wp-image-1" /></p>',
    '<p><a href="https://example.org/x?a=1&amp;b=2" title="t" target="_blank">link</a> &amp; more &#8211; &nbsp; &eacute;</p>',
    '<figure class="wp-block-image"><img src="/wp-content/uploads/x.jpg" alt=""><figcaption>Cap</figcaption></figure>',
    '<a href="../other/">up</a> <a href="page.html#frag">rel</a> <a href="//cdn.example.net/x">proto</a>',
    '<blockquote cite="https://example.org/q"><p>quote</p></blockquote><q cite="/q2">q</q>',
    "<ul><li>one</li><li>two<br>three</li></ul><ol start=\"3\"><li value=\"5\">x</li></ol>",
    '<table><tr><td colspan="2">a</td></tr></table><p>text with a > sign</p>',
    '<p style="color:red" id="x" lang="en">styled</p><span class="a" dir="rtl">rtl</span>',
    '<p>The post <a href="https://example.org/p/">P</a> appeared first on <a href="https://example.org">Site</a>.</p>',
    "<h2>Head</h2><pre>  code\n  block</pre><code>x &lt; y</code>",
    '<p><a title="z" href="https://example.org/">sorted later</a><img width="1" src="https://example.org/i.png" alt="i"></p>',
    "<div><p>unclosed<p>second</div>",
    "<p><b><i>misnested</b></i></p>",
    "  leading and trailing whitespace  \r\n<p>crlf\r\nline</p>  ",
]
NOT_SIMPLE_SNIPPETS = [
    "<p>x<!-- comment --></p>",
    "<script>alert(1)</script>",
    "<iframe src='https://example.org/'>fallback</iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="">empty</a>',
    '<a href="https://example.org/a b">space</a>',
    "<p>bare & ampersand</p>",
    "<p>&unknownentity;</p>",
    "<p>&#150; C1 reference</p>",
    "<br/></br>",
    "<p/>",
    '<img src="https://example.org/i.png" src="https://example.org/j.png">',
    "<input checked>",
    "<mark>not kept by feedparser</mark>",
    "<svg><circle/></svg>",
    '<p onclick="x()">handler</p>',
    "<![CDATA[x]]>",
    "<p>unterminated <b",
]


@pytest.mark.parametrize("snippet", SIMPLE_SNIPPETS)
def test_shortcut_html_gives_what_feedparsers_passes_give(snippet: str) -> None:
    shortcut = _through_shortcut(snippet)
    assert shortcut is not None, "expected this snippet inside the shortcut's subset"
    assert shortcut == _through_feedparser(snippet)


@pytest.mark.parametrize("snippet", NOT_SIMPLE_SNIPPETS)
def test_shortcut_declines_html_outside_its_subset(snippet: str) -> None:
    assert fastparse._simple_html(snippet, _BASE) is None


def test_shortcut_equivalence_on_generated_html() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    urls = st.sampled_from(["https://example.org/a", "/b/c", "d.html", "../e/", "https://example.org/f?x=1&amp;y=2", "//cdn.example.net/g", "h#i"])
    texts = st.sampled_from(["text", " spaced ", "a &amp; b", "&eacute;t&eacute;", "&#8217;", "x > y", "\n", "appeared first on", "The post "])
    attributes = st.sampled_from(["TITLE='it''s'", 'ALT="A"', "title='q'", 'title="t"', 'alt="a"', 'class="c"', 'width="10"', 'height="20"', 'id="i"', 'style="x"', 'colspan="2"'])
    tags = st.sampled_from(["p", "div", "span", "a", "b", "i", "em", "strong", "ul", "li", "ol", "blockquote", "table", "tr", "td", "h2", "pre", "figure", "figcaption", "section", "font", "P", "Em", "q", "sub", "sup", "dl", "dt", "dd", "abbr", "center"])

    @st.composite
    def fragments(draw: Any) -> str:
        out = []
        for _ in range(draw(st.integers(1, 12))):
            kind = draw(st.integers(0, 5))
            if kind == 0:
                out.append(draw(texts))
            elif kind == 1:
                out.append(f'<img src="{draw(urls)}" ' + " ".join(draw(st.lists(attributes, max_size=3, unique=True))) + ">")
            elif kind == 2:
                out.append("<br>")
            elif kind == 3:
                out.append(f"</{draw(tags)}>")
            else:
                tag = draw(tags)
                extra = draw(st.lists(attributes, max_size=3, unique=True))
                if tag in ("a", "blockquote"):
                    extra.append(f'{"href" if tag == "a" else "cite"}="{draw(urls)}"')
                out.append(f"<{tag}" + "".join(" " + a for a in draw(st.permutations(extra))) + ">")
        return "".join(out)

    @settings(max_examples=1500, deadline=None, database=None)
    @given(fragments())
    def check(snippet: str) -> None:
        shortcut = _through_shortcut(snippet)
        if shortcut is not None:
            assert shortcut == _through_feedparser(snippet), snippet

    check()


def test_declines_a_standard_prefix_bound_to_another_known_namespace() -> None:
    # feedparser would map "content:" to Dublin Core document-wide and miss content:encoded.
    ns = b' xmlns:content="http://purl.org/dc/elements/1.1/" xmlns:c="http://purl.org/rss/1.0/modules/content/"'
    reason = _reason(_rss(b"<c:encoded>x</c:encoded><content:creator>A</content:creator>", ns))
    assert reason is not None and "declared for another namespace" in reason
