"""Editing feeds.yaml by program: append feeds (from an OPML file) keeping its comments and layout.

The edited file is validated as a config before it replaces the old one, so a failed edit leaves
feeds.yaml as it was. It never fetches a feed and never touches the database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from .config import ConfigError, load_config
from .files import write_atomically
from .locales import is_country_code, is_language_tag
from .opml import MAX_OPML_BYTES, OpmlError, OpmlFeed, read_opml
from .urls import feed_url_key


@dataclass
class ImportReport:
    """What `opml import` did: how many feeds it appended, and each one it skipped with why."""

    added: int = 0
    skipped: list[str] = field(default_factory=list)  # "https://x/feed: already in the config as feeds[3] (Name)"


def import_opml(
    config_path: Path,
    opml_path: Path,
    region: str,
    country: str | None = None,
    language: str | None = None,
) -> ImportReport:
    """Append the OPML file's feeds to the config's `feeds:` list; reports how many were added
    and which were skipped, and why.

    Feeds whose URL the config (or an earlier outline of the file) already has are skipped. The outline's text (or title) is the
    name, htmlUrl the site; its language if it is a valid tag, else `language`; its country
    (our own export's /country/XX category) else `country`. The file keeps its comments and
    layout, and is replaced only once the result passes validation: on any problem it is left
    untouched and OpmlError or ConfigError says why."""
    config = load_config(config_path)  # a config that is already broken is fixed first, by hand
    if region not in config.regions:
        raise OpmlError(f"--region {region!r} is not one of the config's regions: {', '.join(config.regions)}")
    if country is not None and not is_country_code(country.upper()):
        raise OpmlError(f"--country {country!r} is not an ISO 3166-1 alpha-2 code such as GB")
    if language is not None and not is_language_tag(language):
        raise OpmlError(f"--language {language!r} is not a BCP 47 language tag such as en or en-GB")
    try:
        data = opml_path.read_bytes() if opml_path.stat().st_size <= MAX_OPML_BYTES else b"x" * (MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OpmlError(f"cannot read {opml_path}: {exc.strerror or exc}") from None

    known = {feed_url_key(f.url): f"already in the config as feeds[{i}] ({f.name})" for i, f in enumerate(config.feeds)}
    report = ImportReport()
    new_feeds: list[CommentedMap] = []
    for feed in read_opml(data):
        key = feed_url_key(feed.url)
        if key in known:
            report.skipped.append(f"{feed.url}: {known[key]}")
            continue
        known[key] = "listed twice in the OPML file" + (f" (first as {feed.name})" if feed.name else "")
        new_feeds.append(_feed_item(feed, region, country, language))
    if new_feeds:
        _append_feeds(config_path, new_feeds)
    report.added = len(new_feeds)
    return report


def _feed_item(feed: OpmlFeed, region: str, country: str | None, language: str | None) -> CommentedMap:
    label = f"the outline for {feed.url}" + (f" ({feed.name})" if feed.name else "")
    if not feed.name:
        raise OpmlError(f"{label} has neither text nor title: nothing to name the feed by")
    feed_country = feed.country or country
    if feed_country is None:
        raise OpmlError(f"{label} gives no country; give --country")
    # An outline's language="unknown" (or any non-tag) is as good as none: --language fills in.
    feed_language = feed.language if feed.language and is_language_tag(feed.language) else language
    if feed_language is None:
        had = f" (its language {feed.language!r} is not a language tag)" if feed.language else ""
        raise OpmlError(f"{label} gives no language{had}; give --language")
    item = CommentedMap()
    item["url"] = feed.url
    item["name"] = feed.name
    if feed.site:
        item["site"] = feed.site
    item["region"] = region
    item["country"] = feed_country.upper()
    item["language"] = feed_language
    return item


def _append_feeds(config_path: Path, new_feeds: list[CommentedMap]) -> None:
    text = config_path.read_text(encoding="utf-8")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the operator's long lines
    try:
        _, sequence_indent, offset = load_yaml_guess_indent(text)
        data = yaml.load(text)
    except YAMLError as exc:
        raise OpmlError(f"cannot edit {config_path}: {exc}") from None
    # Guessed from the file's block lists: `  - url:` is sequence 4, offset 2 (mappings inside at 2).
    sequence_indent = sequence_indent or 2
    offset = offset or 0
    yaml.indent(mapping=max(2, sequence_indent - offset), sequence=sequence_indent, offset=offset)
    feeds = data.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        feeds = CommentedSeq()
        data["feeds"] = feeds
    spaced = _blank_lines_between_items(text, feeds)
    feeds.fa.set_block_style()  # `feeds: []` becomes a block list
    old_count = len(feeds)
    old_last = feeds[-1] if len(feeds) else None
    feeds.extend(new_feeds)
    _move_trailing_comment(old_last, new_feeds[-1])
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    if spaced:
        result = _space_items(result, first=old_count)
    _replace_validated(config_path, result)


def _blank_lines_between_items(text: str, feeds: CommentedSeq) -> bool:
    """Whether the file separates its feeds by blank lines (most of them, at least)."""
    lines = text.splitlines()
    gaps = []
    for i in range(1, len(feeds)):
        line = feeds.lc.item(i)[0]
        if 0 < line < len(lines) + 1:
            gaps.append(not lines[line - 1].strip())
    return bool(gaps) and 2 * sum(gaps) >= len(gaps)


def _space_items(text: str, first: int) -> str:
    """A blank line before each feed from index `first` on that does not already follow one."""
    feeds = YAML().load(text)["feeds"]
    lines = text.splitlines(keepends=True)
    for i in reversed(range(first, len(feeds))):
        line = feeds.lc.item(i)[0]
        if 0 < line <= len(lines) and lines[line - 1].strip():
            lines.insert(line, "\n")
    return "".join(lines)


def _move_trailing_comment(old_last: object, new_last: CommentedMap) -> None:
    """Comment lines after the list's last feed (a commented-out feed, a note about the next
    section) belong at the end of the list: ruamel keeps them on the old last item, which would put
    the new feeds below them. They move to the new last item; an inline comment stays put."""
    if not isinstance(old_last, CommentedMap) or not old_last or not new_last:
        return
    tokens = old_last.ca.items.get(list(old_last.keys())[-1])
    token = tokens[2] if tokens and len(tokens) > 2 else None
    value = getattr(token, "value", None)
    if not isinstance(value, str) or "\n" not in value:
        return
    end_of_line = value.index("\n") + 1
    trailing = value[end_of_line:]
    if not trailing.strip():
        return
    token.value = value[:end_of_line]  # type: ignore[union-attr]
    new_last.ca.items[list(new_last.keys())[-1]] = [None, None, CommentToken("\n" + trailing, CommentMark(0), None), None]


def _replace_validated(config_path: Path, text: str) -> None:
    """Write beside the config, validate that copy as the config, then rename it over the config."""

    def validate(candidate: Path) -> None:
        try:
            load_config(candidate)
        except ConfigError as exc:
            raise ConfigError(config_path, exc.problems) from None

    write_atomically(config_path, text.encode("utf-8"), validate=validate, mode=config_path.stat().st_mode & 0o7777)
