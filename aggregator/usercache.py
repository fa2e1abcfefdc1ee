"""The user's cache folder for aggregator: $XDG_CACHE_HOME/aggregator (~/.cache/aggregator).

What is kept there is only ever a copy of something aggregator can work out again (a parsed
config text, language and country names): a missing, unreadable or unwritable folder costs the
work, never a failure. Deleting the folder is always safe.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .files import OutputError, write_atomically


def cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/aggregator, or ~/.cache/aggregator; None without a home directory."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        return (Path(base) if base else Path.home() / ".cache") / "aggregator"
    except RuntimeError:  # no home directory to be found
        return None


def read_json(path: Path) -> Any:
    """The JSON document at `path`, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, document: Any) -> bool:
    """Write `document` whole or not at all (files.write_atomically), creating the folder. False
    when it could not be written."""
    try:
        write_atomically(path, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    except (OutputError, TypeError, ValueError):
        return False
    return True
