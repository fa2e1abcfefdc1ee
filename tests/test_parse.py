"""Tests for aggregator.parse: real feedparser on small inline documents shaped like the feeds we poll."""

from __future__ import annotations

import codecs
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from aggregator.models import ParsedFeed, ParseError
from aggregator.parse import repair_encoding
from aggregator.parse import MAX_ENTRIES, defuse_doctype, parse_feed, prepare_bytes

URL = "https://socialistparty.example/feed/"
XML = {"content-type": "application/rss+xml; charset=utf-8"}
UTC = dt.UTC


def rss(items: str, channel_extra: str = "", decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return (
        f"{decl}<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" "
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel><title>Socialist Party</title><link>https://socialistparty.example/</link>{channel_extra}"
        f"{items}</channel></rss>"
    )


ITEM = (
    "<item><title>Strike wins</title><link>https://socialistparty.example/2026/strike</link>"
    '<guid isPermaLink="false">https://socialistparty.example/?p=2614</guid>'
    "<pubDate>Wed, 04 Nov 2026 10:00:00 +0200</pubDate><description>Short</description></item>"
)


def parse(doc: str | bytes, headers: dict[str, str] | None = None, url: str = URL) -> ParsedFeed:
    body = doc.encode("utf-8") if isinstance(doc, str) else doc
    return parse_feed(body, XML if headers is None else headers, url)


# --------------------------------------------------------------------------- the WordPress shape


def test_wordpress_item_fields() -> None:
    item = (
        "<item><title>Workers &#8217; victory</title><link>https://socialistparty.example/2026/strike/</link>"
        "<dc:creator><![CDATA[Karl Simmons, CWI Japan]]></dc:creator>"
        "<pubDate>Wed, 04 Nov 2026 10:00:00 +0200</pubDate>"
        "<category><![CDATA[Workplace]]></category><category><![CDATA[Japan]]></category><category>workplace</category>"
        '<guid isPermaLink="false">http://marxistworkersparty.org.za/?p=2614</guid>'
        "<description><![CDATA[<p>Short standfirst [&#8230;]</p><p>The post "
        '<a href="https://socialistparty.example/2026/strike/">Workers victory</a> appeared first on .</p>]]></description>'
        '<content:encoded><![CDATA[<p class="has-text-align-center">Full <a href="/about/">text</a></p>'
        '<div class="wp-block-spacer" style="height:50px"></div><script>track()</script>]]></content:encoded></item>'
    )
    feed = parse(
        rss(item, "<language>en-GB</language><ttl>60</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>")
    )
    assert feed.title == "Socialist Party"
    assert feed.site_link == "https://socialistparty.example/"
    assert feed.language == "en-GB"
    assert feed.ttl_minutes == 60
    assert feed.update_seconds == 1800
    assert feed.warning is None
    (entry,) = feed.entries
    assert entry.key == "http://marxistworkersparty.org.za/?p=2614"
    assert entry.key_source == "id"
    assert entry.original_id == "http://marxistworkersparty.org.za/?p=2614"
    assert entry.link == "https://socialistparty.example/2026/strike/"
    assert entry.title == "Workers \u2019 victory"
    assert entry.author == "Karl Simmons, CWI Japan"
    assert entry.categories == ("Workplace", "Japan")
    assert entry.published == dt.datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    assert entry.language == "en-GB"
    assert "appeared first on" not in entry.summary_html
    assert entry.summary_html == "<p>Short standfirst [\u2026]</p>"
    assert 'href="https://socialistparty.example/about/"' in entry.content_html
    assert "class=" not in entry.content_html and "style=" not in entry.content_html
    assert "track()" not in entry.content_html


def test_atom_feed_with_xml_lang_and_html_content() -> None:
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es">'
        "<title>Socialismo Revolucionario</title><link href=\"https://sr.example/\"/><id>tag:sr.example,2026:feed</id>"
        "<updated>2026-11-04T10:00:00Z</updated>"
        '<entry><id>tag:blogger.com,1999:blog-1.post-2</id><title type="html">Huelga &amp;lt;b&amp;gt;general&amp;lt;/b&amp;gt;</title>'
        '<link rel="alternate" type="text/html" href="https://sr.example/2026/11/huelga.html"/>'
        '<link rel="replies" href="https://sr.example/comments"/>'
        "<published>2026-11-03T09:00:00-03:00</published><updated>2026-11-04T10:00:00Z</updated>"
        '<author><name>Comité</name></author><content type="html">&lt;p&gt;Texto&lt;/p&gt;</content></entry></feed>'
    )
    feed = parse(doc, {"content-type": "application/atom+xml"})
    (entry,) = feed.entries
    assert feed.language == "es"
    assert entry.title == "Huelga general"
    assert entry.link == "https://sr.example/2026/11/huelga.html"
    assert entry.published == dt.datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    assert entry.updated == dt.datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
    assert entry.author == "Comité"
    assert entry.content_html == "<p>Texto</p>"
    assert entry.language == "es"


def test_well_formed_feed_with_no_entries_is_not_an_error() -> None:
    feed = parse(rss(""))
    assert feed.entries == () and feed.title == "Socialist Party" and feed.warning is None


def test_plain_text_summary_is_escaped() -> None:
    doc = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        '<entry><id>urn:1</id><title>t</title><summary type="text">wages &lt; inflation &amp; &lt;b&gt;</summary></entry></feed>'
    )
    assert parse(doc).entries[0].summary_html == "<p>wages &lt; inflation &amp; &lt;b&gt;</p>"


# --------------------------------------------------------------------------- bytes before the document


def test_php_notices_before_xml_declaration() -> None:
    notices = (
        "\nDeprecated: The called constructor method for WP_Widget in Recent_Posts is deprecated since version 4.3.0! "
        "Use __construct() instead. in C:\\Inetpub\\vhosts\\lankasocialist.com\\httpdocs\\wp-includes\\functions.php on line 5061\n"
    ) * 10
    feed = parse(notices + rss(ITEM))
    assert [e.title for e in feed.entries] == ["Strike wins"]


def test_html_php_notices_before_xml_declaration() -> None:
    notices = "<br />\n<b>Warning</b>:  Cannot modify header information in <b>/var/www/x.php</b> on line <b>12</b><br />\n"
    feed = parse(notices + rss(ITEM))
    assert len(feed.entries) == 1


def test_utf8_bom_and_whitespace_before_declaration() -> None:
    body = codecs.BOM_UTF8 + b"\n\n  " + rss(ITEM.replace("Strike wins", "\u0939\u0921\u093c\u0924\u093e\u0932")).encode()
    assert parse(body).entries[0].title == "\u0939\u0921\u093c\u0924\u093e\u0932"


def test_bom_after_php_notice_still_decides_encoding() -> None:
    body = b"Notice: x\n" + codecs.BOM_UTF8 + rss(ITEM.replace("Strike wins", "caf\u00e9"), decl="<?xml version=\"1.0\"?>").encode()
    assert prepare_bytes(body).startswith(codecs.BOM_UTF8 + b"<?xml")
    assert parse(body, {"content-type": "text/xml; charset=iso-8859-1"}).entries[0].title == "caf\u00e9"


def test_leading_comment_mentioning_feed_is_not_cut() -> None:
    body = b"<!-- a <feed> comment -->\n" + rss(ITEM, decl="").encode()
    assert prepare_bytes(body) == body


# --------------------------------------------------------------------------- hostile XML


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
    + rss("<item><guid>1</guid><title>&lol9;</title><description>&lol9;</description></item>", decl="")
)


def test_billion_laughs_is_not_expanded() -> None:
    start = time.perf_counter()
    try:
        feed = parse(BILLION_LAUGHS)
    except ParseError:
        return
    finally:
        assert time.perf_counter() - start < 2.0
    for entry in feed.entries:
        assert "lollol" not in entry.title + entry.content_html + entry.summary_html


def test_quadratic_blowup_is_not_expanded() -> None:
    doc = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]>'
        + rss("<item><guid>1</guid><title>t</title><description>" + "&a;" * 50_000 + "</description></item>", decl="")
    )
    start = time.perf_counter()
    try:
        feed = parse(doc)
    except ParseError:
        feed = None
    assert time.perf_counter() - start < 2.0
    if feed is not None:
        assert all("xxxxxxxxxx" not in e.summary_html for e in feed.entries)


class _RecordingHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        type(self).requests.append(self.path)
        body = b'<!ENTITY leak "FETCHED-FROM-NETWORK">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    _RecordingHandler.requests = []
    server = HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _RecordingHandler.requests
    finally:
        server.shutdown()
        server.server_close()


def _all_text(feed: ParsedFeed) -> str:
    return " ".join(
        f"{e.title} {e.content_html} {e.summary_html} {e.author} {e.original_id} {e.link}" for e in feed.entries
    ) + f" {feed.title}"


@pytest.mark.parametrize("decl", ['<!ENTITY xxe SYSTEM "file:///etc/passwd">', '<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;'])
def test_external_file_entity_is_never_read(decl: str) -> None:
    doc = '<?xml version="1.0"?><!DOCTYPE r [' + decl + "]>" + rss(
        "<item><guid>1</guid><title>&xxe;</title><description>&xxe;</description></item>", decl=""
    )
    try:
        text = _all_text(parse(doc))
    except ParseError as exc:
        text = str(exc)
    assert "root:" not in text
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first_line = passwd.read_text(errors="replace").splitlines()[0]
        assert first_line not in text


def test_external_http_entity_and_dtd_are_never_fetched(listener: tuple[str, list[str]]) -> None:
    base, requests = listener
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{base}/dtd" [<!ENTITY ext SYSTEM "{base}/entity">'
        f'<!ENTITY % param SYSTEM "{base}/param"> %param;]>'
        + rss("<item><guid>1</guid><title>&ext;</title><description>&leak;</description></item>", decl="")
    )
    try:
        text = _all_text(parse(doc))
    except ParseError as exc:
        text = str(exc)
    time.sleep(0.05)
    assert requests == []
    assert "FETCHED-FROM-NETWORK" not in text


def test_public_dtd_reference_is_removed_and_feed_still_parses() -> None:
    doc = (
        '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">' + rss(ITEM, decl="")
    )
    assert b"DOCTYPE" not in prepare_bytes(doc.encode())
    assert len(parse(doc).entries) == 1


def test_doctype_text_inside_cdata_is_article_text() -> None:
    doc = rss("<item><guid>1</guid><title>t</title><description><![CDATA[<p>Use &lt;!DOCTYPE html&gt;</p>]]></description></item>")
    assert prepare_bytes(doc.encode()) == doc.encode()


@pytest.mark.parametrize(
    "hostile",
    [
        "<!DOCTYPE x [" + '<!ENTITY a "' + "[" * 10_000_000,
        "<!DOCTYPE x [" + "<!--" * 2_500_000,
        "<!DOCTYPE x " + "'" * 10_000_000,
        "<!DOCTYPE x [" + "<" * 10_000_000,
        "Deprecated: " * 800_000,
    ],
    ids=["brackets", "comments", "quotes", "angles", "notices"],
)
def test_ten_megabytes_of_hostile_prolog_is_handled_quickly(hostile: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ParseError):
        parse_feed(hostile.encode(), {}, URL)
    assert time.perf_counter() - start < 10.0


def test_defuse_doctype_keeps_comments_and_declaration() -> None:
    text = '<?xml version="1.0"?><!-- hi --><!DOCTYPE a [<!ENTITY b "]>">]><rss/>'
    assert defuse_doctype(text) == '<?xml version="1.0"?><!-- hi --><rss/>'


# --------------------------------------------------------------------------- encodings


URDU = "\u0633\u0648\u0634\u0644\u0633\u0679 \u067e\u0627\u0631\u0679\u06cc \u06a9\u06cc \u0645\u0632\u062f\u0648\u0631 \u0631\u06cc\u0644\u06cc"
TAMIL = "\u0ba4\u0bca\u0bb4\u0bbf\u0bb2\u0bbe\u0bb3\u0bb0\u0bcd \u0baa\u0bc7\u0bb0\u0ba3\u0bbf"
HINDI = "\u092e\u091c\u093c\u0926\u0942\u0930\u094b\u0902 \u0915\u0940 \u0939\u0921\u093c\u0924\u093e\u0932"


@pytest.mark.parametrize("text", [URDU, TAMIL, HINDI], ids=["urdu", "tamil", "hindi"])
def test_non_latin_text_is_preserved_exactly(text: str) -> None:
    doc = rss(
        f"<item><guid>1</guid><title>{text}</title><dc:creator>{text}</dc:creator>"
        f"<category>{text}</category><description>&lt;p dir=\"rtl\"&gt;{text}&lt;/p&gt;</description></item>"
    )
    (entry,) = parse(doc, {"content-type": "text/xml"}).entries
    assert entry.title == text
    assert entry.author == text
    assert entry.categories == (text,)
    assert entry.summary_html == f"<p>{text}</p>"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(codec: str) -> None:
    doc = rss(ITEM.replace("Strike wins", URDU), decl='<?xml version="1.0" encoding="utf-16"?>')
    body = doc.encode(codec)
    feed = parse(body, {"content-type": "application/xml"})
    assert feed.entries[0].title == URDU


def test_utf16_with_doctype_is_defused_and_still_readable() -> None:
    doc = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY x "boom">]>' + rss(
        ITEM.replace("Strike wins", TAMIL + " &x;"), decl=""
    )
    body = doc.encode("utf-16")
    assert "DOCTYPE" not in prepare_bytes(body).decode("utf-16")
    try:
        feed = parse(body, {"content-type": "application/xml"})
    except ParseError:
        return
    assert "boom" not in feed.entries[0].title


def test_windows_1252_declared() -> None:
    body = rss(ITEM.replace("Strike wins", "Don\u2019t \u2013 caf\u00e9"), decl='<?xml version="1.0" encoding="windows-1252"?>').encode("cp1252")
    assert parse(body, {"content-type": "application/rss+xml"}).entries[0].title == "Don\u2019t \u2013 caf\u00e9"


def test_charset_from_http_header_without_xml_declaration() -> None:
    body = rss(ITEM.replace("Strike wins", "Gr\u00e8ve g\u00e9n\u00e9rale"), decl="").encode("iso-8859-1")
    feed = parse(body, {"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    assert feed.entries[0].title == "Gr\u00e8ve g\u00e9n\u00e9rale"


def test_no_content_type_header_defaults_to_utf8_not_latin1() -> None:
    assert parse(rss(ITEM.replace("Strike wins", HINDI)), {}).entries[0].title == HINDI


def _with_title(title: bytes, decl: bytes = b'<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return decl + rss(ITEM.replace("Strike wins", "TITLE"), decl="").encode("ascii").replace(b"TITLE", title, 1)


GERMAN = "Grüße aus Köln: Straßenbahner streiken für höhere Löhne, Ärztinnen schließen sich an"
FRENCH = "La société « Gréve » : voilà ce qu’on a gagné ! Spaß“ für alle"


@pytest.mark.parametrize(
    "case, body, headers, expected",
    [
        # The bytes contradict the declaration and say what they are: the right text, not mojibake.
        ("UTF-8 with windows-1252 quotes pasted in",
         _with_title(GERMAN.encode() + " “Zitat” – ok".encode("cp1252")), {"content-type": "application/rss+xml"},
         GERMAN + " “Zitat” – ok"),
        ("UTF-8 with bytes that are no text",
         _with_title(GERMAN.encode() + b" \xff\xfe ok"), {"content-type": "application/rss+xml"}, GERMAN + " ÿþ ok"),
        ("UTF-8 declared windows-1252 in header and declaration",
         _with_title(GERMAN.encode(), b'<?xml version="1.0" encoding="windows-1252"?>'),
         {"content-type": "application/rss+xml; charset=windows-1252"}, GERMAN),
        ("UTF-8 Cyrillic declared windows-1251",
         _with_title("Забастовка".encode(), b'<?xml version="1.0" encoding="windows-1251"?>'), {}, "Забастовка"),
        ("windows-1252 declared UTF-8",
         _with_title("Don’t – café".encode("cp1252")), {"content-type": "application/rss+xml; charset=utf-8"},
         "Don’t – café"),
        # Consistent legacy documents are read as declared, untouched, even where a few byte pairs
        # look like UTF-8 (é + no-break space + », ß + “) or the server's header says UTF-8.
        ("windows-1252 with byte pairs that look like UTF-8",
         _with_title(FRENCH.encode("cp1252"), b'<?xml version="1.0" encoding="windows-1252"?>'), {}, FRENCH),
        ("windows-1252 with UTF-8-looking pairs, nothing declared",
         _with_title(FRENCH.encode("cp1252"), b""), {"content-type": "application/rss+xml"}, FRENCH),
        ("windows-1251 declared windows-1251",
         _with_title("Забастовка".encode("cp1251"), b'<?xml version="1.0" encoding="windows-1251"?>'), {}, "Забастовка"),
        ("windows-1251 declared, header says UTF-8",
         _with_title("Забастовка".encode("cp1251"), b'<?xml version="1.0" encoding="windows-1251"?>'),
         {"content-type": "application/rss+xml; charset=UTF-8"}, "Забастовка"),
        ("windows-1251 declared, header says us-ascii",
         _with_title("Забастовка".encode("cp1251"), b'<?xml version="1.0" encoding="windows-1251"?>'),
         {"content-type": "application/rss+xml; charset=us-ascii"}, "Забастовка"),
        ("Shift_JIS declared, header says UTF-8",
         _with_title("ストライキ".encode("shift_jis"), b'<?xml version="1.0" encoding="Shift_JIS"?>'),
         {"content-type": "application/rss+xml; charset=utf-8"}, "ストライキ"),
        ("GBK declared, header says UTF-8",
         _with_title("罢工胜利".encode("gbk"), b'<?xml version="1.0" encoding="GBK"?>'),
         {"content-type": "application/rss+xml; charset=utf-8"}, "罢工胜利"),
        ("latin-1 declared in the header only",
         _with_title("Grève".encode("latin-1"), b""), {"content-type": "text/xml; charset=iso-8859-1"}, "Grève"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 60 and " " in v else "",
)  # fmt: skip
def test_wrong_or_mixed_encodings_give_the_right_text(case: str, body: bytes, headers: dict[str, str], expected: str) -> None:
    """Mojibake only where the bytes allow no right answer. feedparser alone reads the first four
    as windows-1252 and turns each UTF-8 character into two or three wrong ones; the rest must
    come out exactly as feedparser reads them from their declarations."""
    assert parse(body, headers).entries[0].title == expected, case


def test_encoding_repair_of_a_large_body_is_fast() -> None:
    """A million stray bytes in 8 MB of UTF-8: decoded at C speed, not a Python call per byte."""
    import time

    body = _with_title("Забастовка ".encode() * 300_000 + "“x” ".encode("cp1252") * 500_000)
    started = time.process_time()
    repaired, headers = repair_encoding(body, {"content-type": "application/rss+xml"})
    assert time.process_time() - started < 2.0  # about 0.2 s here; a per-byte Python handler took 10 s
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert "“x” Забастовка".encode() not in repaired and "Забастовка “x”".encode() in repaired


# --------------------------------------------------------------------------- identity


def test_identity_falls_back_id_then_link_then_hash() -> None:
    items = (
        "<item><guid isPermaLink=\"false\">urn:post:1</guid><title>a</title><link>https://x.example/1</link></item>"
        "<item><title>b</title><link>https://x.example/2</link></item>"
        "<item><title>c</title><description>body c</description></item>"
    )
    a, b, c = parse(rss(items)).entries
    assert (a.key, a.key_source, a.original_id) == ("urn:post:1", "id", "urn:post:1")
    assert (b.key, b.key_source, b.original_id) == ("https://x.example/2", "link", None)
    assert c.key_source == "hash" and c.key.startswith("sha256:") and c.original_id is None
    assert c.link is None


def test_hash_key_is_stable_and_ignores_whitespace_and_case() -> None:
    one = parse(rss("<item><title>Strike</title><description>The  body</description></item>")).entries[0]
    two = parse(rss("<item><title>strike</title><description>the body\n</description></item>")).entries[0]
    other = parse(rss("<item><title>Strike</title><description>Another body</description></item>")).entries[0]
    assert one.key == two.key != other.key


def test_duplicate_ids_keep_the_first() -> None:
    items = (
        "<item><guid isPermaLink=\"false\">dup</guid><title>first</title></item>"
        "<item><guid isPermaLink=\"false\">dup</guid><title>second</title></item>"
        "<item><guid isPermaLink=\"false\">other</guid><title>third</title></item>"
    )
    assert [e.title for e in parse(rss(items)).entries] == ["first", "third"]


def test_links_are_absolute_http_or_none() -> None:
    items = (
        "<item><guid>1</guid><title>rel</title><link>/2026/rel</link></item>"
        "<item><guid>2</guid><title>js</title><link>javascript:alert(1)</link></item>"
    )
    rel, js = parse(rss(items)).entries
    assert rel.link == "https://socialistparty.example/2026/rel"
    assert js.link is None


def test_untitled_entry_gets_snippet_or_placeholder() -> None:
    items = (
        "<item><guid>1</guid><description>&lt;p&gt;A statement from the International Executive Committee&lt;/p&gt;</description></item>"
        "<item><guid>2</guid></item>"
    )
    snippet, empty = parse(rss(items)).entries
    assert snippet.title.startswith("A statement from the International")
    assert empty.title == "(untitled)"


def test_entry_count_is_capped_keeping_the_newest() -> None:
    items = "".join(
        f"<item><guid isPermaLink=\"false\">{i}</guid><title>t{i}</title><pubDate>{(dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for i in range(MAX_ENTRIES + 50)
    )
    entries = parse(rss(items)).entries
    assert len(entries) == MAX_ENTRIES
    assert {e.key for e in entries} == {str(i) for i in range(50, MAX_ENTRIES + 50)}


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("pub", "expected"),
    [
        (None, None),
        ("Mon, 01 Jan 1968 00:00:00 GMT", dt.datetime(1968, 1, 1, tzinfo=UTC)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("Sat, 01 Jan 2150 00:00:00 GMT", dt.datetime(2150, 1, 1, tzinfo=UTC)),
        ("not a date", None),
        ("Mon, 45 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_dates(pub: str | None, expected: dt.datetime | None) -> None:
    date = f"<pubDate>{pub}</pubDate>" if pub else ""
    (entry,) = parse(rss(f"<item><guid>1</guid><title>t</title>{date}</item>")).entries
    assert entry.published == expected
    if entry.published is not None:
        assert entry.published.tzinfo is not None and entry.published.utcoffset() == dt.timedelta(0)


def test_atom_date_with_offset_is_converted_to_utc() -> None:
    doc = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><id>urn:1</id><title>t</title><updated>2026-11-04T23:30:00+05:30</updated></entry></feed>"
    )
    assert parse(doc).entries[0].updated == dt.datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- not feeds, broken feeds


def test_html_page_suggests_its_feed() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Socialist Party</title>"
        '<link rel="stylesheet" href="/style.css">'
        '<link rel="alternate" type="application/rss+xml" title="Feed" href="/feed/">'
        "</head><body><p>Welcome</p></body></html>"
    )
    with pytest.raises(ParseError) as caught:
        parse(page, {"content-type": "text/html; charset=utf-8"}, url="https://socialistparty.example/news/")
    assert caught.value.suggested_feed_url == "https://socialistparty.example/feed/"
    assert str(caught.value)


def test_html_page_with_atom_link_and_base() -> None:
    page = (
        '<html><head><base href="https://cdn.example/site/"><link rel="Alternate" type="application/atom+xml" href="atom.xml"></head>'
        "<body>hi</body></html>"
    )
    with pytest.raises(ParseError) as caught:
        parse(page, {"content-type": "text/html"})
    assert caught.value.suggested_feed_url == "https://cdn.example/site/atom.xml"


def test_html_page_without_feed_link() -> None:
    with pytest.raises(ParseError) as caught:
        parse("<html><body><p>404 Not Found</p></body></html>", {"content-type": "text/html"})
    assert caught.value.suggested_feed_url is None


@pytest.mark.parametrize("body", [b"", b"   \n", b"Not a feed at all", b"{\"error\": \"nope\"}", b"\x00\x01\x02garbage\xff\xfe"])
def test_empty_and_non_xml_bodies_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, {}, URL)


def test_broken_but_usable_feed_keeps_entries_with_warning() -> None:
    doc = rss(ITEM + "<item><guid>2</guid><title>AT&T & unions</title></item>")
    feed = parse(doc)
    assert feed.warning
    # feedparser's lenient fallback reads "&T" as an unterminated entity: close enough to keep.
    assert [e.title[:4] for e in feed.entries] == ["Stri", "AT&T"]


def test_truncated_feed_keeps_what_it_has() -> None:
    doc = rss(ITEM)[: -len("</channel></rss>") - 10]
    feed = parse(doc)
    assert feed.warning and feed.entries[0].title == "Strike wins"


def test_truncated_before_any_entry_is_an_error() -> None:
    with pytest.raises(ParseError) as caught:
        parse('<?xml version="1.0"?><rss version="2.0"><channel><title>Social')
    assert str(caught.value)


def test_gzip_body_is_unpacked() -> None:
    import gzip

    assert len(parse(gzip.compress(rss(ITEM).encode())).entries) == 1


def test_gzip_bomb_is_refused() -> None:
    import gzip

    with pytest.raises(ParseError):
        parse_feed(gzip.compress(b"<rss>" + b" " * 50_000_000), {}, URL)


def test_xml_illegal_characters_in_feed_are_dropped() -> None:
    body = rss(ITEM.replace("Strike wins", "Strike&#1; wins")).encode()
    assert parse(body).entries[0].title == "Strike wins"


@pytest.mark.parametrize(
    ("period", "frequency", "seconds"),
    [("daily", None, 86400.0), ("weekly", "7", 86400.0), (None, "24", 3600.0), ("yearly", "0", None), ("fortnightly", "1", None)],
)
def test_update_period(period: str | None, frequency: str | None, seconds: float | None) -> None:
    extra = (f"<sy:updatePeriod>{period}</sy:updatePeriod>" if period else "") + (
        f"<sy:updateFrequency>{frequency}</sy:updateFrequency>" if frequency else ""
    )
    assert parse(rss(ITEM, extra)).update_seconds == seconds


# Fixtures that are not feeds on purpose, and what parse_feed must say of them.
NOT_FEEDS = {"README.md", "html_page.html"}


def test_every_fixture_feed_parses_with_entries_and_the_others_are_refused() -> None:
    folder = Path(__file__).parent / "data" / "feeds"
    files = sorted(p for p in folder.glob("**/*") if p.is_file())
    assert len(files) >= 20, f"the fixture feeds are missing from {folder}"
    for path in files:
        if path.name in NOT_FEEDS:
            with pytest.raises(ParseError):
                parse_feed(path.read_bytes(), {}, f"https://example.org/{path.name}")
            continue
        feed = parse_feed(path.read_bytes(), {}, f"https://example.org/{path.name}")
        assert len(feed.entries) == 3, path.name
        assert all(e.title and e.key for e in feed.entries), path.name


def test_no_socket_is_opened_while_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Attempts are recorded, not raised: parse_feed turns any exception into a ParseError, which
    # would hide an AssertionError raised from inside it.
    attempts: list[object] = []

    def record(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", record)
    monkeypatch.setattr(socket, "create_connection", record)
    doc = '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://192.0.2.1/x.dtd" [<!ENTITY e SYSTEM "http://192.0.2.1/e">]>' + rss(
        "<item><guid>1</guid><title>&e;</title></item>", decl=""
    )
    try:
        parse(doc)
    except ParseError:
        pass
    assert attempts == [], "parse_feed tried to open a network connection"
    # The trap itself works: a connection attempt is seen.
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80))
    assert len(attempts) == 1


def test_rss10_dc_date_is_the_published_time() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/"><title>T</title><link>https://example.org/</link>
    <description>d</description><items><rdf:Seq><rdf:li rdf:resource="https://example.org/a"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://example.org/a"><title>A</title><link>https://example.org/a</link>
    <dc:date>2026-11-19T18:30:00+01:00</dc:date></item>
</rdf:RDF>"""
    entry = parse_feed(body, {"content-type": "application/rdf+xml"}, "https://example.org/feed").entries[0]
    assert entry.published == dt.datetime(2026, 11, 19, 17, 30, tzinfo=dt.timezone.utc)
