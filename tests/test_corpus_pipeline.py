"""Every file of the shared real-world corpus through parse -> store -> publish: nothing crashes, and
the published Atom stays valid against the RFC 4287 schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from aggregator import dedupe
from aggregator.models import Config, FeedConfig, FetchResult, ParseError
from aggregator.parse import parse_feed
from aggregator.publish import publish
from aggregator.ingest import prepare_feed
from aggregator.models import FeedState
from aggregator.store import Store
from aggregator.update import ReadBody, store_result
from conftest import ATOM_NS, CORPUS, where_looked
from readers import validate_atom

FOLDERS = ["feedparser", "feedvalidator", "node-feedparser"]


def _corpus_files(folder: str) -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS} (looked for shared/ in: {where_looked()})")
    return sorted(p for p in (CORPUS / folder).rglob("*") if p.is_file() and p.name != "LICENSE.txt")


@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_through_parse_store_publish(folder: str, tmp_path: Path) -> None:
    files = _corpus_files(folder)
    assert len(files) > 20
    feeds = tuple(
        FeedConfig(
            url=f"http://127.0.0.1/corpus/{path.relative_to(CORPUS)}",
            name=f"Corpus {path.name}",
            region="europe" if i % 2 else "asia",
            country="GB",
            language="en",
            site="https://example.org/",
        )
        for i, path in enumerate(files)
    )
    config = Config(
        path=tmp_path / "feeds.yaml",
        title="Corpus",
        base_url="https://feeds.example.org/",
        database=tmp_path / "corpus.db",
        output_dir=tmp_path / "public",
        regions={"europe": "Europe", "asia": "Asia"},
        feeds=feeds,
        max_entries=100_000,  # publish everything, so every stored entry is validated
        retention_days=365 * 200,  # keep the corpus's 2000s-era entries
    )
    matcher = dedupe.StoryMatcher(config.dedupe)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    parsed_ok = rejected = stored = 0
    with Store.open(config.database) as store:
        store.sync_feeds(feeds, now)
        for feed, path in zip(feeds, files):
            body = path.read_bytes()
            headers = {"content-type": "application/xml"}
            try:
                parsed = parse_feed(body, headers, feed.url)
                error = None
                parsed_ok += 1
            except ParseError as exc:
                parsed, error = None, str(exc)
                rejected += 1
            fetched = FetchResult(url=feed.url, status="ok", http_status=200, body=body, headers=headers)
            read = ReadBody(prepared=prepare_feed(parsed, feed.language, now) if parsed else None, parse_error=error)
            state = FeedState(url=feed.url)
            outcome = store_result(store, config, feed, state, fetched, read, now, matcher)
            stored += outcome.new
        assert store.integrity_check() == "ok"
        publish(config, store)
        stories = store.counts()["stories"]

    assert parsed_ok > len(files) // 2, (parsed_ok, rejected)
    assert stored > 0
    for atom in [config.output_dir / "feed.atom", *sorted((config.output_dir / "regions").glob("*.atom"))]:
        validate_atom(atom)
    entries = etree.parse(str(config.output_dir / "feed.atom")).getroot().findall(f"{ATOM_NS}entry")
    assert len(entries) == stories
    html = (config.output_dir / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html.split("</style>", 1)[1]
    assert "javascript:" not in html
    print(f"{folder}: {len(files)} files, {parsed_ok} parsed, {rejected} rejected, {stored} entries stored")
