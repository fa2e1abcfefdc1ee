"""Text a server or a feed chooses (validators, reason phrases, titles) must not break later
cycles, style an operator's terminal, or carry markup into a published text construct."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.cycle import run_cycle
from aggregator.fetch import fetch_all
from aggregator.models import FetchRequest, FetchSettings
from conftest import feed_entry, run_cli, write_config
from feedserver import FeedServer, RawHandler, write_head

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


MARKUP_REASON = "[bold red]PWNED[/bold red] [link=http://e.x/]go[/link]"


def test_reason_phrase_markup_is_printed_as_text_by_status(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reason phrase with rich markup and terminal escapes shows as the characters it is, on a
    colour terminal too: no styling, no OSC-8 hyperlink, no escape sequence from the server."""

    def hostile(h: RawHandler) -> None:
        write_head(h, 500, {"Content-Length": "0"}, reason=MARKUP_REASON + " \x1b]8;;http://e.x/\x1b\\x\x1b]8;;\x1b\\ \x9b31m")

    url = feed_server.add_handler("/feed.xml", hostile)
    config_path = write_config(tmp_path, [feed_entry(url, "Party [i]x[/i]")])
    run_cycle(load_config(config_path))
    _, error, _, _ = feed_row(load_config(config_path).database, url)
    assert error is not None and "\x1b" not in error and "\x9b" not in error  # stripped at the source

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "300")
    capsys.readouterr()
    result = run_cli("status", "-c", config_path)
    out = result.out + capsys.readouterr().out
    assert "[bold red]PWNED[/bold red]" in out
    assert "[link=http://e.x/]go[/link]" in out
    assert "Party [i]x[/i]" in out
    assert "\x1b]8;" not in out and "\x9b" not in out


def test_plain_strips_escape_sequences_and_controls() -> None:
    from aggregator.status import plain

    assert plain("a\x1b[31mred\x1b[0m b") == "ared b"
    assert plain("\x1b]8;;http://e.x/\x07click\x1b]8;;\x07") == "click"
    assert plain("x\x00\x07\x85\u202ey") == "x y"
    assert plain("[bold]b[/bold]") == "\\[bold]b\\[/bold]"
    assert len(plain("z" * 5000)) == 500
