"""Property-based fuzzing of parse -> store -> publish, in-process for speed (no HTTP):
generated RSS 2.0 / Atom documents full of hostile text, and mutated files of the shared corpus.
parse_feed may only ever raise ParseError; storing never raises; every rendered Atom document is
well-formed (lxml) and valid against RFC 4287 (jing, slow to start, so run once on all of them).

CI profile: AGGREGATOR_FUZZ_EXAMPLES examples per test (default 200), derandomized, no deadline."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator import dedupe
from aggregator.models import Config, FeedConfig, FetchResult, ParseError
from aggregator.parse import parse_feed
from aggregator.atom import AtomFeedMeta, render_atom
from aggregator.ingest import prepare_feed
from aggregator.models import FeedState, StoryQuery
from aggregator.store import Store
from aggregator.update import ReadBody, store_result
from conftest import ATOM_NS
from readers import validate_atom
from shared_files import CORPUS, where_looked

EXAMPLES = int(os.environ.get("AGGREGATOR_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


class Pipeline:
    """One database for every example; each example is one fetch of one (new) feed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.store = Store.open(directory / "fuzz.db")
        self.feeds: list[FeedConfig] = []
        self.config = Config(
            path=directory / "feeds.yaml", title="Fuzz", base_url="https://feeds.example.org/",
            database=directory / "fuzz.db", output_dir=directory / "public",
            regions={"europe": "Europe"}, feeds=(), retention_days=365 * 300,
        )  # fmt: skip
        self.matcher = dedupe.StoryMatcher(self.config.dedupe)
        self.examples = 0
        self.parsed = 0
        self.rejected = 0
        self.rendered: list[Path] = []

    def run(self, body: bytes, content_type: str) -> None:
        self.examples += 1
        url = f"http://127.0.0.1/fuzz/{self.examples}.xml"
        feed = FeedConfig(url=url, name=f"Fuzz {self.examples}", region="europe", country="GB", language="en",
                          site="https://party.example/")  # fmt: skip
        headers = {"content-type": content_type}
        try:
            parsed = parse_feed(body, headers, url)
        except ParseError as exc:
            self.rejected += 1
            assert str(exc), "a ParseError must say why"
            return
        self.parsed += 1
        self.store.sync_feeds([*self.feeds, feed], NOW)
        self.feeds.append(feed)
        fetched = FetchResult(url=url, status="ok", http_status=200, body=body, headers=headers, final_url=url)
        read = ReadBody(prepared=prepare_feed(parsed, feed.language, NOW))
        counts = store_result(self.store, self.config, feed, FeedState(url=url), fetched, read, NOW, self.matcher)
        assert counts.new + counts.updated <= len(parsed.entries)
        stories = list(self.store.stories(StoryQuery(limit=50)).stories)
        data = render_atom(
            AtomFeedMeta(id="https://feeds.example.org/feed.atom", title="Fuzz", self_url="https://feeds.example.org/feed.atom",
                         alternate_url="https://feeds.example.org/"),
            stories, self.config,
        )  # fmt: skip
        root = etree.fromstring(data)  # well-formed, or this raises
        assert root.tag == f"{ATOM_NS}feed"
        assert len(root.findall(f"{ATOM_NS}entry")) == len(stories)
        path = self.directory / f"output-{self.parsed}.atom"
        path.write_bytes(data)
        self.rendered.append(path)

    def finish(self, label: str) -> None:
        assert self.store.integrity_check() == "ok"
        if self.rendered:
            validate_atom(*self.rendered)  # every published document, in one jing run
        print(f"\n{label}: {self.examples} examples, {self.parsed} parsed, {self.rejected} ParseError, "
              f"{len(self.rendered)} outputs validated with jing")  # fmt: skip
        assert self.examples >= EXAMPLES, f"hypothesis ran only {self.examples} of {EXAMPLES} examples"
        self.store.close()


@pytest.fixture(scope="module")
def generated_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    pipeline = Pipeline(tmp_path_factory.mktemp("fuzz-generated"))
    yield pipeline
    pipeline.finish("generated feeds")


@pytest.fixture(scope="module")
def corpus_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    pipeline = Pipeline(tmp_path_factory.mktemp("fuzz-corpus"))
    yield pipeline
    pipeline.finish("mutated corpus")
    assert pipeline.parsed > EXAMPLES // 10, "most mutations should still leave a readable feed"


# --------------------------------------------------------------------------- generated documents

# Every plane, controls (illegal in XML), bidi controls, and the markup that tricks sanitizers.
hostile_char = st.one_of(
    st.characters(blacklist_categories=("Cs",)),  # any code point but lone surrogates
    st.sampled_from(["\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85", "\u200f", "\u202e", "\u2066",
                     "\ufeff", "\ufffe", "\uffff", "\U0010ffff", "\U0001f600", "ا", "ש", "த"]),
)  # fmt: skip
markup = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>", "<style>*{}</style>", "<![CDATA[", "]]>", "&amp;", "&lt;b&gt;", "&#0;",
    "&#x110000;", "&nosuchentity;", "<!--", "-->", "<?php ?>", "</item>", "</entry>", '"', "'", "<p>",
    '<iframe src="//evil">', "<div style=\"width:expression(alert(1))\">",
])  # fmt: skip
hostile_text = st.lists(st.one_of(st.text(hostile_char, max_size=40), markup), max_size=8).map("".join)
long_text = st.integers(min_value=1_000, max_value=300_000).map(lambda n: ("Solidarność ✊ " * (n // 14 + 1))[:n])
text = st.one_of(hostile_text, hostile_text, long_text)
url = st.one_of(
    st.sampled_from(["https://party.example/a", "http://party.example/b?x=1&y=2", "/relative/path", "//host/p",
                     "javascript:alert(1)", "data:text/html,<script>", "vbscript:x", "mailto:a@b", "", " ",
                     "https://例え.jp/記事", "https://party.example/" + "a" * 5000]),
    hostile_text,
)  # fmt: skip
date = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31),
                 timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=14)),
                                            dt.timezone(dt.timedelta(hours=-12)),
                                            dt.timezone(dt.timedelta(hours=5, minutes=45))])),
    hostile_text,
)  # fmt: skip


def encode_text(value: str, how: str) -> str:
    if how == "cdata":
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    if how == "raw":
        return value  # unescaped: may break the document, as real feeds do
    return escape(value)


def rss_date(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%a, %d %b %Y %H:%M:%S %z")
    return escape(str(value)) if value is not None else ""


def atom_date(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return escape(str(value)) if value is not None else ""


entry_fields = st.fixed_dictionaries({
    "title": st.one_of(st.none(), text), "content": st.one_of(st.none(), text), "link": st.one_of(st.none(), url),
    "id": st.one_of(st.none(), url, hostile_text), "date": date, "author": st.one_of(st.none(), hostile_text),
    "category": st.one_of(st.none(), hostile_text), "how": st.sampled_from(["escape", "escape", "cdata", "raw"]),
})  # fmt: skip


def build_rss(entries: list[dict[str, object]], title: str) -> str:
    items = []
    for e in entries:
        how = str(e["how"])
        parts = ["<item>"]
        if e["title"] is not None:
            parts.append(f"<title>{encode_text(str(e['title']), how)}</title>")
        if e["link"] is not None:
            parts.append(f"<link>{escape(str(e['link']))}</link>")
        if e["id"] is not None:
            parts.append(f"<guid>{escape(str(e['id']))}</guid>")
        if e["date"] is not None:
            parts.append(f"<pubDate>{rss_date(e['date'])}</pubDate>")
        if e["author"] is not None:
            parts.append(f"<author>{encode_text(str(e['author']), how)}</author>")
        if e["category"] is not None:
            parts.append(f"<category>{escape(str(e['category']))}</category>")
        if e["content"] is not None:
            parts.append(f"<description>{encode_text(str(e['content']), how)}</description>")
            parts.append(f'<enclosure url={quoteattr(str(e["link"] or ""))} type="audio/mpeg" length="1"/>')
        parts.append("</item>")
        items.append("".join(parts))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>https://party.example/</link>{''.join(items)}</channel></rss>")  # fmt: skip


def build_atom(entries: list[dict[str, object]], title: str) -> str:
    out = []
    for e in entries:
        how = str(e["how"])
        parts = ["<entry>"]
        if e["id"] is not None:
            parts.append(f"<id>{escape(str(e['id']))}</id>")
        if e["title"] is not None:
            parts.append(f'<title type="html">{encode_text(str(e["title"]), how)}</title>')
        if e["link"] is not None:
            parts.append(f"<link rel=\"alternate\" href={quoteattr(str(e['link']))}/>")
        if e["date"] is not None:
            parts.append(f"<published>{atom_date(e['date'])}</published><updated>{atom_date(e['date'])}</updated>")
        if e["author"] is not None:
            parts.append(f"<author><name>{encode_text(str(e['author']), how)}</name></author>")
        if e["category"] is not None:
            parts.append(f"<category term={quoteattr(str(e['category']))}/>")
        if e["content"] is not None:
            parts.append(f'<content type="html">{encode_text(str(e["content"]), how)}</content>')
        parts.append("</entry>")
        out.append("".join(parts))
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(title)}</title><id>urn:x:feed</id><updated>2026-11-01T00:00:00Z</updated>"
            f"{''.join(out)}</feed>")  # fmt: skip


@FUZZ
@given(
    kind=st.sampled_from(["rss", "atom"]),
    entries=st.lists(entry_fields, min_size=0, max_size=6),
    title=hostile_text,
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-16", "windows-1252"]),
)
def test_generated_feeds_never_break_the_pipeline(
    generated_pipeline: Pipeline, kind: str, entries: list[dict[str, object]], title: str, encoding: str
) -> None:
    document = (build_rss if kind == "rss" else build_atom)(entries, title)
    if encoding != "utf-8":
        document = document.replace('encoding="utf-8"', f'encoding="{encoding}"', 1)
    body = document.encode(encoding, errors="replace" if encoding != "windows-1252" else "xmlcharrefreplace")
    generated_pipeline.run(body, "application/rss+xml" if kind == "rss" else "application/atom+xml")


# --------------------------------------------------------------------------- mutated corpus


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS} (looked for shared/ in: {where_looked()})")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".rdf"))
    # A fixed, spread-out sample keeps each example cheap and the run reproducible.
    return files[:: max(1, len(files) // 400)]


CORPUS_FILES = corpus_files() if CORPUS.is_dir() else []


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    for op, a, b, junk in ops:
        if not data:
            data = junk
            continue
        i, j = a % len(data), b % len(data)
        if op == "flip":
            data = data[:i] + bytes([data[i] ^ (1 << (j % 8))]) + data[i + 1 :]
        elif op == "truncate":
            data = data[:i]
        elif op == "insert":
            data = data[:i] + junk + data[i:]
        elif op == "delete":
            data = data[: min(i, j)] + data[max(i, j) :]
        elif op == "splice":  # a piece of the document moved elsewhere: tags cross, entries nest
            lo, hi = min(i, j), max(i, j)
            piece = data[lo : lo + 200]
            data = data[:hi] + piece + data[hi:]
        elif op == "duplicate":
            data = data[:i] + data[i:j] * 3 + data[j:] if i < j else data + data[j:i]
    return data


junk_bytes = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]>", b"&b;", b"\x00", b"\xff\xfe",
                     b"\xef\xbb\xbf", b"<![CDATA[", b"]]>", b"<script>alert(1)</script>", b"&#0;", b"</channel>",
                     b"<item><title>x</title></item>", b"\xc3\x28", b"\xed\xa0\x80", b'<?xml version="1.0" encoding="utf-16"?>']),
)  # fmt: skip
mutation = st.tuples(
    st.sampled_from(["flip", "truncate", "insert", "delete", "splice", "duplicate"]),
    st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**7), junk_bytes,
)  # fmt: skip


@FUZZ
@given(index=st.integers(min_value=0, max_value=10**6), ops=st.lists(mutation, min_size=1, max_size=5),
       content_type=st.sampled_from(["application/rss+xml", "text/xml; charset=iso-8859-1", "text/html", ""]))  # fmt: skip
def test_mutated_corpus_files_raise_only_parse_error(
    corpus_pipeline: Pipeline, index: int, ops: list[tuple[str, int, int, bytes]], content_type: str
) -> None:
    assert CORPUS_FILES, f"no corpus files under {CORPUS}"
    original = CORPUS_FILES[index % len(CORPUS_FILES)].read_bytes()
    corpus_pipeline.run(mutate(original, ops), content_type)
