"""The rules that say two stories are translations of each other: what an entry points at (its
`hreflang` alternates, the article links in its text, a named original), and when that is enough.

Pure: no I/O, no SQL (store/translations.py reads and writes the links); a missed link is better
than a wrong one, so every rule needs an explicit pointer and two different languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .models import ParsedEntry
from .urls import canonical_url

ReferenceKind = Literal["alternate", "link", "source"]
RULE_ALTERNATE = "hreflang"  # the feed gives link rel="alternate" hreflang to the other's article
RULE_LINK = "links to"  # one copy's text links to the other's article
RULE_SOURCE = "same original"  # both name the same original ("originally published at", "source:")
RULE_EDITOR = "editor"

_ANCHOR = re.compile(r"<a\b[^>]*?\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)')[^>]*>(.*?)</a>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
# Words that introduce the original of a translated or reposted text, in the sister parties' languages.
_WORDS = (
    r"(?:originally published|first published|original article|translated from|source|"
    r"publié (?:initialement|d'abord)|article original|source originale|traduit de|"
    r"oorspronkelijk|oorspronkelijke|vertaald uit|bron|"
    r"asalnya|diterjemah|sumber|"
    r"மூலம்|மொழிபெயர்ப்பு|මුල් ලිපිය|පරිවර්තනය|"
    r"اصل|ترجمہ|मूल|स्रोत|अनुवाद|原文|翻译)"
)
# Text just before a link that introduces it as the original ("Originally published at:"), or
# a link's own text that starts so ("Source: CWI").
_SOURCE_BEFORE = re.compile(
    _WORDS + r"(?:\s+(?:at|in|on|by|from|sur|dans|par|chez|bij|op|door|di|pada|oleh))?\s*[:：]?\s*$", re.I
)
_SOURCE_ANCHOR = re.compile(r"^\s*" + _WORDS + r"\s*[:：]", re.I)
MAX_REFERENCES = 40  # per entry: a link farm is not evidence of anything


@dataclass(frozen=True)
class Reference:
    """A canonical article URL an entry points at, and how."""

    url: str
    kind: ReferenceKind


def _is_article(url: str) -> bool:
    # A site's front page or a section is linked by everything; only an article page is evidence.
    path = url.split("://", 1)[-1].partition("/")[2].split("#", 1)[0]
    return bool(path.strip("/")) and not re.fullmatch(r"(?:category|tag|author|page|feed)(?:/.*)?", path.strip("/"))


def references(entry: ParsedEntry, own_link: str | None) -> tuple[Reference, ...]:
    """What `entry` points at: its hreflang alternates, then the article links of its text (a link
    the text introduces as the original counts as `source`). Its own article is left out."""
    found: dict[str, ReferenceKind] = {}
    for _, href in entry.alternates:
        url = canonical_url(href)
        if url and url != own_link and _is_article(url):
            found.setdefault(url, "alternate")
    html = entry.content_html or entry.summary_html
    for m in _ANCHOR.finditer(html):
        url = canonical_url(m.group(1) or m.group(2) or "")
        if not url or url == own_link or not _is_article(url) or url in found:
            continue
        before = _TAG.sub(" ", html[max(0, m.start() - 80):m.start()])
        anchor = _TAG.sub(" ", m.group(3))
        is_source = bool(_SOURCE_BEFORE.search(before.strip()) or _SOURCE_ANCHOR.search(anchor))
        found[url] = "source" if is_source else "link"
        if len(found) >= MAX_REFERENCES:
            break
    return tuple(Reference(url, kind) for url, kind in found.items())


def primary_language(tag: str | None) -> str:
    return (tag or "").split("-", 1)[0].lower()


def different_languages(a: str | None, b: str | None) -> bool:
    """Translations are in two languages: en-GB and en-US are one."""
    return bool(a and b) and primary_language(a) != primary_language(b)


def pair(a: int, b: int) -> tuple[int, int]:
    """A link's key: the two story ids, smaller first."""
    return (a, b) if a < b else (b, a)


def rule_for(kinds: Iterable[ReferenceKind]) -> str:
    """The rule a pointer of these kinds satisfies: hreflang is the strongest, then a plain link."""
    kinds = set(kinds)
    return RULE_ALTERNATE if "alternate" in kinds else RULE_LINK


def link_between(
    a: ParsedEntry, a_language: str, b: ParsedEntry, b_language: str
) -> tuple[str, str] | None:
    """The rule and evidence that make two entries translations, or None: the rules the store
    applies (store/translations.py) for one pair, for tests and measurements."""
    if not different_languages(a_language, b_language):
        return None
    a_link, b_link = canonical_url(a.link), canonical_url(b.link)
    a_refs, b_refs = references(a, a_link), references(b, b_link)
    for refs, target in ((a_refs, b_link), (b_refs, a_link)):
        for r in refs:
            if target and r.url == target:
                return rule_for([r.kind]), r.url
    a_sources = {r.url for r in a_refs if r.kind == "source"}
    for r in b_refs:
        if r.kind == "source" and r.url in a_sources:
            return RULE_SOURCE, r.url
    return None
