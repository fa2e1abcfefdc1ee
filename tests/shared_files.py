"""Where the read-only shared test material lives: the real-feed corpus and the Atom schema.

It sits beside the checkout as `shared/` (`<repo>/../shared`). A clone elsewhere finds it through
$AGGREGATOR_SHARED, else the nearest ancestor of the repository holding a `shared/` folder, else the
workplace's `/work/shared`. $AGGREGATOR_CORPUS and $AGGREGATOR_ATOM_SCHEMA override single parts.
Nothing is skipped when it is missing: the tests that need it fail and say where they looked.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    if override := os.environ.get("AGGREGATOR_SHARED"):
        return [Path(override)]
    return [ancestor / "shared" for ancestor in REPO.parents] + [Path("/work/shared")]


def shared_dir() -> Path:
    """The shared folder (the first candidate holding a corpus), or the usual place if none does."""
    for candidate in _candidates():
        if (candidate / "corpus").is_dir():
            return candidate
    return REPO.parent / "shared"


def where_looked() -> str:
    return ", ".join(str(c) for c in _candidates())


def atom_schema() -> Path:
    return Path(os.environ.get("AGGREGATOR_ATOM_SCHEMA") or shared_dir() / "schema" / "atom.rnc")


CORPUS = Path(os.environ.get("AGGREGATOR_CORPUS") or shared_dir() / "corpus")
