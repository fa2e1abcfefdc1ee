"""Reads feeds.yaml into a validated, frozen Config, and names every problem with the field it is in.

It must not touch the network, the database or any output: a bad config changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from .models import (
    Config,
    DedupeSettings,
    FeedConfig,
    FetchSettings,
    FullTextSettings,
    PollingSettings,
    ScheduleSettings,
    WebSubSettings,
)
from . import __version__
from .errors import AggregatorError, EXIT_USAGE
from .locales import is_country_code, is_language_tag, is_subdivision_code
from .urls import feed_url_key, is_http_url
from .usercache import cache_dir, read_json, write_json

DEFAULT_CONFIG = Path("feeds.yaml")

_SUBDIVISION = re.compile(r"^([A-Z]{2})-[A-Z0-9]{1,3}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_DURATION_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

TOP_KEYS = {
    "title", "base_url", "database", "output_dir", "max_entries", "max_stories_per_feed", "retention_days",
    "retention", "fetch", "polling", "dedupe", "schedule", "regions", "feeds", "websub",
    "sections", "icon", "logo", "subtitle", "rights", "generator_uri", "full_text",
}  # fmt: skip
FEED_KEYS = {
    "url", "name", "site", "region", "country", "language",
    "enabled", "affiliation", "subdivision", "notes", "full_text",
}  # fmt: skip
FETCH_KEYS = {"timeout", "max_bytes", "concurrency", "per_host", "max_redirects", "parse_timeout",
              "max_entries_per_feed", "max_entry_html"}
POLLING_KEYS = {"min_interval", "max_interval", "default_interval", "max_backoff"}
DEDUPE_KEYS = {"similarity_threshold", "window_days", "never_merge"}
SCHEDULE_KEYS = {"every", "cron"}
RETENTION_KEYS = {"days", "keep_per_feed"}
WEBSUB_KEYS = {"hub"}
FULL_TEXT_KEYS = {"per_host", "max_per_cycle", "max_attempts", "retry_after", "extract_timeout"}


@dataclass(frozen=True)
class ConfigProblem:
    field: str  # e.g. "feeds[3] (Socialist Party).region"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigError(AggregatorError):
    """The config cannot be used; `problems` names every field that is wrong."""

    exit_code = EXIT_USAGE

    def __init__(self, path: Path, problems: list[ConfigProblem]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the config:\n{lines}")


def parse_duration(value: Any) -> float:
    """'30s', '15m', '2h', '1d' or a number of seconds -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 2h or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration such as 30s, 15m, 2h or 3600")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be more than zero")
    return seconds


class _Checker:
    """Collects problems instead of stopping at the first, so `aggregator check` shows them all."""

    def __init__(self, registries: bool = True) -> None:
        self.registries = registries  # check codes against their registries, not only their shape
        self.problems: list[ConfigProblem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(ConfigProblem(field, message))

    def unknown_keys(self, where: str, data: dict[str, Any], allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                hint = _closest(str(key), allowed)
                extra = f" (did you mean {hint!r}?)" if hint else ""
                self.problem(f"{where}{key}" if where else str(key), f"unknown key{extra}")

    def mapping(self, field: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(field, "must be a mapping of keys to values")
            return {}
        return value

    def text(self, field: str, value: Any, required: bool = False) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(field, "is required")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(field, "must be text")
            return None
        return str(value).strip()

    def number(
        self, field: str, value: Any, default: float, minimum: float, integer: bool = False
    ) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(field, "must be a number")
            return default
        if integer and not float(value).is_integer():
            self.problem(field, "must be a whole number")
            return default
        if value < minimum:
            self.problem(field, f"must be at least {minimum:g}")
            return default
        return value

    def duration(self, field: str, value: Any, default: float) -> float:
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.problem(field, str(exc))
            return default


def _closest(word: str, choices: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.7)
    return found[0] if found else None


def load_config(path: Path | str = DEFAULT_CONFIG, use_checked: bool = True, remember: bool = True) -> Config:
    """Read and validate the config file. Raises ConfigError naming every bad field.

    Checking language tags and country codes against their registries (langcodes, pycountry)
    costs a cycle with nothing to do more than the rest of it, so a config whose exact text passed
    them once is remembered beside the database (`<database>.config-checked`) and later loads
    check only the shape of those codes. `use_checked=False` (aggregator check) always checks all;
    `remember=False` (commands that only read) writes no marker."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [ConfigProblem("(file)", "not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem("(file)", f"cannot be read: {exc}")]) from None
    if not use_checked:
        return config_from_dict(_parse_yaml(path, text), path)
    digest = hashlib.sha256(f"{__version__}\n{path.resolve()}\n{text}".encode("utf-8")).hexdigest()
    data = _cached_yaml(path, text, digest, remember)
    try:
        shaped = config_from_dict(data, path, registries=False)
    except ConfigError:
        shaped = None
    if shaped is not None:
        marker = shaped.database.with_name(shaped.database.name + CHECKED_SUFFIX)
        try:
            if marker.read_text(encoding="ascii").strip() == digest:
                return shaped
        except (OSError, UnicodeDecodeError):
            pass
    config = config_from_dict(data, path)
    marker = config.database.with_name(config.database.name + CHECKED_SUFFIX)
    try:
        if remember and marker.parent.is_dir():
            marker.write_text(digest + "\n", encoding="ascii")
    except OSError:
        pass  # a read-only directory: every load checks everything, as before
    return config


CHECKED_SUFFIX = ".config-checked"


def _parse_yaml(path: Path, text: str) -> Any:
    from ruamel.yaml import YAML  # here: a load whose text is in the parse cache never needs it
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [ConfigProblem(where, f"is not valid YAML: {reason}")]) from None


def parse_cache_file(path: Path) -> Path | None:
    """Where the parsed text of the config at `path` is kept: one file per config path in the
    user's cache folder (usercache.py); None without one."""
    directory = cache_dir()
    if directory is None:
        return None
    return directory / f"config-{hashlib.sha256(str(path.resolve()).encode('utf-8')).hexdigest()[:32]}.json"


def _cached_yaml(path: Path, text: str, digest: str, remember: bool) -> Any:
    """The YAML document of `text`, from the parse cache when this exact text (and path, and
    version: `digest`) was parsed before. Parsing a thousand feeds' YAML costs about 0.1 s, most of
    a cycle with nothing due; the cache holds the document as JSON, which reads in a millisecond.
    Only a document that survives the trip through JSON unchanged is kept (no dates, no number
    keys), and a missing, unreadable or stale cache file means the text is parsed as ever. What
    comes out is validated like any parsed document."""
    cache = parse_cache_file(path)
    if cache is not None:
        kept = read_json(cache)
        if isinstance(kept, dict) and kept.get("digest") == digest and "document" in kept:
            return kept["document"]
    data = _parse_yaml(path, text)
    if cache is not None and remember:
        try:
            survives = json.loads(json.dumps(data)) == data
        except (TypeError, ValueError):
            survives = False
        if survives:
            write_json(cache, {"digest": digest, "document": data})  # or not: the next load parses again
    return data
_LANGUAGE_SHAPE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,6}$")
_COUNTRY_SHAPE = re.compile(r"^[A-Z]{2}$")


def config_from_dict(data: Any, path: Path, registries: bool = True) -> Config:
    """Validate a parsed config. With `registries` false, language, country and subdivision
    codes are checked for their shape only (see load_config)."""
    check = _Checker(registries)
    if not isinstance(data, dict):
        raise ConfigError(path, [ConfigProblem("(file)", "must be a YAML mapping with a 'feeds' list")])
    check.unknown_keys("", data, TOP_KEYS)
    base_dir = path.resolve().parent

    title = check.text("title", data.get("title")) or "Aggregated news"
    base_url = check.text("base_url", data.get("base_url"), required=True) or "http://localhost/"
    if not is_http_url(base_url):
        check.problem("base_url", f"{base_url!r} is not an absolute http(s) URL")
    if not base_url.endswith("/"):
        base_url += "/"
    database = base_dir / (check.text("database", data.get("database")) or "aggregator.db")
    output_dir = base_dir / (check.text("output_dir", data.get("output_dir")) or "public")
    if output_dir.exists() and not output_dir.is_dir():
        check.problem("output_dir", f"{output_dir} exists and is not a directory")
    if database.is_dir():
        check.problem("database", f"{database} is a directory, not a database file")
    max_entries = int(check.number("max_entries", data.get("max_entries"), Config.max_entries, 1, integer=True))
    max_per_feed = int(
        check.number("max_stories_per_feed", data.get("max_stories_per_feed"), Config.max_stories_per_feed, 1, True)
    )
    retention_data = check.mapping("retention", data.get("retention"))
    check.unknown_keys("retention.", retention_data, RETENTION_KEYS)
    if "retention_days" in data and "days" in retention_data:
        check.problem("retention.days", "give either retention.days or retention_days, not both")
    retention_days = float(
        check.number("retention.days" if "days" in retention_data else "retention_days",
                     retention_data.get("days", data.get("retention_days")), Config.retention_days, 1)
    )  # fmt: skip
    keep_per_feed = int(
        check.number("retention.keep_per_feed", retention_data.get("keep_per_feed"),
                     Config.retention_keep_per_feed, 0, True)
    )  # fmt: skip

    fetch_data = check.mapping("fetch", data.get("fetch"))
    check.unknown_keys("fetch.", fetch_data, FETCH_KEYS)
    fetch_defaults = FetchSettings()
    fetch = FetchSettings(
        timeout=float(check.number("fetch.timeout", fetch_data.get("timeout"), fetch_defaults.timeout, 0.1)),
        max_bytes=int(check.number("fetch.max_bytes", fetch_data.get("max_bytes"), fetch_defaults.max_bytes, 1024, True)),
        concurrency=int(check.number("fetch.concurrency", fetch_data.get("concurrency"), fetch_defaults.concurrency, 1, True)),
        per_host=int(check.number("fetch.per_host", fetch_data.get("per_host"), fetch_defaults.per_host, 1, True)),
        max_redirects=int(
            check.number("fetch.max_redirects", fetch_data.get("max_redirects"), fetch_defaults.max_redirects, 0, True)
        ),
        parse_timeout=float(
            check.number("fetch.parse_timeout", fetch_data.get("parse_timeout"), fetch_defaults.parse_timeout, 0.1)
        ),
        max_entries_per_feed=int(
            check.number("fetch.max_entries_per_feed", fetch_data.get("max_entries_per_feed"),
                         fetch_defaults.max_entries_per_feed, 1, True)
        ),
        max_entry_html=int(
            check.number("fetch.max_entry_html", fetch_data.get("max_entry_html"), fetch_defaults.max_entry_html,
                         1024, True)
        ),
    )

    polling_data = check.mapping("polling", data.get("polling"))
    check.unknown_keys("polling.", polling_data, POLLING_KEYS)
    defaults = PollingSettings()
    polling = PollingSettings(
        min_interval=check.duration("polling.min_interval", polling_data.get("min_interval"), defaults.min_interval),
        max_interval=check.duration("polling.max_interval", polling_data.get("max_interval"), defaults.max_interval),
        default_interval=check.duration(
            "polling.default_interval", polling_data.get("default_interval"), defaults.default_interval
        ),
        max_backoff=check.duration("polling.max_backoff", polling_data.get("max_backoff"), defaults.max_backoff),
    )
    if polling.min_interval > polling.max_interval:
        check.problem("polling.min_interval", "must not be more than polling.max_interval")

    dedupe_data = check.mapping("dedupe", data.get("dedupe"))
    check.unknown_keys("dedupe.", dedupe_data, DEDUPE_KEYS)
    threshold = float(
        check.number("dedupe.similarity_threshold", dedupe_data.get("similarity_threshold"), 0.5, 0.0)
    )
    if threshold > 1:
        check.problem("dedupe.similarity_threshold", "must be between 0 and 1")
    never_merge: list[tuple[str, str]] = []
    raw_pairs = dedupe_data.get("never_merge") or []
    if not isinstance(raw_pairs, list):
        check.problem("dedupe.never_merge", "must be a list of [url, url] pairs")
        raw_pairs = []
    for i, pair in enumerate(raw_pairs):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(u, str) and is_http_url(u) for u in pair)
        ):
            check.problem(f"dedupe.never_merge[{i}]", "must be a pair of two article URLs: [url, url]")
        else:
            never_merge.append((pair[0], pair[1]))
    dedupe = DedupeSettings(
        similarity_threshold=threshold,
        window_days=float(check.number("dedupe.window_days", dedupe_data.get("window_days"), 14, 0)),
        never_merge=tuple(never_merge),
    )

    schedule_data = check.mapping("schedule", data.get("schedule"))
    check.unknown_keys("schedule.", schedule_data, SCHEDULE_KEYS)
    every = check.duration("schedule.every", schedule_data.get("every"), 0) or None
    cron = check.text("schedule.cron", schedule_data.get("cron"))
    if every and cron:
        check.problem("schedule", "give either 'every' or 'cron', not both")
    if cron:
        try:
            from .crontab import crontab_trigger

            crontab_trigger(cron)
        except ValueError as exc:
            check.problem("schedule.cron", f"{cron!r} is not a crontab expression: {exc}")
    schedule = ScheduleSettings(every=every, cron=cron)

    websub_data = check.mapping("websub", data.get("websub"))
    check.unknown_keys("websub.", websub_data, WEBSUB_KEYS)
    hub = check.text("websub.hub", websub_data.get("hub"))
    if hub is not None and not is_http_url(hub):
        check.problem("websub.hub", f"{hub!r} is not an absolute http(s) URL")
    websub = WebSubSettings(hub=hub)
    full_text = _check_full_text(check, data.get("full_text"))

    regions: dict[str, str] = {}
    regions_data = data.get("regions")
    if not isinstance(regions_data, dict) or not regions_data:
        check.problem("regions", "is required: a mapping of region slug to label, e.g. europe: Europe")
    else:
        for slug, label in regions_data.items():
            if not isinstance(slug, str) or not _SLUG.match(slug):
                check.problem(f"regions.{slug}", "a region slug must be lower-case letters, digits, - or _")
                continue
            regions[slug] = check.text(f"regions.{slug}", label, required=True) or slug

    sections: dict[str, str] = {}
    sections_data = data.get("sections")
    if sections_data is not None and not isinstance(sections_data, dict):
        check.problem("sections", "must be a mapping of section slug to label, e.g. spew: Socialist Party (E&W)")
    for slug, label in (sections_data or {}).items() if isinstance(sections_data, dict) else ():
        if not isinstance(slug, str) or not _SLUG.match(slug):
            check.problem(f"sections.{slug}", "a section slug must be lower-case letters, digits, - or _")
            continue
        sections[slug] = check.text(f"sections.{slug}", label, required=True) or slug

    feeds = _check_feeds(check, data.get("feeds"), regions)
    icon = _image_url(check, "icon", data.get("icon"), base_url)
    logo = _image_url(check, "logo", data.get("logo"), base_url)
    subtitle = _one_line(check, "subtitle", data.get("subtitle"))
    rights = _one_line(check, "rights", data.get("rights"), limit=1000)
    generator_uri = check.text("generator_uri", data.get("generator_uri"))
    if generator_uri is not None and not is_http_url(generator_uri):
        check.problem("generator_uri", f"{generator_uri!r} is not an absolute http(s) URL")

    if check.problems:
        raise ConfigError(path, check.problems)
    return Config(
        path=path.resolve(),
        title=title,
        base_url=base_url,
        database=database,
        output_dir=output_dir,
        regions=regions,
        feeds=tuple(feeds),
        max_entries=max_entries,
        max_stories_per_feed=max_per_feed,
        retention_days=retention_days,
        retention_keep_per_feed=keep_per_feed,
        fetch=fetch,
        polling=polling,
        dedupe=dedupe,
        schedule=schedule,
        websub=websub,
        sections=sections,
        icon=icon,
        logo=logo,
        subtitle=subtitle,
        rights=rights,
        generator_uri=generator_uri,
        full_text=full_text,
    )


def _check_full_text(check: _Checker, value: Any) -> FullTextSettings:
    """The global `full_text:` block (bounds on fetching article pages); feeds opt in one by one."""
    data = check.mapping("full_text", value)
    check.unknown_keys("full_text.", data, FULL_TEXT_KEYS)
    d = FullTextSettings()
    return FullTextSettings(
        per_host=int(check.number("full_text.per_host", data.get("per_host"), d.per_host, 1, True)),
        max_per_cycle=int(check.number("full_text.max_per_cycle", data.get("max_per_cycle"), d.max_per_cycle, 0, True)),
        max_attempts=int(check.number("full_text.max_attempts", data.get("max_attempts"), d.max_attempts, 1, True)),
        retry_after=check.duration("full_text.retry_after", data.get("retry_after"), d.retry_after),
        extract_timeout=float(
            check.number("full_text.extract_timeout", data.get("extract_timeout"), d.extract_timeout, 0.1)
        ),
    )


def _image_url(check: _Checker, field: str, value: Any, base_url: str) -> str | None:
    """An absolute http(s) URL as given, or a path under output_dir made absolute with base_url."""
    text = check.text(field, value)
    if text is None:
        return None
    if "://" in text or text.startswith("//"):
        if not is_http_url(text):
            check.problem(field, f"{text!r} is not an absolute http(s) URL")
            return None
        return text
    path = text.replace("\\", "/")
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or ":" in parts[0] or any(c in path for c in "?#\x00"):
        check.problem(field, f"{text!r} must be an http(s) URL or a path under output_dir, such as icon.png")
        return None
    return urljoin(base_url, quote(path))


def _one_line(check: _Checker, field: str, value: Any, limit: int = 500) -> str | None:
    text = check.text(field, value)
    if text is not None and ("\n" in text or len(text) > limit):
        check.problem(field, f"must be one line of at most {limit} characters")
        return None
    return text


def _check_feeds(check: _Checker, feeds_data: Any, regions: dict[str, str]) -> list[FeedConfig]:
    if not isinstance(feeds_data, list):
        check.problem("feeds", "is required: a list of feeds, each with url, name, region, country, language")
        return []
    feeds: list[FeedConfig] = []
    seen_urls: dict[str, str] = {}
    for i, item in enumerate(feeds_data):
        label = f"feeds[{i}]"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            label += f" ({item['name']})"
        if not isinstance(item, dict):
            check.problem(label, "must be a mapping with url, name, region, country, language")
            continue
        check.unknown_keys(label + ".", item, FEED_KEYS)
        before = len(check.problems)
        url = check.text(f"{label}.url", item.get("url"), required=True)
        if url is not None:
            if not is_http_url(url):
                check.problem(f"{label}.url", f"{url!r} is not an absolute http(s) URL")
            # The same feed written twice (case, www., http/https, trailing slash, tracking
            # parameters) would be fetched twice and credit every story to the party twice.
            elif (key := feed_url_key(url)) in seen_urls:
                check.problem(f"{label}.url", f"{url} is already used by {seen_urls[key]}")
            else:
                seen_urls[key] = label
        name = check.text(f"{label}.name", item.get("name"), required=True)
        site = check.text(f"{label}.site", item.get("site"))
        if site is not None and not is_http_url(site):
            check.problem(f"{label}.site", f"{site!r} is not an absolute http(s) URL")
        region = check.text(f"{label}.region", item.get("region"), required=True)
        if region is not None and regions and region not in regions:
            check.problem(
                f"{label}.region", f"{region!r} is not one of the regions: {', '.join(sorted(regions))}"
            )
        country = check.text(f"{label}.country", item.get("country"), required=True)
        if country is not None:
            country = country.upper()
            if not (is_country_code(country) if check.registries else _COUNTRY_SHAPE.match(country)):
                check.problem(f"{label}.country", f"{country!r} is not an ISO 3166-1 alpha-2 code such as GB")
        languages = _languages(check, f"{label}.language", item.get("language"))
        language = languages[0] if languages else None
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            check.problem(f"{label}.enabled", "must be true or false")
            enabled = True
        full_text = item.get("full_text", False)
        if not isinstance(full_text, bool):
            check.problem(f"{label}.full_text", "must be true or false")
            full_text = False
        subdivision_raw = item.get("subdivision") or []
        if isinstance(subdivision_raw, str):
            subdivision_raw = [subdivision_raw]
        subdivisions: list[str] = []
        if not isinstance(subdivision_raw, list):
            check.problem(f"{label}.subdivision", "must be an ISO 3166-2 code such as GB-SCT, or a list of them")
        else:
            for code in subdivision_raw:
                code_text = str(code).upper()
                m = _SUBDIVISION.match(code_text)
                if not m or (check.registries and not is_subdivision_code(code_text)):
                    check.problem(f"{label}.subdivision", f"{code!r} is not an ISO 3166-2 code such as GB-SCT")
                elif country and m.group(1) != country:
                    check.problem(f"{label}.subdivision", f"{code_text} is not in country {country}")
                else:
                    subdivisions.append(code_text)
        if len(check.problems) > before or not (url and name and region and country and language):
            continue
        feeds.append(
            FeedConfig(
                url=url,
                name=name,
                region=region,
                country=country,
                language=language,
                languages=languages,
                site=site,
                enabled=enabled,
                affiliation=check.text(f"{label}.affiliation", item.get("affiliation")),
                subdivision=tuple(subdivisions),
                notes=check.text(f"{label}.notes", item.get("notes")),
                full_text=full_text,
            )
        )
    return feeds


def _languages(check: _Checker, field: str, value: Any) -> tuple[str, ...]:
    """A feed's `language`: one tag, or a list of the tags its entries may be in (the first is the
    default); () after recording a problem."""
    raw = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        check.problem(field, "is required: a language tag such as en, or a list such as [si, ta, en]")
        return ()
    tags: list[str] = []
    for one in raw:
        tag = check.text(field, one, required=True)
        if tag is None:
            return ()
        if not (is_language_tag(tag) if check.registries else _LANGUAGE_SHAPE.match(tag)):
            check.problem(field, f"{tag!r} is not a BCP 47 language tag such as en or en-GB")
            return ()
        if tag in tags:
            check.problem(field, f"{tag!r} is listed twice")
            return ()
        tags.append(tag)
    return tuple(tags)
