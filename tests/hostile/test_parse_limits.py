"""Feeds built to make parsing slow or huge: quadratic HTML, entity expansion that slips past a
naive DTD filter, millions of entries. Each costs bounded time and memory; one that still takes
too long is killed at fetch.parse_timeout and fails alone, and the rest of the cycle publishes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import feedparser.api
import pytest

from aggregator import parse as parse_module
from aggregator.config import load_config
from aggregator.cycle import run_cycle
from aggregator.parsepool import FeedParserPool, ParserTimeout
from aggregator.models import FetchSettings, ParsedFeed, ParseError
from aggregator.parse import bound_cdata, cap_entries, defuse_doctype, parse_feed, prepare_bytes
from conftest import ATOM_NS, feed_entry, write_config
from feedserver import FeedServer
from lxml import etree

HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
BENIGN = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fine</title>'
    b"<link>https://fine.example/</link><item><title>Benign story</title><link>https://fine.example/1</link>"
    b"<guid>fine-1</guid><description>&lt;p&gt;Hello&lt;/p&gt;</description></item></channel></rss>"
)


def rss_with(description: str, cdata: bool = True, items: int = 1) -> bytes:
    body = f"<![CDATA[{description}]]>" if cdata else description
    entries = "".join(
        f"<item><title>Story {i}</title><guid>g{i}</guid><description>{body}</description></item>" for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://party.example/</link>{entries}</channel></rss>"
    ).encode()


def timed_parse(body: bytes, **options: int) -> tuple[ParsedFeed, float]:
    started = time.monotonic()
    parsed = parse_feed(body, HEADERS, "https://party.example/feed", **options)
    return parsed, time.monotonic() - started


# --------------------------------------------------------------------------- 1: quadratic HTML


def test_deeply_nested_html_in_cdata_parses_quickly() -> None:
    """400,000 nested <div> in one description (2 MB): nh3 alone needed minutes."""
    parsed, seconds = timed_parse(rss_with("<div>" * 400_000 + "x"))
    assert seconds < 5, f"took {seconds:.1f} s"
    assert len(parsed.entries) == 1


def test_a_tag_with_400000_attributes_parses_quickly() -> None:
    parsed, seconds = timed_parse(rss_with("<p " + "a " * 400_000 + ">x</p><p>after</p>"))
    assert seconds < 5, f"took {seconds:.1f} s"
    assert len(parsed.entries) == 1


def test_pathological_entry_html_becomes_text_and_long_html_is_cut() -> None:
    # Under the document size where CDATA is bounded before feedparser: the entry-level check.
    nested, _ = timed_parse(rss_with("<div>" * 5_000 + "deep words"))
    assert "deep words" in nested.entries[0].content_html
    assert nested.entries[0].content_html.count("<div") == 0
    long_html = "<p>" + "word " * 100_000 + "</p>"
    parsed, _ = timed_parse(rss_with(long_html), max_entry_html=10_000)
    assert len(parsed.entries[0].content_html) < 11_000
    ordinary = "<div><p>One <b>two</b></p><ul><li>a<li>b</ul></div>" * 300
    kept, _ = timed_parse(rss_with(ordinary))
    assert kept.entries[0].content_html.count("<b>") == 300


def test_bound_cdata_leaves_small_documents_and_ordinary_sections_alone() -> None:
    small = rss_with("<div>" * 2000).decode("latin-1")
    assert bound_cdata(small) is small
    big = rss_with("<p>" + "w " * 300_000 + "</p>").decode("latin-1")
    bounded = bound_cdata(big, max_chars=50_000)
    assert len(bounded) < 60_000 and bounded.endswith("]]></description></item></channel></rss>")


def slow_or_parse(body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Runs in a worker process: b"slow" never finishes, as a quadratic parse would not."""
    if body == b"slow":
        time.sleep(600)
    return parse_feed(body, headers, url)


def test_parser_pool_kills_a_parse_past_the_time_limit_and_goes_on() -> None:
    async def run() -> list[object]:
        pool = FeedParserPool(feed_count=1, parse=slow_or_parse, timeout=1.0)
        try:
            results: list[object] = []
            for body in (BENIGN, b"slow", BENIGN):
                started = time.monotonic()
                try:
                    results.append(await pool.parse(body, dict(HEADERS), "http://127.0.0.1/feed"))
                except ParseError as exc:
                    results.append(exc)
                results.append(time.monotonic() - started)
            return results
        finally:
            pool.shutdown()

    first, _, timed_out, waited, last, _ = asyncio.run(run())
    assert isinstance(first, ParsedFeed) and isinstance(last, ParsedFeed)
    assert isinstance(timed_out, ParserTimeout)
    assert "parsing took longer than 1 s; the feed is too large or hostile" in str(timed_out)
    assert isinstance(waited, float) and waited < 10


def test_a_feed_that_parses_too_long_fails_alone_and_the_cycle_publishes(tmp_path: Path, feed_server: FeedServer) -> None:
    """Escaped nested markup (not CDATA) still costs feedparser's Python HTML passes ~20 s: the
    parse limit stops it, the feed is recorded as failed and backed off, the benign one publishes.
    (RSS 0.91 keeps it off the lxml fast path, which reads this document quickly.)"""
    slow = rss_with("&lt;div&gt;" * 400_000, cdata=False).replace(b'version="2.0"', b'version="0.91"')
    slow_url = feed_server.add("/slow.xml", slow)
    fine_url = feed_server.add("/fine.xml", BENIGN)
    config_path = write_config(
        tmp_path, [feed_entry(slow_url, "Slow"), feed_entry(fine_url, "Fine")],
        fetch={"timeout": 20, "max_bytes": 10_000_000, "parse_timeout": 2},
    )  # fmt: skip
    config = load_config(config_path)
    started = time.monotonic()
    report = run_cycle(config)
    elapsed = time.monotonic() - started

    assert elapsed < 15, f"the cycle took {elapsed:.1f} s"
    assert report.failed == 1 and report.ok == 1
    conn = sqlite3.connect(config.database)
    try:
        row = conn.execute("SELECT last_status, last_error, consecutive_failures, next_due FROM feeds WHERE url = ?", [slow_url]).fetchone()
    finally:
        conn.close()
    assert row[0] == "error" and "parsing took longer than 2 s" in row[1] and row[2] == 1 and row[3]
    titles = [e.findtext(f"{ATOM_NS}title") for e in etree.parse(str(config.output_dir / "feed.atom")).getroot().iter(f"{ATOM_NS}entry")]
    assert titles == ["Benign story"]


# --------------------------------------------------------------------------- 2: entity expansion


ENTITY = "A" * 100_000


def entity_doc(before_doctype: str = "", declaration: str = '<?xml version="1.0" encoding="utf-8"?>', refs: int = 3000) -> str:
    return (
        f'{declaration}\n{before_doctype}<!DOCTYPE rss [<!ENTITY a "{ENTITY}">]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>' + "&a;" * refs
        + "</title><guid>x</guid></item></channel></rss>"
    )


ENTITY_CASES = {
    "junk line": entity_doc("Warning: something went wrong\n").encode(),
    "php notice html": entity_doc("<br />\n<b>Notice</b>: x\n").encode(),
    "64 KB of junk before the document": ("Deprecated: junk\n" * 5000 + entity_doc()).encode(),
    "EBCDIC": entity_doc(declaration='<?xml version="1.0" encoding="cp037"?>').encode("cp037"),
    "EBCDIC cp500": entity_doc(declaration='<?xml version="1.0" encoding="cp500"?>').encode("cp500"),
    "UTF-16 with junk line": b"\xff\xfe" + entity_doc("junk\n", '<?xml version="1.0" encoding="utf-16"?>').encode("utf-16-le"),
    "UTF-16BE without BOM": entity_doc("junk\n", '<?xml version="1.0" encoding="utf-16"?>').encode("utf-16-be"),
}


@pytest.mark.parametrize("case", ENTITY_CASES)
def test_internal_subsets_are_removed_wherever_they_sit_before_the_root(case: str) -> None:
    body = ENTITY_CASES[case]
    prepared = prepare_bytes(body)
    for codec in ("latin-1", "cp037", "cp500", "utf-16-le", "utf-16-be"):
        assert "<!ENTITY" not in prepared.decode(codec, errors="replace"), codec
    started = time.monotonic()
    try:
        entries = parse_feed(body, HEADERS, "https://party.example/feed").entries
    except ParseError:  # junk where XML allows none: the document may be unreadable, never expanded
        entries = ()
    assert time.monotonic() - started < 5
    assert all("AAAA" not in e.title for e in entries)


def test_entity_declaration_outside_a_doctype_is_refused() -> None:
    with pytest.raises(ParseError, match="declares XML entities"):
        defuse_doctype('<?xml version="1.0"?>\n<!ENTITY a "AAAA">\n<rss/>')
    with pytest.raises(ParseError, match="declares XML entities"):
        parse_feed(b'<?xml version="1.0"?>\njunk <!ENTITY a "AAAA"><rss version="2.0"/>', HEADERS, "https://x.example/")
    # After the root element it is text, not a declaration.
    text = '<rss><channel><description><![CDATA[<!ENTITY a "x"> <!DOCTYPE x>]]></description></channel></rss>'
    assert defuse_doctype(text) is text


def test_a_dtd_is_removed_after_feedparser_decodes_too() -> None:
    """The last step before expat: feedparser's own DOCTYPE filter sees the document in UTF-8
    whatever it was (UTF-7 here, where "<" is spelled +ADw-), and ours runs there too."""
    assert feedparser.api.replace_doctype is parse_module._replace_doctype_after_decoding
    body = (
        b'<?xml version="1.0" encoding="utf-7"?>\n+ADw-!DOCTYPE rss +AFs-+ADw-!ENTITY a "' + b"A" * 100_000
        + b'"+AD4-+AF0-+AD4-\n<rss version="2.0"><channel><title>t</title><item><title>' + b"&a;" * 3000
        + b"</title><guid>x</guid></item></channel></rss>"
    )  # fmt: skip
    parsed, seconds = timed_parse(body)
    assert seconds < 5 and all("AAAA" not in e.title for e in parsed.entries)
    _, data, _ = feedparser.api.replace_doctype(b'<?xml version="1.0"?>\njunk\n<!DOCTYPE r [<!ENTITY a "b">]><r/>')
    assert b"ENTITY" not in data


# --------------------------------------------------------------------------- 3: entry counts


def test_a_million_empty_items_cost_seconds_not_a_minute() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + b"<item/>" * 1_400_000 + b"</channel></rss>"
    _, seconds = timed_parse(body)
    assert seconds < 10, f"took {seconds:.1f} s"


def test_310000_items_with_guids_keep_the_configured_number() -> None:
    items = b"".join(b"<item><guid>%d</guid><title>t%d</title></item>" % (i, i) for i in range(310_000))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + items + b"</channel></rss>"
    parsed, seconds = timed_parse(body, max_entries=500)
    assert seconds < 10, f"took {seconds:.1f} s"
    assert len(parsed.entries) == 500
    kept = {int(e.key.rsplit("/", 1)[-1]) for e in parsed.entries}
    assert kept <= set(range(500)) | set(range(309_500, 310_000))


def test_cap_entries_keeps_both_ends_and_skips_cdata() -> None:
    items = "".join(f"<item><guid>{i}</guid><description><![CDATA[<item>no</item>]]></description></item>" for i in range(30))
    text = f"<rss><channel><title>t</title>{items}<!-- <item> --></channel></rss>"
    capped = cap_entries(text, 5)
    kept = [int(g.split("</guid>")[0]) for g in capped.split("<guid>")[1:]]
    assert kept == [0, 1, 2, 3, 4, 25, 26, 27, 28, 29]
    assert capped.endswith("<!-- <item> --></channel></rss>")
    assert cap_entries(text, 15) is text  # at most 2 x limit: parsed in full, capped afterwards
    atom = "<feed xmlns='http://www.w3.org/2005/Atom'>" + "<entry><id>x</id></entry>" * 50 + "</feed>"
    assert cap_entries(atom, 10).count("<entry>") == 20


def test_cap_entries_keeps_only_the_newest_end_when_dates_say_which() -> None:
    def doc(order: range) -> str:
        items = "".join(f"<item><guid>{i}</guid><pubDate>Mon, 02 Nov 2026 {i // 60:02d}:{i % 60:02d}:00 GMT</pubDate></item>" for i in order)
        return f"<rss><channel><title>t</title>{items}</channel></rss>"

    def guids(text: str) -> list[int]:
        return [int(g.split("</guid>")[0]) for g in text.split("<guid>")[1:]]

    assert guids(cap_entries(doc(range(30)), 5)) == [25, 26, 27, 28, 29]  # oldest first
    assert guids(cap_entries(doc(range(29, -1, -1)), 5)) == [29, 28, 27, 26, 25, 0]  # newest first, and the last one
    newest_first = parse_feed(doc(range(1439, -1, -1)).encode(), HEADERS, "https://party.example/", max_entries=100)
    assert sorted(int(e.key.rsplit("/", 1)[-1]) for e in newest_first.entries) == list(range(1340, 1440))


def test_entry_cap_is_configurable(tmp_path: Path, feed_server: FeedServer) -> None:
    items = "".join(f"<item><title>S{i}</title><guid>s{i}</guid></item>" for i in range(50))
    url = feed_server.add("/many.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>')
    config = load_config(write_config(tmp_path, [feed_entry(url, "Many")],
                                      fetch={"timeout": 20, "max_entries_per_feed": 7}))  # fmt: skip
    assert config.fetch.max_entries_per_feed == 7
    run_cycle(config)
    conn = sqlite3.connect(config.database)
    try:
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 7
    finally:
        conn.close()


def test_settings_defaults() -> None:
    settings = FetchSettings()
    assert settings.parse_timeout == 30 and settings.max_entries_per_feed == 1000 and settings.max_entry_html == 256_000


def test_a_cut_cdata_section_keeps_the_document_valid_utf8() -> None:
    body = rss_with("<p>" + "é" * 200_000 + "</p>")
    prepared = prepare_bytes(body)
    assert len(prepared) < len(body)
    prepared.decode("utf-8")  # no half sequence at the cut
    parsed = parse_feed(body, HEADERS, "https://party.example/feed", max_entry_html=300_000)
    assert "ééé" in parsed.entries[0].content_html and "Ã" not in parsed.entries[0].content_html
