"""Publishing: render every registered output (outputs.py) from the database and write the files
that changed, atomically, so readers polling them never see half a file.

It reads the database only through Store and never fetches. The caller holds the cycle lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .files import OutputError, remove_stale_temp_files, write_atomically
from .models import Config
from .outputs import output_files, output_paths
from .store import Store
from .times import utcnow

PublishError = OutputError  # an output file cannot be written


@dataclass
class PublishReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the written files' paths under output_dir (URL paths)
    skipped: bool = False  # nothing the outputs are made of changed since the last publish


def publish(config: Config, store: Store, only: frozenset[str] | None = None) -> PublishReport:
    """Rebuild every output file from the database alone; only files whose bytes changed are
    rewritten (so their mtime, ETag and a WebSub ping follow real changes); a write-once file
    (a feed archive) that exists is left alone without being rendered."""
    report = PublishReport()
    signature = _signature(config, store)
    files = output_files(config, store, only)
    remove_stale_temp_files([config.output_dir / f.path for f in files])
    for f in files:
        path = config.output_dir / f.path
        if f.write_once and path.exists():
            report.unchanged.append(path)
        elif write_atomically(path, f.render()):
            report.written.append(path)
            report.changed.append(f.path)
        else:
            report.unchanged.append(path)
    if only is None:  # only a whole publish vouches for every output
        store.set_meta(_PUBLISHED, signature)
    return report


_PUBLISHED = "published_signature"


def _signature(config: Config, store: Store) -> str:
    """What the outputs are made of: the config, this version's rendering, and the stored data."""
    payload = repr((__version__, config.title, config.base_url, config.regions, config.max_entries,
                    config.max_stories_per_feed, config.feeds, config.output_dir, config.websub, config.sections,
                    utcnow().isocalendar()[:2],  # a week that ends brings an archive document
                    store.content_signature()))  # fmt: skip
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def publish_if_changed(config: Config, store: Store) -> PublishReport:
    """publish(), unless nothing the outputs are made of changed since the last publish and every
    output file is still there: a cycle in which no feed changed renders nothing."""
    if store.meta(_PUBLISHED) == _signature(config, store) and all(
        (config.output_dir / path).is_file() for path in output_paths(config)
    ):
        return PublishReport(skipped=True)
    return publish(config, store)
