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
