"""canonical_url: the same article under different dress gives one key; different articles never do."""

from __future__ import annotations

import pytest

from aggregator.urls import canonical_url, is_http_url

BASE = "https://socialistworld.net/2022/09/16/general-strike-in-nigeria"


@pytest.mark.parametrize(
    "variant",
    [
        BASE,
        BASE + "/",
        "http://socialistworld.net/2022/09/16/general-strike-in-nigeria/",
        "https://www.socialistworld.net/2022/09/16/general-strike-in-nigeria/",
        "HTTPS://WWW.SocialistWorld.NET/2022/09/16/general-strike-in-nigeria/",
        "https://socialistworld.net:443/2022/09/16/general-strike-in-nigeria/",
        "http://socialistworld.net:80/2022/09/16/general-strike-in-nigeria/",
        "https://socialistworld.net./2022/09/16/general-strike-in-nigeria/",
        BASE + "/#comments",
        BASE + "/?utm_source=rss&utm_medium=rss&utm_campaign=general-strike-in-nigeria",
        BASE + "/?fbclid=IwAR0abc",
        BASE + "/?gclid=xyz&mc_cid=1a2b&mc_eid=3c4d",
        BASE + "?UTM_Source=Newsletter",
        BASE + "/?_ga=2.1234&_gl=1*abc",
        BASE + "/?pk_campaign=x&mtm_source=y&igshid=z&msclkid=q",
        BASE + "/amp/",
        BASE + "/amp",
        BASE + "/AMP/",
        BASE + "/?amp=1",
        BASE + "/?amp",
        BASE + "?outputType=amp",
        "https://amp.socialistworld.net/2022/09/16/general-strike-in-nigeria/",
        "  " + BASE + "  ",
        "https://socialistworld.net/2022/09/16/./general-strike-in-nigeria/",
        "https://socialistworld.net/2022/09/16/x/../general-strike-in-nigeria",
        "https://socialistworld.net/2022/09/16/general%2Dstrike%2din%2Dnigeria/",
    ],
)
def test_variants_of_one_article_share_a_key(variant: str) -> None:
    assert canonical_url(variant) == canonical_url(BASE) == BASE


@pytest.mark.parametrize(
    "a, b",
    [
        ("https://marxistworkersparty.net/?p=2614", "https://marxistworkersparty.net/?p=2615"),
        ("https://socialism.in/?page_id=1415", "https://socialism.in/?cat=1415"),
        ("https://socialistworld.net/2022/09/16/a/", "https://socialistworld.net/2022/09/16/b/"),
        ("https://socialistworld.net/x", "https://socialistparty.org.uk/x"),
        ("https://socialistworld.net/x", "https://socialistworld.net:8443/x"),
        ("https://example.org/x?lang=de", "https://example.org/x?lang=en"),
        ("https://example.org/A", "https://example.org/a"),  # paths are case-sensitive
        ("https://example.org/a%2Fb", "https://example.org/a/b"),  # an escaped slash is not a separator
        ("https://mobile.example.org/x", "https://example.org/x"),
        ("https://example.org/amplifier", "https://example.org"),
        ("https://example.org/x?amp=0", "https://example.org/x?amp=1"),
    ],
)
def test_different_articles_keep_different_keys(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def test_query_parameter_order_does_not_matter() -> None:
    assert canonical_url("https://e.org/?b=2&a=1") == canonical_url("https://e.org/?a=1&b=2") == "https://e.org/?a=1&b=2"


def test_wordpress_plain_permalink_keeps_its_id_and_loses_tracking() -> None:
    url = "http://www.socialism.in/?p=2614&utm_source=rss&utm_campaign=x"
    assert canonical_url(url) == "https://socialism.in/?p=2614"


def test_blank_values_of_meaningful_parameters_are_kept() -> None:
    assert canonical_url("https://e.org/search?q=") == "https://e.org/search?q="


def test_percent_escapes_are_normalised() -> None:
    assert canonical_url("https://e.org/a%7eb") == canonical_url("https://e.org/a~b") == "https://e.org/a~b"
    assert canonical_url("https://e.org/a b") == "https://e.org/a%20b"
    assert canonical_url("https://e.org/caf%c3%a9") == canonical_url("https://e.org/café")


def test_international_host_becomes_punycode() -> None:
    assert canonical_url("https://www.bücher.de/x") == "https://xn--bcher-kva.de/x"


def test_nondefault_port_kept_userinfo_dropped() -> None:
    assert canonical_url("https://user:pw@e.org:8443/x") == "https://e.org:8443/x"


def test_ipv6_host() -> None:
    assert canonical_url("http://[::1]:8080/x/") == "https://[::1]:8080/x"


def test_root_path() -> None:
    assert canonical_url("https://e.org") == canonical_url("https://e.org/") == "https://e.org/"


def test_www_alone_is_not_stripped_to_a_tld() -> None:
    assert canonical_url("https://www.org/x") == "https://www.org/x"


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        3,
        b"https://e.org/",
        "",
        "   ",
        "not a url",
        "/relative/path",
        "//e.org/protocol-relative",
        "ftp://e.org/file",
        "mailto:someone@e.org",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://",
        "https:///path-only",
        "http://exa mple.org/",
        "http://e.org:99999/",
        "http://e.org:port/",
        "http://[::1/",
        "https://\u0000/",
        "http://.../",
    ],
)
def test_garbage_gives_none_and_never_raises(garbage: object) -> None:
    assert canonical_url(garbage) is None


def test_is_http_url() -> None:
    assert is_http_url("https://e.org/x")
    assert is_http_url("HTTP://e.org")
    assert not is_http_url("ftp://e.org")
    assert not is_http_url("/x")
    assert not is_http_url(None)
    assert not is_http_url("http://[::1/")


def test_canonical_is_idempotent() -> None:
    for url in ["http://WWW.e.org/a/b/?utm_source=x&z=1&a=2#f", "https://amp.e.org/x/amp/?amp=1", "https://e.org/caf%C3%A9"]:
        once = canonical_url(url)
        assert once is not None
        assert canonical_url(once) == once
