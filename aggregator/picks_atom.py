"""The editors' picks as Atom: picks.atom (every section) and picks/<section>.atom, newest pick
first, each entry the story's usual entry (its links, categories and atom:source) with the
editor's note, who picked it and when, at the top of its content.

It renders what the store gives; outputs.py registers the files, publish.py writes them.
"""

from __future__ import annotations

import dataclasses
import html
from urllib.parse import urljoin

from . import atom
from .models import Config, Pick, Story
from .store import Store


def _with_note(pick: Pick, story: Story, config: Config) -> Story:
    """The story as its pick's entry: the note first in the content, updated when picked."""
    section = config.sections.get(pick.section, pick.section) if pick.section else ""
    who = f"Picked{' for ' + html.escape(section) if section else ''} by {html.escape(pick.editor)}"
    when = pick.picked_at.strftime("%Y-%m-%d %H:%M UTC")
    note = f": {html.escape(pick.note)}" if pick.note else ""
    lead = f'<p class="pick-note"><strong>{who}</strong> ({when}){note}</p>\n'
    primary = story.primary
    body = primary.content_html or primary.summary_html
    first = dataclasses.replace(primary, content_html=lead + body)
    return dataclasses.replace(
        story, copies=(first, *story.copies[1:]), updated=max(story.updated, pick.picked_at)
    )


def picks_path(section: str | None) -> str:
    return "picks.atom" if section is None else f"picks/{section}.atom"


def picks_titles(config: Config, section: str | None) -> tuple[str, str]:
    """The title and subtitle of picks.atom (section None) or of a section's picks feed."""
    if section is None:
        return f"{config.title}: editors' picks", "Stories the editors picked, newest pick first"
    label = config.sections.get(section, section)
    return f"{config.title}: picks for {label}", f"Stories the editors picked for {label}"


def render_picks(config: Config, store: Store, section: str | None) -> bytes:
    """picks.atom (section None: every section) or picks/<section>.atom."""
    url = urljoin(config.base_url, picks_path(section))
    title, subtitle = picks_titles(config, section)
    meta = atom.AtomFeedMeta(
        id=url, title=title, subtitle=subtitle, self_url=url, alternate_url=config.base_url, hub=config.websub.hub
    )
    picked = store.picked_stories(section, limit=config.max_entries)
    # A story picked for two sections is one entry of the all-sections feed: its newest pick.
    seen: set[int] = set()
    entries = []
    for pick, story in picked:
        if story.id not in seen:
            seen.add(story.id)
            entries.append(_with_note(pick, story, config))
    return atom.render_atom(meta, entries, config)
