"""Decides whether a new entry is a copy of a story we already hold: fingerprints, and the rules that compare them.
Pure decision logic on plain values: no I/O, no SQL, no clock; the store looks candidates up and persists the results.

How a store uses it:
    fp = fingerprint(entry.title, entry.content_html, entry.link, entry.language, published)
    rows = copies whose canonical_link == fp.canonical_link, or content_hash == fp.content_hash,
           or (title_key, lead_key) equal, or sharing any of fp.band_keys   (all indexed lookups)
    match = StoryMatcher(config.dedupe).match(fp, feed_url, [Candidate(...) for row in rows])
    match is None -> new story; else attach the copy to match.story_id, recording match.rule and match.score.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aggregator.models import DedupeSettings
from aggregator.urls import canonical_url

if TYPE_CHECKING:
    import numpy as np

# --------------------------------------------------------------------------- tuning constants
# Changing any of NUM_PERM, SHINGLE_WORDS, BAND_ROWS, BANDS, LEAD_WORDS or the hashing below changes stored
# fingerprints: the store must recompute them (FINGERPRINT_VERSION says which scheme a stored row used).
FINGERPRINT_VERSION = 1

NUM_PERM = 128  # standard error of the Jaccard estimate at J=0.5 is sqrt(.25/128) ~ 0.044
SHINGLE_WORDS = 3  # word 3-grams: one edited word changes only 3 shingles, shared stock phrases rarely align
# LSH banding: P(two texts with Jaccard J share a band) = 1 - (1 - J**BAND_ROWS)**BANDS.
# With 42 bands of 3 rows: J=0.5 -> 0.996, J=0.4 -> 0.94, J=0.1 -> 0.04, J=0.05 -> 0.005. Candidate recall is
# near 1 for thresholds >= 0.45 while texts on the same topic (stock phrases, J ~ 0.05) rarely become
# candidates. 2-row bands found 20% of an archive as candidates; see bench/dedupe.py. Thresholds below
# 0.45 lose candidates: lower BAND_ROWS to 2 if the configured threshold ever goes that low.
BAND_ROWS = 3
BANDS = 42  # uses 126 of the 128 values; the last two only sharpen the similarity estimate

# Why texts under MIN_SIMILARITY_WORDS get no near-duplicate matching: a one- or two-sentence standfirst
# (Socialist Party E&W feeds, "..." teasers) has fewer than ~40 shingles, so one edited word moves the
# estimated Jaccard by several points and two different reports of the same strike, both written from the
# same press release, share a large part of so few shingles. A wrong merge is worse than a missed duplicate
# (STYLE lesson 5), so short texts only merge by link, by identical title+text, or as a marked excerpt.
MIN_SIMILARITY_WORDS = 40
# Identical title + text merges only with at least this much text: title-only items ("Editorial",
# "May Day greetings") repeat with different articles behind them.
MIN_FINGERPRINT_WORDS = 8
# An excerpt ("first 55 words […]", WordPress's default) is matched to its full article by an identical
# title plus identical opening words. 30 words is below WordPress's 55-word excerpt and long enough that
# two different articles do not open with it.
LEAD_WORDS = 30

# Why texts whose titles disagree need more similarity: a new headline over a moderately similar body is
# what two different articles sharing a press release, a quoted statement or a bulletin's boilerplate look
# like; a genuine repost under a new headline mostly keeps its body (Jaccard 0.6-1.0 in the evaluation set,
# against at most 0.4 for different articles with different titles). "Disagree" means fewer than half of
# the title words in common. The margin is about two standard errors of the 128-value estimate at J=0.5.
DIFFERENT_TITLE_MARGIN = 0.1

RULE_SAME_LINK = "same_link"
RULE_SAME_FINGERPRINT = "same_fingerprint"
RULE_EXCERPT_OF = "excerpt_of"
RULE_SIMILAR_TEXT = "similar_text"
# When several candidates match, a stronger rule wins over a higher score of a weaker one.
_RULE_STRENGTH = {RULE_SAME_LINK: 3, RULE_SAME_FINGERPRINT: 2, RULE_EXCERPT_OF: 1, RULE_SIMILAR_TEXT: 0}

# --------------------------------------------------------------------------- visible text

_DROPPED_ELEMENTS = re.compile(
    r"<(script|style|figcaption|noscript|template|svg)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAGS = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|figure|table|tr|td|th|section|article|header|footer|hr|pre)\b[^>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<[^>]*>")
# Yoast SEO's RSS footer, "The post <title> appeared first on <site>." (the site name may be empty).
_YOAST_FOOTER = re.compile(r"(?:^|\n)[ \t]*The post\b.{0,500}?\bappeared first on\b[^\n]*\s*$", re.DOTALL)
_READ_MORE = re.compile(r"(?:Continue reading|Read more|Read the full article)\b[^\n]{0,200}\s*$", re.IGNORECASE)
_EXCERPT_MARKER = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.|&hellip;)\s*\]|…|\.{3,})\s*$")
_EXCERPT_ENDS = ("]", "…", ".")  # the last character of any _EXCERPT_MARKER match, before whitespace
_READ_MORE_REACH = 240  # len("read the full article") + _READ_MORE's 200 characters of link text, and a margin
# UTF-8 read as cp1252 ("â€™", "Ã©"): seen in migrated socialistworld.net posts.
_MOJIBAKE = re.compile("[ÂÃâ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_TAIL_CHARS = 800
# A word is a run of letters, digits and combining marks; everything else separates words. Devanagari
# and Sinhala vowel signs are marks, and splitting on them would break Hindi and Sinhala words apart:
# \w alone does not cover marks. ("_" is turned into a space before this runs: one class, because an
# alternation costs the regex engine twice as much per character, and this is most of fingerprinting.)
_WORD = re.compile(r"[\w\u0300-\u036f\u0900-\u0963\u0966-\u0dff\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# Soft hyphens and zero-width (non-)joiners sit inside words: delete them rather than split there.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")


def _visible(html_text: str) -> tuple[str, bool]:
    """(visible text with paragraph breaks kept, whether it ended with an excerpt marker)."""
    text = _DROPPED_ELEMENTS.sub(" ", html_text)
    text = _BLOCK_TAGS.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    text = html.unescape(text).replace("\u00a0", " ")
    if not text.isascii() and ("Â" in text or "Ã" in text or "â" in text) and _MOJIBAKE.search(text):
        text = _repair_mojibake(text)
    text = text.strip()
    # Footers and markers only ever end a text; matching on the tail keeps these end-anchored patterns
    # from being tried at every position of a long article. Each is tried only where it can match
    # (the checks before each one are implied by its pattern), which is most of _visible's cost saved.
    cut = max(0, len(text) - _TAIL_CHARS)
    head, tail = text[:cut], text[cut:]
    if "appeared first on" in tail:
        tail = _YOAST_FOOTER.sub("", tail).rstrip()
    # The tail ends in no whitespace, so a "read more" match can start no earlier than its phrase
    # (at most 21 characters) and 200 characters of link text before the end.
    cut = max(0, len(tail) - _READ_MORE_REACH)
    tail = (tail[:cut] + _READ_MORE.sub("", tail[cut:])).rstrip()
    markers = 0
    if tail[-1:] in _EXCERPT_ENDS:
        tail, markers = _EXCERPT_MARKER.subn("", tail)
    return head + tail, bool(markers)


def _repair_mojibake(text: str) -> str:
    try:
        # cp1252 leaves five bytes undefined; decoders pass them through as C1 controls, so map those back.
        raw = b"".join(
            ch.encode("cp1252") if ch not in "\x81\x8d\x8f\x90\x9d" else ch.encode("latin-1") for ch in text
        )
    except UnicodeError:
        return text  # characters cp1252 cannot hold: this is not (only) mojibake, leave it as published
    repaired = raw.decode("utf-8", errors="replace")
    # A truncated multi-byte sequence (a title cut mid-character) costs one replacement character; more
    # than a couple means the text was not UTF-8 read as cp1252 after all.
    return repaired if repaired.count("\ufffd") <= 2 else text


# For ASCII text the same as _WORD after case folding (\w is [A-Za-z0-9_] there), at a fraction
# of the cost; NFKC and the invisible characters cannot occur in it either.
_ASCII_WORD = re.compile(r"[0-9a-z]+")


def _words(text: str) -> list[str]:
    """The normalised words of `text`: NFKC, case-folded, split at everything but letters, digits
    and marks. (The words themselves, found by one findall, rather than the gaps replaced by spaces
    and split again: the same list, for about two thirds of the cost.)"""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).casefold().replace("_", " ")
    return _WORD.findall(text)


def _normalise(text: str) -> str:
    return " ".join(_words(text))


def text_of(content_html: str) -> str:
    """Normalised visible words of an entry's HTML: no tags, feed footers or excerpt markers; NFKC,
    case-folded, punctuation removed, single spaces. Used for hashing and shingling, never for display."""
    return _normalise(_visible(content_html)[0])


def title_key(title: str) -> str:
    """A title normalised like text_of (entities, case, punctuation, whitespace)."""
    return _normalise(html.unescape(title))


# --------------------------------------------------------------------------- fingerprints

@dataclass(frozen=True)
class _Hashing:
    """The MinHash permutations and band salts, made once, when the first fingerprint is: numpy
    (about 0.15 s to import) is loaded only by a process that fingerprints, not by a cycle in which
    no feed changed."""

    perm_a: Any
    perm_b: Any
    shingle_mix: tuple[Any, Any, Any]
    band_salt: Any
    band_multiplier: Any
    u21: Any
    u32: Any
    u43: Any
    low32: Any
    empty_signature: Any


@functools.cache
def _hashing() -> _Hashing:
    import numpy as np

    # Fixed seed, and the draws in this order: stored signatures must be comparable with signatures
    # computed by later runs.
    rng = np.random.RandomState(0x5EED_0001)
    # Multiply-shift universal hashing, (a*x + b) >> 32 with wrapping 64-bit arithmetic and odd a: one
    # multiply-add per value, no modulo, which is what makes the (NUM_PERM x shingles) array operation cheap.
    perm_a = (rng.randint(0, 1 << 62, size=NUM_PERM, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1))[:, None]
    perm_b = rng.randint(0, 1 << 62, size=NUM_PERM, dtype=np.int64).astype(np.uint64)[:, None]
    band_salt = rng.randint(0, 1 << 62, size=BANDS, dtype=np.int64).astype(np.uint64)
    return _Hashing(
        perm_a=perm_a, perm_b=perm_b,
        shingle_mix=(np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)),
        band_salt=band_salt, band_multiplier=np.uint64(0xBF58476D1CE4E5B9),
        u21=np.uint64(21), u32=np.uint64(32), u43=np.uint64(43), low32=np.uint64(0xFFFFFFFF),
        empty_signature=np.full(NUM_PERM, 0xFFFFFFFF, dtype="<u4"),
    )  # fmt: skip


@functools.lru_cache(maxsize=200_000)
def _word_hash(word: str) -> int:
    # Cached: news vocabulary is small, and hashing each word once is most of the cost of a signature.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _signature(words: list[str]) -> np.ndarray:
    """MinHash of the set of word SHINGLE_WORDS-grams: NUM_PERM little-endian uint32 values.

    Shingles are hashed by mixing per-word hashes in numpy instead of hashing each n-gram string, and all
    permutations run as one (NUM_PERM x shingles) array operation: many times faster than datasketch's
    per-shingle update, and independent of datasketch's internals so stored signatures stay valid.
    """
    import numpy as np

    h = _hashing()
    if len(words) < SHINGLE_WORDS:
        return h.empty_signature
    word_hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    count = len(words) - SHINGLE_WORDS + 1
    shingles = np.zeros(count, dtype=np.uint64)
    # Array arithmetic on uint64 wraps silently, which is what these hashes want.
    for offset in range(SHINGLE_WORDS):
        shingles = (shingles << h.u21) | (shingles >> h.u43)
        shingles ^= word_hashes[offset : offset + count] * h.shingle_mix[offset]
    # No np.unique: a minimum over the shingles with repeats is the minimum over the set, and the
    # sort it costs is more than the repeats' share of the arithmetic below.
    shingles = (shingles ^ (shingles >> h.u32)) & h.low32
    permuted = np.multiply(h.perm_a, shingles[None, :])  # in place from here: temporaries cost more than the maths
    np.add(permuted, h.perm_b, out=permuted)
    # Taking the high 32 bits is monotonic, so shifting the minima equals minimising the shifted values.
    return (permuted.min(axis=1) >> h.u32).astype("<u4")


def _band_keys(signature: np.ndarray) -> tuple[int, ...]:
    import numpy as np

    h = _hashing()
    rows = signature[: BANDS * BAND_ROWS].astype(np.uint64).reshape(BANDS, BAND_ROWS)
    # Mix each band's values and its index into one 64-bit key (splitmix64 finaliser): equal keys mean equal
    # rows in that band, up to a 2**-64 collision chance.
    keys = h.band_salt.copy()
    for row in range(BAND_ROWS):
        keys = (keys ^ rows[:, row]) * h.band_multiplier
        keys ^= keys >> np.uint64(29)
    keys = (keys ^ (keys >> np.uint64(32))) * h.band_multiplier
    keys ^= keys >> np.uint64(31)
    return tuple(keys.view(np.int64).tolist())  # signed, so it fits SQLite's 64-bit INTEGER


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """Everything the rules compare about one copy; every field is a plain value a store can persist."""

    canonical_link: str | None
    title_key: str
    content_hash: str  # hash of normalised title + text: "same title and same words"
    lead_key: str | None  # hash of the first LEAD_WORDS words; None if the text is shorter
    is_excerpt: bool  # the text ended with an excerpt marker ("[…]", "...")
    word_count: int
    minhash: bytes  # NUM_PERM little-endian uint32 (a BLOB of 512 bytes)
    band_keys: tuple[int, ...]  # signed 64-bit LSH band hashes; empty when too short for similarity
    language: str | None
    published: dt.datetime  # aware

    def signature(self) -> np.ndarray:
        import numpy as np

        return np.frombuffer(self.minhash, dtype="<u4")


def fingerprint(
    title: str, content_html: str, link: str | None, language: str | None, published: dt.datetime
) -> Fingerprint:
    visible, is_excerpt = _visible(content_html)
    words = _words(visible)
    normalised_title = title_key(title)
    signature = _signature(words) if len(words) >= MIN_SIMILARITY_WORDS else _hashing().empty_signature
    text = TextFingerprint(
        title_key=normalised_title,
        content_hash=_digest(normalised_title + "\x1f" + " ".join(words)),
        lead_key=_digest(" ".join(words[:LEAD_WORDS])) if len(words) >= LEAD_WORDS else None,
        is_excerpt=is_excerpt,
        word_count=len(words),
        minhash=signature.tobytes(),
    )
    return fingerprint_from_text(text, link, language, published)


@dataclass(frozen=True)
class TextFingerprint:
    """The part of a fingerprint made from the title and text alone, the costly part: an entry
    whose change hash (ingest.change_hash: its title, text, link...) is a stored copy's gets the
    stored one back (Store.stored_fingerprints) instead of fingerprinting its text again."""

    title_key: str
    content_hash: str
    lead_key: str | None
    is_excerpt: bool
    word_count: int
    minhash: bytes


def fingerprint_from_text(
    text: TextFingerprint, link: str | None, language: str | None, published: dt.datetime
) -> Fingerprint:
    """The whole fingerprint: the text's part (made now by fingerprint(), or stored), with the
    link, language and date of this entry."""
    if text.word_count >= MIN_SIMILARITY_WORDS:
        import numpy as np

        band_keys = _band_keys(np.frombuffer(text.minhash, dtype="<u4"))
    else:
        band_keys = ()
    return Fingerprint(
        canonical_link=canonical_url(link) if link else None,
        title_key=text.title_key,
        content_hash=text.content_hash,
        lead_key=text.lead_key,
        is_excerpt=text.is_excerpt,
        word_count=text.word_count,
        minhash=text.minhash,
        band_keys=band_keys,
        language=language or None,
        published=published if published.tzinfo else published.replace(tzinfo=dt.timezone.utc),
    )


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0 when either is too short)."""
    if not a.band_keys or not b.band_keys:
        return 0.0
    import numpy as np

    return float(np.count_nonzero(a.signature() == b.signature())) / NUM_PERM


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Candidate:
    """A stored copy the store found by one of the fingerprint's indexed keys."""

    copy_id: int
    story_id: int
    feed_url: str
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Match:
    story_id: int
    copy_id: int  # the stored copy that matched
    rule: str  # one of the RULE_* names
    score: float  # 1.0 for exact rules, the estimated Jaccard similarity for similar_text


def primary_language(tag: str | None) -> str | None:
    """'en-GB' -> 'en'; None stays None (unknown)."""
    if not tag:
        return None
    return tag.replace("_", "-").split("-", 1)[0].strip().lower() or None


class StoryMatcher:
    """Finds the story a new copy belongs to among candidate copies, conservatively.

    A missed duplicate shows a story twice; a wrong merge hides an article. So the rules only merge on
    strong evidence and refuse whole stories on any sign of conflict.
    """

    def __init__(self, settings: DedupeSettings) -> None:
        self.threshold = settings.similarity_threshold
        self.window = dt.timedelta(days=settings.window_days)
        pairs: set[frozenset[str]] = set()
        for a, b in settings.never_merge:
            key_a, key_b = canonical_url(a), canonical_url(b)
            if key_a is not None and key_b is not None and key_a != key_b:
                pairs.add(frozenset((key_a, key_b)))
        self.never_merge: frozenset[frozenset[str]] = frozenset(pairs)

    def needs_bands(self, published: dt.datetime, now: dt.datetime) -> bool:
        """Whether a copy published then is worth its LSH band rows. Text similarity only compares
        copies published within the window of each other, and the cycle drops the bands of copies
        older than twice the window (cycle.py, `band_days`); writing them for such a copy (most of
        a new feed's back catalogue) would only have them deleted at the end of the cycle."""
        return published >= now - 2 * self.window

    def match(self, new: Fingerprint, feed_url: str, candidates: Iterable[Candidate]) -> Match | None:
        candidates = list(candidates)
        # A story is refused whole when any of its copies conflicts: merging into it would put two articles
        # of one feed into one story, or undo an editor's split. The store should therefore pass every copy
        # of each candidate story, not only the copy that was found by an index.
        refused = {c.story_id for c in candidates if self._conflicts(new, feed_url, c)}
        best: Match | None = None
        for candidate in candidates:
            if candidate.story_id in refused:
                continue
            found = self._rule(new, feed_url, candidate)
            if found is None:
                continue
            rule, score = found
            this = Match(candidate.story_id, candidate.copy_id, rule, score)
            if best is None or _rank(this) > _rank(best):
                best = this
        return best

    def _conflicts(self, new: Fingerprint, feed_url: str, candidate: Candidate) -> bool:
        old = candidate.fingerprint
        if (
            candidate.feed_url == feed_url
            and new.canonical_link is not None
            and old.canonical_link is not None
            and new.canonical_link != old.canonical_link
        ):
            return True
        if new.canonical_link and old.canonical_link:
            return frozenset((new.canonical_link, old.canonical_link)) in self.never_merge
        return False

    def _rule(self, new: Fingerprint, feed_url: str, candidate: Candidate) -> tuple[str, float] | None:
        old = candidate.fingerprint
        # The link names the article itself, so it merges across any time gap and language tag (the tag
        # comes from the feed's configuration, not the article).
        if new.canonical_link is not None and new.canonical_link == old.canonical_link:
            return RULE_SAME_LINK, 1.0
        if abs(new.published - old.published) > self.window:
            return None
        new_language, old_language = primary_language(new.language), primary_language(old.language)
        if new_language and old_language and new_language != old_language:
            return None
        if new.content_hash == old.content_hash and new.word_count >= MIN_FINGERPRINT_WORDS:
            return RULE_SAME_FINGERPRINT, 1.0
        if candidate.feed_url == feed_url:
            # One feed's own entries merge only by link or identical content (a re-served entry with a
            # regenerated guid); two similar posts of one site are two posts.
            return None
        if (
            (new.is_excerpt or old.is_excerpt)
            and new.lead_key is not None
            and new.lead_key == old.lead_key
            and new.title_key
            and new.title_key == old.title_key
        ):
            return RULE_EXCERPT_OF, 1.0
        score = similarity(new, old)
        required = self.threshold if _titles_agree(new, old) else self.threshold + DIFFERENT_TITLE_MARGIN
        if score >= required and score > 0.0:
            return RULE_SIMILAR_TEXT, score
        return None


def _titles_agree(a: Fingerprint, b: Fingerprint) -> bool:
    words_a, words_b = set(a.title_key.split()), set(b.title_key.split())
    if not words_a or not words_b:
        return True  # no title to disagree with
    return len(words_a & words_b) / len(words_a | words_b) >= 0.5


def _rank(match: Match) -> tuple[int, float, int]:
    # Lower story ids win ties so the outcome does not depend on the order the store returns rows in.
    return (_RULE_STRENGTH[match.rule], match.score, -match.story_id)
