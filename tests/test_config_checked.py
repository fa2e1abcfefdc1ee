"""The registry checks of language tags and country codes run once per config text: later loads of
the same text check only their shape, and any edit is checked in full again."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import CHECKED_SUFFIX, ConfigError, load_config
from conftest import feed_entry, run_cli, write_config


def test_a_checked_config_is_remembered_and_an_edit_is_checked_again(tmp_path: Path) -> None:
    config = write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party", language="ur")])
    marker = tmp_path / ("aggregator.db" + CHECKED_SUFFIX)
    assert load_config(config).feeds[0].language == "ur"
    assert marker.is_file()
    remembered = marker.read_text()
    assert load_config(config).feeds[0].language == "ur"  # the shape-only path gives the same config
    # A well-formed tag that is no language, and a country code that is no country: both are
    # caught, because the edited text has not been checked before.
    config.write_text(config.read_text().replace("language: ur", "language: xz").replace("country: GB", "country: XQ"))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "language" in str(caught.value) and "country" in str(caught.value)
    assert marker.read_text() == remembered
    assert run_cli("fetch", "-c", config).code == 2
    # A forged marker cannot vouch for another text: its digest covers the whole file.
    marker.write_text("0" * 64 + "\n")
    assert run_cli("fetch", "-c", config).code == 2


def test_check_always_checks_the_registries(tmp_path: Path) -> None:
    config = write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party", language="xz")])
    marker = tmp_path / ("aggregator.db" + CHECKED_SUFFIX)
    result = run_cli("check", "-c", config)
    assert result.code == 2 and "language" in result.err
    assert not marker.exists()


def test_a_parsed_config_text_is_kept_and_an_edit_is_parsed_again(tmp_path: Path) -> None:
    """The YAML document of a config text is kept in the parse cache: the next load of the same
    text reads it from there (no YAML parser loaded), validates it as ever, and an edit is parsed
    afresh."""
    from aggregator.config import parse_cache_file
    from conftest import modules_loaded_by_cli

    config = write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party", language="ur")])
    cache = parse_cache_file(config)
    assert cache is not None and not cache.exists()
    assert load_config(config).feeds[0].name == "Party"
    assert '"Party"' in cache.read_text(encoding="utf-8")
    assert modules_loaded_by_cli(["ruamel.yaml"], "status", "-c", config) == (0, [])

    # What is kept is what the next load uses (a stand-in edit of the kept document shows it)...
    cache.write_text(cache.read_text(encoding="utf-8").replace('"Party"', '"Party (kept)"'), encoding="utf-8")
    assert load_config(config).feeds[0].name == "Party (kept)"
    # ...and is still validated: a kept document that fails the checks fails the load.
    cache.write_text(cache.read_text(encoding="utf-8").replace('"ur"', '"not a tag"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="language"):
        load_config(config)
    # An edited text is parsed again, whatever is kept.
    config.write_text(config.read_text().replace("name: Party", "name: Party renamed"))
    assert load_config(config).feeds[0].name == "Party renamed"
    # A broken cache file costs a parse, not the load.
    cache.write_text("{not json", encoding="utf-8")
    assert load_config(config).feeds[0].name == "Party renamed"


def test_a_document_json_cannot_hold_is_parsed_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A YAML date (or a number as a key) would come back from JSON as something else: such a
    document is not kept, and each load parses the text."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party")])
    config.write_text(config.read_text() + "\nnotes_written: 2026-12-03\n")
    with pytest.raises(ConfigError, match="notes_written"):  # unknown key: the document was read
        load_config(config)
    assert not list((tmp_path / "cache").rglob("*"))

    # No cache directory to be had (a read-only home): the config loads all the same.
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-cache")
    config.write_text(config.read_text().replace("\nnotes_written: 2026-12-03\n", "\n"))
    assert load_config(config).feeds[0].name == "Party"
