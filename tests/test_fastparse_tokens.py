"""fastparse._simple_html walks the markup as findall's strings, finding a rewritten tag's place
with str.find: checked against the walk over match objects it replaced, kept here as the reference,
on generated markup made of the tokens that matter (unsorted attributes, "&" inside attribute
values, repeated tags, relative URLs, stray "<" and "&")."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import fastparse

BASE = "https://party.example.org/2026/12/post/"


def reference_simple_html(text: str, base: str) -> str | None:
    pieces: list[str] = []
    kept = 0
    for match in fastparse._HTML_MARKUP.finditer(text):
        if match.group("bad") is not None:
            return None
        ref = match.group("ref")
        if ref is not None:
            if not fastparse._simple_ref(ref):
                return None
            continue
        ok, rewritten, _ = fastparse._simple_tag(match, base)
        if not ok:
            return None
        if rewritten is not None:
            pieces.append(text[kept : match.start()])
            pieces.append(rewritten)
            kept = match.end()
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)


TOKENS = [
    "<p>", "</p>", "<em>", "</em>", "<br />", "<br>", "text ", "more words ", "&amp;", "&eacute;", "&#8217;",
    '<img src="https://e.org/a.jpg" alt="x" />', '<img alt="x" src="https://e.org/a.jpg" />',
    '<a title="t" href="https://e.org/?a=1&amp;b=2">', '<a href="https://e.org/x">', "</a>",
    '<a href="/relative/path">', '<img width="10" src="pic.jpg" alt="p">', "<", "&", "& ", "a < b",
    '<span class="c" id="i">', "</span>", "&unknownentity;", "&#0;",
]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_simple_html_is_the_walk_over_match_objects(text: str) -> None:
    fastparse._TOKEN_CACHE.clear()
    assert fastparse._simple_html(text, BASE) == reference_simple_html(text, BASE)
    # and again with the cache warm, as the second entry of a feed sees it
    assert fastparse._simple_html(text, BASE) == reference_simple_html(text, BASE)


def test_a_repeated_unsorted_tag_is_rewritten_at_each_place() -> None:
    tag = '<img src="https://e.org/a.jpg" alt="x" />'
    text = f"<p>one {tag} two &amp; {tag}</p>"
    out = fastparse._simple_html(text, BASE)
    assert out == reference_simple_html(text, BASE)
    assert out is not None and out.count('alt="x" src="https://e.org/a.jpg"') == 2 and tag not in out
