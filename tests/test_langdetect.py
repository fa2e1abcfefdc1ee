"""Per-entry language: the detector on written samples (long ones detected, short ones falling back),
the `language: [si, ta, en]` config, and a multi-language feed served on 127.0.0.1 coming out with each
entry's own language in feed.atom, feed.json and languages/<tag>.atom."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from aggregator import ingest, langdetect
from aggregator.config import ConfigError, config_from_dict
from aggregator.models import ParsedEntry, ParsedFeed
from conftest import ATOM_NS, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

DATA = Path(__file__).parent / "data" / "languages"
SAMPLES: dict[str, list[str]] = json.loads((DATA / "samples.json").read_text(encoding="utf-8"))
SHORT: dict[str, list[str]] = json.loads((DATA / "short.json").read_text(encoding="utf-8"))
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
# Each language among the others a sister party's feed lists with it, the default never the answer.
OTHERS = {"si": ["ta", "en"], "ta": ["si", "en"], "ur": ["en"], "hi": ["en"], "fr": ["nl", "en"],
          "nl": ["fr"], "ms": ["en", "zh"], "en": ["fr"], "zh": ["ms", "en"]}


@pytest.mark.parametrize("language", ["si", "ta", "ur", "hi", "fr", "nl", "ms", "en", "zh"])
def test_news_texts_are_detected_among_the_feeds_languages(language: str) -> None:
    for text in SAMPLES[language]:
        choice = langdetect.detect(text, [*OTHERS[language], language])
        assert (choice.language, choice.source) == (language, "detected"), text


@pytest.mark.parametrize("language", sorted(SHORT))
def test_a_short_text_falls_back_to_the_configured_default(language: str) -> None:
    default = OTHERS[language][0]
    for text in SHORT[language]:
        assert langdetect.detect(text, [default, language]) == langdetect.LanguageChoice(default, "configured")


def test_the_answer_is_the_configured_tag_and_one_language_is_never_detected() -> None:
    assert langdetect.detect(SAMPLES["en"][0], ["fr-CA", "en-CA"]).language == "en-CA"
    # A feed of one language keeps it whatever its text says: no model is needed.
    assert langdetect.detect(SAMPLES["fr"][0], ["en"]) == langdetect.LanguageChoice("en", "configured")


def _entry(title: str, text: str, language: str | None = None) -> ParsedEntry:
    return ParsedEntry(key=title, key_source="id", original_id=None, link=None, title=title,
                       content_html=f"<p>{escape(text)}</p>", summary_html="", author=None, categories=(),
                       published=NOW, updated=NOW, language=language)  # fmt: skip


def test_prepare_feed_stores_the_detected_language_and_an_entry_declaration_wins() -> None:
    parsed = ParsedFeed(entries=(
        _entry("a", SAMPLES["ta"][0]), _entry("b", SAMPLES["si"][0]), _entry("c", SAMPLES["en"][0]),
        _entry("d", SHORT["ta"][0]), _entry("e", SAMPLES["si"][1], language="ta"),
    ), language="en-US")  # fmt: skip
    prepared = ingest.prepare_feed(parsed, ("si", "ta", "en"), NOW)
    assert [p.language for p in prepared.entries] == ["ta", "si", "en", "si", "ta"]
    # The fingerprint (dedupe) sees the same language as the stored copy.
    assert [p.fingerprint.language for p in prepared.entries] == ["ta", "si", "en", "si", "ta"]
    # A feed configured with one language is as before: its entries take it.
    single = ingest.prepare_feed(parsed, "en", NOW)
    assert [p.language for p in single.entries] == ["en", "en", "en", "en", "ta"]


def _config(language: object) -> object:
    return config_from_dict({
        "title": "T", "base_url": "https://feeds.example.org/", "regions": {"asia": "Asia"},
        "feeds": [{"url": "https://lankasocialist.example/feed", "name": "USP", "region": "asia",
                   "country": "LK", "language": language}],
    }, Path("feeds.yaml"))  # fmt: skip


def test_config_takes_a_list_of_languages_the_first_the_default() -> None:
    feed = _config(["si", "ta", "en"]).feeds[0]  # type: ignore[attr-defined]
    assert (feed.language, feed.languages) == ("si", ("si", "ta", "en"))
    feed = _config("en-GB").feeds[0]  # type: ignore[attr-defined]
    assert (feed.language, feed.languages) == ("en-GB", ("en-GB",))


@pytest.mark.parametrize("bad, says", [([], "is required"), (["si", "xx-!!"], "not a BCP 47"),
                                       (["si", "si"], "listed twice"), ([["si"]], "must be text")])
def test_config_names_a_bad_language_list(bad: object, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        _config(bad)
    assert "feeds[0] (USP).language" in str(err.value) and says in str(err.value)
    assert err.value.exit_code == 2


def _rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{escape(title)}</title><link>https://lankasocialist.example/?p={i}</link>"
        f"<guid>https://lankasocialist.example/?p={i}</guid><pubDate>Sun, 0{i + 1} Feb 2026 10:00:00 GMT</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for i, (title, text) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>USP</title>'
            f"<link>https://lankasocialist.example/</link><description>x</description><language>en-US</language>"
            f"{body}</channel></rss>").encode("utf-8")  # fmt: skip


def test_a_three_language_feed_publishes_each_entry_in_its_own_language(tmp_path: Path, feed_server: FeedServer) -> None:
    items = [("වැඩ වර්ජනය", SAMPLES["si"][0]), ("வேலைநிறுத்தம்", SAMPLES["ta"][0]),
             ("Strike in Colombo", SAMPLES["en"][0]), ("ප්‍රකාශය", "")]  # the last too short: the default
    url = feed_server.add("/usp.xml", _rss(items), content_type="application/rss+xml")
    config = write_config(tmp_path, [feed_entry(url, "USP", region="asia", country="LK", language=["si", "ta", "en"])])
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    public = tmp_path / "public"
    validate_atom(public / "feed.atom")
    root = etree.parse(str(public / "feed.atom")).getroot()
    by_title = {e.findtext(f"{ATOM_NS}title"): e.get(XML_LANG) for e in root.findall(f"{ATOM_NS}entry")}
    assert by_title == {"වැඩ වර්ජනය": "si", "வேலைநிறுத்தம்": "ta", "Strike in Colombo": "en", "ප්‍රකාශය": "si"}
    tamil = etree.parse(str(public / "languages" / "ta.atom")).getroot()
    assert [e.findtext(f"{ATOM_NS}title") for e in tamil.findall(f"{ATOM_NS}entry")] == ["வேலைநிறுத்தம்"]
    assert {e.get(XML_LANG) for e in tamil.findall(f"{ATOM_NS}entry")} == {"ta"}
    english = etree.parse(str(public / "languages" / "en.atom")).getroot()
    assert [e.findtext(f"{ATOM_NS}title") for e in english.findall(f"{ATOM_NS}entry")] == ["Strike in Colombo"]
    items_json = json.loads((public / "feed.json").read_text(encoding="utf-8"))["items"]
    assert {i["title"]: i["language"] for i in items_json} == by_title
