"""Documentation is checked, not trusted: every command and every config key is in the README."""

from __future__ import annotations

import argparse

from aggregator import config
from aggregator.cli import build_parser
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(parser: argparse.ArgumentParser, prefix: str = "aggregator") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(_commands(sub, f"{prefix} {name}"))
    return found


def test_every_command_is_documented_in_the_readme() -> None:
    commands = _commands(build_parser())
    assert "aggregator fetch" in commands and "aggregator opml export" in commands
    missing = [c for c in commands if f"`{c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_config_key_is_documented_in_the_readme() -> None:
    reference = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    keys = (
        config.TOP_KEYS | config.FEED_KEYS | config.FETCH_KEYS | config.POLLING_KEYS
        | config.DEDUPE_KEYS | config.SCHEDULE_KEYS | config.RETENTION_KEYS | config.WEBSUB_KEYS
    )  # fmt: skip
    missing = sorted(k for k in keys if f"{k}:" not in reference)
    assert not missing, f"config keys missing from the README's Configuration section: {missing}"


def test_the_repository_config_is_valid() -> None:
    loaded = config.load_config(REPO / "feeds.yaml")
    assert len(loaded.feeds) >= 10 and any(f.enabled for f in loaded.feeds)
    assert {f.region for f in loaded.feeds} <= set(loaded.regions)
