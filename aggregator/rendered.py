"""Rendered entries, kept between publishes: a story's Atom entry or JSON Feed item is rendered
(sanitized, built, serialized) only when something it is made of changed since the last publish.

A publish of 50,000 stored stories puts about 3,200 of them into 64 files, and from one cycle to
the next only the new and changed ones differ. Each rendering is kept (store/rendered.py) until a
write changes anything it shows: the store's triggers then drop it (the story, its copies, their
feeds' names, sites and ids, its translations). What the store cannot see is checked here: each
kept rendering carries a digest of the id it has in the feed and of the context it was rendered
in (the config's parts an entry shows: base URL, region labels; the versions of aggregator, the
sanitizer and feedgen; the source of the modules that render an entry), so an upgrade of nh3 or a
changed renderer never leaves an entry rendered by the old one. A digest that differs renders again.

The renderers (atom.py, jsonfeed.py) ask an EntryCache for their entries' texts and give it the
function that renders one; they do not know where the texts are kept.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import __version__
from .models import Config, Story, StoryHead


class RenderedEntries(Protocol):
    """Where renderings are kept: the Store."""

    def rendered_entries(self, format: str, story_ids: Collection[int]) -> dict[int, tuple[str, str]]: ...

    def save_rendered_entries(
        self, rows: Sequence[tuple[int, str, str, str]], keep: Collection[int] | None = None, as_of: int | None = None
    ) -> None: ...


def _versions() -> tuple[str, str]:
    """The sanitizer's and feedgen's versions, from the modules the renderers import anyway
    (importlib.metadata would cost a publish 30 ms to import)."""
    import feedgen.version
    import nh3

    return str(getattr(nh3, "__version__", "?")), str(feedgen.version.version_str)


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
    return repr((__version__, _renderer_source(), *_versions(), config.base_url,
                 sorted(config.regions.items())))  # fmt: skip


# A story as a list gives it: whole, or its head (rendered only from the whole story, read by `full`).
Listed = Story | StoryHead
FullStories = Callable[[Sequence[int]], Sequence[Story]]


def entry_texts(
    cache: EntryCache | None, format: str, entries: Sequence[tuple[Listed, str]], render: Callable[[Story, str], str],
    full: FullStories | None = None,
) -> list[str]:  # fmt: skip
    """Each (story, entry id)'s text in this format: through the cache when there is one (a
    publish), else each rendered (a feed the web app renders on request). `full` reads the whole
    stories of those given by their heads that must be rendered; a story gone since is left out."""
    if cache is not None:
        return cache.texts(format, entries, render, full)
    stories = _whole([s for s, _ in entries], full)
    return [render(stories[s.id], i) for s, i in entries if s.id in stories]


def _whole(listed: Sequence[Listed], full: FullStories | None) -> dict[int, Story]:
    """{id: Story} of these, reading those given by their heads through `full`."""
    found = {s.id: s for s in listed if isinstance(s, Story)}
    heads = [s.id for s in listed if not isinstance(s, Story)]
    if heads:
        if full is None:
            raise TypeError("story heads given without a way to read their stories")
        found.update((s.id, s) for s in full(heads))
    return found


@dataclass
class EntryCache:
    """One publish's view of the kept renderings: `texts` gives each story's text in a format,
    rendered only when none is kept for its entry id and context; `save` stores what was rendered
    anew. `as_of`: the content version before the publish read any story (Store.content_version),
    so that renderings of stories written meanwhile are not kept (Store.save_rendered_entries)."""

    kept: RenderedEntries
    context: str
    as_of: int | None = None
    _known: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    _new: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    _shown: set[int] = field(default_factory=set)

    def texts(
        self, format: str, entries: Sequence[tuple[Listed, str]], render: Callable[[Story, str], str],
        full: FullStories | None = None,
    ) -> list[str]:  # fmt: skip
        """The text of each (story, entry id) in this format, in order; the whole stories of
        those to render are read through `full` (entry_texts)."""
        wanted = [s.id for s, _ in entries if (format, s.id) not in self._known and (format, s.id) not in self._new]
        if wanted:
            for story_id, kept in self.kept.rendered_entries(format, wanted).items():
                self._known[(format, story_id)] = kept
        out: list[str | None] = []
        missing: list[tuple[int, Listed, str, str]] = []  # (place in out, story, entry id, digest)
        for story, entry_id in entries:
            digest = _entry_digest(self.context, entry_id)
            key = (format, story.id)
            have = self._new.get(key) or self._known.get(key)
            if have is not None and have[0] == digest:
                self._shown.add(story.id)
                out.append(have[1])
            else:
                missing.append((len(out), story, entry_id, digest))
                out.append(None)
        if missing:
            stories = _whole([story for _, story, _, _ in missing], full)
            for place, listed, entry_id, digest in missing:
                whole = stories.get(listed.id)
                if whole is None:
                    continue  # gone since its head was read: left out
                text = render(whole, entry_id)
                self._new[(format, whole.id)] = (digest, text)
                self._shown.add(whole.id)
                out[place] = text
        return [text for text in out if text is not None]

    def save(self, whole: bool) -> None:
        """Keep what was rendered anew; after a whole publish (`whole`), forget the renderings of
        stories no output shows any more."""
        rows = [(story_id, format, digest, text) for (format, story_id), (digest, text) in self._new.items()]
        if rows or whole:
            self.kept.save_rendered_entries(rows, self._shown if whole else None, self.as_of)
        self._known.update(self._new)
        self._new.clear()


@functools.lru_cache(maxsize=4)
def _context_hash(context: str) -> "hashlib._Hash":
    return hashlib.sha256(context.encode("utf-8", "surrogatepass") + b"\0")


def _entry_digest(context: str, entry_id: str) -> str:
    """What a kept rendering must have been made for: this context and this entry id."""
    digest = _context_hash(context).copy()
    digest.update(entry_id.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
