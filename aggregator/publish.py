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
from .store import Store
from .times import utcnow

PublishError = OutputError  # an output file cannot be written


@dataclass
class PublishReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the written files' paths under output_dir (URL paths)
    skipped: bool = False  # nothing the outputs are made of changed since the last publish


def publish(config: Config, store: Store, only: frozenset[str] | None = None,
            paths: frozenset[str] | None = None) -> PublishReport:  # fmt: skip
    """Rebuild every output file (or those of the outputs named in `only`, and of those only the
    files at `paths`) from the database alone;
    only files whose bytes changed are rewritten (so their mtime, ETag and a WebSub ping follow
    real changes); a write-once file (a feed archive) that exists is left alone unrendered."""
    whole = only is None and paths is None
    return _publish(config, store, only, _signature(config, store) if whole else None, paths)


def republish(config: Config, store: Store, only: frozenset[str] | None = None,
              paths: frozenset[str] | None = None) -> PublishReport:  # fmt: skip
    """publish() after a change made outside a cycle (an editor's pick, `aggregator pick`, an
    unmerge): the feeds' names, regions and flags are taken from the config first, and the WebSub
    hub, when one is configured, is told what changed. The caller holds the cycle lock."""
    store.sync_feeds(config.feeds)
    report = publish(config, store, only, paths)
    if config.websub.hub:
        from .websub import notify_hub

        notify_hub(config, store, report.changed)
    return report


def _publish(config: Config, store: Store, only: frozenset[str] | None, signature: str | None,
             paths: frozenset[str] | None = None) -> PublishReport:  # fmt: skip
    # Here, not at the top: a cycle in which nothing changed imports no renderer (publish_if_changed).
    from .atom import forget_sanitized
    from .outputs import output_files, output_paths
    from .rendered import EntryCache, render_context

    report = PublishReport()
    entry_cache = EntryCache(store, render_context(config), as_of=store.content_version())
    files = [f for f in output_files(config, store, only, entry_cache) if paths is None or f.path in paths]
    remove_stale_temp_files([config.output_dir / f.path for f in files])
    try:
        for f in files:
            path = config.output_dir / f.path
            if f.write_once and path.exists():
                report.unchanged.append(path)
            elif write_atomically(path, f.render()):
                report.written.append(path)
                report.changed.append(f.path)
            else:
                report.unchanged.append(path)
    finally:
        forget_sanitized()
    # Only a whole publish knows which stories no output shows any more.
    entry_cache.save(whole=only is None and paths is None)
    if signature is not None:  # only a whole publish vouches for every output
        with store.transaction():
            store.set_meta(_PUBLISHED_FILES, "\n".join(output_paths(config)))
            store.set_meta(_PUBLISHED, signature)
    return report


_PUBLISHED = "published_signature"
# The files every publish writes (outputs.output_paths) as of the signature: the signature covers
# the config and this version, so while it matches they are the files to look for.
_PUBLISHED_FILES = "published_files"


def _signature(config: Config, store: Store) -> str:
    """What the outputs are made of: the whole config (a setting that changes nothing published
    costs one needless publish), this version's rendering, the week (one that ends brings an
    archive document) and the stored data."""
    payload = repr((__version__, config, utcnow().isocalendar()[:2], store.content_signature()))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def publish_if_changed(config: Config, store: Store) -> PublishReport:
    """publish(), unless nothing the outputs are made of changed since the last publish and every
    output file is still there: a cycle in which no feed changed renders nothing."""
    signature = _signature(config, store)
    if store.meta(_PUBLISHED) == signature:
        listed = store.meta(_PUBLISHED_FILES)
        if listed is None:  # published by a version that did not list them
            from .outputs import output_paths

            paths = output_paths(config)
            store.set_meta(_PUBLISHED_FILES, "\n".join(paths))
        else:
            paths = listed.split("\n") if listed else []
        if all((config.output_dir / path).is_file() for path in paths):
            return PublishReport(skipped=True)
    return _publish(config, store, None, signature)
