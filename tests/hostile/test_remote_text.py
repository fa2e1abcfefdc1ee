"""Text a server or a feed chooses (validators, reason phrases, titles) must not break later
cycles, style an operator's terminal, or carry markup into a published text construct."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aggregator.config import load_config
from aggregator.cycle import run_cycle
from aggregator.fetch import fetch_all
from aggregator.models import FetchRequest, FetchSettings
from conftest import feed_entry, write_config
from feedserver import FeedServer

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<link>https://party.example/</link><item><title>One</title><link>https://party.example/1</link>"
    b"<guid>one</guid></item></channel></rss>"
)


def feed_row(database: Path, url: str) -> tuple[str | None, str | None, str | None, str | None]:
    conn = sqlite3.connect(database)
    try:
        row = conn.execute("SELECT last_status, last_error, etag, last_modified FROM feeds WHERE url = ?", [url]).fetchone()
    finally:
        conn.close()
    return row  # type: ignore[no-any-return]


def test_non_ascii_validators_do_not_break_later_cycles(tmp_path: Path, feed_server: FeedServer) -> None:
    """ETag "café" and a Last-Modified with a non-ASCII byte: every cycle stays ok, and neither
    value is stored (they could not be sent back)."""
    url = feed_server.add(
        "/feed.xml", RSS, etag=False, last_modified=None,
        headers={"ETag": '"caf\xe9"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT\xa0\xe9"},
    )  # fmt: skip
    config = load_config(write_config(tmp_path, [feed_entry(url, "Party")]))
    for _ in range(3):
        run_cycle(config, force_all=True)
        status, error, etag, last_modified = feed_row(config.database, url)
        assert status in ("ok", "unchanged"), error
        assert etag is None and last_modified is None
    assert len(feed_server.requests) == 3
    assert all("if-none-match" not in r.headers for r in feed_server.requests)


def test_an_already_stored_bad_validator_is_dropped_not_sent(feed_server: FeedServer) -> None:
    """A database poisoned by an older version recovers: the bad value is not sent, the fetch
    succeeds, and the result carries no validator to store again."""
    url = feed_server.add("/feed.xml", RSS, etag=False, last_modified=None)
    request = FetchRequest(url=url, etag='"caf\xe9"', last_modified="x" * 5000)
    [result] = fetch_all([request], FetchSettings(timeout=5))
    assert result.status == "ok", result.error
    assert result.etag is None and result.last_modified is None
    assert "if-none-match" not in feed_server.requests[-1].headers
    assert "if-modified-since" not in feed_server.requests[-1].headers
    # Valid stored validators are still sent.
    [result] = fetch_all([FetchRequest(url=url, etag='"abc"')], FetchSettings(timeout=5))
    assert feed_server.requests[-1].headers.get("if-none-match") == '"abc"'
