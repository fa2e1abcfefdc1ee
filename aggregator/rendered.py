"""Rendered entries, kept between publishes: a story's Atom entry or JSON Feed item is rendered
(sanitized, built, serialized) only when something it is made of changed since the last publish.

A publish of 50,000 stored stories puts about 3,200 of them into 64 files, and from one cycle to
the next only the new and changed ones differ. Each rendering is kept (store/rendered.py) with a
digest of everything it was made of: the story as stored (its copies, their feeds' names, sites
and ids, its translations), the id it has in the feed, the config's parts an entry shows (base URL,
region labels), the versions of aggregator, the sanitizer and feedgen, and the source of the
modules that render an entry, so an upgrade of nh3 or a changed renderer never leaves an entry
rendered by the old one. A digest that differs renders again.

The renderers (atom.py, jsonfeed.py) ask an EntryCache for their entries' texts and give it the
function that renders one; they do not know where the texts are kept.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Protocol

from . import __version__
from .models import Config, Story


class RenderedEntries(Protocol):
    """Where renderings are kept: the Store."""

    def rendered_entries(self, format: str, story_ids: Collection[int]) -> dict[int, tuple[str, str]]: ...

    def save_rendered_entries(self, rows: Sequence[tuple[int, str, str, str]], keep: Collection[int] | None = None) -> None: ...


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


@functools.cache
def _renderer_source() -> str:
    """A digest of the code that renders an entry: a changed renderer (a new release, or a checkout
    between releases) renders every entry again, with no version number to remember to bump."""
    digest = hashlib.sha256()
    for name in _RENDERERS:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


# The modules whose code makes an entry's text (read as files: this module imports none of them).
_RENDERERS = ("atom.py", "jsonfeed.py", "sanitize.py", "locales.py", "rendered.py")


def render_context(config: Config) -> str:
    """What an entry's rendering depends on besides its story."""
    return repr((__version__, _renderer_source(), _version("nh3"), _version("feedgen"), config.base_url,
                 sorted(config.regions.items())))  # fmt: skip


def entry_texts(
    cache: EntryCache | None, format: str, entries: Sequence[tuple[Story, str]], render: Callable[[Story, str], str]
) -> list[str]:
    """Each (story, entry id)'s text in this format: through the cache when there is one (a
    publish), else each rendered (a feed the web app renders on request)."""
    return cache.texts(format, entries, render) if cache is not None else [render(s, i) for s, i in entries]


@dataclass
class EntryCache:
    """One publish's view of the kept renderings: `texts` gives each story's text in a format,
    rendered only when its digest changed; `save` stores what was rendered anew."""

    kept: RenderedEntries
    context: str
    _known: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    _new: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    _shown: set[int] = field(default_factory=set)
    _digests: dict[int, tuple[Story, str]] = field(default_factory=dict)

    def _story_digest(self, story: Story) -> str:
        # Keyed by the object (held, so its id() is not reused): a publish reads a story once per page.
        found = self._digests.get(id(story))
        if found is None or found[0] is not story:
            found = (story, _digest_of(story))
            self._digests[id(story)] = found
        return found[1]

    def texts(self, format: str, entries: Sequence[tuple[Story, str]], render: Callable[[Story, str], str]) -> list[str]:
        """The text of each (story, entry id) in this format, in order."""
        wanted = [s.id for s, _ in entries if (format, s.id) not in self._known and (format, s.id) not in self._new]
        if wanted:
            for story_id, kept in self.kept.rendered_entries(format, wanted).items():
                self._known[(format, story_id)] = kept
        out = []
        for story, entry_id in entries:
            digest = hashlib.sha256(f"{self.context}\0{entry_id}\0{self._story_digest(story)}".encode("utf-8", "surrogatepass")).hexdigest()
            key = (format, story.id)
            self._shown.add(story.id)
            have = self._new.get(key) or self._known.get(key)
            if have is not None and have[0] == digest:
                out.append(have[1])
                continue
            text = render(story, entry_id)
            self._new[key] = (digest, text)
            out.append(text)
        return out

    def save(self, whole: bool) -> None:
        """Keep what was rendered anew; after a whole publish (`whole`), forget the renderings of
        stories no output shows any more."""
        rows = [(story_id, format, digest, text) for (format, story_id), (digest, text) in self._new.items()]
        if rows or whole:
            self.kept.save_rendered_entries(rows, self._shown if whole else None)
        self._known.update(self._new)
        self._new.clear()


def _digest_of(story: Story) -> str:
    """A digest of everything an entry shows of `story`: its dates and ids, and every field of its
    copies and translations (picks are not shown in an entry: picking a story does not render it
    again). Texts go in as their bytes, other values as their repr, each with its length, so no
    two different stories run together into the same input. Hashing the copies' HTML directly
    takes about two thirds of the time of one repr() of the whole story (which ran dataclass
    __repr__ code for every copy and escaped every text)."""
    digest = hashlib.sha256()
    update = digest.update

    def add(value: object) -> None:
        if type(value) is str:
            data = value.encode("utf-8", "surrogatepass")
            update(b"s%d:" % len(data))
        else:
            data = repr(value).encode("utf-8", "surrogatepass")
            update(b"r%d:" % len(data))
        update(data)

    for value in (story.id, story.published, story.updated, story.atom_id):
        add(value)
    for group in (story.copies, story.translations):
        update(b"n%d:" % len(group))
        for item in group:
            for value in vars(item).values():
                add(value)
    return digest.hexdigest()
