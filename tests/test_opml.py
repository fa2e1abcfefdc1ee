"""OPML: `opml export` lists every enabled feed; `opml import` appends feeds to the config without
losing a comment, refuses unsafe or unusable files, and never leaves a half-edited config."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import CORPUS, REPO, feed_entry, run_cli, run_cli_process, write_config

OPML_CORPUS = CORPUS / "feedvalidator" / "opml"

COMMENTED_CONFIG = """\
# Our sections. Keep this comment!
title: Test World News   # shown in the feed title
base_url: https://feeds.example.org/
regions:
  europe: Europe   # EU and the rest
  asia: Asia
feeds:
  # --- Europe ---
  - url: https://one.example.org/feed/
    name: "Party One"      # quoted on purpose
    region: europe
    country: GB
    language: en
  - url: https://two.example.org/feed/
    name: Party Two
    region: europe
    country: IE
    language: en
    enabled: false
"""


def _opml(body: str, version: str = "2.0") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="{version}"><head><title>t</title></head><body>{body}</body></opml>\n'


NESTED = _opml(
    """
    <outline text="Europe">
      <outline text="France">
        <outline type="rss" text="Gauche Révolutionnaire" xmlUrl="https://gr.example.org/feed/"
                 htmlUrl="https://gr.example.org/" language="fr" category="/europe,/country/FR"/>
      </outline>
      <outline text="Belgium" title="Belgium">
        <outline type="atom" title="LSP" xmlUrl="https://lsp.example.org/atom.xml" language="nl-BE"/>
      </outline>
    </outline>
    <outline text="a link, not a feed" type="link" url="https://example.org/"/>
    <outline text="Untyped with xmlUrl" xmlUrl="https://untyped.example.org/rss"/>
    """
)


def _config(tmp_path: Path, text: str = COMMENTED_CONFIG) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str | bytes, name: str = "in.opml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _feeds(config: Path) -> dict[str, object]:
    from aggregator.config import load_config

    return {f.url: f for f in load_config(config).feeds}


def _only_additions(before: str, after: str) -> list[str]:
    """The lines `after` adds; fails if any line of `before` was changed or removed."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [d for d in diff if d.startswith("- ")], "a line of the config was changed or lost"
    return [d[2:] for d in diff if d.startswith("+ ")]


# ------------------------------------------------------------------ export


def test_export_is_opml_2_with_every_enabled_feed(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [
            feed_entry("https://a.example.org/feed/", "A & Co <Party>", site="https://a.example.org/"),
            feed_entry("https://b.example.org/rss", "Urdu Party", region="asia", country="PK", language="ur"),
            feed_entry("https://c.example.org/rss", "Off Party", enabled=False),
        ],
    )
    result = run_cli_process("opml", "export", "-c", config)  # writes bytes to the real stdout
    assert result.code == 0, result.err
    root = ET.fromstring(result.out.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Test World News: sources"
    feeds = {o.get("xmlUrl"): o for o in root.iter("outline") if o.get("xmlUrl")}
    assert set(feeds) == {"https://a.example.org/feed/", "https://b.example.org/rss"}
    a = feeds["https://a.example.org/feed/"]
    assert (a.get("type"), a.get("text"), a.get("htmlUrl"), a.get("language")) == (
        "rss", "A & Co <Party>", "https://a.example.org/", "en",
    )  # fmt: skip
    assert feeds["https://b.example.org/rss"].get("language") == "ur"
    assert "/country/PK" in feeds["https://b.example.org/rss"].get("category", "")
    groups = [o.get("text") for o in root.find("body")]  # type: ignore[union-attr]
    assert groups == ["Europe", "Asia"]

    out = tmp_path / "sources.opml"
    assert run_cli("opml", "export", "-o", out, "-c", config).code == 0
    assert out.read_text(encoding="utf-8") == result.out


def test_export_then_import_elsewhere_keeps_names_sites_countries_and_languages(tmp_path: Path) -> None:
    source_dir, target_dir = tmp_path / "a", tmp_path / "b"
    source_dir.mkdir(), target_dir.mkdir()
    source = write_config(source_dir, [
        feed_entry("https://a.example.org/feed/", "A Party", site="https://a.example.org/"),
        feed_entry("https://b.example.org/rss", "B Party", region="asia", country="PK", language="ur"),
    ])  # fmt: skip
    exported = tmp_path / "exported.opml"
    assert run_cli("opml", "export", "-o", exported, "-c", source).code == 0
    target = _config(target_dir)
    result = run_cli("opml", "import", exported, "--region", "asia", "-c", target)
    assert result.code == 0, result.err
    assert "added 2 feeds" in result.out
    feeds = _feeds(target)
    b = feeds["https://b.example.org/rss"]
    assert (b.name, b.country, b.language, b.region) == ("B Party", "PK", "ur", "asia")  # type: ignore[attr-defined]
    assert feeds["https://a.example.org/feed/"].site == "https://a.example.org/"  # type: ignore[attr-defined]


# ------------------------------------------------------------------ import


def test_import_appends_nested_feeds_and_keeps_every_comment(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = config.read_text(encoding="utf-8")
    result = run_cli("opml", "import", _write(tmp_path, NESTED), "--region", "europe", "--country", "BE",
                     "--language", "en", "-c", config)  # fmt: skip
    assert result.code == 0, result.err
    assert "added 3 feeds" in result.out
    after = config.read_text(encoding="utf-8")
    added = _only_additions(before, after)
    assert after.startswith(before)  # appended at the end of `feeds:`, nothing above touched
    assert "  - url: https://gr.example.org/feed/" in added  # the file's own list indentation
    assert "# Our sections. Keep this comment!" in after and '"Party One"      # quoted on purpose' in after

    feeds = _feeds(config)
    assert len(feeds) == 5
    gr = feeds["https://gr.example.org/feed/"]
    assert (gr.name, gr.site, gr.country, gr.language, gr.region) == (  # type: ignore[attr-defined]
        "Gauche Révolutionnaire", "https://gr.example.org/", "FR", "fr", "europe",
    )  # fmt: skip
    lsp = feeds["https://lsp.example.org/atom.xml"]
    assert (lsp.name, lsp.country, lsp.language, lsp.site) == ("LSP", "BE", "nl-BE", None)  # type: ignore[attr-defined]
    assert feeds["https://untyped.example.org/rss"].language == "en"  # type: ignore[attr-defined]


def test_import_into_the_real_default_config_changes_no_existing_line(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    shutil.copy(REPO / "feeds.yaml", config)
    before = config.read_text(encoding="utf-8")
    result = run_cli("opml", "import", _write(tmp_path, NESTED), "--region", "europe", "--country", "BE",
                     "--language", "en", "-c", config)  # fmt: skip
    assert result.code == 0, result.err
    added = _only_additions(before, config.read_text(encoding="utf-8"))
    assert len([line for line in added if line]) == 3 * 5 + 1  # three feeds: url, name, region, country, language; one site
    assert added.count("") == 3  # the file separates its feeds by blank lines, so the new ones are too
    assert run_cli("check", "-c", config).code == 0


def test_import_skips_feeds_already_in_the_config_and_a_repeat_changes_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    opml = _write(tmp_path, _opml(
        '<outline type="rss" text="One again" xmlUrl="https://one.example.org/feed/"/>'
        '<outline type="rss" text="Two again, www" xmlUrl="https://www.two.example.org/feed"/>'
        '<outline type="rss" text="Three" xmlUrl="https://three.example.org/feed/"/>'
        '<outline type="rss" text="Three twice" xmlUrl="https://three.example.org/feed/"/>'
    ))  # fmt: skip
    result = run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en", "-c", config)
    assert "added 1 feed to" in result.out
    assert len(_feeds(config)) == 3
    text = config.read_text(encoding="utf-8")
    mtime = config.stat().st_mtime_ns
    again = run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en", "-c", config)
    assert again.code == 0 and "added 0 feeds" in again.out
    assert config.read_text(encoding="utf-8") == text and config.stat().st_mtime_ns == mtime


def test_import_into_an_empty_flow_list_makes_a_block_list(tmp_path: Path) -> None:
    config = _config(tmp_path, "base_url: https://x.example.org/\nregions: {europe: Europe}\nfeeds: []  # none yet\n")
    opml = _write(tmp_path, _opml('<outline type="rss" text="One" xmlUrl="https://one.example.org/feed/"/>'))
    assert run_cli("opml", "import", opml, "--region", "europe", "--country", "GB", "--language", "en",
                   "-c", config).code == 0  # fmt: skip
    text = config.read_text(encoding="utf-8")
    assert "- url: https://one.example.org/feed/" in text and "# none yet" in text
    assert list(_feeds(config)) == ["https://one.example.org/feed/"]


def _assert_refused(tmp_path: Path, config: Path, opml: Path, message: str, *args: str) -> None:
    before = config.read_bytes()
    result = run_cli("opml", "import", opml, "--region", "europe", *args, "-c", config)
    assert result.code == 2, result.err
    assert message in result.err, result.err
    assert "Traceback" not in result.err
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_country_is_required_unless_every_outline_gives_one(tmp_path: Path) -> None:
    config = _config(tmp_path)
    opml = _write(tmp_path, _opml(
        '<outline type="rss" text="Has" xmlUrl="https://has.example.org/f" category="/country/DE"/>'
        '<outline type="rss" text="Hasnt Party" xmlUrl="https://hasnt.example.org/f"/>'
    ))  # fmt: skip
    _assert_refused(tmp_path, config, opml, "the outline for https://hasnt.example.org/f (Hasnt Party) gives no country; give --country", "--language", "de")
    assert run_cli("opml", "import", opml, "--region", "europe", "--country", "AT", "--language", "de", "-c", config).code == 0
    feeds = _feeds(config)
    assert feeds["https://has.example.org/f"].country == "DE"  # type: ignore[attr-defined]
    assert feeds["https://hasnt.example.org/f"].country == "AT"  # type: ignore[attr-defined]


def test_language_falls_back_to_the_option_and_is_required(tmp_path: Path) -> None:
    config = _config(tmp_path)
    opml = _write(tmp_path, _opml('<outline type="rss" text="CNET" language="unknown" xmlUrl="https://cnet.example.org/f"/>'))
    _assert_refused(tmp_path, config, opml, "(CNET) gives no language (its language 'unknown' is not a language tag); give --language", "--country", "US")


@pytest.mark.parametrize(
    "body, message",
    [
        ('<outline type="rss" text="FTP" xmlUrl="ftp://ftp.example.org/feed"/>', "(FTP).url: 'ftp://ftp.example.org/feed' is not an absolute http(s) URL"),
        ('<outline type="rss" text="Bad Site" xmlUrl="https://x.example.org/f" htmlUrl="javascript:alert(1)"/>', "(Bad Site).site:"),
        ('<outline type="rss" text="No url"/>', "outline 1 (No url) is a feed without an xmlUrl"),
        ('<outline type="rss" xmlUrl="https://noname.example.org/f"/>', "https://noname.example.org/f has neither text nor title"),
    ],
)  # fmt: skip
def test_outlines_that_would_break_the_config_are_refused(tmp_path: Path, body: str, message: str) -> None:
    config = _config(tmp_path)
    _assert_refused(tmp_path, config, _write(tmp_path, _opml(body)), message, "--country", "GB", "--language", "en")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><opml version="2.0"><body>'
            '<outline type="rss" text="&c;" xmlUrl="https://laughs.example.org/f"/></body></opml>',
            "DOCTYPE or entity declarations",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml version="2.0"><body>'
            '<outline type="rss" text="x" xmlUrl="https://xxe.example.org/f"/></body></opml>',
            "DOCTYPE or entity declarations",
        ),
        ("<opml><body><outline text='x'", "not well-formed XML"),
        ('<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not an OPML document"),
        ("", "not well-formed XML"),
    ],
)
def test_unsafe_or_foreign_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    config = _config(tmp_path)
    _assert_refused(tmp_path, config, _write(tmp_path, content), message, "--country", "GB", "--language", "en")


def test_oversized_and_missing_files_and_unknown_region_are_refused(tmp_path: Path) -> None:
    from aggregator.opml import MAX_OPML_BYTES

    config = _config(tmp_path)
    big = _write(tmp_path, _opml(" " * (MAX_OPML_BYTES + 1)))
    _assert_refused(tmp_path, config, big, "larger than 5 MB", "--country", "GB", "--language", "en")
    _assert_refused(tmp_path, config, tmp_path / "missing.opml", "cannot read", "--country", "GB")
    small = _write(tmp_path, NESTED)
    before = config.read_bytes()
    result = run_cli("opml", "import", small, "--region", "antarctica", "--country", "GB", "-c", config)
    assert result.code == 2 and "'antarctica' is not one of the config's regions: europe, asia" in result.err
    result = run_cli("opml", "import", small, "--region", "europe", "--country", "XX", "-c", config)
    assert result.code == 2 and "--country 'XX'" in result.err
    assert config.read_bytes() == before


# ------------------------------------------------------------------ the feedvalidator corpus


def test_every_clean_corpus_file_reads_and_only_the_subscription_list_has_feeds() -> None:
    from aggregator.opml import read_opml

    files = sorted((OPML_CORPUS / "clean").glob("*.opml"))
    assert len(files) >= 10
    found = {f.name: read_opml(f.read_bytes()) for f in files}
    assert {name for name, feeds in found.items() if feeds} == {"subscriptionList.opml"}
    feeds = found["subscriptionList.opml"]
    assert len(feeds) == 13
    assert feeds[0].url == "http://news.com.com/2547-1_3-0-5.xml" and feeds[0].name == "CNET News.com"
    assert all(f.url.startswith("http://") and f.name and f.site for f in feeds)


def test_every_broken_corpus_file_reads_or_raises_opml_error() -> None:
    from aggregator.opml import OpmlError, read_opml

    outcomes = {}
    for f in sorted((OPML_CORPUS / "errors").glob("*.opml")):
        try:
            outcomes[f.name] = len(read_opml(f.read_bytes()))
        except OpmlError as exc:
            outcomes[f.name] = str(exc)
    assert "not well-formed" in str(outcomes["notwellformed.opml"])
    assert "not an OPML document" in str(outcomes["missingBody.opml"])


def test_the_corpus_subscription_list_imports_into_a_valid_config(tmp_path: Path) -> None:
    config = _config(tmp_path)
    opml = OPML_CORPUS / "clean" / "subscriptionList.opml"  # ISO-8859-1, language="unknown" throughout
    result = run_cli("opml", "import", opml, "--region", "asia", "--country", "US", "--language", "en", "-c", config)
    assert result.code == 0, result.err
    assert "added 13 feeds" in result.out
    assert run_cli("check", "-c", config).code == 0
    assert run_cli("opml", "export", "-o", tmp_path / "out.opml", "-c", config).code == 0
    exported = ET.parse(tmp_path / "out.opml").getroot()
    urls = {o.get("xmlUrl") for o in exported.iter("outline") if o.get("xmlUrl")}
    assert "http://www.cadenhead.org/workbench/rss.xml" in urls and len(urls) == 14  # Party Two is disabled


def test_import_puts_new_feeds_above_the_comments_that_end_the_list(tmp_path: Path) -> None:
    """Comment lines after the last feed (a commented-out feed, a note about the next section)
    stay at the end of the list, below the imported feeds, and right above the next section."""
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "title: T\nbase_url: https://feeds.example.org/\n"
        "feeds:\n"
        "  - url: https://one.example.org/feed/\n"
        "    name: One   # inline stays here\n"
        "    region: europe\n    country: GB\n    language: en   # and this one\n"
        "  # disabled for now:\n"
        "  # - url: https://old.example.org/feed/\n"
        "# the regions we publish:\n"
        "regions:\n  europe: Europe\n",
        encoding="utf-8",
    )
    result = run_cli("opml", "import", _write(tmp_path, NESTED), "--region", "europe", "--country", "BE",
                     "--language", "en", "-c", config)  # fmt: skip
    assert result.code == 0, result.err
    lines = config.read_text(encoding="utf-8").splitlines()
    assert "    language: en   # and this one" in lines and "    name: One   # inline stays here" in lines
    tail = lines[lines.index("  # disabled for now:"):]
    assert tail == ["  # disabled for now:", "  # - url: https://old.example.org/feed/", "# the regions we publish:",
                    "regions:", "  europe: Europe"]  # fmt: skip
    assert lines.index("  - url: https://untyped.example.org/rss") < lines.index("  # disabled for now:")
    assert len(_feeds(config)) == 4
