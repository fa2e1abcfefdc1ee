"""The shortcuts in dedupe's text normalisation compute exactly what the plain regular expressions
did: each pre-check skips a pattern only where the pattern cannot match, and the word list is the
same list. Checked against the plain versions, kept here as the reference, on generated texts made of
the fragments the shortcuts look at."""

from __future__ import annotations

import html
import re
import unicodedata

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import dedupe

_NOT_WORD = dedupe._WORD.pattern.replace("[", "[^", 1)


def reference_visible(html_text: str) -> tuple[str, bool]:
    text = dedupe._DROPPED_ELEMENTS.sub(" ", html_text)
    text = dedupe._BLOCK_TAGS.sub("\n", text)
    text = dedupe._ANY_TAG.sub("", text)
    text = html.unescape(text).replace("\u00a0", " ")
    if not text.isascii() and dedupe._MOJIBAKE.search(text):
        text = dedupe._repair_mojibake(text)
    text = text.strip()
    cut = max(0, len(text) - dedupe._TAIL_CHARS)
    head, tail = text[:cut], text[cut:]
    tail = dedupe._YOAST_FOOTER.sub("", tail).rstrip()
    tail = dedupe._READ_MORE.sub("", tail).rstrip()
    tail, markers = dedupe._EXCERPT_MARKER.subn("", tail)
    return head + tail, bool(markers)


def reference_words(text: str) -> list[str]:
    if text.isascii():
        return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip().split()
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = dedupe._INVISIBLE.sub("", text).casefold().replace("_", " ")
    return re.sub(_NOT_WORD, " ", text).strip().split()


def reference_signature(words: list[str]) -> np.ndarray:
    h = dedupe._hashing()
    if len(words) < dedupe.SHINGLE_WORDS:
        return h.empty_signature
    word_hashes = np.fromiter(map(dedupe._word_hash, words), dtype=np.uint64, count=len(words))
    count = len(words) - dedupe.SHINGLE_WORDS + 1
    shingles = np.zeros(count, dtype=np.uint64)
    for offset in range(dedupe.SHINGLE_WORDS):
        shingles = (shingles << h.u21) | (shingles >> h.u43)
        shingles ^= word_hashes[offset : offset + count] * h.shingle_mix[offset]
    shingles = np.unique((shingles ^ (shingles >> h.u32)) & h.low32)
    return ((h.perm_a * shingles[None, :] + h.perm_b).min(axis=1) >> h.u32).astype("<u4")


FRAGMENTS = [
    "word", "Workers", "strike", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "\x1c", "_", "__", "-", ".", "...",
    "…", "[…]", "[&hellip;]", "[ ... ]", "&hellip;", "&amp;", "&nbsp;", "&#8217;", "’", "“", "é", "â", "Â",
    "â€™", "Ã©", "ﬁ", "Ｆ", "\u00ad", "\u200c", "मज़दूर", "ि", "்", "ا", "ı", "K", "İ", "ſ", "0", "42",
    "<p>", "</p>", "<br/>", "<div class='x'>", "<a href='https://e.org/x'>", "</a>", "<em>", "</em>",
    "<script>x=1</script>", "<STYLE>p{}</STYLE>", "<!-- c -->", "<figcaption>cap</figcaption>",
    "Read more", "read MORE", "Continue reading", "Read the full article", "rEAD the full artıcle",
    "The post ", "appeared first on", " Site.", "\nThe post ", "The post <a href='x'>T</a> appeared first on <a>S</a>.",
]
texts = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12), st.just("filler text " * 30), st.just(" on our site: https://example.org/2026/12/a-long-article")), max_size=60
).map("".join)


@settings(max_examples=600, deadline=None)
@given(texts)
def test_visible_is_the_plain_patterns(text: str) -> None:
    assert dedupe._visible(text) == reference_visible(text)


@settings(max_examples=600, deadline=None)
@given(texts)
def test_words_are_the_plain_patterns(text: str) -> None:
    assert dedupe._words(text) == reference_words(text)
    assert dedupe._normalise(text) == " ".join(reference_words(text))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "strike", "pay", "ﬁ", "मज़दूर"]), min_size=3, max_size=300))
def test_signature_without_unique_is_the_same(words: list[str]) -> None:
    # Few distinct words, so the shingles repeat a lot: exactly where dropping np.unique could matter.
    assert (dedupe._signature(words) == reference_signature(words)).all()
