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
    """Write `document` whole or not at all (a temporary file, then a rename, so a process reading
    beside this one never sees half of it). False when it could not be written."""
    try:
        encoded = json.dumps(document, ensure_ascii=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(encoded, encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return True
    except (OSError, TypeError, ValueError):
        return False
