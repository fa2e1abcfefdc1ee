"""Tests for aggregator.sanitize: every way of smuggling script into republished HTML is removed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.sanitize import clean_html, clean_text, safe_url, strip_feed_boilerplate, xml_safe

BASE = "https://socialistparty.example/news/2026/"


def assert_inert(output: str) -> None:
    lowered = output.lower()
    for url in re.findall(r'(?:href|src|cite)="([^"]*)"', lowered):
        assert url.startswith(("http://", "https://", "mailto:")), (url, output)
    for needle in ("<script", "<iframe", "<object", "<embed", "<style",
                   "<form", "<input", "<meta", "<base", "<link", "<svg", "<math", "expression("):  # fmt: skip
        assert needle not in lowered, (needle, output)
    assert not re.search(r"\son\w+\s*=", lowered), output
    assert not re.search(r"\s(?:style|class|id)\s*=", lowered), output


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=http://xss.example/x.js></SCRIPT>",
        "<style>body{background:url(javascript:alert(1))}</style>",
        '<p onclick="alert(1)" onmouseover="alert(2)">text</p>',
        '<img src="x.png" onerror="alert(1)">',
        '<body onload="alert(1)">text</body>',
        '<iframe src="https://evil.example/"></iframe>',
        '<object data="https://evil.example/x.swf"></object>',
        '<embed src="https://evil.example/x.swf">',
        '<form action="https://evil.example/"><input name="pw" type="password"></form>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        '<base href="https://evil.example/">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<svg onload="alert(1)"><circle r="1"/></svg>',
        '<math><mtext><script>alert(1)</script></mtext></math>',
        '<div style="width: expression(alert(1))">x</div>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
        '<img src="javascript:alert(1)">',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
        '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        '<a href="java\tscript:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href="java\nscript:alert(1)">x</a>',
        '<a href="\x01javascript:alert(1)">x</a>',
        '<a href=javascript:alert(1)>x</a>',
        '<a href="jav&#x0A;ascript:alert(1)">x</a>',
        '<img src=`javascript:alert(1)`>',
        '<<script>script>alert(1)<</script>/script>',
        '<!--<script>alert(1)</script>-->',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        '<template><script>alert(1)</script></template>',
        '<p id="main" class="evil">x</p>',
        '<blockquote cite="javascript:alert(1)">x</blockquote>',
    ],
)
def test_injection_is_removed(hostile: str) -> None:
    assert_inert(clean_html(hostile, BASE))
    assert_inert(clean_html(hostile))


def test_script_and_style_content_is_dropped_not_shown_as_text() -> None:
    out = clean_html("<p>before<script>var secret = 1;</script><style>p{color:red}</style>after</p>", BASE)
    assert out == "<p>beforeafter</p>"


def test_safe_content_is_kept() -> None:
    html = (
        '<h2>Strike</h2><p>Workers <em>won</em> a <strong>pay rise</strong>. '
        '<a href="https://union.example/news" title="Union news">Read more</a></p>'
        '<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>'
        '<blockquote cite="https://x.example/">quote</blockquote>'
        '<figure><img src="https://img.example/a.jpg" alt="Picket line" width="640" height="480">'
        "<figcaption>Picket line</figcaption></figure>"
        '<table><tr><th colspan="2">h</th></tr><tr><td rowspan="1">d</td></tr></table>'
    )
    out = clean_html(html, BASE)
    for kept in (
        "<h2>Strike</h2>",
        "<em>won</em>",
        "<strong>pay rise</strong>",
        'href="https://union.example/news"',
        'title="Union news"',
        "<li>one</li>",
        "<ol><li>first</li></ol>",
        'src="https://img.example/a.jpg"',
        'alt="Picket line"',
        'width="640"',
        "<figcaption>Picket line</figcaption>",
        'colspan="2"',
        "<blockquote",
    ):
        assert kept in out, (kept, out)


def test_links_get_rel_noopener() -> None:
    out = clean_html('<a href="https://x.example/" rel="opener">x</a>')
    assert 'rel="noopener noreferrer nofollow"' in out
    assert 'rel="opener"' not in out


def test_mailto_links_are_kept() -> None:
    assert 'href="mailto:info@party.example"' in clean_html('<a href="mailto:info@party.example">mail</a>')


def test_relative_urls_are_resolved_against_base() -> None:
    out = clean_html('<a href="../2025/strike">a</a><img src="/img/p.jpg"><a href="//cdn.example/x">c</a>', BASE)
    assert 'href="https://socialistparty.example/news/2025/strike"' in out
    assert 'src="https://socialistparty.example/img/p.jpg"' in out
    assert 'href="https://cdn.example/x"' in out


def test_relative_urls_without_base_are_dropped_not_left_dangling() -> None:
    out = clean_html('<a href="/strike">a</a>')
    assert "href" not in out and ">a</a>" in out


def test_numeric_attributes_must_be_numbers() -> None:
    out = clean_html('<img src="https://i.example/a.png" width="100%" height="expression(alert(1))">')
    assert "width" not in out and "height" not in out


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"])
def test_xml_illegal_characters_are_removed(bad: str) -> None:
    assert clean_html(f"<p>a{bad}b</p>") == "<p>ab</p>"
    assert clean_text(f"a{bad}b") == "ab"
    assert xml_safe(f"a{bad}b") == "ab"


def test_xml_safe_keeps_legal_whitespace_and_astral_characters() -> None:
    assert xml_safe("a\tb\nc\rd \U0001f4e2 \u0627\u0631\u062f\u0648") == "a\tb\nc\rd \U0001f4e2 \u0627\u0631\u062f\u0648"


def test_clean_text_strips_tags_and_entities_and_whitespace() -> None:
    assert clean_text("  Tom &amp;amp; <b>Jerry</b>\n\n strike &#8211; win  ") == "Tom & Jerry strike \u2013 win"


def test_clean_text_strips_double_escaped_markup() -> None:
    assert clean_text("&lt;script&gt;alert(1)&lt;/script&gt;Title") == "Title"


def test_clean_text_keeps_a_literal_less_than() -> None:
    assert clean_text("Wages < inflation") == "Wages < inflation"


def test_clean_text_caps_length_with_ellipsis() -> None:
    out = clean_text("word " * 1000)
    assert len(out) <= 1000 and out.endswith("\u2026")
    assert len(clean_text("x" * 5000, max_chars=50)) == 50


def test_clean_html_caps_length_and_stays_well_formed() -> None:
    out = clean_html("<p>" + "<b>bold</b> text " * 30_000 + "</p>", max_chars=10_000)
    assert len(out) < 10_200
    etree.fromstring(f"<div>{out.replace('<br>', '<br/>')}</div>", etree.HTMLParser())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://party.example/a", "https://party.example/a"),
        ("HTTP://Party.example/a", "http://Party.example/a"),
        ("  https://party.example/a b  ", "https://party.example/a%20b"),
        ("/news/1", "https://base.example/news/1"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        (" java\tscript:alert(1)", None),
        ("vbscript:x", None),
        ("data:text/html,<script>", None),
        ("file:///etc/passwd", None),
        ("ftp://party.example/", None),
        ("mailto:a@b.example", None),
        ("http://[::1", None),
        ("http://party.example:99999/", None),
        ("https://", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url, "https://base.example/x/") == expected


def test_safe_url_relative_without_base_is_none() -> None:
    assert safe_url("/news/1") is None


@pytest.mark.parametrize(
    "footer",
    [
        '<p>The post <a href="https://socialistworld.example/a/">Title &amp; more</a> appeared first on '
        '<a href="https://socialistworld.example">CWI</a>.</p>',
        '<p>The post <a href="https://socialistworld.example/a/">Title</a> appeared first on .</p>',
        '<p>The post <a href="https://socialistworld.example/a/">Title</a> appeared first on '
        '<a href="https://socialistworld.example"></a>.</p>',
        'The post <a rel="nofollow" href="https://x.example/a/">Title</a> appeared first on <a rel="nofollow" href="https://x.example">Site</a>.',
    ],
)
def test_yoast_footer_is_stripped(footer: str) -> None:
    body = "<p>Workers across the country [&#8230;]</p>\n"
    assert strip_feed_boilerplate(body + footer) == body.rstrip()


def test_boilerplate_stripping_leaves_ordinary_text() -> None:
    text = "<p>Report.</p><p>The post office strike appeared first on the news at nine.</p>"
    assert strip_feed_boilerplate(text) == text
    assert strip_feed_boilerplate("<p>No footer here</p>") == "<p>No footer here</p>"


def test_boilerplate_stripping_is_fast_on_hostile_input() -> None:
    import time

    hostile = ("The post <a " + "x" * 1900) * 500 + " appeared first on " * 100
    start = time.perf_counter()
    strip_feed_boilerplate(hostile)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_xml_safe_output(text: str) -> None:
    for out in (clean_html(text, BASE), clean_text(text)):
        element = etree.Element("x")
        element.text = out  # lxml raises ValueError on XML-illegal characters
        assert "<script" not in out.lower()


@pytest.mark.parametrize(
    "title",
    [
        "&lt;img src=x onerror=alert(1)&gt;News",
        "&amp;lt;img src=x onerror=alert(1)&amp;gt;News",
        "&amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;News",
        "&amp;#60;img src=x onerror=alert(1)&amp;#62;News",
        "&amp;amp;#x3c;img src=x onerror=alert(1)&amp;amp;#x3e;News",
        "&amp;lt;b&amp;gt;News&amp;lt;/b&amp;gt;",
    ],
)
def test_clean_text_strips_markup_however_often_it_was_escaped(title: str) -> None:
    assert clean_text(title) == "News"


def test_clean_text_gives_up_on_endless_escaping_without_leaving_markup() -> None:
    title = "&" + "amp;" * 40 + "lt;img src=x onerror=alert(1)&" + "amp;" * 40 + "gt;News"
    out = clean_text(title)
    assert "<" not in out and "&" not in out and out.endswith("News")


@pytest.mark.parametrize("base", [None, "https://example.org/news/", "javascript:alert(1)", "https://example.org/" + "a" * 1200])
@pytest.mark.parametrize("url", [
    "/2026/05/strike/", "https://example.org/a b?q=1#x", "java\nscript:alert(1)", "http://example.org:99999/",
    "mailto:someone@example.org", "relative/path", "https://example.org/" + "p" * 1500, "  https://EXAMPLE.org/x  ",
])  # fmt: skip
def test_safe_url_gives_the_same_answer_from_its_memo_as_computed_afresh(url: str, base: str | None) -> None:
    from aggregator.sanitize import _cached_safe_url, _safe_url

    _cached_safe_url.cache_clear()
    fresh = _safe_url(url, base)
    assert safe_url(url, base) == fresh and safe_url(url, base) == fresh  # the second from the memo
    short = len(url) + len(base or "") <= 1_000
    info = _cached_safe_url.cache_info()
    # A short pair is answered from the memo the second time; a long one is never kept (only its
    # base may be: a relative URL resolves against the base made safe first).
    assert info.hits >= 1 if short else info.currsize <= 1
    assert _cached_safe_url.cache_info().maxsize == 4096  # bounded: a hostile feed cannot grow it
