"""The fast path's HTML shortcut takes WordPress's image and block markup (issue 11).

WordPress writes `decoding`, `loading`, `srcset`, `sizes` on every image and `aria-hidden` on
spacers: attributes feedparser's sanitizer drops and nh3 drops too. The shortcut accepts them
(skipping feedparser's sgmllib passes) only because the cleaned result is the same; these tests
compare both ways on snippets, on generated fragments, and on whole generated benchmark feeds.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from aggregator import fastparse
from aggregator import parse as parse_module

_BASE = "https://example.org/2026/12/post/"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def _through_feedparser(html_text: str) -> str:
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import resolve_relative_uris

    html_text = html_text.strip()
    resolved = resolve_relative_uris(html_text, _BASE, "utf-8", "text/html")
    return parse_module.clean_html(parse_module.strip_feed_boilerplate(_sanitize_html(resolved, "utf-8", "text/html")), base_url=_BASE)


def _through_shortcut(html_text: str) -> str | None:
    simple = fastparse._simple_html(html_text.strip(), _BASE)
    if simple is None:
        return None
    return parse_module.clean_html(parse_module.strip_feed_boilerplate(simple), base_url=_BASE)


WORDPRESS_SNIPPETS = [
    '<figure class="wp-block-image size-large"><img decoding="async" loading="lazy" width="1024" height="683" '
    'src="https://cdn.example.org/wp-content/uploads/2026/11/img-1.jpg" alt="" class="wp-image-58935"/></figure>',
    '<img loading="lazy" src="https://example.org/a.jpg" srcset="https://example.org/a.jpg 1024w, '
    'https://example.org/a-300x200.jpg 300w" sizes="(max-width: 1024px) 100vw, 1024px" alt="A">',
    '<div style="height:20px" aria-hidden="true" class="wp-block-spacer"></div><p>after</p>',
    '<p data-block="x" lang="fr" title="t">texte</p><a data-id="9" href="https://example.org/x" rel="tag">x</a>',
    '<a href="/relative/" aria-label="more" title="t">more</a>',
]
# Attributes nh3 keeps (or rewrites) still need feedparser's passes, and so do unusual names.
STILL_NOT_SIMPLE = [
    '<img src="https://example.org/i.png" onerror="alert(1)">',
    '<p ex:note="x">namespaced</p>',
    '<img decoding="async" src="javascript:alert(1)">',
    '<img loading="a &amp b" src="https://example.org/i.png">',
]


@pytest.mark.parametrize("snippet", WORDPRESS_SNIPPETS)
def test_wordpress_attributes_take_the_shortcut_and_match_feedparser(snippet: str) -> None:
    shortcut = _through_shortcut(snippet)
    assert shortcut is not None, "expected WordPress's markup inside the shortcut's subset"
    assert shortcut == _through_feedparser(snippet)


@pytest.mark.parametrize("snippet", STILL_NOT_SIMPLE)
def test_attributes_nh3_may_keep_still_decline(snippet: str) -> None:
    assert fastparse._simple_html(snippet, _BASE) is None


def test_shortcut_equivalence_with_attributes_nh3_drops() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    dropped = st.sampled_from(['decoding="async"', 'loading="lazy"', 'sizes="100vw"', 'aria-hidden="true"',
                               'data-x="1"', 'srcset="https://example.org/a.jpg 2x"', 'role="img"',
                               'target="_blank"', 'itemprop="x"', 'fetchpriority="high"'])  # fmt: skip
    kept = st.sampled_from(['alt="a"', 'title="t"', 'width="10"', 'height="20"', 'class="c"', 'lang="en"'])
    tags = st.sampled_from(["p", "div", "span", "a", "figure", "img", "li", "td", "blockquote", "h2"])
    urls = st.sampled_from(["https://example.org/a", "/b/c", "d.html"])

    @st.composite
    def fragments(draw: Any) -> str:
        out = []
        for _ in range(draw(st.integers(1, 8))):
            tag = draw(tags)
            attributes = draw(st.lists(st.one_of(dropped, kept), max_size=4, unique=True))
            if tag == "img":
                attributes.append(f'src="{draw(urls)}"')
            elif tag == "a":
                attributes.append(f'href="{draw(urls)}"')
            out.append(f"<{tag}" + "".join(" " + a for a in draw(st.permutations(attributes))) + ">text")
            if tag != "img" and draw(st.booleans()):
                out.append(f"</{tag}>")
        return "".join(out)

    accepted = 0

    @settings(max_examples=600, deadline=None, database=None)
    @given(fragments())
    def check(snippet: str) -> None:
        nonlocal accepted
        shortcut = _through_shortcut(snippet)
        if shortcut is not None:
            accepted += 1
            assert shortcut == _through_feedparser(snippet), snippet

    check()
    assert accepted > 300  # the shortcut takes such fragments, so the comparison above means something


def test_generated_benchmark_feeds_parse_the_same_on_both_paths(tmp_path: Path) -> None:
    import genfeeds

    genfeeds.write(6, tmp_path, seed=11)
    files = sorted((tmp_path / "feeds").iterdir())
    assert {p.suffix for p in files} == {".xml", ".atom", ".rdf"}
    shortcut_calls = 0
    slow_values = 0
    original = fastparse._simple_html

    def counting(text: str, base: str) -> str | None:
        nonlocal shortcut_calls, slow_values
        out = original(text, base)
        shortcut_calls += 1
        slow_values += out is None
        return out

    for path in files:
        body = path.read_bytes()
        with mock.patch.object(fastparse, "_simple_html", counting):
            fast = parse_module.parse_feed(body, {}, "https://example.org/feed/")
        with mock.patch.object(fastparse, "parse", lambda *a: None):
            slow = parse_module.parse_feed(body, {}, "https://example.org/feed/")
        assert dataclasses.asdict(fast) == dataclasses.asdict(slow), path.name
    assert shortcut_calls > 100
    assert slow_values == 0, "every generated WordPress value should take the shortcut"


def test_c1_controls_are_still_read_as_windows_1252_on_the_fast_path() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Workers&#146; rights</title><link>https://example.org/a</link>"
        b"<description>It&#146;s &#147;ours&#148;</description></item></channel></rss>"
    )
    assert fastparse.parse(body, {}, body) is not None, "expected the fast path to take this feed"
    fast = parse_module.parse_feed(body, {}, "https://example.org/feed/")
    with mock.patch.object(fastparse, "parse", lambda *a: None):
        slow = parse_module.parse_feed(body, {}, "https://example.org/feed/")
    assert fast.entries[0].title == "Workers\u2019 rights"
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
